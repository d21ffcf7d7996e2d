"""The chat vendors promptfoo 0.121 reaches through its OpenAI chat-completions client with its own
URL, key variable and id forms (GitHub Models, Moonshot, MiniMax, NVIDIA NIM, Novita, Atlas Cloud,
OrcaRouter, Llama API, Alibaba Cloud, AI21, Portkey, JFrog ML, Cloudera AI, MLflow AI Gateway, Envoy AI
Gateway, F5, Cloudflare Workers AI, Snowflake Cortex, the Meta Model API's chat, an OpenClaw gateway — whose own
forms are in bot.evals.providers_openclaw), read for bot.evals.providers_config: the id forms
(`vendor_kind`), the config keys each one reads (`vendor_config`, `vendor_finish`) and where the
operator's requests go (`operator_base`). The vendor table rows themselves are in providers_config.VENDORS.

A URL a suite writes (apiBaseUrl, baseUrl, gatewayUrl, domain, …) is always a suite URL: the URL policy
applies and the operator's key never goes there (an OpenClaw gateway's token: only where the base branch or the
operator grants it, as for headers). Settings that are credentials or name environment
variables are refused, as for every vendor.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from bot.core.errors import CheckError
from bot.evals.providers_anthropic import anthropic_config
from bot.evals.providers_more import Kind, Reading
from bot.evals.providers_openclaw import openclaw_base, openclaw_config, openclaw_headers, openclaw_kind
from bot.evals.providers_shapes import INERT_CONFIG, WireError, checked_name, segment
from bot.evals.suite import ProviderSpec

_URL = ("http://", "https://")
# promptfoo's names for one vendor under several ids
ALIASES = {"alicloud": "alibaba", "aliyun": "alibaba", "dashscope": "alibaba", "qwak": "jfrog", "togetherai": "together"}
NOT_CHAT = {
    "vercel": "promptfoo calls Vercel's AI Gateway through the AI SDK's own gateway protocol, not chat completions; "
              "call the model through its vendor's provider",
    "modelslab": "ModelsLab serves image generation only (modelslab:image:MODEL)",
    "quiverai": "QuiverAI generates SVG images, not text answers",
    "cloudflare-gateway": "Cloudflare AI Gateway (a gateway in front of a dozen vendors, each with its own key and "
                          "wire format) is not part of prompt-review yet; call the vendor behind it directly, or "
                          "Workers AI through cloudflare-ai:chat:MODEL",
}
# the heads read here (the generic embedding forms of providers_config do not apply to them)
HEADS = frozenset({"meta", "github", "moonshot", "minimax", "nvidia", "novita", "atlascloud", "orcarouter", "llamaapi", "alibaba",
                   "ai21", "portkey", "jfrog", "cloudflare-ai", "snowflake", "cloudera", "mlflow-gateway", "envoy", "f5", "openclaw"}
                  | set(ALIASES) | set(NOT_CHAT))
NVIDIA_RESERVED = {"chat", "completion", "embedding", "embeddings", "image", "moderation", "realtime", "responses"}
NOVITA_SUBTYPES = {"chat", "completion", "embedding", "embeddings"}
DEFAULT_MODEL = {"github": "openai/gpt-5", "moonshot": "kimi-k3", "minimax": "MiniMax-M3", "meta": "muse-spark-1.1"}
META_NOT_CHAT = {"assistant", "audio", "completion", "embedding", "embeddings", "image", "moderation", "realtime", "transcription", "video"}
META_EFFORTS = ("minimal", "low", "medium", "high", "xhigh")
# promptfoo's AI21 provider sends these whatever the config says (it reads temperature, top_p, max_tokens
# and response_format only)
AI21_DEFAULTS = {"temperature": 0.1, "top_p": 1, "max_tokens": 1024, "n": 1, "stop": [], "response_format": {"type": "text"}}
AI21_KEYS = {"temperature", "top_p", "max_tokens", "response_format"}
ORCAROUTER_HEADERS = {"HTTP-Referer": "https://promptfoo.dev/", "X-Title": "promptfoo"}
# OrcaRouter upstreams that reject `temperature` (Claude Opus 4 and later, DeepSeek's reasoners), as promptfoo matches them
_NO_TEMPERATURE = re.compile(r"(^|/)claude-opus-([4-9]|\d{2,})|(^|/)deepseek-(reasoner|r\d+)\b")
SNOWFLAKE_PATH = "/api/v2/cortex/inference:complete"
MLFLOW_PATH = "/gateway/mlflow/v1"
CLOUDFLARE_API = "https://api.cloudflare.com/client/v4"
# The URL keys promptfoo overwrites with its own for these vendors: a suite that sets them changes nothing there.
_OVERWRITTEN = {"github": "the GitHub Models URL", "llamaapi": "the Llama API URL", "jfrog": "baseUrl + the model",
                "cloudera": "config.domain, namespace and endpoint", "mlflow-gateway": "config.gatewayUrl",
                "portkey": "config.portkeyApiBaseUrl (or PORTKEY_API_BASE_URL)",
                "openclaw": "config.gateway_url (or OPENCLAW_GATEWAY_URL) + /v1", "cometapi": "the CometAPI URL"}
_KEBAB = re.compile(r"(?<=[a-z])([A-Z])")  # promptfoo's kebab case: a dash between a lower and an upper case letter


def vendor_kind(pid: str, head: str, rest: list[str], embedding: bool) -> Kind | str | None:
    """(vendor, model, options) or the message refusing the id; None when `head` is not one of these vendors."""
    if head in NOT_CHAT:
        return f"unsupported: provider {pid!r}: {NOT_CHAT[head]}"
    if head == "openclaw":
        return openclaw_kind(pid, rest, embedding)
    kind = ALIASES.get(head, head)
    joined = ":".join(rest)
    if kind in ("github", "minimax", "atlascloud", "orcarouter", "portkey", "jfrog", "snowflake", "envoy", "mlflow-gateway"):
        model = joined or DEFAULT_MODEL.get(kind, "")  # promptfoo: everything after the first colon is the model
        return (kind, model, ()) if model else _needs_model(pid, kind)
    if kind in ("moonshot", "llamaapi"):
        model = ":".join(rest[1:]) if rest and rest[0] == "chat" else joined
        model = model or DEFAULT_MODEL.get(kind, "")
        return (kind, model, ()) if model else _needs_model(pid, kind)
    if kind == "nvidia":
        if rest and rest[0] in NVIDIA_RESERVED:
            return (f"unsupported: provider {pid!r}: NVIDIA NIM ids are nvidia:MODEL (chat completions); promptfoo "
                    f"refuses the sub-type {rest[0]!r} too")
        return ("nvidia", joined, ()) if joined else _needs_model(pid, kind)
    if kind == "novita":
        typed = bool(rest) and rest[0] in NOVITA_SUBTYPES
        if not typed and len(rest) >= 2 and re.fullmatch(r"[a-z][a-z0-9_-]*", rest[0], re.I):
            return (f"unsupported: provider {pid!r}: {rest[0]!r} is not one of Novita's sub-types (chat, completion, "
                    "embedding); promptfoo refuses it too")
        model = ":".join(rest[1:] if typed else rest)
        if not model.strip():
            return _needs_model(pid, kind)
        if typed and rest[0] == "completion":
            return f"unsupported: provider {pid!r} is not a chat model (completion); prompt-review reviews text answers of chat models"
        if typed and rest[0] in ("embedding", "embeddings"):
            return ("novita", model, (("api", "embedding"),)) if embedding else _embedding_only(pid)
        return "novita", model, ()
    if kind == "alibaba":  # promptfoo: the second part is a type only for embeddings; else the model is the third part, or the second
        model = ":".join(rest[1:]) or (rest[0] if rest else "")
        if not model:
            return _needs_model(pid, kind)
        if rest[0] in ("embedding", "embeddings"):
            return ("alibaba", model, (("api", "embedding"),)) if embedding else _embedding_only(pid)
        return "alibaba", model, ()
    if kind == "meta":  # the Meta Model API: promptfoo's default sub-type is its Responses API
        if rest and rest[0] in META_NOT_CHAT:
            return f"unsupported: provider {pid!r} is not a chat model ({rest[0]}); the Meta Model API has no such endpoint (promptfoo refuses it too)"
        if rest and rest[0] == "chat":
            return "meta", ":".join(rest[1:]) or DEFAULT_MODEL["meta"], ()
        if len(rest) > 1 and rest[0] not in ("responses", "messages"):
            return f"unsupported: provider {pid!r}: {rest[0]!r} is not a sub-type of the Meta Model API (chat, responses, messages); promptfoo refuses it too"
        return (f"unsupported: provider {pid!r}: meta:MODEL and meta:responses:MODEL call the Meta Model API's Responses API and "
                "meta:messages:MODEL its messages API, which are not part of prompt-review yet; meta:chat:MODEL (chat completions) is")
    if kind in ("ai21", "cloudera"):  # promptfoo: the second part only
        model = rest[0] if rest else ""
        return (kind, model, ()) if model else _needs_model(pid, kind)
    if kind == "f5":
        endpoint = joined[1:] if joined.startswith("/") else joined
        return ("f5", endpoint, ()) if endpoint else _needs_model(pid, kind)
    if head == "togetherai":  # promptfoo's second name for Together AI (chat, completion and embedding forms)
        model = ":".join(rest[1:]) if rest and rest[0] in ("chat", "completion", "embedding", "embeddings") else joined
        if not model:
            return _needs_model(pid, "togetherai")
        if rest[0] == "completion":
            return f"unsupported: provider {pid!r} is not a chat model (completion); prompt-review reviews text answers of chat models"
        if rest[0] in ("embedding", "embeddings"):
            return ("together", model, (("api", "embedding"),)) if embedding else _embedding_only(pid)
        return "together", model, ()
    if kind == "cloudflare-ai":
        model = ":".join(rest[1:])
        if not rest or rest[0] not in ("chat", "completion", "embedding", "embeddings") or not model:
            return (f"unsupported: provider {pid!r}: Cloudflare Workers AI ids are cloudflare-ai:chat:MODEL (or "
                    "cloudflare-ai:embedding:MODEL for a grader); promptfoo refuses other forms too")
        if rest[0] == "completion":
            return f"unsupported: provider {pid!r} is not a chat model (completion); prompt-review reviews text answers of chat models"
        if rest[0] in ("embedding", "embeddings"):
            return ("cloudflare-ai", model, (("api", "embedding"),)) if embedding else _embedding_only(pid)
        return "cloudflare-ai", model, ()
    return None


def _needs_model(pid: str, kind: str) -> str:
    return f"unsupported: provider {pid!r}: a model is required ({kind}:MODEL); promptfoo refuses it too"


def _embedding_only(pid: str) -> str:
    return f"unsupported: provider {pid!r} is not a chat model (embedding); it serves as a grader's embedding only"


def vendor_config(kind: str, key: str, value: Any, reading: Reading) -> str | None:
    """None: not one of these vendors' own keys; "": read into `reading`; else the problem with it."""
    if kind == "anthropic" and not reading.opts.get("adaline") and (read := anthropic_config(key, value, reading)) is not None:
        return read
    if kind in _OVERWRITTEN and key in ("apiBaseUrl", "apiBase", "baseUrl") and not (kind == "jfrog" and key == "baseUrl"):
        return (f"{key} has no effect on {kind} providers: promptfoo sets their URL from {_OVERWRITTEN[kind]}; "
                "remove it")
    if kind == "openclaw":
        return openclaw_config(key, value, reading)
    if kind == "ai21":
        if key in AI21_KEYS:
            reading.opts.setdefault("ai21", {})[key] = value
            return ""
        if key in ("apiBaseUrl", "baseUrl", "apiBase") or key in INERT_CONFIG:
            return None
        return f"{key} is not read by promptfoo's AI21 provider (it sends {', '.join(sorted(AI21_KEYS))} only); remove it"
    if kind == "meta" and key in ("stop", "logprobs", "logit_bias", "n", "stream", "reasoning_effort", "apiHost"):
        if key == "apiHost":  # promptfoo: https://HOST/v1, a suite URL
            if not isinstance(value, str) or not re.fullmatch(r"[A-Za-z0-9.-]{1,253}(:[0-9]{1,5})?/*", value):
                return "apiHost must be a host name"
            reading.base_url = f"https://{value.rstrip('/')}/v1"
            return ""
        if key == "reasoning_effort":
            if value is not None and str(value) not in META_EFFORTS:
                return f"reasoning_effort {value!r} is not supported by Muse Spark models (promptfoo refuses it): one of {', '.join(META_EFFORTS)}"
            return None
        if key == "n" and not (isinstance(value, int) and value > 1):
            return None
        if key == "stream" and not value:
            return None
        return f"{key} is not supported by Muse Spark models (promptfoo refuses it); remove it"
    if kind == "jfrog" and key == "baseUrl":
        if not isinstance(value, str) or not value.startswith(_URL):
            return "baseUrl must be an http(s) URL"
        try:
            reading.base_url = value.rstrip("/") + "/" + url_path(reading.model, "model")
        except WireError as exc:
            return str(exc)
        return ""
    if kind == "cloudera" and key in ("domain", "namespace", "endpoint"):
        if not isinstance(value, str) or not (re.fullmatch(r"[A-Za-z0-9.-]{1,253}(:[0-9]{1,5})?", value) if key == "domain"
                                              else value not in ("", ".", "..")):
            return f"{key} must be {'a host name' if key == 'domain' else 'a name'}"
        reading.opts[key] = value
        return ""
    if kind == "mlflow-gateway" and key in ("gatewayUrl", "apiKeyRequired"):
        if key == "apiKeyRequired":
            return "" if isinstance(value, bool) else "apiKeyRequired must be true or false"
        if not isinstance(value, str) or not value.strip().startswith(_URL):
            return "gatewayUrl must be an http(s) URL"
        reading.base_url = value.strip().rstrip("/") + MLFLOW_PATH
        return ""
    if kind == "portkey":
        if key == "portkeyApiKey":
            return "refused: portkeyApiKey: credentials come from the environment only, never from the repository"
        if key == "portkeyApiBaseUrl":
            if not isinstance(value, str) or not value.startswith(_URL):
                return "portkeyApiBaseUrl must be an http(s) URL"
            reading.base_url = value
            return reading.header("x-portkey-api-base-url", value)  # promptfoo sends it as a header too
        if key.startswith("portkey"):  # promptfoo sends every portkey* key as the x-portkey-* header
            return reading.header("x-portkey-" + _KEBAB.sub(r"-\1", key[7:]).lower(), value)
        # promptfoo sends every other key as a header of its own name too (and reads it as usual)
        return reading.header(key, value) or None
    if kind == "orcarouter" and key in ("models", "route", "headers"):
        if key == "headers":
            if not isinstance(value, dict):
                return "headers must be a mapping of header names to values"
            for name, v in value.items():
                if (problem := reading.header(str(name), v)) != "":
                    return problem
            return ""
        reading.opts.setdefault("passthrough", {})[key] = value
        return ""
    if kind == "snowflake" and key == "accountIdentifier":
        if not isinstance(value, str) or not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,254}", value):
            return "accountIdentifier must be a Snowflake account identifier (letters, digits, '-', '_', '.')"
        reading.opts["accountIdentifier"] = value
        return ""
    if kind == "cloudflare-ai":
        if key == "accountId":
            if not isinstance(value, str) or not re.fullmatch(r"[A-Za-z0-9_-]{1,64}", value):
                return "accountId must be a Cloudflare account id"
            reading.opts["accountId"] = value
            return ""
        if key == "accountIdEnvar":
            return "refused: accountIdEnvar: reading arbitrary environment variables is not allowed"
    return None


