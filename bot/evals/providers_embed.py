"""The embedding requests of the vendors that serve a grader's `embedding:` model (OpenAI-compatible,
Azure, Gemini, Cohere, Bedrock's Titan and Cohere models), each in the body promptfoo sends, and the
vector read back. Transport stays in bot.evals.providers.Caller.embed.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from bot.evals import classifier
from bot.evals import providers_ollama as ollama
from bot.evals.providers_config import VENDORS
from bot.evals.providers_shapes import WireError, count, mapping, segment, vertex_place
from bot.evals.suite import ProviderSpec

API_VERSION_AZURE = "2024-10-21"


def embedding_request(spec: ProviderSpec, text: str) -> tuple[str, dict[str, Any]]:
    """(path under the base URL, JSON body); WireError for a vendor without embeddings or a bad name."""
    wire = VENDORS[spec.kind].wire
    if wire == "huggingface" and spec.option("api") == "feature-extraction":
        return classifier.feature_request(spec, text)
    if wire == "sagemaker" and spec.option("api") == "embedding":
        return classifier.sagemaker_embedding_request(spec, text)
    if wire == "gemini":
        return f"/v1beta/models/{segment(spec.model)}:embedContent", {"content": {"parts": [{"text": text}]}}
    if wire == "vertex":  # the publisher model's predict, as promptfoo calls it
        project, location = vertex_place(spec.option)
        return (f"/v1/projects/{project}/locations/{location}/publishers/google/models/{segment(spec.model)}:predict",
                {"instances": [{"content": text}], "parameters": {"autoTruncate": bool(spec.option("autoTruncate"))}})
    if wire == "bedrock":  # InvokeModel: Titan's {inputText} or Cohere's {texts}
        body = {"texts": [text], "input_type": "search_document"} if _bedrock_cohere(spec) else {"inputText": text}
        return f"/model/{segment(spec.model)}/invoke", body
    if wire == "ollama":
        if spec.option("api") != ollama.EMBEDDING:  # promptfoo's Ollama chat and completion providers have no embeddings call
            raise WireError("an Ollama chat or completion model gives no embeddings (ollama:embeddings:MODEL does)")
        return ollama.embedding_request(spec.model, text)
    if wire == "cohere":
        return "/v1/embed", {"model": spec.model, "texts": [text], "input_type": "classification", "truncate": "NONE"}
    if wire != "openai":
        raise WireError("embeddings need an OpenAI-compatible, Gemini, Vertex, Cohere, Bedrock, SageMaker embedding, Ollama embedding "
                        "or Hugging Face feature-extraction provider")
    if spec.kind == "azure":
        version = str(spec.option("apiVersion") or API_VERSION_AZURE)
        return f"/openai/deployments/{segment(spec.model)}/embeddings?api-version={quote(version, safe='')}", {"model": spec.model, "input": text}
    return "/embeddings", {"model": spec.model, "input": text}


def embedding_answer(spec: ProviderSpec, data: Any) -> tuple[list[float], int | None]:
    """(the vector, input tokens the vendor reported, None when it reports none); WireError naming the
    missing field."""
    wire = VENDORS[spec.kind].wire
    if wire == "huggingface":
        return classifier.feature_answer(data), None
    if wire == "sagemaker":
        return classifier.sagemaker_embedding_answer(spec, data), None
    if not isinstance(data, dict):
        raise WireError("unexpected answer shape (not a JSON object)")
    if wire == "ollama":  # (Ollama reports no token count for an embedding)
        return ollama.embedding_answer(data), None
    tokens: int | None
    path: tuple[str | int, ...]
    if wire == "gemini":
        path, tokens = ("embedding", "values"), None
    elif wire == "vertex":
        predictions = data.get("predictions")
        first = mapping(predictions[0]) if isinstance(predictions, list) and predictions else {}
        path, tokens = ("predictions", 0, "embeddings", "values"), count(mapping(mapping(first.get("embeddings")).get("statistics")).get("token_count"))
    elif wire == "bedrock":
        path = ("embeddings", 0) if _bedrock_cohere(spec) else ("embedding",)
        tokens = count(data.get("inputTextTokenCount"))
    elif wire == "cohere":
        path, tokens = ("embeddings", 0), count(mapping(mapping(data.get("meta")).get("billed_units")).get("input_tokens"))
    else:
        path, tokens = ("data", 0, "embedding"), count(mapping(data.get("usage")).get("prompt_tokens"))
    value: Any = data
    try:
        for step in path:
            value = value[step]
        return [float(x) for x in value], tokens
    except (KeyError, IndexError, TypeError, ValueError):
        where = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in path).lstrip(".")
        raise WireError(f"response has no {where}") from None


def _bedrock_cohere(spec: ProviderSpec) -> bool:
    return ".cohere." in f".{spec.model}"
