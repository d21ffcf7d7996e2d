"""Model calls over httpx: OpenAI-compatible chat/embeddings and Anthropic messages, with retries
(tenacity: Retry-After first, else jittered exponential backoff), a per-call timeout and a budget
that is charged before every request so a run never overspends.
"""

from __future__ import annotations

import email.utils
import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from importlib import resources
from urllib.parse import urlsplit

import httpx
from tenacity import AsyncRetrying, retry_if_exception, stop_after_attempt, wait_random_exponential

from bot.core.config import Budget
from bot.core.errors import CheckError
from bot.evals.suite import ProviderSpec

OPENAI_DEFAULT = "https://api.openai.com/v1"
ANTHROPIC_DEFAULT = "https://api.anthropic.com"
MAX_ATTEMPTS = 4
MAX_RETRY_AFTER_S = 60.0


@dataclass(frozen=True)
class Completion:
    text: str
    tokens_in: int = 0
    tokens_out: int = 0


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


def _same_origin(a: str, b: str) -> bool:
    x, y = urlsplit(a), urlsplit(b)
    return (x.scheme, x.hostname, x.port) == (y.scheme, y.hostname, y.port)


class Caller:
    """Sends requests for one run; shares the budget meter and the cancellation flag."""

    def __init__(
        self,
        client: httpx.AsyncClient,
        env: Mapping[str, str],
        meter: Meter,
        timeout_s: float,
        cancelled: Callable[[], bool] | None = None,
        max_attempts: int = MAX_ATTEMPTS,
    ):
        self.client, self.env, self.meter = client, env, meter
        self.timeout = httpx.Timeout(timeout_s)
        self.cancelled = cancelled or (lambda: False)
        self.max_attempts = max_attempts

    def _endpoint(self, spec: ProviderSpec) -> tuple[str, dict[str, str]]:
        """Base URL and auth headers. A key from the environment is only sent to the server it is
        for (the environment's base URL or the public API), never to a URL a PR wrote."""
        if spec.kind == "openai":
            default = self.env.get("OPENAI_BASE_URL") or OPENAI_DEFAULT
            base = (spec.base_url or default).rstrip("/")
            key = self.env.get("OPENAI_API_KEY")
            headers = {"Authorization": f"Bearer {key}"} if key and _same_origin(base, default) else {}
            return base, headers
        default = self.env.get("ANTHROPIC_BASE_URL") or ANTHROPIC_DEFAULT
        base = (spec.base_url or default).rstrip("/")
        key = self.env.get("ANTHROPIC_API_KEY")
        headers = {"anthropic-version": "2023-06-01"}
        if key and _same_origin(base, default):
            headers["x-api-key"] = key
        return base, headers

    async def _post(self, spec: ProviderSpec, url: str, headers: dict[str, str], body: dict) -> dict:
        async def attempt() -> dict:
            if self.cancelled():
                raise Cancelled()
            self.meter.reserve()
            try:
                resp = await self.client.post(url, json=body, headers=headers, timeout=self.timeout)
            except httpx.TimeoutException:
                raise ProviderError(f"{spec.id}: timed out", retryable=True) from None
            except httpx.TransportError as exc:
                raise ProviderError(f"{spec.id}: connection failed ({type(exc).__name__})", retryable=True) from None
            if resp.status_code == 429 or resp.status_code >= 500 or resp.status_code == 408:
                raise ProviderError(
                    f"{spec.id}: HTTP {resp.status_code}", retryable=True, retry_after=_retry_after(resp.headers.get("retry-after"))
                )
            if resp.status_code >= 400:
                raise ProviderError(f"{spec.id}: HTTP {resp.status_code}: {resp.text[:200]}")
            try:
                data = resp.json()
            except ValueError:
                raise ProviderError(f"{spec.id}: the response is not JSON") from None
            if not isinstance(data, dict):
                raise ProviderError(f"{spec.id}: unexpected response shape")
            return data

        retrying = AsyncRetrying(
            stop=stop_after_attempt(self.max_attempts),
            wait=_wait,
            retry=retry_if_exception(lambda e: isinstance(e, ProviderError) and e.retryable),
            reraise=True,
        )
        try:
            return await retrying(attempt)
        except ProviderError as exc:
            if exc.retryable:
                raise ProviderError(f"{exc} (gave up after {self.max_attempts} attempts)") from None
            raise

    async def complete(self, spec: ProviderSpec, messages: tuple[tuple[str, str], ...]) -> Completion:
        base, headers = self._endpoint(spec)
        params = dict(spec.params)
        if spec.kind == "openai":
            body = {"model": spec.model, "messages": [{"role": r, "content": c} for r, c in messages], **params}
            data = await self._post(spec, f"{base}/chat/completions", headers, body)
            try:
                text = data["choices"][0]["message"]["content"] or ""
            except (KeyError, IndexError, TypeError):
                raise ProviderError(f"{spec.id}: response has no choices[0].message.content") from None
            usage = data.get("usage") or {}
            tin, tout = int(usage.get("prompt_tokens") or 0), int(usage.get("completion_tokens") or 0)
        else:
            system = "\n\n".join(c for r, c in messages if r == "system")
            body = {
                "model": spec.model,
                "max_tokens": params.pop("max_tokens", 1024),
                "messages": [{"role": r, "content": c} for r, c in messages if r != "system"],
                **params,
            }
            if system:
                body["system"] = system
            data = await self._post(spec, f"{base}/v1/messages", headers, body)
            blocks = data.get("content")
            if not isinstance(blocks, list):
                raise ProviderError(f"{spec.id}: response has no content blocks")
            text = "".join(b.get("text", "") for b in blocks if isinstance(b, dict) and b.get("type") == "text")
            usage = data.get("usage") or {}
            tin, tout = int(usage.get("input_tokens") or 0), int(usage.get("output_tokens") or 0)
        self.meter.record(spec, spec.model, tin, tout)
        return Completion(text, tin, tout)

    async def embed(self, spec: ProviderSpec, text: str) -> list[float]:
        if spec.kind != "openai":
            raise ProviderError(f"{spec.id}: embeddings need an OpenAI-compatible provider")
        base, headers = self._endpoint(spec)
        data = await self._post(spec, f"{base}/embeddings", headers, {"model": spec.model, "input": text})
        try:
            vector = [float(x) for x in data["data"][0]["embedding"]]
        except (KeyError, IndexError, TypeError, ValueError):
            raise ProviderError(f"{spec.id}: response has no data[0].embedding") from None
        usage = data.get("usage") or {}
        self.meter.record(spec, spec.model, int(usage.get("prompt_tokens") or 0), 0)
        return vector