def vendor_passthrough(kind: str, key: str, value: Any, reading: Reading) -> bool:
    """Cloudflare Workers AI: promptfoo sends every other config key in the request body."""
    if kind != "cloudflare-ai":
        return False
    reading.opts.setdefault("passthrough", {})[key] = value
    return True


def vendor_finish(kind: str, reading: Reading) -> None:
    """What the config as a whole decides: promptfoo's defaults and the suite URL each vendor builds."""
    if kind == "ai21":
        given = reading.opts.pop("ai21", {})
        reading.params[:] = [(k, v) for k, v in reading.params if k not in AI21_DEFAULTS]
        reading.params.extend({**AI21_DEFAULTS, **{k: v for k, v in given.items() if v is not None}}.items())
    if kind == "novita" and reading.opts.get("api") != "embedding" and not any(k == "temperature" for k, _ in reading.params):
        reading.params.append(("temperature", 1))  # promptfoo's Novita default
    if kind == "orcarouter":
        reading.opts["headers"] = {**ORCAROUTER_HEADERS, **reading.opts.get("headers", {})}
        fallbacks = reading.opts.get("passthrough", {}).get("models")
        names = [reading.model] + (fallbacks if isinstance(fallbacks, list) else [])
        if any(isinstance(n, str) and _NO_TEMPERATURE.search(n) for n in names):  # promptfoo drops it for these upstreams
            reading.params[:] = [(k, v) for k, v in reading.params if k != "temperature"]
    if kind == "meta" and not any(k == "temperature" for k, _ in reading.params):
        reading.params.append(("temperature", 0))  # promptfoo's Meta chat sends temperature 0 unless set
    if kind in ("minimax", "meta") or (kind == "moonshot" and re.match(r"kimi-", reading.model, re.I)):
        given = dict(reading.params)  # promptfoo sends their output cap as max_completion_tokens
        if "max_tokens" in given:
            cap = given["max_completion_tokens"] if given.get("max_completion_tokens") is not None else given["max_tokens"]
            reading.params[:] = [(k, v) for k, v in reading.params if k not in ("max_tokens", "max_completion_tokens")]
            reading.params.append(("max_completion_tokens", cap))
    if kind == "minimax" and any(k == "function_call" for k, _ in reading.params):
        reading.problems.append("function_call is not supported by MiniMax (promptfoo refuses it): use tools and tool_choice")
    if kind == "moonshot" and any(k == "reasoning_effort" for k, _ in reading.params) and not re.match(r"kimi-k3", reading.model, re.I):
        reading.problems.append(f"reasoning_effort is supported on Moonshot's kimi-k3 models only, not {reading.model!r} "
                                "(promptfoo refuses it too); use passthrough")
    if "passthrough" in reading.opts:
        extra = reading.opts.pop("passthrough")
        given = next((v for k, v in reading.params if k == "passthrough" and isinstance(v, dict)), {})
        reading.params[:] = [(k, v) for k, v in reading.params if k != "passthrough"]
        reading.params.append(("passthrough", {**extra, **given}))
    if reading.base_url is not None:  # (envoy: a suite's apiBaseUrl is used as written; promptfoo adds /v1 to the environment's only)
        if kind == "f5":
            try:
                reading.base_url = reading.base_url + "/" + url_path(reading.model, "f5 endpoint")
            except WireError as exc:
                reading.problems.append(str(exc))
    if kind == "cloudera" and reading.opts.get("domain"):
        try:
            reading.base_url = f"https://{reading.opts['domain']}" + cloudera_path(reading.model, reading.opts.get)
        except WireError as exc:
            reading.problems.append(str(exc))
    if kind == "openclaw":
        openclaw_headers(reading)
    if kind in ("portkey", "orcarouter", "openclaw") and "headers" in reading.opts:  # frozen for the fingerprint (providers.Caller reads them)
        reading.opts["headers"] = tuple(sorted(reading.opts["headers"].items()))


