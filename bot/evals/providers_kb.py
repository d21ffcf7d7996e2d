"""promptfoo's Amazon Bedrock knowledge base provider — `bedrock:kb:MODEL` (`bedrock:knowledge-base:MODEL` too) with
`config.knowledgeBaseId` — as promptfoo 0.121 calls it: one RetrieveAndGenerate request of the Agents for Amazon
Bedrock runtime (`POST /retrieveAndGenerate`, SigV4 for the `bedrock` service, or a Bedrock API key), whose
`output.text` is the output and whose `citations` are the response's metadata (`context.metadata.citations` for
code, e.g. a contextTransform). The config keys it reads are checked here at load, with the suite's line; the
transport (credentials, base URL, retries, limits) is the Caller's.
"""

from __future__ import annotations

import functools
import re
from typing import Any

from bot.evals.providers_parts import prompt_json
from bot.evals.providers_shapes import Messages
from bot.evals.suite import ProviderSpec

KB = "bedrock-kb"  # the vendor (ProviderSpec.kind): its own host, bedrock-agent-runtime.REGION.amazonaws.com
PATH = "/retrieveAndGenerate"
REGION_ENV = ("AWS_BEDROCK_REGION", "AWS_REGION", "AWS_DEFAULT_REGION")  # promptfoo reads the first; its default us-east-1
DEFAULT_REGION = "us-east-1"
SENT = ("knowledgeBaseId", "modelArn", "numberOfResults")
# Keys promptfoo's Bedrock providers read that its knowledge base provider never sends: accepted, no effect (as there)
UNSENT = {"temperature", "max_tokens", "top_p", "top_k", "stop", "seed", "maxTokens", "max_gen_len", "max_new_tokens",
          "inferenceConfig", "additionalModelRequestFields", "toolConfig", "guardrailConfig", "guardrailIdentifier",
          "guardrailVersion", "trace", "interfaceConfig", "textGenerationConfig", "thinking", "showThinking", "tools",
          "tool_choice", "anthropic_version", "endpoint", "cost", "inputCost", "outputCost", "timeout", "maxRetries", "debug",
          "stream", "cache_control"}
_KB_ID = re.compile(r"^[0-9A-Za-z]{1,10}$")  # AWS's KnowledgeBaseId
# AWS's BedrockModelArn: a model or inference profile ARN, or the bare id (promptfoo sends a us./eu./apac. profile id so)
_MODEL_ARN = re.compile(r"^(arn:aws(-[^:]+)?:(bedrock|sagemaker):[a-z0-9-]{1,20}:([0-9]{12})?:([a-z-]+/)?)?([a-z0-9.-]{1,63}){0,2}"
                        r"(([:][a-z0-9-]{1,63}){0,2})?(/[a-z0-9]{1,12})?$")
_REGION = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d{1,2}$")


def kb_kind(pid: str, head: str, rest: list[str]) -> tuple[str, str, tuple[tuple[str, Any], ...]] | str | None:
    """(vendor, model, options) for bedrock:kb:MODEL, the message refusing one without a model, or None for every
    other id."""
    if head != "bedrock" or not rest or rest[0] not in ("kb", "knowledge-base"):
        return None
    model = ":".join(rest[1:])
    if not model:
        return (f"unsupported: provider {pid!r}: a Bedrock knowledge base provider needs the model that answers "
                "(bedrock:kb:MODEL, e.g. bedrock:kb:anthropic.claude-3-5-haiku-20241022-v1:0, or bedrock:kb:default with config.modelArn)")
    return KB, model, ()


def kb_config(key: str, value: Any, params: list[tuple[str, Any]], opts: dict[str, Any]) -> str | None:
    """The problem with one config key of a knowledge base provider, or None; a key that is sent goes to `params`
    (the provider's fingerprint), the region to `opts`."""
    if key in UNSENT:
        return None
    if key == "region":
        if not isinstance(value, str) or not _REGION.match(value):
            return "region must be an AWS region such as us-east-1"
        opts[key] = value
        return None
    if key not in SENT:
        listed = ", ".join(sorted({*SENT, "region"}))
        return (f"unsupported provider config key {key!r} for a Bedrock knowledge base (supported: {listed}; sampling "
                "settings are accepted and, as in promptfoo, not sent)")
    problem = _problem(key, value)
    if problem is None or key == "knowledgeBaseId":  # a bad id is reported as such, not as a missing one too
        params.append((key, value))
    return problem


