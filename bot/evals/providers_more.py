"""Provider ids and config keys of the vendors whose promptfoo providers have their own shapes (Cohere,
Replicate, SageMaker, Databricks, Helicone, Hugging Face, llama.cpp, Voyage), read for
bot.evals.providers_config.parse_provider: where a suite's own URL may appear (always a suite URL: the
allowlist applies and the operator's key never goes there), which keys run code, which change nothing.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from bot.evals.classifier import HF_TASKS, hf_task_config, task_kind
from bot.evals.providers_adaline import adaline_chat_params
from bot.evals.providers_agent import AGENT, agent_config, agent_kind, agent_missing
from bot.evals.providers_assistant import ASSISTANT, assistant_config, assistant_kind
from bot.evals.providers_gemini_image import GENERATE, IMAGE_API, size_problem
from bot.evals.providers_image import IMAGE, OPENAI_IMAGE, image_config, image_kind, openai_image_problem
from bot.evals.providers_kb import KB, kb_config, kb_kind, kb_missing
from bot.evals.providers_live import LiveApi, live_config, live_kind
from bot.evals.providers_ollama import ollama_config
from bot.evals.providers_shapes import INERT_CONFIG, json_path
from bot.evals.providers_watsonx import WATSONX_KEYS, watsonx_problem
from bot.evals.providers_wire_extra import MIME, SAGEMAKER_TYPES, replicate_model_ok

Kind = tuple[str, str, tuple[tuple[str, Any], ...]]
SAGEMAKER_KEYS = {"endpoint", "contentType", "acceptType", "modelType", "responseFormat"}  # kept in options
SAGEMAKER_INERT = {"delay", "basePath"}
# workspaceUrl and usageContext (sent as usage_context) are read; the other two change nothing a verdict sees
DATABRICKS_KEYS = {"workspaceUrl", "usageContext", "isPayPerToken", "aiGatewayConfig"}
_URL = ("http://", "https://")
_HEADER_NAME = re.compile(r"^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,100}$")


@dataclass
class Reading:
    """A provider entry as parse_provider builds it up from its config."""

    model: str
    params: list[tuple[str, Any]] = field(default_factory=list)
    opts: dict[str, Any] = field(default_factory=dict)
    base_url: str | None = None
    problems: list[str] = field(default_factory=list)  # about the entry as a whole (reported at its line)

    def header(self, name: str, value: Any) -> str:
        """A request header the config sets (a gateway's: Portkey, OrcaRouter, OpenClaw), written as JavaScript writes
        the value; "" when set (or None, skipped), else why it cannot be."""
        if not _HEADER_NAME.match(name) or name.lower() in ("authorization", "host", "content-length", "cookie"):
            return f"header {name[:60]!r} cannot be set by a suite"
        if value is None:
            return ""
        if isinstance(value, (dict, list)):  # as JavaScript writes values: JSON without spaces, true, 1 for 1.0
            text = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
        elif isinstance(value, bool):
            text = str(value).lower()
        elif isinstance(value, float) and value.is_integer():
            text = str(int(value))
        else:
            text = str(value)
        if "\n" in text or "\r" in text or len(text) > 4096:
            return f"header {name!r}: its value must be one line of at most 4096 characters"
        self.opts.setdefault("headers", {})[name] = text
        return ""

    def finish(self, kind: str, pid: str) -> None:
        if self.opts.get("adaline") == "gateway":  # what a chat prompt gets (promptfoo reads the config in OpenAI's names then)
            self.opts["adaline_chat"] = tuple(sorted(adaline_chat_params(dict(self.params)).items()))
        if kind == "helicone" and self.base_url is not None:
            self.base_url += f"/router/{self.opts['router']}" if self.opts.get("router") else "/ai"
        if kind == KB and (missing := kb_missing(dict(self.params), pid)):
            self.problems.append(missing)
        if kind == AGENT and (missing := agent_missing(dict(self.params), self.model, pid)):
            self.problems.append(missing)
        if self.opts.get("api") == IMAGE:
            config = dict(self.params)
            if kind in OPENAI_IMAGE and isinstance(config.get("model"), str):  # promptfoo: config.model names the model sent
                self.model = config["model"]
                self.params = [(k, v) for k, v in self.params if k != "model"]
            problem = openai_image_problem(self.model, config) if kind in OPENAI_IMAGE else (
                size_problem(self.model, config) if self.opts.get(IMAGE_API) == GENERATE else None)
            if problem:
                self.problems.append(f"provider {pid!r}: {problem} (promptfoo answers every case with this error)")
        if kind == "sagemaker" and self.opts.get("modelType") is None and self.opts.get("api") != "embedding":
            self.problems.append(f"provider {pid!r}: a SageMaker model type must be set, as config.modelType or "
                                 f"sagemaker:TYPE:ENDPOINT ({', '.join(SAGEMAKER_TYPES)}); promptfoo refuses it too")


def more_kind(pid: str, head: str, rest: list[str], embedding: bool) -> Kind | str | None:
    """(vendor, model, options) or the message refusing the id; None when `head` is not one of these vendors."""
    if not embedding and (live := live_kind(pid, head, rest)) is not None:  # openai:realtime, google:live
        return live
    if not embedding and (assistant := assistant_kind(pid, head, rest)) is not None:  # openai:assistant, azure:assistant
        return assistant
    if not embedding and (kb := kb_kind(pid, head, rest)) is not None:  # bedrock:kb
        return kb
    if not embedding and (agent := agent_kind(pid, head, rest)) is not None:  # bedrock-agent
        return agent
    if not embedding and (image := image_kind(pid, head, rest)) is not None:  # openai:image, replicate:image, fal:image, …
        return image
    if (task := task_kind(pid, head, rest, embedding)) is not None:  # graders that are not chat models
        return task
    if head == "voyage":
        model = ":".join(rest[1:]) if rest and rest[0] in ("embedding", "embeddings") else ":".join(rest)
        if embedding and model:
            return "voyage", model, (("api", "embedding"),)
        return f"unsupported: provider {pid!r} is not a chat model (Voyage AI serves embeddings: a grader's `embedding:` only)"
    if head == "cohere":
        if len(rest) == 2 and rest[0] in ("embedding", "embeddings") and rest[1]:
            return ("cohere", rest[1], (("api", "embedding"),)) if embedding else (
                f"unsupported: provider {pid!r} is not a chat model (embedding); it serves as a grader's embedding only")
        if len(rest) == 1 and rest[0] and rest[0] not in ("chat", "embedding", "embeddings"):
            return "cohere", rest[0], ()
        if len(rest) == 2 and rest[0] == "chat" and rest[1]:
            return "cohere", rest[1], ()
    if head == "watsonx" and ":".join(rest):
        return "watsonx", ":".join(rest), ()
    if head == "llama":  # promptfoo's llama.cpp provider: the model is whatever the server loaded
        return "llama", ":".join(rest) or "llama", ()
    if head in ("huggingface", "hf") and rest and rest[0] != "chat":
        if len(rest) >= 2 and rest[0] == "text-generation" and rest[1]:
            return "huggingface", ":".join(rest[1:]), ()
        return (f"unsupported: provider {pid!r} is not a chat model ({rest[0]}); prompt-review reviews text answers "
                "(huggingface:text-generation:MODEL)")
    if head == "sagemaker":
        if len(rest) >= 2 and rest[0] and rest[1]:
            if rest[0] not in SAGEMAKER_TYPES:
                return (f"provider {pid!r}: model type {rest[0]!r} is not one of SageMaker's ({', '.join(SAGEMAKER_TYPES)}); "
                        "promptfoo refuses it too")
            return "sagemaker", ":".join(rest[1:]), (("modelType", rest[0]),)
        if len(rest) == 1 and rest[0]:
            return "sagemaker", rest[0], ()
    if head == "replicate":
        if rest and rest[0] in ("image", "moderation", "audio", "video"):
            return (f"unsupported: provider {pid!r} is not a chat model ({rest[0]}); prompt-review reviews "
                    "text answers of chat models")
        model = ":".join(rest)
        if replicate_model_ok(model):
            return "replicate", model, ()
        return f"unsupported: provider {pid!r}: a Replicate model is replicate:OWNER/NAME or replicate:OWNER/NAME:VERSION"
    return None


def more_config(kind: str, key: str, value: Any, reading: Reading) -> str | None:
    """None: not one of these vendors' own keys; "": read into `reading`; else the problem with it."""
    if reading.opts.get("api") in (LiveApi.REALTIME.value, LiveApi.LIVE.value):  # every key of theirs is read there
        base_url, problem = live_config(LiveApi(reading.opts["api"]), key, value, reading.params, reading.opts)
        if base_url:
            reading.base_url = base_url
        return problem or ""
    if reading.opts.get("api") == IMAGE:  # every key of theirs is read there
        suite_url, trouble = image_config(kind, key, value, reading.params, reading.opts)
        if suite_url:
            reading.base_url = suite_url
        return trouble or ""
    if reading.opts.get("api") == ASSISTANT:  # every key of theirs is read there
        suite_url, trouble = assistant_config(kind, key, value, reading.params, reading.opts)
        if suite_url:
            reading.base_url = suite_url
        return trouble or ""
    if kind == "ollama" and (handled := ollama_config(reading.opts.get("api"), key, value, reading.params)) is not None:
        return handled  # every key of the completion and embedding providers is read there
    if kind == KB:  # every key of a knowledge base provider is read there
        return kb_config(key, value, reading.params, reading.opts) or ""
    if kind == AGENT:  # every key of an agent provider is read there
        return agent_config(key, value, reading.params, reading.opts) or ""
    if kind == "databricks" and key in DATABRICKS_KEYS:
        if key == "workspaceUrl":  # a suite's workspace: a suite URL like apiBaseUrl
            if not isinstance(value, str) or not value.startswith(_URL):
                return "workspaceUrl must be an http(s) URL"
            reading.base_url = value.rstrip("/") + "/serving-endpoints"
        elif key == "usageContext":
            reading.params.append(("passthrough", {"usage_context": value}))
        return ""
    if kind == "helicone" and key in ("baseUrl", "router", "model"):
        if not isinstance(value, str) or (key == "router" and not re.fullmatch(r"[A-Za-z0-9_-]{1,64}", value)) or (
                key == "baseUrl" and not value.startswith(_URL)):
            return {"baseUrl": "baseUrl must be an http(s) URL", "router": "router must be a router name", "model": "model must be text"}[key]
        if key == "baseUrl":  # a suite's gateway: a suite URL like apiBaseUrl
            reading.base_url = value.rstrip("/")
        elif key == "model":
            reading.model = value
        else:
            reading.opts["router"] = value
        return ""
    if kind == "watsonx" and key in WATSONX_KEYS:
        reading.opts[key] = value
        return watsonx_problem(key, value) or ""
    if kind == "llama" and key == "baseUrl":
        return ""  # promptfoo's llama provider reads LLAMA_BASE_URL only; a suite's baseUrl has no effect there either
    if kind == "huggingface" and key != "apiEndpoint" and reading.opts.get("api") in HF_TASKS:
        return None if key in INERT_CONFIG else hf_task_config(reading.opts["api"], key, value, reading.opts) or ""
    if kind == "huggingface" and key == "apiEndpoint":  # the team's Inference Endpoint: a suite URL
        if not isinstance(value, str) or not value.startswith(_URL):
            return "apiEndpoint must be an http(s) URL"
        reading.base_url = value
        return ""
    if kind == "sagemaker":
        if key in SAGEMAKER_INERT:
            return ""
        if key in SAGEMAKER_KEYS:
            problem = _sagemaker_problem(key, value)
            if problem:
                return problem
            if key == "responseFormat":
                reading.opts["responsePath"] = value.get("path")
            elif key != "modelType" or "modelType" not in reading.opts:  # the id's model type comes first, as promptfoo
                reading.opts[key] = value
            return ""
    return None


def _sagemaker_problem(key: str, value: Any) -> str | None:
    if key == "modelType" and value not in SAGEMAKER_TYPES:
        return f"modelType must be one of {', '.join(SAGEMAKER_TYPES)}"
    if key in ("contentType", "acceptType") and (not isinstance(value, str) or not MIME.match(value)):
        return f"{key} must be a media type such as application/json"
    if key == "endpoint" and (not isinstance(value, str) or not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9-]{0,62}", value)):
        return "endpoint must be a SageMaker endpoint name (letters, digits, hyphens)"
    if key == "responseFormat":
        if not isinstance(value, dict) or set(value) - {"type", "path"}:
            return "responseFormat must be a mapping of type and path"
        path = value.get("path")
        if path is not None and (not isinstance(path, str) or json_path(path) is None):
            return ("refused: responseFormat.path: executes code from the PR (a JavaScript expression); a plain "
                    "property path such as json.generated_text or json[0].generated_text is read without running code")
    return None
