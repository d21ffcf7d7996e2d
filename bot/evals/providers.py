"""Model calls over httpx: OpenAI-compatible chat/embeddings and Anthropic messages, with retries
(tenacity: Retry-After first, else jittered exponential backoff) and a budget charged before every
request so a run never overspends. The endpoint may be hostile: every attempt has a total deadline
(connect, send and the whole body), the call with its retries has one too, the answer is read in
pieces up to a size limit, and error bodies are never echoed beyond one short known field.
"""

from __future__ import annotations

import asyncio
import email.utils
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
from bot.evals.suite import ProviderSpec
from bot.evals.urls import Target, UrlPolicy, UrlRefused, under

OPENAI_DEFAULT = "https://api.openai.com/v1"
ANTHROPIC_DEFAULT = "https://api.anthropic.com"
MAX_ATTEMPTS = 4
MAX_RETRY_AFTER_S = 60.0
MAX_RESPONSE_BYTES = 4_000_000
ERROR_BODY_BYTES = 16_384  # enough for an error JSON's message; the rest is never read
PUBLIC_HOSTS = frozenset({"api.openai.com", "api.anthropic.com"})


@dataclass(frozen=True)
class Completion:
    text: str
    tokens_in: int = 0
    tokens_out: int = 0
    # What the provider reports answered (re-validation notices a model changed behind the same name).
    model: str | None = None
    system_fingerprint: str | None = None


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

    def record(self, spec: ProviderSpec, model: str, tokens_in: int, tokens_out: int) -> float:
        self.tokens_in += tokens_in
        self.tokens_out += tokens_out
        price = price_of(spec.kind, model)
        if price is None:
            self.unpriced.add(f"{spec.kind}:{model}")
            return 0.0
        cost = (tokens_in * price["input"] + tokens_out * price["output"]) / 1_000_000
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


def one_line(text: str, limit: int = 120) -> str:
    """Text from a remote server made safe to show: one line, no control characters, at most `limit` chars."""
    clean = " ".join("".join(ch if ch.isprintable() else " " for ch in text).split())
    return clean if len(clean) <= limit else clean[: limit - 1] + "…"


def error_message(raw: bytes) -> str | None:
    """`error.message` of an OpenAI/Anthropic error JSON, cleaned; nothing else of the body is ever shown."""
    try:
        data = safejson.loads(raw, max_depth=8)
    except (ValueError, UnicodeDecodeError):
        return None
    error = data.get("error") if isinstance(data, dict) else None
    message = error.get("message") if isinstance(error, dict) else None
    return one_line(message) or None if isinstance(message, str) else None


def _reported(value: Any) -> str | None:
    """A `model` or `system_fingerprint` as the provider reported it, made safe to show and store."""
    return one_line(value, 200) or None if isinstance(value, str) else None


def _count(value: Any) -> int:
    """A token count from the answer; anything odd counts as 0 rather than failing the case."""
    return value if isinstance(value, int) and 0 <= value < 10**12 else 0