def _problem(key: str, value: Any) -> str | None:
    if key == "knowledgeBaseId" and (not isinstance(value, str) or not _KB_ID.match(value)):
        return "knowledgeBaseId must be a knowledge base id (up to 10 letters and digits, e.g. 0VMCLLCVGB)"
    if key == "modelArn" and (not isinstance(value, str) or len(value) > 2048 or not _MODEL_ARN.match(value)):
        return "modelArn must be a Bedrock model or inference profile ARN (arn:aws:bedrock:…), as AWS's API reference gives its form"
    if key == "numberOfResults" and (isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 100):
        return "numberOfResults must be a whole number from 1 to 100"
    return None


def kb_missing(params: dict[str, Any], pid: str) -> str | None:
    """promptfoo refuses a knowledge base provider without its id."""
    if "knowledgeBaseId" not in params:
        return f"provider {pid!r}: a Bedrock knowledge base provider needs config.knowledgeBaseId; promptfoo refuses it too"
    return None


def model_arn(spec: ProviderSpec, region: str) -> str | None:
    """promptfoo's modelArn: config.modelArn; else the model when it is an ARN or a cross-region inference profile
    (us./eu./apac.); else the foundation model's ARN in the region; none for `default` without config.modelArn."""
    params = dict(spec.params)
    if params.get("modelArn"):
        return str(params["modelArn"])
    model = spec.model
    if model == "default":
        return None
    if "arn:aws:bedrock" in model or model.startswith(("us.", "eu.", "apac.")):
        return model
    return f"arn:aws:bedrock:{region}::foundation-model/{model}"


def kb_request(spec: ProviderSpec, messages: Messages, region: str) -> dict[str, Any]:
    """The RetrieveAndGenerate body: the rendered prompt (a chat prompt as its JSON, as promptfoo hands it over) as
    `input.text`, and the knowledge base with the model and the number of results."""
    params = dict(spec.params)
    config: dict[str, Any] = {"knowledgeBaseId": params.get("knowledgeBaseId")}
    arn = model_arn(spec, region)
    if arn is not None:
        config["modelArn"] = arn
    if params.get("numberOfResults") is not None:
        config["retrievalConfiguration"] = {"vectorSearchConfiguration": {"numberOfResults": params["numberOfResults"]}}
    return {"input": {"text": prompt_json(messages)},
            "retrieveAndGenerateConfiguration": {"type": "KNOWLEDGE_BASE", "knowledgeBaseConfiguration": config}}


def kb_answer(data: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
    """(output, metadata) as promptfoo reads the answer: `output.text` when it is set (else empty text), and
    `{citations}` — the answer's citations as AWS's SDK hands them over (only the members AWS's model has, members
    that are null left out), or [] when they are not a list. The output is text unless the answer was odd."""
    output = data.get("output")
    text = output.get("text") if isinstance(output, dict) else None
    citations = data.get("citations")
    if not isinstance(citations, list):
        return text or "", {"citations": []}
    return text or "", {"citations": _modeled(_citations_shape(), citations)}


@functools.cache
def _citations_shape() -> Any:
    """AWS's model of RetrieveAndGenerate's `citations` (the API description botocore ships; read once, ~0.2 s)."""
    from botocore.loaders import Loader
    from botocore.model import ServiceModel

    model = ServiceModel(Loader().load_service_model("bedrock-agent-runtime", "service-2"))
    return model.operation_model("RetrieveAndGenerate").output_shape.members["citations"]


def _modeled(shape: Any, value: Any) -> Any:
    """`value` as the SDK deserialises it by `shape`: a structure keeps its modeled members that are not null; lists and
    maps go item by item; documents (a reference's metadata) and anything not of the shape's form stay as they are."""
    if shape.type_name == "structure" and not getattr(shape, "is_document_type", False) and isinstance(value, dict):
        return {name: _modeled(member, value[name]) for name, member in shape.members.items() if value.get(name) is not None}
    if shape.type_name == "list" and isinstance(value, list):
        return [_modeled(shape.member, item) for item in value]
    if shape.type_name == "map" and isinstance(value, dict):
        return {key: _modeled(shape.value, item) for key, item in value.items()}
    return value


def kb_region(spec: ProviderSpec, env: Any) -> str:
    """The region of the request's host and of a foundation model's ARN: the config's, else the environment's
    (promptfoo reads AWS_BEDROCK_REGION; prompt-review's Bedrock providers AWS_REGION too), else us-east-1."""
    configured = spec.option("region")
    if isinstance(configured, str) and configured:
        return configured
    return next((str(env[k]) for k in REGION_ENV if env.get(k)), DEFAULT_REGION)
