"""Model calls over httpx for every vendor of bot.evals.providers_config (wire formats in
bot.evals.providers_wire; OpenAI-compatible embeddings here), with retries
(tenacity: Retry-After first, else jittered exponential backoff) and a budget charged before every
request so a run never overspends. The endpoint may be hostile: every attempt has a total deadline
(connect, send and the whole body), the call with its retries has one too, the answer is read in
pieces up to a size limit, and error bodies are never echoed beyond one short known field.
"""

from __future__ import annotations

import asyncio
import dataclasses
import email.utils
import functools
import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from importlib import resources
from typing import Any
from urllib.parse import urlsplit

import httpx
from tenacity import AsyncRetrying, retry_if_exception, stop_after_attempt, stop_before_delay, wait_random_exponential

from bot.core import safejson
from bot.core.config import Budget, EvalsConfig
from bot.core.errors import CheckError
from bot.evals import classifier
from bot.evals import providers_anthropic as anthropic
from bot.evals import providers_wire as wire
from bot.evals import providers_wire_extra as more
from bot.evals.providers_wire import one_line
from bot.evals import key_envar
from bot.evals.header_secrets import HeaderRefused, fill, grants
from bot.evals.http_auth import AuthFailed, TokenCache, auth_parts
from bot.evals.http_body import HttpBody, header_content_type
from bot.evals.http_config import query_suffix
from bot.evals.http_templates import HEADERS, URL
from bot.evals.providers_config import PUBLIC_HOSTS, VENDORS, Vendor
from bot.evals.providers_mantle import MANTLE, MANTLE_ANTHROPIC, mantle_base
from bot.evals.providers_vendors import operator_base
from bot.evals.providers_embed import embedding_answer, embedding_request
from bot.evals.providers_parts import prompt_json, text_only
from bot.evals.providers_assistant import ASSISTANT, MAX_POLL_KEY
from bot.evals.assistant_callbacks import AssistantCallbacks
from bot.evals.providers_gemini_image import GENERATE, uses_global
from bot.evals.providers_gemini_image import IMAGE_API as GEMINI_IMAGE_API
from bot.evals.providers_image import IMAGE
from bot.evals.providers_image_wire import Poll, image_answer, image_request
from bot.evals.providers_assistant_wire import AZURE_MAX_POLL_S, BETA_HEADER, Polling, converse
from bot.evals.providers_agent import AGENT, AgentError, agent_answer, agent_request
from bot.evals.providers_kb import KB, kb_answer, kb_region, kb_request
from bot.evals.providers_kb import PATH as KB_PATH
from bot.evals.providers_watsonx import DEFAULT_IAM, IAM_GRANT, Token, token_from, watsonx_request
from bot.evals.providers_live import TIMEOUT_KEY, LiveApi
from bot.evals.providers_live_wire import GEMINI_LIVE_PATH, RealtimeTurn, live_turn, realtime_path, talk
from bot.evals.providers_ws import Connection, exchange, fill_message, parse_answer, stream_step
from bot.evals.sandbox import CodeLimits, SandboxError
from bot.evals.sandbox import transform as run_code_transform
from bot.evals.suite import ProviderSpec
from bot.evals.tool_callbacks import CallbackStopped, tool_answer
from bot.evals.urls import Target, UrlPolicy, UrlRefused, under

VERTEX_PROJECT_ENV = ("VERTEX_PROJECT_ID", "GOOGLE_PROJECT_ID", "GOOGLE_CLOUD_PROJECT")
VERTEX_REGION_ENV = ("VERTEX_REGION", "GOOGLE_CLOUD_LOCATION")

OPENAI_DEFAULT = "https://api.openai.com/v1"
ANTHROPIC_DEFAULT = "https://api.anthropic.com"
AWS_REGION_ENV = ("AWS_REGION", "AWS_DEFAULT_REGION")
MAX_ATTEMPTS = 4
MAX_RETRY_AFTER_S = 60.0
MAX_RESPONSE_BYTES = 4_000_000
ERROR_BODY_BYTES = 16_384  # enough for an error JSON's message; the rest is never read
POLL_INTERVAL_S = 1.0  # between looks at a Replicate prediction that has not finished (promptfoo's pace)
MAX_STREAM_FRAMES = 1000  # messages a websocket streamResponse is run on before the call is an error


@dataclass(frozen=True)
class Completion:
    text: str
    tokens_in: int = 0
    tokens_out: int = 0
    finish_reason: str | None = None  # stop, length, content_filter, tool_calls (normalised across vendors)
    latency_ms: float | None = None  # the call, retries included
    cost_usd: float | None = None  # None when the model has no price
    # What the provider reports answered (re-validation notices a model changed behind the same name).
    model: str | None = None
    system_fingerprint: str | None = None
    structured: bool = False  # the text is the JSON of tool calls / parts (bot.evals.providers_wire.Parsed)
    # the answer's message / output items as JSON, kept when the provider has tool callbacks (bot.evals.tool_callbacks)
    tool_answer: str | None = None
    # the provider response's metadata as promptfoo's provider returns it (a Bedrock knowledge base's citations);
    # code sees it as context.metadata
    metadata: dict[str, Any] | None = None
    # each answer token's log-probability, as the vendor returned them (perplexity reads them)
    logprobs: tuple[float, ...] | None = None


@dataclass(frozen=True)
class HttpAnswer:
    """An http provider's answer (JSON or text) with its status, whatever the status (bot.evals.provider_output
    runs the provider's validateStatus on it)."""
    data: Any
    status: int
    reason: str


def _failed_kind(status: int) -> CheckError:
    """What an http provider's failed status means for the case (a 5xx: the service is down)."""
    return CheckError.PROVIDER_DOWN if status >= 500 else CheckError.BAD_CREDENTIALS if status in (401, 403) else CheckError.BAD_RESPONSE


class ProviderError(Exception):
    """A model call that failed; `kind` says why in a way gates and messages can branch on."""

    def __init__(
        self,
        message: str,
        retryable: bool = False,
        retry_after: float | None = None,
        kind: CheckError = CheckError.OTHER,
    ):
        super().__init__(message)
        self.retryable = retryable
        self.retry_after = retry_after
        self.kind = kind


class BudgetExhausted(Exception):
    """The run's budget is spent; the message is the plain note for the report."""


class Cancelled(Exception):
    pass


def _load_prices() -> dict[str, dict[str, dict[str, float]]]:
    text = resources.files("bot.evals").joinpath("prices.json").read_text(encoding="utf-8")
    return {k: v for k, v in json.loads(text).items() if not k.startswith("_")}


PRICES = _load_prices()


def price_of(kind: str, model: str) -> dict[str, float] | None:
    table = PRICES.get(kind, {})
    if model in table:
        return table[model]
    prefixes = [m for m in table if model.startswith(m + "-")]
    return table[max(prefixes, key=len)] if prefixes else None