@dataclass(frozen=True)
class _Endpoint:
    target: Target
    key_var: str  # OPENAI_API_KEY / ANTHROPIC_API_KEY
    base_var: str  # OPENAI_BASE_URL / ANTHROPIC_BASE_URL
    key_sent: bool
    key_set: bool
    operator_base: str


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
    ):
        self.client, self.env, self.meter = client, env, meter
        self.timeout_s = timeout_s
        self.call_timeout_s = call_timeout_s if call_timeout_s is not None else 3 * timeout_s
        self.max_response_bytes = max_response_bytes
        self.urls = urls if urls is not None else UrlPolicy.from_settings((), env)
        self.cancelled = cancelled or (lambda: False)
        self.max_attempts = max_attempts

    @classmethod
    def for_run(
        cls, client: httpx.AsyncClient, env: Mapping[str, str], config: EvalsConfig, meter: Meter, cancelled: Callable[[], bool] | None = None
    ) -> "Caller":
        return cls(
            client, env, meter, config.timeout_s, cancelled,
            call_timeout_s=config.call_timeout_s,
            max_response_bytes=config.max_response_bytes,
            urls=UrlPolicy.from_settings(config.allowed_base_urls, env),
        )

    async def _endpoint(self, spec: ProviderSpec, path: str) -> _Endpoint:
        """Where the request goes and with which headers. A key from the environment is only sent to
        the server it is for (the environment's base URL or the public API), never to a URL a PR
        wrote; a URL a PR wrote must pass the URL policy; the public API without a key fails here."""
        openai = spec.kind == "openai"
        public = OPENAI_DEFAULT if openai else ANTHROPIC_DEFAULT
        key_var, base_var = ("OPENAI_API_KEY", "OPENAI_BASE_URL") if openai else ("ANTHROPIC_API_KEY", "ANTHROPIC_BASE_URL")
        operator = (self.env.get(base_var) or public).rstrip("/")
        base = (spec.base_url or operator).rstrip("/")
        key = self.env.get(key_var)
        sent = bool(key) and _same_origin(base, operator)
        headers = {} if openai else {"anthropic-version": "2023-06-01"}
        if sent:
            headers.update({"Authorization": f"Bearer {key}"} if openai else {"x-api-key": str(key)})
        origin = _origin(base)
        if origin is None:
            raise ProviderError(f"provider {spec.id} config.apiBaseUrl {base[:120]!r} is not a valid URL", kind=CheckError.URL_REFUSED)
        if not sent and origin[1] in PUBLIC_HOSTS:
            raise ProviderError(self._no_key(spec, key_var, base_var, bool(key), operator), kind=CheckError.MISSING_CREDENTIALS)
        if spec.base_url is None or under(base, operator) or under(base, public):
            target = Target(base + path)  # the operator's own server or the public API: used as it is
        else:
            where = f"provider {spec.id} config.apiBaseUrl" + (f" (suite line {spec.line})" if spec.line else "")
            try:
                async with asyncio.timeout(self.timeout_s):  # a host name whose DNS never answers
                    target = await self.urls.target(base, path, where)
            except UrlRefused as exc:
                raise ProviderError(str(exc), kind=CheckError.URL_REFUSED) from None
            except TimeoutError:
                raise ProviderError(f"{where}: its host did not resolve within {self.timeout_s:g} s (evals.timeout_s)", kind=CheckError.TIMEOUT) from None
        target = Target(target.url, {**headers, **target.headers}, target.extensions)
        return _Endpoint(target, key_var, base_var, sent, bool(key), operator)

    @staticmethod
    def _no_key(spec: ProviderSpec, key_var: str, base_var: str, key_set: bool, operator: str) -> str:
        if not key_set:
            return f"{spec.id}: {key_var} is not set"
        return f"{spec.id}: no key is sent to this server: {key_var} goes only to {base_var} ({operator})"

    async def _post(self, spec: ProviderSpec, endpoint: _Endpoint, body: dict) -> dict:
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
            self.meter.reserve()
            attempts += 1
            try:
                async with asyncio.timeout(min(self.timeout_s, remaining)):
                    return await self._send(spec, endpoint, body)
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

    async def _send(self, spec: ProviderSpec, endpoint: _Endpoint, body: dict) -> dict:
        """One attempt: status first, then the body in pieces up to the size limit, then JSON."""
        t = endpoint.target
        try:
            async with self.client.stream(
                "POST", t.url, json=body, headers=dict(t.headers), extensions=dict(t.extensions), timeout=self.timeout_s
            ) as resp:
                if resp.status_code >= 300:
                    raw = await _read(resp, ERROR_BODY_BYTES, None)
                    raise self._status_error(spec, endpoint, resp, raw)
                raw = await _read(resp, self.max_response_bytes, f"{spec.id}: the answer is larger than {self.max_response_bytes} bytes (evals.max_response_bytes)")
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
            raise ProviderError(f"{spec.id}: the answer is not JSON", kind=CheckError.BAD_RESPONSE) from None
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

    async def complete(self, spec: ProviderSpec, messages: tuple[tuple[str, str], ...]) -> Completion:
        params = dict(spec.params)
        if spec.kind == "openai":
            endpoint = await self._endpoint(spec, "/chat/completions")
            body = {"model": spec.model, "messages": [{"role": r, "content": c} for r, c in messages], **params}
            data = await self._post(spec, endpoint, body)
            try:
                text = data["choices"][0]["message"]["content"] or ""
            except (KeyError, IndexError, TypeError):
                raise ProviderError(f"{spec.id}: response has no choices[0].message.content", kind=CheckError.BAD_RESPONSE) from None
            if not isinstance(text, str):
                raise ProviderError(f"{spec.id}: choices[0].message.content is not text", kind=CheckError.BAD_RESPONSE)
            usage = data.get("usage") if isinstance(data.get("usage"), dict) else {}
            tin, tout = _count(usage.get("prompt_tokens")), _count(usage.get("completion_tokens"))
            fingerprint = _reported(data.get("system_fingerprint"))
        else:
            endpoint = await self._endpoint(spec, "/v1/messages")
            system = "\n\n".join(c for r, c in messages if r == "system")
            body = {
                "model": spec.model,
                "max_tokens": params.pop("max_tokens", 1024),
                "messages": [{"role": r, "content": c} for r, c in messages if r != "system"],
                **params,
            }
            if system:
                body["system"] = system
            data = await self._post(spec, endpoint, body)
            blocks = data.get("content")
            if not isinstance(blocks, list):
                raise ProviderError(f"{spec.id}: response has no content blocks", kind=CheckError.BAD_RESPONSE)
            text = "".join(
                b["text"] for b in blocks if isinstance(b, dict) and b.get("type") == "text" and isinstance(b.get("text"), str)
            )
            usage = data.get("usage") if isinstance(data.get("usage"), dict) else {}
            tin, tout = _count(usage.get("input_tokens")), _count(usage.get("output_tokens"))
            fingerprint = None  # Anthropic reports the model snapshot only
        self.meter.record(spec, spec.model, tin, tout)
        return Completion(text, tin, tout, _reported(data.get("model")), fingerprint)

    async def embed(self, spec: ProviderSpec, text: str) -> list[float]:
        if spec.kind != "openai":
            raise ProviderError(f"{spec.id}: embeddings need an OpenAI-compatible provider")
        endpoint = await self._endpoint(spec, "/embeddings")
        data = await self._post(spec, endpoint, {"model": spec.model, "input": text})
        try:
            vector = [float(x) for x in data["data"][0]["embedding"]]
        except (KeyError, IndexError, TypeError, ValueError):
            raise ProviderError(f"{spec.id}: response has no data[0].embedding", kind=CheckError.BAD_RESPONSE) from None
        usage = data.get("usage") if isinstance(data.get("usage"), dict) else {}
        self.meter.record(spec, spec.model, _count(usage.get("prompt_tokens")), 0)
        return vector


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