def url_path(value: str, what: str) -> str:
    """A name from the id appended to a URL as promptfoo does (slashes kept), each segment percent-encoded and
    never `.` or `..`."""
    return "/".join(segment(part, what) for part in value.split("/"))


def cloudera_path(model: str, option: Callable[[str], Any]) -> str:
    namespace = str(option("namespace") or "serving-default")
    endpoint = str(option("endpoint") or model)
    return f"/namespaces/{segment(namespace, 'cloudera namespace')}/endpoints/{segment(endpoint, 'cloudera endpoint')}/v1"


def operator_base(name: str, env: Mapping[str, str], spec: ProviderSpec) -> tuple[bool, str | None]:
    """(handled, base URL) for the vendors whose URL the operator's settings build; (False, None) for the others.
    A setting that is missing, when the suite names no URL of its own either, is an error naming it and the
    provider's line."""
    model, option = spec.model, spec.option
    at = f" at suite line {spec.line}" if spec.line else ""

    def missing(setting: str, what: str, config_key: str) -> WireError:
        return WireError(f"{setting} is not set ({what}; or config.{config_key} of the provider{at})", CheckError.MISSING_CREDENTIALS)

    base = ""
    if name == "envoy":
        base = env.get("ENVOY_API_BASE_URL", "").rstrip("/")
        if base:
            return True, base if base.endswith("/v1") else base + "/v1"
        problem = missing("ENVOY_API_BASE_URL", "the Envoy AI Gateway its requests go to", "apiBaseUrl")
    elif name == "mlflow-gateway":
        base = env.get("MLFLOW_GATEWAY_URL", "").strip().rstrip("/")
        if base:
            return True, base + MLFLOW_PATH
        problem = missing("MLFLOW_GATEWAY_URL", "the MLflow AI Gateway its requests go to", "gatewayUrl")
    elif name == "f5":
        base = env.get("F5_BASE_URL", "").rstrip("/")
        if base:
            return True, f"{base}/{url_path(model, 'f5 endpoint')}"
        problem = missing("F5_BASE_URL", "the F5 AI Gateway its requests go to", "apiBaseUrl")
    elif name == "openclaw":  # promptfoo's default, http://127.0.0.1:18789, would be the reviewer's own machine
        base = (env.get("OPENCLAW_GATEWAY_URL") or env.get("CLAWDBOT_GATEWAY_URL") or "").strip()
        if base:
            return True, openclaw_base(base)
        problem = missing("OPENCLAW_GATEWAY_URL", "the OpenClaw gateway its requests go to; promptfoo's default, a gateway on the "
                          "local machine, is never called", "gateway_url")
    elif name == "jfrog":
        base = (env.get("JFROG_BASE_URL") or "https://models.qwak-prod.qwak.ai/v1").rstrip("/")
        return True, f"{base}/{url_path(model, 'model')}"
    elif name == "cloudera":
        host = env.get("CLOUDERA_BASE_URL", "").rstrip("/") or (f"https://{env['CDP_DOMAIN']}" if env.get("CDP_DOMAIN") else "")
        if host:
            return True, host + cloudera_path(model, option)
        problem = missing("CDP_DOMAIN", "the Cloudera AI domain its requests go to", "domain")
    elif name == "cloudflare-ai":
        account = option("accountId") or env.get("CLOUDFLARE_ACCOUNT_ID")
        if account:
            base = (env.get("CLOUDFLARE_BASE_URL") or CLOUDFLARE_API).rstrip("/")
            return True, f"{base}/accounts/{checked_name(str(account), 'cloudflare accountId')}/ai/v1"
        problem = missing("CLOUDFLARE_ACCOUNT_ID", "the Cloudflare account its requests go to", "accountId")
    elif name == "snowflake":
        if env.get("SNOWFLAKE_BASE_URL"):
            return True, env["SNOWFLAKE_BASE_URL"].rstrip("/")
        account = option("accountIdentifier") or env.get("SNOWFLAKE_ACCOUNT_IDENTIFIER")
        if account:
            if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,254}", str(account)) or ".." in str(account):
                raise WireError(f"snowflake account identifier {str(account)[:40]!r} is not valid", CheckError.URL_REFUSED)
            return True, f"https://{account}.snowflakecomputing.com"
        problem = missing("SNOWFLAKE_ACCOUNT_IDENTIFIER", "the Snowflake account its requests go to", "accountIdentifier")
    else:
        return False, None
    if spec.base_url is not None:  # the suite's own URL is used (a suite URL: no key goes there)
        return True, None
    raise problem
