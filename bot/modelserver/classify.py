"""Hugging Face's classification, sentence-similarity and feature-extraction tasks and SageMaker embedding
endpoints on the scripted model server (a TEST DOUBLE). Every answer is a pure function of the text:

- text-classification: the text's words (lower-cased letters) are counted against NEGATIVE_WORDS; with n
  of them the negative label scores min(0.99, 0.02 + 0.3·n) (4 decimals) and the positive label the
  rest of 1. Labels: `hate`/`nothate` for a model whose name contains "hate", else `NEGATIVE`/`POSITIVE`;
  the answer is `[[{label, score}, …]]`, highest first, as the Inference API gives it.
- token-classification (grouped entities, `aggregation_strategy` as sent): an e-mail address is EMAIL
  (0.98), a dotted IPv4 address IP_ADDRESS (0.95), an `sk-…` key of 8+ characters KEY (0.9), a
  capitalised word after "my name is", "I am" or "I'm" NAME (0.81); no entity, `[]`.
- sentence-similarity: the cosine of the bag-of-words vectors (bot.modelserver.wire.bag_of_words) of
  `source_sentence` and each of `sentences`, 6 decimals; feature-extraction: the text's bag-of-words vector.
- A model whose name contains "loading" answers 503 `{"error": "… is currently loading", "estimated_time"}`
  unless the request's options say `wait_for_model: true` (as the Inference API does while a model loads).
- SageMaker embeddings: `{inputs}` alone gets `[[vector]]` (a Hugging Face TEI container), `{input, model}`
  OpenAI's `{data: [{embedding}]}`, `{input, text, inputs}` (promptfoo's payload for other model types)
  `{embedding}`.
"""

from __future__ import annotations

import math
import re
from typing import Any

from bot.modelserver.wire import bag_of_words

NEGATIVE_WORDS = frozenset({"hate", "hateful", "stupid", "idiot", "idiots", "awful", "terrible", "disgusting", "ugly", "worst",
                            "dumb", "horrible", "nasty", "trash"})
_WORD = re.compile(r"[a-z]+")
_ENTITIES = (
    ("EMAIL", 0.98, re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")),
    ("IP_ADDRESS", 0.95, re.compile(r"\b\d{1,3}(?:\.\d{1,3}){3}\b")),
    ("KEY", 0.9, re.compile(r"\bsk-[A-Za-z0-9]{8,}")),
    ("NAME", 0.81, re.compile(r"(?:\b[Mm]y name is|\bI am|\bI'm) ([A-Z][a-z]+)")),
)


def hf_task(data: dict[str, Any]) -> str | None:
    """Which task a request body is for (the router knows it from the model; the double reads the body)."""
    parameters = data.get("parameters")
    if isinstance(data.get("inputs"), dict):
        return "sentence-similarity"
    if isinstance(parameters, dict) and "aggregation_strategy" in parameters:
        return "token-classification"
    if parameters == {}:
        return "text-classification"
    if parameters is None and "options" in data:
        return "feature-extraction"
    return None  # text generation


def loading(model: str, data: dict[str, Any]) -> dict[str, Any] | None:
    options = data.get("options")
    if "loading" in model and not (isinstance(options, dict) and options.get("wait_for_model") is True):
        return {"error": f"Model {model} is currently loading", "estimated_time": 20.0}
    return None


def text_classification(model: str, text: str) -> list[list[dict[str, Any]]]:
    hits = sum(1 for w in _WORD.findall(text.lower()) if w in NEGATIVE_WORDS)
    negative = round(min(0.99, 0.02 + 0.3 * hits), 4)
    names = ("hate", "nothate") if "hate" in model else ("NEGATIVE", "POSITIVE")
    scored = [{"label": names[0], "score": negative}, {"label": names[1], "score": round(1 - negative, 4)}]
    return [sorted(scored, key=lambda x: -float(x["score"]))]


def token_classification(text: str) -> list[dict[str, Any]]:
    found = []
    for group, score, pattern in _ENTITIES:
        for m in pattern.finditer(text):
            start, end = m.span(1) if m.groups() else m.span()
            found.append({"entity_group": group, "score": score, "word": text[start:end], "start": start, "end": end})
    return sorted(found, key=lambda e: e["start"])


def cosine(a: list[float], b: list[float]) -> float:
    na, nb = math.sqrt(sum(x * x for x in a)), math.sqrt(sum(x * x for x in b))
    return 0.0 if not na or not nb else sum(x * y for x, y in zip(a, b)) / (na * nb)


def sentence_similarity(source: str, sentences: list[str]) -> list[float]:
    target = bag_of_words(source)
    return [round(cosine(target, bag_of_words(s)), 6) for s in sentences]


def sagemaker_embedding(data: Any) -> tuple[str, Any] | None:
    """(the text, the answer) for an embedding payload; None for a payload that asks for text."""
    if not isinstance(data, dict):
        return None
    if set(data) == {"inputs"} and isinstance(data["inputs"], str):
        return data["inputs"], [bag_of_words(data["inputs"])]
    if isinstance(data.get("input"), str) and data.get("model") == "embedding":
        return data["input"], {"data": [{"embedding": bag_of_words(data["input"]), "index": 0}]}
    if isinstance(data.get("input"), str) and "text" in data:
        return data["input"], {"embedding": bag_of_words(data["input"])}
    return None
