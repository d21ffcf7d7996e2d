"""The graders that are not chat models, as promptfoo 0.121 calls them: Hugging Face's classification
tasks (the `classifier` assertion), sentence similarity and feature extraction, and SageMaker embedding
endpoints (`similar`): their ids and config keys, each request body and the answer read back, and the
classifier's score. Transport stays in bot.evals.providers.Caller.
"""

from __future__ import annotations

import json
import math
from typing import Any

from bot.core.errors import CheckError
from bot.evals.providers_shapes import WireError, checked_name, json_path, segment
from bot.evals.suite import ProviderSpec

# huggingface:TASK:MODEL ids promptfoo serves besides chat and text generation
CLASSIFY_APIS = ("text-classification", "token-classification")
HF_TASKS = (*CLASSIFY_APIS, "sentence-similarity", "feature-extraction")
SIMILARITY_API = "sentence-similarity"
EMBED_APIS = ("embedding", "feature-extraction", SIMILARITY_API)  # serve `similar` (a grader's embedding)
# the config keys each task's provider reads (promptfoo); apiEndpoint is a suite URL (bot.evals.providers_more)
HF_TASK_KEYS = {
    "text-classification": ("apiEndpoint",),
    "token-classification": ("apiEndpoint", "aggregation_strategy", "use_cache", "wait_for_model"),
    "sentence-similarity": ("apiEndpoint", "use_cache", "wait_for_model"),
    "feature-extraction": ("apiEndpoint", "use_cache", "wait_for_model"),
}
# keys promptfoo's text-classification provider accepts and never sends: they change nothing there
HF_TEXT_CLASSIFICATION_INERT = ("use_cache", "wait_for_model")
AGGREGATIONS = ("none", "simple", "first", "average", "max")
MAX_LABELS = 10_000  # labels or entities read from one answer


def task_kind(pid: str, head: str, rest: list[str], grader: bool) -> tuple[str, str, tuple[tuple[str, Any], ...]] | str | None:
    """(vendor, model, options) for a grader's Hugging Face task or SageMaker embedding id, the message
    refusing it as a suite's provider, or None when the id is none of these."""
    if head in ("huggingface", "hf") and len(rest) >= 2 and rest[0] in HF_TASKS and rest[1]:
        if grader:
            return "huggingface", ":".join(rest[1:]), (("api", rest[0]),)
        use = "classifier" if rest[0] in CLASSIFY_APIS else "similar"
        return (f"unsupported: provider {pid!r} is not a chat model ({rest[0]}); it serves as a grader only "
                f"(options.provider of a `{use}` assertion), as in promptfoo")
    if head == "sagemaker" and rest and rest[0] in ("embedding", "embeddings"):
        endpoint = ":".join(rest[1:]) or rest[0]  # promptfoo: sagemaker:embedding alone names the endpoint `embedding`
        if grader:
            return "sagemaker", endpoint, (("api", "embedding"),)
        return (f"unsupported: provider {pid!r} is not a chat model (embedding); it serves as a grader's embedding "
                "model only (options.provider.embedding, for `similar`); promptfoo fails every case it is asked to answer")
    return None


def is_task_id(pid: Any) -> bool:
    """A grader id that is not a chat model but is read as one of these (parsed with the embedding ids)."""
    if not isinstance(pid, str):
        return False
    parts = pid.split(":")
    return task_kind(pid, parts[0], parts[1:], True) is not None


def hf_task_config(api: str, key: str, value: Any, opts: dict[str, Any]) -> str | None:
    """A Hugging Face task provider's config key: None read into `opts`, else the problem with it."""
    if key in HF_TASK_KEYS[api] and key != "apiEndpoint":
        if key == "aggregation_strategy":
            if value not in AGGREGATIONS:
                return f"aggregation_strategy must be one of {', '.join(AGGREGATIONS)}"
        elif not isinstance(value, bool):
            return f"{key} must be true or false"
        opts[key] = value
        return None
    if api == "text-classification" and key in HF_TEXT_CLASSIFICATION_INERT:
        if not isinstance(value, bool):
            return f"{key} must be true or false"
        return None  # promptfoo's text-classification request carries no options: no effect there either
    return f"unsupported provider config key {key!r} for a huggingface:{api} provider (supported: {', '.join(HF_TASK_KEYS[api])})"


def _model_path(spec: ProviderSpec) -> str:
    """The model's path under the operator's base, or '' for the suite's own apiEndpoint (used as it is)."""
    return "" if spec.base_url else "/" + "/".join(segment(p) for p in spec.model.split("/"))


def _options(spec: ProviderSpec, use_cache_default: bool | None, wait_default: bool | None) -> dict[str, Any]:
    # JSON.stringify drops an undefined value: a key unset (and without a default) is not sent
    out = {"use_cache": spec.option("use_cache", use_cache_default), "wait_for_model": spec.option("wait_for_model", wait_default)}
    return {k: v for k, v in out.items() if v is not None}


def classification_request(spec: ProviderSpec, text: str) -> tuple[str, dict[str, Any]]:
    api = spec.option("api")
    if api == "text-classification":
        return _model_path(spec), {"inputs": text, "parameters": {}}
    if api == "token-classification":
        return _model_path(spec), {"inputs": text, "parameters": {"aggregation_strategy": spec.option("aggregation_strategy") or "simple"},
                                   "options": _options(spec, True, False)}
    raise WireError(f"{spec.id} is not a classification provider (huggingface:text-classification or token-classification)")


def similarity_request(spec: ProviderSpec, expected: str, output: str) -> tuple[str, dict[str, Any]]:
    return _model_path(spec), {"inputs": {"source_sentence": expected, "sentences": [output]}, "options": _options(spec, None, None)}