@dataclass
class Meter:
    """What the run has spent so far, checked against the repo's budget before each request."""

    budget: Budget
    calls: int = 0
    tokens_in: int = 0
    tokens_out: int = 0
    cost_usd: float = 0.0
    unpriced: set[str] = field(default_factory=set)
    exhausted: str | None = None

    def reserve(self) -> None:
        b = self.budget
        if self.exhausted is None:
            if self.calls >= b.max_calls:
                self.exhausted = f"budget exhausted: {self.calls} model calls (max_calls {b.max_calls})"
            elif b.max_tokens is not None and self.tokens_in + self.tokens_out >= b.max_tokens:
                self.exhausted = f"budget exhausted: {self.tokens_in + self.tokens_out} tokens (max_tokens {b.max_tokens})"
            elif self.cost_usd >= b.max_usd:
                self.exhausted = f"budget exhausted: about ${self.cost_usd:.2f} spent (max_usd {b.max_usd:g})"
        if self.exhausted is not None:
            raise BudgetExhausted(self.exhausted)
        self.calls += 1

    def record(self, spec: ProviderSpec, model: str, tokens_in: int, tokens_out: int) -> float | None:
        """The call's cost in USD, counted against the budget; None (counted as 0) when unpriced."""
        self.tokens_in += tokens_in
        self.tokens_out += tokens_out
        price = price_of(spec.kind, model)
        if price is None:
            self.unpriced.add(f"{spec.kind}:{model}")
            return None
        cost = (tokens_in * price["input"] + tokens_out * price["output"]) / 1_000_000
        self.cost_usd += cost
        return cost

    def charge(self, spec: ProviderSpec, cost: float | None) -> float | None:
        """A call priced per image (promptfoo's tables); None (counted as 0) when promptfoo reports no cost."""
        if cost is None:
            self.unpriced.add(f"{spec.kind}:{spec.model}")
            return None
        self.cost_usd += cost
        return cost


