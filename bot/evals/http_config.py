"""The keys of promptfoo 0.121's `http` provider config (its HttpProviderConfigSchema), key by key: which ones
prompt-review sends as promptfoo does, which have no effect in an eval (and why), and which are refused or
unsupported with their own reason. bot.evals.providers_config reads an http provider's entry through `http_key`;
an unknown key names these keys, never the chat parameters.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from typing import Any

from bot.evals.http_auth import auth_problem
from bot.evals.http_body import Fill, form_encoded, render
from bot.evals.http_templates import HEADERS, templated_header, template_problem
from bot.evals.providers_shapes import ENV_TOKEN
from bot.evals.suite import ProviderSpec

# every key of promptfoo 0.121.20's HttpProviderConfigSchema
SCHEMA_KEYS = (
    "auth", "body", "headers", "maxRetries", "method", "multipart", "queryParams", "request", "responseParser", "session",
    "sessionParser", "sessionSource", "signatureAuth", "stateful", "tls", "tokenEstimation", "tool_choice", "tools",
    "transformRequest", "transformResponse", "transformToolsFormat", "url", "useHttps", "validateStatus",
)
# read and sent (or run) as promptfoo does
SUPPORTED = frozenset({"url", "method", "headers", "body", "transformResponse", "transformRequest", "responseParser",
                       "queryParams", "auth", "validateStatus", "tools", "tool_choice", "transformToolsFormat", "request",
                       "useHttps"})
QUERY = "query"  # ProviderSpec.call_values: a case's rendered queryParams (name, value) pairs
# accepted, no effect in an eval: promptfoo's own pacing, or settings only its red-team setup reads
INERT = {
    "maxRetries": "retries follow evals settings (prompt-review retries a failed call itself)",
    "tokenEstimation": "promptfoo's word-count token estimate for cost reports; prompt-review reports the answer's own usage",
    "sessionSource": "read by promptfoo's red-team setup only; an eval does not use it",
    "stateful": "read by promptfoo's red-team setup only; an eval does not use it",
}
_SESSION = ("multi-turn server sessions carried across cases (promptfoo's red-team conversations); prompt-review runs "
            "each case on its own")
REASONS = {
    "tls": ("unsupported: tls: client certificates, private keys and CA bundles read from files or the suite; "
            "prompt-review connects with the system's trust store and holds no keys of a repository"),
    "signatureAuth": ("refused: signatureAuth: signs each request with a private key read from a file or the suite; "
                      "credentials come from the environment only"),
    "session": f"unsupported: session: a session endpoint called before each request for a session id ({_SESSION})",
    "sessionParser": f"unsupported: sessionParser: code reading a session id from each answer ({_SESSION})",
    "multipart": "unsupported: multipart: multipart/form-data requests with files read from the repository",
}


def unknown(key: Any) -> str:
    return (f"unsupported http provider config key {key!r} (promptfoo's http provider keys: {', '.join(SCHEMA_KEYS)}; "
            f"supported here: {', '.join(sorted(SUPPORTED | set(INERT)))})")


def http_key(key: str, value: Any) -> str | None:
    """The problem with an http-schema key that is not read elsewhere (None: accepted as it is)."""
    if key in REASONS:
        return REASONS[key]
    if key == "validateStatus" and (not isinstance(value, str) or not value.strip()):
        return ("validateStatus must be text: a JavaScript expression over status (status < 500), a function "
                "((status) => status < 500), or file://x.js[:name]")
    if key == "useHttps" and not isinstance(value, bool):
        return "useHttps must be true or false"
    if key == "tools" and not isinstance(value, list):
        return "tools must be a list (promptfoo gives it to the body as {{tools}})"
    if key == "transformToolsFormat" and value not in ("openai", "anthropic", "bedrock", "google"):
        return "transformToolsFormat must be openai, anthropic, bedrock or google"
    if key == "auth":
        return auth_problem(value)
    if key == "queryParams":
        if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
            return "queryParams must be a mapping of parameter names to text"
        if (problem := template_problem("queryParams", value)) is not None:
            return problem + (" (a credential in the URL goes through `auth` with placement: query)" if "env" in problem else "")
    return None


def rendered_query(spec: ProviderSpec, prompt: Any, vars_: Mapping[str, Any], fill: Fill | None = None) -> list[list[str]]:
    """`queryParams` with the test's vars and the prompt filled in (promptfoo renders each value with the call's vars,
    the prompt as rendered — not what a transformRequest made of it)."""
    params = spec.option("queryParams") or {}
    values = (fill or render)([str(v) for v in params.values()], {**vars_, "prompt": prompt})
    return [[str(k), str(v)] for k, v in zip(params, values)]


def with_query(provider: ProviderSpec, prompt: Any, vars_: Mapping[str, Any], fill: Fill | None = None) -> ProviderSpec:
    """The provider with this case's query (not part of its identity: the case's prompt and vars are)."""
    if provider.kind != "http" or not provider.option("queryParams"):
        return provider
    return dataclasses.replace(provider, call_values={**(provider.call_values or {}), QUERY: rendered_query(provider, prompt, vars_, fill)})


def query_suffix(url: str, pairs: list[list[str]]) -> str:
    """What promptfoo appends to the URL for these pairs (searchParams.append, in order): `?a=b&c=d`, or `&…` when
    the URL has a query already; empty for none."""
    if not pairs:
        return ""
    return ("&" if "?" in url else "?") + "&".join(f"{form_encoded(k)}={form_encoded(v)}" for k, v in pairs)


def status_source(value: str) -> str | None:
    """promptfoo's validateStatus as code over `output` (the status): a function expression (with `=>`, or starting
    with `function`) is called with the status, anything else is an expression over `status`; None for a file."""
    text = value.strip()
    if text.startswith("file://"):
        return None
    call = "(status)" if "=>" in text or text.startswith("function") else ""
    # line 2 of the body is the user's first line (the sandbox reports lines of the body less its header)
    return f"const status = output; return (\n{text}\n){call}"


HEADER_VARS = "header_vars"  # ProviderSpec.call_values: a case's values of the vars its headers use
_HEADER_VAR = re.compile(r"{{\s*([A-Za-z_]\w*)\s*}}")


def headers_problem(value: Any, filters: bool = False) -> str | None:
    """An http provider's `headers`: text values whose templates are `{{env.NAME}}` (bot.evals.header_secrets) or the
    case's `{{var}}`s and `{{prompt}}` (promptfoo renders headers with the call's vars); with `filters` (a provider's
    `headers`, not a raw request's) a value without `{{env.NAME}}` may also use nunjucks filters and tags."""
    if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
        return "headers must be a mapping of name → text"
    for name, text in value.items():
        if not templated_header(text):
            continue
        if filters and not ENV_TOKEN.search(text):
            if (problem := template_problem(f"header {name!r}", text)) is not None:
                return problem
            continue
        return ("unsupported: a header may use {{env.NAME}} (the service's environment, sent where the base branch's "
                "evals.http_credentials allows) and the test's {{var}}s, nothing else templated in the same header (no "
                "filters or tags beside {{env.NAME}}" + ("" if filters else ", none in a raw request's headers") + ")")
    return None


def with_rendered_headers(provider: ProviderSpec, prompt: Any, vars_: Mapping[str, Any], fill: Fill | None) -> ProviderSpec:
    """The provider with the header values that use filters or tags rendered for this case (they hold no
    `{{env.NAME}}`; sent as rendered, never read as a template again)."""
    headers = provider.option("headers")
    if fill is None or not isinstance(headers, dict):
        return provider
    chosen = {str(k): str(v) for k, v in headers.items() if templated_header(str(v))}
    if not chosen:
        return provider
    rendered = fill(list(chosen.values()), {**vars_, "prompt": prompt})
    return dataclasses.replace(provider, call_values={**(provider.call_values or {}), HEADERS: dict(zip(chosen, rendered))})


def with_header_vars(provider: ProviderSpec, prompt: Any, vars_: Mapping[str, Any]) -> ProviderSpec:
    """The provider with the values of the vars its headers use, for this case (filled when the request is sent, in
    one pass with `{{env.NAME}}`: a var's value is never read as a template)."""
    headers = provider.option("headers")
    if provider.kind != "http" or not isinstance(headers, dict):
        return provider
    names = sorted({m.group(1) for v in headers.values() for m in _HEADER_VAR.finditer(str(v))})
    if not names:
        return provider
    values = {**vars_, "prompt": prompt}
    used = {n: str(render("{{" + n + "}}", values)) for n in names}
    return dataclasses.replace(provider, call_values={**(provider.call_values or {}), HEADER_VARS: used})