def _error_of(data: Any) -> None:
    if isinstance(data, dict) and "error" in data:
        raise WireError(f"API call error: {str(data['error'])[:300]}", CheckError.OTHER)
    if isinstance(data, str):
        raise WireError("the answer is not JSON", CheckError.BAD_RESPONSE)


def _score(value: Any, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise WireError(f"{what} is not a number", CheckError.BAD_RESPONSE)
    return float(value)


def classification_answer(spec: ProviderSpec, data: Any) -> dict[str, float]:
    """label → score, as promptfoo reads it: text-classification's first list of {label, score} (a later
    label of the same name wins); token-classification's entities, the highest score per entity_group."""
    _error_of(data)
    if spec.option("api") == "text-classification":
        if not isinstance(data, list) or not data or not isinstance(data[0], list):
            raise WireError("malformed answer: expected a list of [{label, score}] lists", CheckError.BAD_RESPONSE)
        items, key = data[0], "label"
    else:
        if not isinstance(data, list):
            raise WireError("malformed answer: expected a list of entities", CheckError.BAD_RESPONSE)
        items, key = data, "entity_group"
    if len(items) > MAX_LABELS:
        raise WireError(f"the answer names more than {MAX_LABELS:,} labels", CheckError.RESPONSE_TOO_LARGE)
    scores: dict[str, float] = {}
    for item in items:
        if not isinstance(item, dict):
            raise WireError(f"malformed answer: an item is not a {{{key}, score}} object", CheckError.BAD_RESPONSE)
        label, score = js_key(item.get(key)), _score(item.get("score"), f"the score of {key} {item.get(key)!r}")
        if key == "label" or label not in scores or scores[label] < score:
            scores[label] = score
    return scores


def js_key(value: Any) -> str:
    """A value as a JavaScript object key (String(value)): what a label is compared with."""
    if value is None:
        return "undefined"  # a missing label; JSON's null is read as None too (rare enough to name alike)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return value if isinstance(value, str) else json.dumps(value)


def similarity_answer(data: Any) -> float:
    """sentence-similarity: the first score of the list (one sentence was sent)."""
    _error_of(data)
    if not isinstance(data, list) or not data:
        raise WireError("malformed answer: expected a list of similarity scores", CheckError.BAD_RESPONSE)
    return _score(data[0], "the similarity")


def feature_request(spec: ProviderSpec, text: str) -> tuple[str, dict[str, Any]]:
    return _model_path(spec), {"inputs": text, "options": _options(spec, None, None)}


def _vector(value: Any) -> list[float] | None:
    if isinstance(value, list) and value and all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in value):
        return [float(x) for x in value]
    return None


def feature_answer(data: Any) -> list[float]:
    _error_of(data)
    vector = _vector(data)
    if vector is None:
        raise WireError("malformed answer: expected the embedding as a list of numbers", CheckError.BAD_RESPONSE)
    return vector


def sagemaker_embedding_request(spec: ProviderSpec, text: str) -> tuple[str, dict[str, Any]]:
    """InvokeEndpoint with promptfoo's payload per model type: openai {input, model: embedding},
    huggingface {inputs}, any other {input, text, inputs}."""
    endpoint = checked_name(str(spec.option("endpoint") or spec.model), "sagemaker endpoint")
    model_type = spec.option("modelType") or "custom"
    body: dict[str, Any]
    if model_type == "openai":
        body = {"input": text, "model": "embedding"}
    elif model_type == "huggingface":
        body = {"inputs": text}
    else:
        body = {"input": text, "text": text, "inputs": text}
    return f"/endpoints/{endpoint}/invocations", body


def sagemaker_embedding_answer(spec: ProviderSpec, data: Any) -> list[float]:
    """The value at responseFormat.path when it is a list of numbers, else the first of `embedding`,
    `embeddings`, `data[0].embedding`, the answer's first item (a list) or the answer itself (promptfoo's order)."""
    if isinstance(data, str):
        raise WireError("the answer is not JSON", CheckError.BAD_RESPONSE)
    path = spec.option("responsePath")
    steps = json_path(path) if isinstance(path, str) else None
    if steps:
        value: Any = data
        for step in steps:
            try:
                value = value[step]
            except (KeyError, IndexError, TypeError):
                value = None
                break
        if (found := _vector(value)) is not None:
            return found
    d: dict[str, Any] = data if isinstance(data, dict) else {}
    listed = d.get("data")
    first = listed[0] if isinstance(listed, list) and listed else None
    candidates = [d.get("embedding"), d.get("embeddings"), first.get("embedding") if isinstance(first, dict) else None]
    chosen = next((c for c in candidates if _truthy(c)), data[0] if isinstance(data, list) and data else data)
    vector = _vector(chosen)
    if vector is None:
        raise WireError("invalid embedding response format: no list of numbers at embedding, embeddings or data[0].embedding",
                        CheckError.BAD_RESPONSE)
    return vector


def _truthy(value: Any) -> bool:
    """JavaScript's truthiness (an empty list is true there)."""
    return value is not None and value is not False and value != 0 and value != ""


def classifier_score(expected: str | None, scores: dict[str, float], threshold: float | None) -> tuple[bool, float]:
    """promptfoo's matchesClassification: the named label's score (0 when absent), or without a value the
    highest score of any label (none at all fails with 0); it passes at `threshold` (default 1)."""
    limit = 1.0 if threshold is None else float(threshold)
    if expected is None:
        if not scores:
            return False, 0.0
        score = max(scores.values())
    else:
        score = scores.get(expected) or 0.0
    return score >= limit - 2.220446049250313e-16, score