def _retry_after(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def _wait(state) -> float:
    exc = state.outcome.exception() if state.outcome else None
    if isinstance(exc, ProviderError) and exc.retry_after is not None:
        return min(exc.retry_after, MAX_RETRY_AFTER_S)
    return wait_random_exponential(multiplier=0.5, max=20)(state)


def _origin(url: str) -> tuple[str, str, int | None] | None:
    try:
        u = urlsplit(url)
        return u.scheme, (u.hostname or "").lower(), u.port
    except ValueError:  # a PR-written URL such as 'http://[::1' or 'http://host:99999'
        return None


def _same_origin(a: str, b: str) -> bool:
    x = _origin(a)
    return x is not None and x == _origin(b)


def error_message(raw: bytes) -> str | None:
    """`error.message` of an OpenAI/Anthropic error JSON (AWS's: a top-level `message`), cleaned; nothing else of the
    body is ever shown."""
    try:
        data = safejson.loads(raw, max_depth=8)
    except (ValueError, UnicodeDecodeError):
        return None
    error = data.get("error") if isinstance(data, dict) else None
    message = error.get("message") if isinstance(error, dict) else data.get("message") if isinstance(data, dict) else None
    return one_line(message) or None if isinstance(message, str) else None


@dataclass(frozen=True)
class _Endpoint:
    target: Target
    key_var: str  # OPENAI_API_KEY / ANTHROPIC_API_KEY / …
    base_var: str  # OPENAI_BASE_URL / ANTHROPIC_BASE_URL / …
    key_sent: bool
    key_set: bool
    operator_base: str
    sign: Callable[[str, bytes, dict[str, str]], dict[str, str]] | None = None  # SigV4: headers for (url, body, headers)


class Caller:
    """Sends requests for one run; shares the budget meter, the URL policy and the cancellation flag."""

    def __init__(
        self,
        client: httpx.AsyncClient,
        env: Mapping[str, str],
        meter: Meter,
        timeout_s: float,
        cancelled: Callable[[], bool] | None = None,
        max_attempts: int = MAX_ATTEMPTS,
        *,
        call_timeout_s: float | None = None,
        max_response_bytes: int = MAX_RESPONSE_BYTES,
        urls: UrlPolicy | None = None,
        code_limits: CodeLimits | None = None,
        header_grants: Mapping[str, str] | None = None,
    ):
        self.client, self.env, self.meter = client, env, meter
        self.header_grants = grants(header_grants or {}, env)  # {{env.NAME}} in http/websocket headers: where each may go
        self.timeout_s = timeout_s
        self.call_timeout_s = call_timeout_s if call_timeout_s is not None else 3 * timeout_s
        self.max_response_bytes = max_response_bytes
        self.urls = urls if urls is not None else UrlPolicy.from_settings((), env)
        self.cancelled = cancelled or (lambda: False)
        self.max_attempts = max_attempts
        self.code_limits = code_limits or CodeLimits()  # a websocket provider's streamResponse runs in the sandbox with these
        self._iam_tokens: dict[str, Token] = {}  # watsonx: IAM bearer tokens by API key, until shortly before expiry
        self._iam_lock = asyncio.Lock()
        self._oauth_tokens = TokenCache()  # an http provider's OAuth access tokens, for this run

    @classmethod
    def for_run(
        cls, client: httpx.AsyncClient, env: Mapping[str, str], config: EvalsConfig, meter: Meter, cancelled: Callable[[], bool] | None = None
    ) -> "Caller":
        return cls(
            client, env, meter, config.timeout_s, cancelled,
            call_timeout_s=config.call_timeout_s,
            max_response_bytes=config.max_response_bytes,
            urls=UrlPolicy.from_settings(config.allowed_base_urls, env),
            header_grants=config.http_credentials,
        )

    def _suite_headers(self, spec: ProviderSpec, url: str, where: str) -> dict[str, str]:
        """An http/websocket provider's headers as sent to `url`, `{{env.NAME}}` filled where it may go
        (bot.evals.header_secrets): a vendor's key only to that vendor's API, anything else where it is granted."""
        try:
            header_vars = (spec.call_values or {}).get("header_vars", {}) if spec.kind == "http" else None  # the case's {{var}}s
            # header values with filters or tags, rendered in the sandbox for this case: they hold no {{env.NAME}} and are
            # sent as they are (a var's value is never read as a template)
            rendered = (spec.call_values or {}).get(HEADERS, {}) if spec.kind == "http" else {}
            written = {k: v for k, v in (spec.option("headers") or {}).items() if str(k) not in rendered}
            filled = fill(where, written, url, self.env, self.header_grants, self._own_keys(spec, url), header_vars)
            return {str(k): rendered[str(k)] if str(k) in rendered else filled[str(k)] for k in (spec.option("headers") or {})}
        except HeaderRefused as exc:
            raise ProviderError(str(exc), kind=CheckError.MISSING_CREDENTIALS if exc.missing else CheckError.URL_REFUSED) from None

    def _own_keys(self, spec: ProviderSpec, url: str) -> list[str]:
        """The vendor key variables that may go to `url`: those of the vendors whose API it is."""
        own: list[str] = []
        for vendor in VENDORS.values():
            try:
                base = self.vendor_base(vendor, spec) if vendor.key_env else None
            except wire.WireError:
                base = None
            if base and under(url, base):
                own.extend(vendor.key_env)
        return own

    async def _http_auth(self, spec: ProviderSpec, url: str) -> tuple[dict[str, str], list[list[str]]]:
        """An http provider's `auth` for a request to `url` (bot.evals.http_auth): headers and query pairs."""
        try:
            return await auth_parts(f"provider {spec.id}", spec.option("auth"), url, self.env, self.header_grants,
                                    lambda to: self._own_keys(spec, to), client=self.client, urls=self.urls,
                                    cache=self._oauth_tokens, timeout_s=self.timeout_s)
        except HeaderRefused as exc:
            raise ProviderError(str(exc), kind=CheckError.MISSING_CREDENTIALS if exc.missing else CheckError.URL_REFUSED) from None
        except AuthFailed as exc:
            raise ProviderError(str(exc), kind=exc.kind) from None

    def vendor_base(self, vendor: Vendor, spec: ProviderSpec) -> str | None:
        """Where this run sends `vendor`'s requests: the operator's base URL, else the public API (None: neither)."""
        return self._operator_base(vendor, spec)

    def _operator_base(self, vendor: Vendor, spec: ProviderSpec) -> str | None:
        """The base URL the operator chose (environment), else the vendor's public API; None when neither."""
        env = self.env
        handled, base = operator_base(vendor.name, env, spec)  # vendors whose URL settings build
        if handled:
            return base
        if env.get(vendor.base_env):
            base = env[vendor.base_env].rstrip("/")
            suffix = {"databricks": "/serving-endpoints", "docker": "/engines/v1",
                      "helicone": f"/router/{spec.option('router')}" if spec.option("router") else "/ai"}.get(vendor.name, "")
            return base + suffix
        if vendor.name == "azure":
            host = env.get("AZURE_OPENAI_API_HOST") or env.get("AZURE_API_HOST")
            return f"https://{host}".rstrip("/") if host else None
        if vendor.name == "bedrock":
            region = spec.option("region") or next((env[k] for k in AWS_REGION_ENV if env.get(k)), None)
            return f"https://bedrock-runtime.{wire.checked_name(region, 'bedrock region')}.amazonaws.com" if region else None
        if vendor.name in (MANTLE, MANTLE_ANTHROPIC):
            return mantle_base(spec.model, spec.option, env)
        if vendor.name in (KB, AGENT):  # promptfoo's region: the config's, else AWS_BEDROCK_REGION, else us-east-1
            return f"https://bedrock-agent-runtime.{wire.checked_name(kb_region(spec, self.env), 'bedrock region')}.amazonaws.com"
        if vendor.name == "sagemaker":  # promptfoo's default region is us-east-1
            region = spec.option("region") or next((env[k] for k in AWS_REGION_ENV if env.get(k)), "us-east-1")
            return f"https://runtime.sagemaker.{wire.checked_name(region, 'sagemaker region')}.amazonaws.com"
        if vendor.name == "watsonx" and spec.option("serviceUrl"):  # one of IBM's regional hosts (checked at load)
            return str(spec.option("serviceUrl")).rstrip("/")
        if vendor.name == "vertex":
            location = spec.option("location") or spec.option("region") or "us-central1"
            if location == "global":  # Vertex AI's global endpoint has no location in its host
                return "https://aiplatform.googleapis.com"
            return f"https://{wire.checked_name(location, 'vertex location')}-aiplatform.googleapis.com"
        return vendor.default_base

    def _credentials(self, vendor: Vendor) -> tuple[str, str | None]:
        """(the env var named in messages, its value) — the first of the vendor's key variables that is set."""
        if vendor.name == "watsonx" and self.env.get("WATSONX_AI_AUTH_TYPE") == "bearertoken" and self.env.get("WATSONX_AI_BEARER_TOKEN"):
            return "WATSONX_AI_BEARER_TOKEN", self.env["WATSONX_AI_BEARER_TOKEN"]  # promptfoo: the auth type chooses first
        if vendor.name == "sagemaker" or (vendor.name in ("bedrock", KB, AGENT) and not self.env.get("AWS_BEARER_TOKEN_BEDROCK")):
            return "AWS_ACCESS_KEY_ID", self.env.get("AWS_ACCESS_KEY_ID") if self.env.get("AWS_SECRET_ACCESS_KEY") else None
        for name in vendor.key_env:
            if self.env.get(name):
                return name, self.env[name]
        return (vendor.key_env[0] if vendor.key_env else ""), None

    def _auth_headers(self, vendor: Vendor, var: str, key: str) -> tuple[dict[str, str], Callable | None]:
        if vendor.name in ("bedrock", "sagemaker", KB, AGENT) and var == "AWS_ACCESS_KEY_ID":
            return {}, functools.partial(self._sigv4, "bedrock" if vendor.name in (KB, AGENT) else vendor.name)  # the agent runtime signs as bedrock
        auth = vendor.auth
        if auth == "x-api-key":
            return {"x-api-key": key}, None
        if auth == "api-key":
            return {"api-key": key}, None
        if auth == "x-goog-api-key":
            return {"x-goog-api-key": key}, None
        if auth == "key":  # fal.ai
            return {"Authorization": f"Key {key}"}, None
        return {"Authorization": f"Bearer {key}"}, None

    def _sigv4(self, service: str, url: str, body: bytes, headers: dict[str, str]) -> dict[str, str]:
        # botocore signs (the canonical request has many edge cases); only its signer is used: credentials
        # come from this run's environment, never from botocore's chain (files, instance metadata). Imported
        # here: botocore adds ~150 ms to every start (`python -X importtime -c "import botocore.auth"`) and
        # only Bedrock providers sign.
        from botocore.auth import SigV4Auth
        from botocore.awsrequest import AWSRequest
        from botocore.credentials import Credentials

        host = httpx.URL(url).host
        region = host.split(".")[1] if host.startswith(("bedrock-runtime.", "bedrock-agent-runtime.")) else host.split(".")[2] if host.startswith(
            "runtime.sagemaker.") else next((self.env[k] for k in AWS_REGION_ENV if self.env.get(k)), "us-east-1")
        creds = Credentials(self.env["AWS_ACCESS_KEY_ID"], self.env["AWS_SECRET_ACCESS_KEY"], self.env.get("AWS_SESSION_TOKEN") or None)
        request = AWSRequest(method="POST", url=url, data=body, headers=headers)
        SigV4Auth(creds, service, region).add_auth(request)
        return dict(request.headers.items())

    async def _endpoint(self, spec: ProviderSpec, path: str) -> _Endpoint:
        """Where the request goes and with which headers. A key from the environment is only sent to
        the server it is for (the environment's base URL or the public API), never to a URL a PR
        wrote; a URL a PR wrote must pass the URL policy; the public API without a key fails here."""
        vendor = VENDORS[spec.kind]
        try:
            operator = self._operator_base(vendor, spec)
        except wire.WireError as exc:
            raise ProviderError(f"{spec.id}: {exc}", kind=exc.kind) from None
        suite_base = spec.base_url or (f"https://{spec.option('apiHost')}" if spec.option("apiHost") else None)
        rendered = (spec.call_values or {}).get(URL) if vendor.wire == "http" else None
        if rendered is not None:  # a templated url as this case's vars made it: checked below like a written one
            suite_base = rendered
        elif vendor.wire == "http" and suite_base and ("{{" in suite_base or "{%" in suite_base):
            raise ProviderError(f"provider {spec.id}: its templated url is rendered with a test case's vars, and this call "
                                "has none", kind=CheckError.URL_REFUSED)
        if operator is None and suite_base is None:
            needs = {"azure": "AZURE_OPENAI_BASE_URL or AZURE_OPENAI_API_HOST", "bedrock": "AWS_REGION",
                     "ollama": "OLLAMA_BASE_URL"}.get(vendor.name, vendor.base_env)
            if vendor.name == "llama":  # promptfoo's default is the local server; the service never calls its own localhost on a PR's word
                needs = "LLAMA_BASE_URL (a llama.cpp server)"
            raise ProviderError(f"{spec.id}: {needs} is not set (where this provider's requests go)", kind=CheckError.MISSING_CREDENTIALS)
        base = (suite_base or operator or "").rstrip("/")
        operator = operator or ""
        key_var, key = self._credentials(vendor)
        sent = bool(key) and bool(operator) and _same_origin(base, operator)
        written = key_envar.API_KEY if spec.option(key_envar.API_KEY) else key_envar.KEY
        if spec.option(written):  # the suite names the variable: sent only where the rule for secrets lets it
            key_var = str(spec.option(written))
            try:
                key = key_envar.named_key(f"provider {spec.id}", key_var, base, base + path, self.env, self.header_grants,
                                          self._own_keys(spec, base + path), written)
            except key_envar.KeyRefused as exc:
                raise ProviderError(str(exc), kind=CheckError.MISSING_CREDENTIALS if exc.missing else CheckError.URL_REFUSED) from None
            sent = True
        if vendor.name == "openclaw" and key and not sent:  # the team's gateway at a suite URL: its token only where granted
            sent = any(under(base + path, prefix) for prefix in self.header_grants.get(key_var, ()))
        headers = {"anthropic-version": wire.ANTHROPIC_VERSION} if vendor.wire == "anthropic" else {}
        if vendor.name in ("portkey", "orcarouter", "openclaw"):  # promptfoo's headers for these gateways (checked at load)
            headers.update(dict(spec.option("headers") or ()))
        sign = None
        if sent and key:
            auth, sign = self._auth_headers(vendor, key_var, key)
            headers.update(auth)
        origin = _origin(base)
        if origin is None:
            raise ProviderError(f"provider {spec.id} config.apiBaseUrl {base[:120]!r} is not a valid URL", kind=CheckError.URL_REFUSED)
        public_host = origin[1] in PUBLIC_HOSTS or origin[1].endswith((".amazonaws.com", ".api.aws", ".googleapis.com", ".ml.cloud.ibm.com",
                                                                                 ".snowflakecomputing.com"))
        if not sent and public_host and vendor.auth != "none":
            raise ProviderError(self._no_key(spec, key_var, vendor.base_env, bool(key), operator), kind=CheckError.MISSING_CREDENTIALS)
        public = vendor.default_base or ""
        trusted = suite_base is None or (operator and under(base, operator)) or (public and under(base, public))
        if trusted:
            target = Target(base + path)  # the operator's own server or the public API: used as it is
        else:
            field = {"http": "config.url", "huggingface": "config.apiEndpoint"}.get(vendor.wire) or (
                "config.workspaceUrl" if vendor.name == "databricks" else "config.apiBaseUrl")
            where = f"provider {spec.id} {field}" + (f" (suite line {spec.line})" if spec.line else "") + (
                ", rendered with the test's vars," if rendered is not None else "")
            try:
                async with asyncio.timeout(self.timeout_s):  # a host name whose DNS never answers
                    target = await self.urls.target(base, path, where)
            except UrlRefused as exc:
                raise ProviderError(str(exc), kind=CheckError.URL_REFUSED) from None
            except TimeoutError:
                raise ProviderError(f"{where}: its host did not resolve within {self.timeout_s:g} s (evals.timeout_s)", kind=CheckError.TIMEOUT) from None
        if vendor.name == "anthropic" and not spec.option("adaline"):  # the suite's headers and promptfoo's anthropic-beta
            suite = self._suite_headers(spec, base + path, f"provider {spec.id}") if spec.option("headers") else {}
            headers.update(anthropic.beta_headers(dict(spec.params), suite))
        if vendor.wire == "http":
            headers.update(self._suite_headers(spec, base + path, f"provider {spec.id}"))  # the URL as written, not as pinned
            if spec.option("auth"):  # promptfoo's auth over the suite's headers of the same name; an api key may go in the query
                added, pairs = await self._http_auth(spec, base + path)
                headers = {k: v for k, v in headers.items() if k.lower() not in added} | added
                target = Target(target.url + query_suffix(target.url, pairs), target.headers, target.extensions)
        if vendor.wire == "sagemaker":
            headers.update({"Content-Type": str(spec.option("contentType") or "application/json"),
                            "Accept": str(spec.option("acceptType") or "application/json")})
        if vendor.wire == "replicate":  # answer within the attempt's deadline if the model can (1–60 s)
            headers["Prefer"] = f"wait={max(1, min(60, int(self.timeout_s) - 1))}"
        target = Target(target.url, {**headers, **target.headers}, target.extensions)
        return _Endpoint(target, key_var, vendor.base_env, sent, bool(key), operator, sign)

    @staticmethod
    def _no_key(spec: ProviderSpec, key_var: str, base_var: str, key_set: bool, operator: str) -> str:
        if not key_set:
            return f"{spec.id}: {key_var} is not set"
        return f"{spec.id}: no key is sent to this server: {key_var} goes only to {base_var} ({operator})"

    async def _post(self, spec: ProviderSpec, endpoint: _Endpoint, body: Any, expect_json: bool = True, charge: bool = True,
                    raw: bool = False) -> Any:
        """The answer to one request, with retries; `charge` False for a look at a pending prediction
        (not a model call: it is bounded by the call's deadline, not counted against the budget); `raw` True for
        the answer's bytes and headers as they came (an AWS event stream), still bounded by evals.max_response_bytes."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.call_timeout_s
        attempts = 0

        async def attempt() -> dict:
            nonlocal attempts
            if self.cancelled():
                raise Cancelled()
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise self._timeout(spec, retryable=False)
            if charge:
                self.meter.reserve()
            attempts += 1
            try:
                async with asyncio.timeout(min(self.timeout_s, remaining)):
                    return await self._send(spec, endpoint, body, expect_json, raw)
            except TimeoutError:
                raise self._timeout(spec) from None

        retrying = AsyncRetrying(
            stop=stop_after_attempt(self.max_attempts) | stop_before_delay(self.call_timeout_s),
            wait=_wait,
            retry=retry_if_exception(lambda e: isinstance(e, ProviderError) and e.retryable),
            reraise=True,
        )
        try:
            async with asyncio.timeout(self.call_timeout_s + 1):  # a net under the per-attempt deadlines
                return await retrying(attempt)
        except ProviderError as exc:
            if exc.retryable:
                plural = "s" if attempts != 1 else ""
                raise ProviderError(f"{exc} (gave up after {attempts} attempt{plural})", kind=exc.kind) from None
            raise
        except TimeoutError:
            raise self._timeout(spec, retryable=False) from None

    def _timeout(self, spec: ProviderSpec, retryable: bool = True) -> ProviderError:
        return ProviderError(
            f"{spec.id}: no complete answer within {self.timeout_s:g} s (evals.timeout_s; "
            f"{self.call_timeout_s:g} s with retries, evals.call_timeout_s)",
            retryable=retryable,
            kind=CheckError.TIMEOUT,
        )

    async def _send(self, spec: ProviderSpec, endpoint: _Endpoint, body: Any, expect_json: bool = True, raw_answer: bool = False) -> Any:
        """One attempt: status first, then the body in pieces up to the size limit, then JSON."""
        t = endpoint.target
        if isinstance(body, HttpBody):  # an http provider's body, made as promptfoo makes it (bot.evals.http_body)
            content, content_type = body.content, body.content_type
        else:
            content, content_type = (json.dumps(body).encode() if body is not None else b""), "application/json"
        given = header_content_type(t.headers)
        headers = {**({"Content-Type": content_type} if body is not None and content_type and given is None else {}), **dict(t.headers)}
        if endpoint.sign is not None:  # signed per attempt: the signature carries the time
            headers = endpoint.sign(t.url, content, headers)
        method = "GET" if body is None else str(spec.option("method", "POST")) if spec.kind == "http" else "POST"
        try:
            async with self.client.stream(
                method, t.url, content=content if body is not None else None, headers=headers, extensions=dict(t.extensions), timeout=self.timeout_s
            ) as resp:
                status, reason = resp.status_code, resp.reason_phrase
                # With a validateStatus, an http provider's answer of any status is read and the suite's code decides
                # (later, bot.evals.provider_output), as promptfoo does; a rate limit is retried. Without one, an error
                # status is the case's error (retried when it may pass): promptfoo would take the error's body as the
                # output and fail the case, which reads as a regression where the service was only down.
                answered = spec.kind == "http" and status >= 400 and status != 429 and spec.status_check is not None
                if status >= 300 and not answered:
                    raw = await _read(resp, ERROR_BODY_BYTES, None)
                    raise self._status_error(spec, endpoint, resp, raw)
                raw = await _read(resp, self.max_response_bytes, f"{spec.id}: the answer is larger than {self.max_response_bytes} bytes (evals.max_response_bytes)")
                if raw_answer:
                    return raw, dict(resp.headers)
                if answered and not raw:  # promptfoo's text for an error answer with no body
                    raw = f"Empty Response: {status}: {reason}".encode()
        except httpx.TimeoutException:
            raise self._timeout(spec) from None
        except httpx.DecodingError:
            raise ProviderError(f"{spec.id}: the answer could not be decoded", kind=CheckError.BAD_RESPONSE) from None
        except httpx.TransportError as exc:
            raise ProviderError(f"{spec.id}: connection failed ({type(exc).__name__})", retryable=True, kind=CheckError.PROVIDER_DOWN) from None
        try:
            data = safejson.loads(raw)
        except safejson.JsonTooDeep as exc:
            raise ProviderError(f"{spec.id}: the answer is JSON nested deeper than {exc.limit} levels", kind=CheckError.BAD_RESPONSE) from None
        except (ValueError, UnicodeDecodeError):
            if not expect_json:  # an http provider may answer plain text
                try:
                    text = raw.decode("utf-8")
                    return HttpAnswer(text, status, reason) if spec.kind == "http" else text
                except UnicodeDecodeError:
                    pass
            raise ProviderError(f"{spec.id}: the answer is not JSON", kind=CheckError.BAD_RESPONSE) from None
        if not expect_json:
            return HttpAnswer(data, status, reason) if spec.kind == "http" else data
        if not isinstance(data, dict):
            raise ProviderError(f"{spec.id}: unexpected answer shape (not a JSON object)", kind=CheckError.BAD_RESPONSE)
        return data

    def _status_error(self, spec: ProviderSpec, endpoint: _Endpoint, resp: httpx.Response, raw: bytes) -> ProviderError:
        status = resp.status_code
        retry_after = _retry_after(resp.headers.get("retry-after"))
        if status == 429:
            return ProviderError(f"{spec.id}: rate limited (HTTP 429)", retryable=True, retry_after=retry_after, kind=CheckError.RATE_LIMITED)
        if status == 408:
            return ProviderError(f"{spec.id}: HTTP 408 (request timeout)", retryable=True, retry_after=retry_after, kind=CheckError.TIMEOUT)
        if status >= 500:
            return ProviderError(f"{spec.id}: the provider failed (HTTP {status})", retryable=True, retry_after=retry_after, kind=CheckError.PROVIDER_DOWN)
        if status in (401, 403):
            if endpoint.key_sent:
                return ProviderError(
                    f"{spec.id}: the provider refused the credentials (HTTP {status}): check {endpoint.key_var}", kind=CheckError.BAD_CREDENTIALS
                )
            why = self._no_key(spec, endpoint.key_var, endpoint.base_var, endpoint.key_set, endpoint.operator_base)
            return ProviderError(f"{why} and the provider requires credentials (HTTP {status})", kind=CheckError.MISSING_CREDENTIALS)
        if status < 400:
            return ProviderError(f"{spec.id}: HTTP {status} (redirects are not followed)", kind=CheckError.BAD_RESPONSE)
        detail = error_message(raw)
        return ProviderError(f"{spec.id}: HTTP {status}" + (f": {detail}" if detail else ""), kind=CheckError.OTHER)

    def _placed(self, spec: ProviderSpec) -> ProviderSpec:
        """A Vertex provider's project and region: the suite's, else the operator's environment, as promptfoo reads
        them (VERTEX_PROJECT_ID, GOOGLE_PROJECT_ID, GOOGLE_CLOUD_PROJECT; VERTEX_REGION, GOOGLE_CLOUD_LOCATION)."""
        if spec.kind != "vertex":
            return spec
        added: list[tuple[str, Any]] = []
        if not (spec.option("projectId") or spec.option("project")):
            project = next((self.env[k] for k in VERTEX_PROJECT_ENV if self.env.get(k)), None)
            if project is None:
                raise ProviderError(f"{spec.id}: no Vertex project: set config.projectId in the suite, or "
                                    f"{' / '.join(VERTEX_PROJECT_ENV)} in the environment", kind=CheckError.MISSING_CREDENTIALS)
            added.append(("projectId", project))
        if not (spec.option("location") or spec.option("region")):
            region = next((self.env[k] for k in VERTEX_REGION_ENV if self.env.get(k)), None)
            if region:
                added.append(("region", region))
        return dataclasses.replace(spec, options=spec.options + tuple(added)) if added else spec

    async def complete(self, spec: ProviderSpec, messages: tuple[tuple[str, str], ...]) -> Completion:
        started = time.monotonic()
        spec = self._placed(spec)
        if spec.kind == "echo":  # promptfoo's echo provider: the prompt is the output, no model is called
            return Completion(prompt_json(messages), finish_reason="stop", latency_ms=0.0, cost_usd=0.0)
        if spec.kind == "websocket":
            return await self._websocket(spec, messages, started)
        if spec.option("api") in (LiveApi.REALTIME.value, LiveApi.LIVE.value):
            return await self._live(spec, LiveApi(spec.option("api")), messages, started)
        if spec.option("api") == ASSISTANT:
            return await self._assistant(spec, messages, started)
        if spec.kind == KB:
            return await self._knowledge_base(spec, messages, started)
        if spec.kind == AGENT:
            return await self._agent(spec, messages, started)
        if spec.option("api") == IMAGE:
            return await self._image(spec, messages, started)
        if spec.kind == "code":  # answered in the sandbox by bot.evals.providers_code, never sent as a request
            raise ProviderError(f"{spec.id}: a provider written in code answers a suite's cases only, not as a grader")
        try:
            if spec.kind == "watsonx":
                text_only(spec.id, messages)
                path, body = watsonx_request(spec.model, dict(spec.options), self.env, messages)
            else:
                path, body = wire.request(spec, messages)
        except wire.WireError as exc:
            raise ProviderError(f"{spec.id}: {exc}" if spec.kind == "watsonx" else str(exc), kind=exc.kind) from None
        endpoint = await self._endpoint(spec, path)
        if spec.kind == "watsonx" and endpoint.key_sent and endpoint.key_var == "WATSONX_AI_APIKEY":
            endpoint = await self._with_iam_token(spec, endpoint)
        data = await self._post(spec, endpoint, body, expect_json=VENDORS[spec.kind].wire not in ("http", "sagemaker", "huggingface"))
        http, failed = None, 0
        if isinstance(data, HttpAnswer):  # an http provider's answer and its status (promptfoo's metadata.http)
            http, failed, data = {"status": data.status, "statusText": data.reason}, data.status if data.status >= 400 else 0, data.data
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.call_timeout_s
        while True:
            try:
                parsed = wire.parse(spec, data, chat=wire.is_chat(messages))
                break
            except wire.WireError as exc:
                if http is not None and failed:  # the service failed: say so, not only that a path is missing
                    raise ProviderError(f"{exc} (HTTP {failed} {http['statusText']})", kind=_failed_kind(failed)) from None
                raise ProviderError(str(exc), kind=exc.kind) from None
            except more.Pending as pending:  # a Replicate prediction still running: look again until the deadline
                if loop.time() + POLL_INTERVAL_S >= deadline:
                    raise ProviderError(f"{spec.id}: the prediction did not finish within {self.call_timeout_s:g} s "
                                        "(evals.call_timeout_s)", kind=CheckError.TIMEOUT) from None
                await asyncio.sleep(POLL_INTERVAL_S)
                if self.cancelled():
                    raise Cancelled() from None
                data = await self._post(spec, await self._endpoint(spec, pending.path), None, charge=False)
        cost = self.meter.record(spec, spec.model, parsed.tokens_in, parsed.tokens_out)
        latency = (time.monotonic() - started) * 1000
        return Completion(parsed.text, parsed.tokens_in, parsed.tokens_out, parsed.finish_reason, latency, cost,
                          parsed.model, parsed.system_fingerprint, parsed.structured, tool_answer(spec, data), logprobs=parsed.logprobs,
                          metadata={"http": http} if http is not None else None)

    async def _assistant(self, spec: ProviderSpec, messages: tuple[tuple[str, str], ...], started: float) -> Completion:
        """openai:assistant and azure:assistant (bot.evals.providers_assistant_wire): a thread, a run looked at until
        it ends, its steps and messages; every request is one of this Caller's (endpoint, retries, budget), and the
        whole call is bounded by evals.call_timeout_s (Azure's polling also by config.maxPollTimeMs, default 300 s)."""

        async def send(path: str, body: Any) -> dict:
            endpoint = await self._endpoint(spec, path)
            if spec.kind == "openai":  # the Assistants API answers only requests that name its version
                t = endpoint.target
                endpoint = dataclasses.replace(endpoint, target=Target(t.url, {**dict(t.headers), BETA_HEADER[0]: BETA_HEADER[1]}, t.extensions))
            return await self._post(spec, endpoint, body)

        limit, bound = self.call_timeout_s, "evals.call_timeout_s"
        if spec.kind == "azure":
            poll_ms = spec.option(MAX_POLL_KEY)
            poll_s = float(poll_ms) / 1000 if poll_ms else AZURE_MAX_POLL_S
            if poll_s < limit:
                limit, bound = poll_s, "config.maxPollTimeMs" if poll_ms else "Azure's default maxPollTimeMs"
        loop = asyncio.get_running_loop()
        callbacks = AssistantCallbacks(spec, self.code_limits) if spec.tool_callbacks else None  # the gate let them through
        try:
            async with asyncio.timeout(self.call_timeout_s):
                answer = await converse(spec, messages, send, Polling(loop.time() + limit, limit, bound), self.max_response_bytes,
                                        callbacks)
        except TimeoutError:
            raise self._timeout(spec, retryable=False) from None
        except wire.WireError as exc:
            raise ProviderError(f"{spec.id}: {exc}", kind=exc.kind) from None
        except CallbackStopped as exc:
            where = f"tool callback {exc.name} of provider {spec.slot}" + (f" ({exc.code.file})" if exc.code.file else "")
            line = f" (suite line {spec.line})" if spec.line else ""
            raise ProviderError(f"{where}{line}: {exc.error.message}", kind=exc.error.fault.check_error) from None
        model = str(dict(spec.params).get("modelName") or spec.model)
        cost = self.meter.record(spec, model, answer.tokens_in, answer.tokens_out)
        return Completion(answer.text, answer.tokens_in, answer.tokens_out, answer.finish_reason, (time.monotonic() - started) * 1000, cost)

    async def _knowledge_base(self, spec: ProviderSpec, messages: tuple[tuple[str, str], ...], started: float) -> Completion:
        """bedrock:kb (bot.evals.providers_kb): one RetrieveAndGenerate request; its citations are the metadata."""
        body = kb_request(spec, messages, kb_region(spec, self.env))
        data = await self._post(spec, await self._endpoint(spec, KB_PATH), body)
        output, metadata = kb_answer(data)
        structured = not isinstance(output, str)  # an odd answer's output.text (a number) is the output as promptfoo's
        return Completion(json.dumps(output) if structured else output, latency_ms=(time.monotonic() - started) * 1000,
                          structured=structured, metadata=metadata)
    async def _agent(self, spec: ProviderSpec, messages: tuple[tuple[str, str], ...], started: float) -> Completion:
        """bedrock-agent (bot.evals.providers_agent): one InvokeAgent request; its answer is an AWS event stream."""
        path, body, _session = agent_request(spec, messages)
        raw, headers = await self._post(spec, await self._endpoint(spec, path), body, raw=True)
        try:
            output, metadata = agent_answer(spec, raw, headers)
        except AgentError as exc:
            raise ProviderError(f"{spec.id}: {exc}", kind=CheckError.BAD_RESPONSE) from None
        return Completion(output, latency_ms=(time.monotonic() - started) * 1000, metadata=metadata)

    async def _image(self, spec: ProviderSpec, messages: tuple[tuple[str, str], ...], started: float) -> Completion:
        """An image provider (bot.evals.providers_image_wire): one request, then the looks at a prediction or a queued
        request it names (by id, on the same vendor's base URL, not charged as calls), all within evals.call_timeout_s.
        The answer is bounded like every answer (evals.max_response_bytes): a huge base64 image is a case error."""
        try:
            text_only(spec.id, messages)
            if spec.option(GEMINI_IMAGE_API) == GENERATE and (len(messages) != 1 or messages[0][0] != "user"):
                raise wire.WireError("a Gemini image model takes one user prompt here; chat messages (system, several "
                                     "turns) are not sent to it", CheckError.OTHER)
            spec = self._imagen_place(spec)
            prompt = prompt_json(messages)
            path, body = image_request(spec, prompt)
        except wire.WireError as exc:
            raise ProviderError(str(exc) if str(exc).startswith(spec.id) else f"{spec.id}: {exc}", kind=exc.kind) from None
        endpoint = await self._endpoint(spec, path)
        if spec.kind == "fal":  # the fal client's submit names the queue priority
            t = endpoint.target
            endpoint = dataclasses.replace(endpoint, target=Target(t.url, {**dict(t.headers), "x-fal-queue-priority": "normal"}, t.extensions))
        data = await self._post(spec, endpoint, body)
        loop = asyncio.get_running_loop()
        deadline, fetched = loop.time() + self.call_timeout_s, None
        while True:
            try:
                answer = image_answer(spec, data, prompt, fetched)
                break
            except wire.WireError as exc:
                raise ProviderError(str(exc), kind=exc.kind) from None
            except Poll as poll:
                if loop.time() + poll.wait_s >= deadline:
                    raise ProviderError(f"{spec.id}: the image was not ready within {self.call_timeout_s:g} s "
                                        "(evals.call_timeout_s)", kind=CheckError.TIMEOUT) from None
                await asyncio.sleep(poll.wait_s)
                if self.cancelled():
                    raise Cancelled() from None
                fetched = poll.path
                data = await self._post(spec, await self._endpoint(spec, poll.path), None, charge=False)
        cost = self.meter.charge(spec, answer.cost_usd)
        return Completion(answer.text, finish_reason="stop", latency_ms=(time.monotonic() - started) * 1000, cost_usd=cost,
                          model=spec.model)

    def _imagen_place(self, spec: ProviderSpec) -> ProviderSpec:
        """google:image and Gemini's image models go to Vertex AI when a project is named (config.projectId, GOOGLE_CLOUD_PROJECT or
        GOOGLE_PROJECT_ID), in config.region, else GOOGLE_LOCATION, else us-central1; else to the Gemini API (promptfoo's
        choice)."""
        if spec.kind != "google":
            return spec
        project = spec.option("projectId") or self.env.get("GOOGLE_CLOUD_PROJECT") or self.env.get("GOOGLE_PROJECT_ID")
        if not project:
            return spec
        region = spec.option("region") or self.env.get("GOOGLE_LOCATION") or "us-central1"
        if spec.option(GEMINI_IMAGE_API) == GENERATE and uses_global(spec.model):  # Gemini 3.x image models: global only
            region = "global"
        for value, what in ((project, "vertex project"), (region, "vertex location")):
            wire.checked_name(str(value), what)
        options = {**dict(spec.options), "projectId": project, "region": region}
        return dataclasses.replace(spec, kind="vertex", options=tuple(sorted(options.items())))

    async def _with_iam_token(self, spec: ProviderSpec, endpoint: _Endpoint) -> _Endpoint:
        """The endpoint with a bearer token for WATSONX_AI_APIKEY, exchanged at IBM Cloud IAM (or the operator's
        WATSONX_IAM_URL) once and reused until shortly before it expires."""
        key = self.env["WATSONX_AI_APIKEY"]
        async with self._iam_lock:
            token = self._iam_tokens.get(key)
            if token is None or not token.fresh():
                token = self._iam_tokens[key] = await self._iam_exchange(spec, key)
        headers = {**dict(endpoint.target.headers), "Authorization": f"Bearer {token.value}"}
        return dataclasses.replace(endpoint, target=Target(endpoint.target.url, headers, endpoint.target.extensions))

    async def _iam_exchange(self, spec: ProviderSpec, key: str) -> Token:
        url = (self.env.get("WATSONX_IAM_URL") or DEFAULT_IAM).rstrip("/") + "/identity/token"
        if self.cancelled():
            raise Cancelled()
        try:
            async with asyncio.timeout(self.timeout_s):
                async with self.client.stream("POST", url, data={"grant_type": IAM_GRANT, "apikey": key},
                                              headers={"Accept": "application/json"}, timeout=self.timeout_s) as resp:
                    raw = await _read(resp, ERROR_BODY_BYTES, f"{spec.id}: IBM Cloud IAM's answer is larger than {ERROR_BODY_BYTES} bytes")
                    status = resp.status_code
        except (TimeoutError, httpx.TimeoutException):
            raise ProviderError(f"{spec.id}: IBM Cloud IAM did not answer within {self.timeout_s:g} s (evals.timeout_s)", kind=CheckError.TIMEOUT) from None
        except httpx.TransportError as exc:
            raise ProviderError(f"{spec.id}: connection to IBM Cloud IAM failed ({type(exc).__name__})", kind=CheckError.PROVIDER_DOWN) from None
        if status in (400, 401, 403):
            raise ProviderError(f"{spec.id}: IBM Cloud IAM refused the API key (HTTP {status}): check WATSONX_AI_APIKEY", kind=CheckError.BAD_CREDENTIALS)
        if status >= 300:
            raise ProviderError(f"{spec.id}: IBM Cloud IAM failed (HTTP {status})", kind=CheckError.PROVIDER_DOWN)
        try:
            return token_from(safejson.loads(raw))
        except (ValueError, UnicodeDecodeError, safejson.JsonTooDeep):
            raise ProviderError(f"{spec.id}: IBM Cloud IAM's answer is not JSON", kind=CheckError.BAD_RESPONSE) from None
        except wire.WireError as exc:
            raise ProviderError(f"{spec.id}: {exc}", kind=exc.kind) from None

    async def _websocket(self, spec: ProviderSpec, messages: tuple[tuple[str, str], ...], started: float) -> Completion:
        """promptfoo's websocket provider: one connection per call to the URL the policy allowed and pinned (never
        with credentials), the rendered messageTemplate sent, the first message back read; no retries (promptfoo
        makes none). `timeoutMs` bounds the call, within evals.call_timeout_s."""
        url = str(spec.option("url"))
        where = f"provider {spec.id} url" + (f" (suite line {spec.line})" if spec.line else "")
        as_http = ("https" + url[3:]) if url.startswith("wss:") else ("http" + url[2:])
        try:
            async with asyncio.timeout(self.timeout_s):  # a host name whose DNS never answers
                target = await self.urls.target(as_http, "", where)
        except UrlRefused as exc:
            raise ProviderError(str(exc).replace(as_http, url), kind=CheckError.URL_REFUSED) from None
        except TimeoutError:
            raise ProviderError(f"{where}: its host did not resolve within {self.timeout_s:g} s (evals.timeout_s)", kind=CheckError.TIMEOUT) from None
        pinned, original = httpx.URL(target.url), httpx.URL(as_http)
        conn = Connection(str(pinned.copy_with(scheme="wss" if url.startswith("wss:") else "ws")),
                          target.headers.get("Host", original.netloc.decode("ascii")), original.host)
        message = fill_message(str(spec.option("messageTemplate")), {"prompt": prompt_json(messages)})
        protocols = spec.option("protocols") or []
        protocols = [p.strip() for value in ([protocols] if isinstance(protocols, str) else protocols) for p in value.split(",") if p.strip()]
        timeout_ms = spec.option("timeoutMs")
        timeout_s = min(float(timeout_ms) / 1000, self.call_timeout_s) if timeout_ms else self.timeout_s
        if self.cancelled():
            raise Cancelled()
        self.meter.reserve()
        accumulator: dict[str, Any] = {"error": "unknown error occurred"}  # promptfoo's first accumulator
        frames = 0

        async def complete(text: str) -> bool:  # streamResponse on one message: (accumulator, event, context) → [response, done]
            nonlocal accumulator, frames
            frames += 1
            if frames > MAX_STREAM_FRAMES:
                raise wire.WireError(f"{spec.id}: streamResponse did not complete the answer within {MAX_STREAM_FRAMES} messages",
                                     CheckError.RESPONSE_TOO_LARGE)
            assert spec.stream_response is not None
            try:
                value = await run_code_transform(spec.stream_response, {"accumulator": accumulator, "event": {"data": text, "type": "message"},
                                                                        "context": {}}, {}, self.code_limits)
            except SandboxError as exc:
                raise wire.WireError(f"{spec.id}: streamResponse: {exc.message}", exc.fault.check_error) from None
            try:
                accumulator, finished = stream_step(value)
            except wire.WireError as exc:
                raise wire.WireError(f"{spec.id}: {exc}", exc.kind) from None
            return finished

        try:
            async with asyncio.timeout(timeout_s):
                raw = await exchange(conn, message, self._suite_headers(spec, as_http, f"provider {spec.id}"),
                                     protocols, self.max_response_bytes, spec.id, complete if spec.stream_response is not None else None)
        except TimeoutError:
            raise ProviderError(f"{spec.id}: no answer within {timeout_s:g} s " + (
                "(config.timeoutMs)" if timeout_ms else "(evals.timeout_s)"), kind=CheckError.TIMEOUT) from None
        except wire.WireError as exc:
            raise ProviderError(str(exc), kind=exc.kind) from None
        if spec.stream_response is not None:
            raw = json.dumps(accumulator)  # the accumulated response: its output (or error) is the answer
        transform = spec.option("transformResponse")
        try:
            parsed = parse_answer(spec.id, raw, transform if isinstance(transform, str) and spec.stream_response is None else None,
                                  spec.response_transform is not None and spec.stream_response is None)
        except wire.WireError as exc:
            raise ProviderError(str(exc), kind=exc.kind) from None
        latency = (time.monotonic() - started) * 1000
        return Completion(parsed.text, finish_reason="stop", latency_ms=latency, structured=parsed.structured)

    async def _live(self, spec: ProviderSpec, api: LiveApi, messages: tuple[tuple[str, str], ...], started: float) -> Completion:
        """openai:realtime, azure:realtime and google:live (bot.evals.providers_live): one WebSocket conversation per
        call to the vendor's API (or the operator's base URL; a suite's apiBaseUrl passes the URL policy and gets no
        key), no retries (promptfoo makes none); websocketTimeout / timeoutMs bounds the call, within
        evals.call_timeout_s."""
        try:
            turn = live_turn(spec, messages)
            if api is LiveApi.LIVE:
                path = GEMINI_LIVE_PATH
            elif spec.kind == "azure":  # under the resource's /openai/v1 (the suite's base, else the operator's)
                suite_base = spec.base_url or (f"https://{spec.option('apiHost')}" if spec.option("apiHost") else None)
                path = realtime_path(spec.model, suite_base or self._operator_base(VENDORS["azure"], spec) or "")
            else:
                path = realtime_path(spec.model)
        except wire.WireError as exc:
            raise ProviderError(str(exc) if str(exc).startswith(spec.id) else f"{spec.id}: {exc}", kind=exc.kind) from None
        endpoint = await self._endpoint(spec, path)
        timeout_ms = spec.option(TIMEOUT_KEY[api])
        turns = turn.turns if isinstance(turn, RealtimeTurn) else 1  # a kept conversation's earlier turns are asked again
        per_turn = float(timeout_ms) / 1000 if timeout_ms else self.timeout_s
        timeout_s = (min(per_turn, self.call_timeout_s) if timeout_ms else per_turn) if turns == 1 else min(per_turn * turns, self.call_timeout_s)
        if self.cancelled():
            raise Cancelled()
        for _ in range(turns):  # each turn is a model call on the budget
            self.meter.reserve()
        try:
            async with asyncio.timeout(timeout_s):
                await talk(turn, endpoint.target, self.max_response_bytes, endpoint.key_var)
        except TimeoutError:
            raise ProviderError(f"{spec.id}: no complete answer within {timeout_s:g} s " + (
                f"(config.{TIMEOUT_KEY[api]})" if timeout_ms else "(evals.timeout_s)"), kind=CheckError.TIMEOUT) from None
        except wire.WireError as exc:
            if exc.kind is CheckError.BAD_CREDENTIALS and not endpoint.key_sent:  # the key was never sent there
                why = self._no_key(spec, endpoint.key_var, endpoint.base_var, endpoint.key_set, endpoint.operator_base)
                raise ProviderError(f"{why} and the provider requires credentials", kind=CheckError.MISSING_CREDENTIALS) from None
            raise ProviderError(str(exc), kind=exc.kind) from None
        answer = turn.answer
        cost = self.meter.record(spec, spec.model, answer.tokens_in, answer.tokens_out)
        return Completion(turn.output(), answer.tokens_in, answer.tokens_out, answer.finish_reason, (time.monotonic() - started) * 1000,
                          cost, structured=answer.structured)

    async def embed(self, spec: ProviderSpec, text: str) -> list[float]:
        spec = self._placed(spec)
        try:
            path, body = embedding_request(spec, text)
        except wire.WireError as exc:
            raise ProviderError(f"{spec.id}: {exc}", kind=exc.kind) from None
        data = await self._post(spec, await self._endpoint(spec, path), body, expect_json=VENDORS[spec.kind].wire not in LIST_ANSWERS)
        try:
            vector, tokens = embedding_answer(spec, data)
        except wire.WireError as exc:
            raise ProviderError(f"{spec.id}: {exc}", kind=exc.kind) from None
        if tokens is not None:
            self.meter.record(spec, spec.model, tokens, 0)
        return vector


    async def classify(self, spec: ProviderSpec, text: str) -> dict[str, float]:
        """A Hugging Face classification model's labels and scores for `text` (bot.evals.classifier)."""
        try:
            path, body = classifier.classification_request(spec, text)
            data = await self._post(spec, await self._endpoint(spec, path), body, expect_json=False)
            return classifier.classification_answer(spec, data)
        except wire.WireError as exc:
            raise ProviderError(f"{spec.id}: {exc}", kind=exc.kind) from None

    async def similarity(self, spec: ProviderSpec, expected: str, output: str) -> float:
        """A Hugging Face sentence-similarity model's score of `output` against `expected` (its source sentence)."""
        try:
            path, body = classifier.similarity_request(spec, expected, output)
            data = await self._post(spec, await self._endpoint(spec, path), body, expect_json=False)
            return classifier.similarity_answer(data)
        except wire.WireError as exc:
            raise ProviderError(f"{spec.id}: {exc}", kind=exc.kind) from None


LIST_ANSWERS = ("huggingface", "sagemaker")  # wires whose answers may be JSON lists, not objects


async def _read(resp: httpx.Response, limit: int, too_large: str | None) -> bytes:
    """The body up to `limit` bytes. Past it: ProviderError(too_large) when given, else the first
    `limit` bytes; either way the rest is never read (closing the stream drops the connection)."""
    declared = resp.headers.get("content-length", "")
    if too_large is not None and declared.isdigit() and int(declared) > limit:
        raise ProviderError(too_large, kind=CheckError.RESPONSE_TOO_LARGE)
    buf = bytearray()
    async for chunk in resp.aiter_bytes():
        buf += chunk
        if len(buf) > limit:
            if too_large is not None:
                raise ProviderError(too_large, kind=CheckError.RESPONSE_TOO_LARGE)
            return bytes(buf[:limit])
    return bytes(buf)
