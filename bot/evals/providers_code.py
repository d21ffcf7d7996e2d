"""Calling a provider written in code (promptfoo's custom providers): JavaScript runs in QuickJS, Python in the
jailed interpreter with no network of its own, each with a bounded network bridge (bot.evals.sandbox). The gate
(bot.evals.select.CodeGate) let the code through before the case was run.

The bridge answers the JavaScript `fetch` / `fetchWithCache` requests and those of the sandbox's Python `openai`, `anthropic`,
`requests` and `httpx` modules (bot/evals/sandbox/py_shims). A request may go only to
- a model API prompt-review calls for its own providers, routed like them: a URL under the vendor's public API
  goes to the operator's base URL for that vendor when one is set (OPENAI_BASE_URL, …), else to the public API;
- a URL the base branch or the operator allowed for http providers (evals.allowed_base_urls,
  PROMPT_REVIEW_ALLOWED_MODEL_URLS), checked and pinned to its address as the http provider's are.
`process.env.NAME` (Python: `os.environ`) holds a placeholder for each credential the service has; the bridge puts the real value in a
request *header* only, and only when the request goes to that credential's own vendor. Everything else —
another host, a placeholder in the URL or body, too many or too large requests — stops the case with an error
naming the rule (the code cannot catch it).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import math
import re
import time
from dataclasses import dataclass, replace
from typing import Any

import httpx

from bot.core.errors import CheckError
from bot.evals.assertions import CodeContext
from bot.evals.providers import Caller, Cancelled, Completion, ProviderError
from bot.evals.providers import _read as read_body
from bot.evals.providers_config import VENDORS, Vendor
from bot.evals.providers_shapes import count, js_json
from bot.evals.providers_wire import WireError
from bot.evals.providers_code_check import PYTHON_FUNCTION
from bot.evals.sandbox import CodeLimits, Fault, JsCode, PyCode, SandboxError
from bot.evals.sandbox.bridge import MAX_REQUEST_BYTES, MAX_REQUESTS, MAX_URL_CHARS, Answer, Request
from bot.evals.sandbox.js_provider import call_provider
from bot.evals.sandbox.py import call_python_provider
from bot.evals.suite import ProviderSpec
from bot.evals.urls import ALLOWED_URLS_ENV, CONFIG_KEY, Target, UrlRefused, under

MAX_HEADERS = 64
MAX_HEADER_BYTES = 65_536  # all of one request's header names and values
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
DROPPED_HEADERS = {"host", "content-length", "transfer-encoding", "connection", "upgrade"}
NO_BRIDGE = {"http", "websocket", "echo", "code"}  # wire formats that are not a vendor's model API


PYTHON_READS = "os.environ['{}']"


def placeholder(name: str) -> str:
    """What `process.env.NAME` reads in the sandbox instead of the credential's value."""
    return f"prompt-review-secret:{name}"


class BridgeRefused(ProviderError):
    """A request the bridge does not send: the case is an error naming the rule (the code cannot catch it)."""

    def __init__(self, message: str):
        super().__init__(message, kind=CheckError.URL_REFUSED)


@dataclass(frozen=True)
class Route:
    """Where one request goes, and whose credentials it may carry (none: an allowlisted URL)."""

    target: Target
    owners: tuple[Vendor, ...]


class Bridge:
    """The network of one provider call: routes, credentials, bounds."""

    def __init__(self, caller: Caller, spec: ProviderSpec, loop: asyncio.AbstractEventLoop, reads: str = "process.env.{}"):
        self.caller, self.spec, self.loop = caller, spec, loop
        self.reads = reads  # how the code reads a credential's placeholder, for messages
        self.requests = 0
        self.deadline = time.monotonic() + caller.call_timeout_s  # the network time of the whole call
        self.secrets = {name: caller.env[name] for v in VENDORS.values() if v.wire not in NO_BRIDGE
                        for name in v.key_env if caller.env.get(name)}

    def env(self) -> dict[str, str]:
        return {name: placeholder(name) for name in self.secrets}

    def send(self, request: Request) -> Answer:
        """On the engine's thread: the answer, computed on the run's event loop (whose own deadlines bound it;
        the wait here has a net under them so the thread never outlives the run)."""
        pending = asyncio.run_coroutine_threadsafe(self.answer(request), self.loop)
        try:
            return pending.result(timeout=self.caller.call_timeout_s + self.caller.timeout_s + 5)
        except concurrent.futures.TimeoutError:
            pending.cancel()
            raise ProviderError(f"provider {self.spec.slot}: its requests did not finish within {self.caller.call_timeout_s:g} s "
                                "(evals.call_timeout_s)", kind=CheckError.TIMEOUT) from None

    async def answer(self, request: Request) -> Answer:
        if self.caller.cancelled():
            raise Cancelled()
        self.requests += 1
        where = f"provider {self.spec.slot}: fetch {_show(request.url)}"
        if self.requests > MAX_REQUESTS:
            raise BridgeRefused(f"{where}: refused: more than {MAX_REQUESTS} requests in one call (the sandbox's bound "
                                "for a provider written in code)")
        if request.method not in METHODS:
            raise BridgeRefused(f"{where}: refused: method {_show(request.method)} (allowed: {', '.join(METHODS)})")
        body = (request.body or "").encode("utf-8", "replace")
        if len(body) > MAX_REQUEST_BYTES:
            raise BridgeRefused(f"{where}: refused: the request body is {len(body):,} bytes, over the bound of {MAX_REQUEST_BYTES:,}")
        if len(request.url) > MAX_URL_CHARS:
            raise BridgeRefused(f"{where}: refused: the URL is longer than {MAX_URL_CHARS:,} characters")
        if len(request.headers) > MAX_HEADERS or sum(len(k) + len(v) for k, v in request.headers.items()) > MAX_HEADER_BYTES:
            raise BridgeRefused(f"{where}: refused: more than {MAX_HEADERS} request headers or {MAX_HEADER_BYTES:,} bytes of them")
        for name in self.secrets:
            if placeholder(name) in request.url or placeholder(name) in (request.body or ""):
                raise BridgeRefused(f"{where}: refused: {self.reads.format(name)} is put in request headers only, never in the "
                                    "URL or body")
        route = await self._route(request.url, where)
        headers = self._headers(request, route, where)
        self.caller.meter.reserve()
        left = self.deadline - time.monotonic()
        timeout = min(self.caller.timeout_s, left, (request.timeout_ms or math.inf) / 1000)
        if timeout <= 0:
            raise ProviderError(f"{where}: no time left for requests ({self.caller.call_timeout_s:g} s per call, "
                                "evals.call_timeout_s)", kind=CheckError.TIMEOUT)
        try:
            async with asyncio.timeout(timeout):
                async with self.caller.client.stream(request.method, route.target.url, content=body if request.body is not None else None,
                                                     headers=headers, extensions=dict(route.target.extensions),
                                                     timeout=timeout) as resp:
                    raw = await read_body(resp, self.caller.max_response_bytes,
                                          f"{where}: the answer is larger than {self.caller.max_response_bytes:,} bytes "
                                          "(evals.max_response_bytes)")
                    return Answer(resp.status_code, resp.reason_phrase, _response_headers(resp), raw.decode("utf-8", "replace"))
        except (TimeoutError, httpx.TimeoutException):
            return Answer(error=f"fetch {_show(request.url)}: no answer within {timeout:g} s")
        except httpx.HTTPError as exc:
            return Answer(error=f"fetch {_show(request.url)}: connection failed ({type(exc).__name__})")

    def _destinations(self) -> list[tuple[Vendor, str | None]]:
        """Each vendor with the base URL this run sends its requests to (the operator's, else the public API)."""
        out = []
        for vendor in VENDORS.values():
            if vendor.wire in NO_BRIDGE:
                continue
            try:
                out.append((vendor, self.caller.vendor_base(vendor, self.spec)))
            except WireError:
                out.append((vendor, None))
        return out

    async def _route(self, url: str, where: str) -> Route:
        destinations = self._destinations()
        target = None
        for vendor, base in destinations:
            public = vendor.default_base
            if base and under(url, base):
                target = url
            elif public and under(url, public) and url.startswith(public):
                target = (base or public) + url[len(public):]
            if target is not None:
                # whose credentials may go there: every vendor whose requests go to that place (the built-in rule)
                owners = tuple(v for v, b in destinations if b and under(target, b))
                return Route(Target(target), owners)
        if self.caller.urls.is_allowed(url):
            try:
                async with asyncio.timeout(self.caller.timeout_s):
                    return Route(await self.caller.urls.target(url, "", where), ())
            except UrlRefused as exc:
                raise BridgeRefused(str(exc)) from None
            except TimeoutError:
                raise ProviderError(f"{where}: its host did not resolve within {self.caller.timeout_s:g} s", kind=CheckError.TIMEOUT) from None
        raise BridgeRefused(
            f"{where}: refused: a provider written in code reaches only the model APIs prompt-review calls (e.g. "
            f"{VENDORS['openai'].default_base}, or the operator's base URL for that vendor) and URLs allowed for http "
            f"providers ({CONFIG_KEY} in the base branch's .github/prompt-review.yml, or {ALLOWED_URLS_ENV})")

    def _headers(self, request: Request, route: Route, where: str) -> dict[str, str]:
        out = {}
        for key, value in request.headers.items():
            if key.lower() in DROPPED_HEADERS:
                continue
            for name, secret in self.secrets.items():
                if placeholder(name) not in value:
                    continue
                if not any(name in v.key_env for v in route.owners):
                    raise BridgeRefused(f"{where}: refused: the request carries {self.reads.format(name)}, which goes only to its own "
                                        "vendor's API" + (f" (this is {route.owners[0].name}'s)" if route.owners else ""))
                value = value.replace(placeholder(name), secret)
            out[key] = value
        return {**out, **dict(route.target.headers)}


def _response_headers(resp: httpx.Response) -> dict[str, str]:
    return {k.lower(): v[:1000] for k, v in list(resp.headers.items())[:MAX_HEADERS]}


def _show(text: str, limit: int = 120) -> str:
    clean = "".join(ch for ch in text if ch.isprintable())
    return repr(clean if len(clean) <= limit else clean[: limit - 1] + "…")


async def call_code_provider(caller: Caller, spec: ProviderSpec, context: CodeContext, prompt_label: str) -> Completion:
    """The provider's answer to the case's prompt. The code throwing, returning an `error`, or being stopped by a
    limit is a case error (promptfoo: an error, not a failure); the answer is read as promptfoo reads it."""
    code = spec.code
    assert code is not None
    started = time.monotonic()
    options = {"id": spec.id, "label": spec.label, "config": dict(spec.params)}
    where = f"provider {spec.slot}" + (f" ({code.file})" if code.file else "")
    script = spec.option("exec")  # promptfoo's exec provider: the script's arguments, then the prompt, options, context
    argv = None if script is None else [*script, context.prompt, js_json(options),
                                        js_json({"vars": context.vars, "prompt": {"raw": context.prompt, "label": prompt_label}})]
    try:
        if isinstance(code, JsCode) and argv is not None:
            bridge = Bridge(caller, spec, asyncio.get_running_loop())
            value = await asyncio.to_thread(call_provider, code, context.prompt, options, {}, bridge.env(), bridge.send,
                                            context.limits, argv=argv, files=context.reader(code))
            return _script_completion(value, where, (time.monotonic() - started) * 1000)
        if isinstance(code, JsCode):
            bridge = Bridge(caller, spec, asyncio.get_running_loop())
            js_context = {"vars": context.vars, "prompt": {"raw": context.prompt, "label": prompt_label}, "test": context.test}
            value = await asyncio.to_thread(call_provider, code, context.prompt, options, js_context, bridge.env(), bridge.send,
                                            context.limits, files=context.reader(code))
        else:
            assert isinstance(code, PyCode)
            bridge = Bridge(caller, spec, asyncio.get_running_loop(), PYTHON_READS)
            if argv is not None:
                value = await asyncio.to_thread(call_python_provider, code, argv, context.limits, bridge.env(), bridge.send,
                                                context.reader(code))
                return _script_completion(value, where, (time.monotonic() - started) * 1000)
            py_context = {"vars": context.vars, "prompt": context.prompt, "test": context.test}
            value = await asyncio.to_thread(call_python_provider, code, [context.prompt, options, py_context], context.limits,
                                            bridge.env(), bridge.send, context.reader(code))
    except SandboxError as exc:
        kind = CheckError.TIMEOUT if exc.fault is Fault.TIMEOUT else CheckError.OTHER
        raise ProviderError(f"{where}: {exc.message}", kind=kind) from None
    return _completion(value, where, caller, (time.monotonic() - started) * 1000)


_ANSI = re.compile(r"\x1b(?:[@-Z\\-_]|\[[0-?]*[ -/]*[@-~])")


def _script_completion(value: Any, where: str, latency_ms: float) -> Completion:
    """What an exec provider's script printed, read as promptfoo's exec provider reads it: its standard output, trimmed
    and without ANSI escapes; a non-zero exit, or nothing printed but on standard error, is an error."""
    if not isinstance(value, dict):
        raise ProviderError(f"{where}: the script's output could not be read", kind=CheckError.BAD_RESPONSE)
    stdout = _ANSI.sub("", str(value.get("stdout") or "")).strip()
    stderr = _ANSI.sub("", str(value.get("stderr") or "")).strip()
    code = value.get("code")
    if isinstance(code, int) and code != 0:
        raise ProviderError(f"{where}: the script exited with status {code}" + (f": {stderr[:2000]}" if stderr else ""),
                            kind=CheckError.OTHER)
    if stderr and not stdout:
        raise ProviderError(f"{where}: {stderr[:2000]}", kind=CheckError.OTHER)
    return Completion(stdout, finish_reason="stop", latency_ms=latency_ms)


def _completion(value: Any, where: str, caller: Caller, latency_ms: float) -> Completion:
    """promptfoo's ProviderResponse: {output, error, tokenUsage, cost, cached, metadata}; a bare string is the output."""
    if isinstance(value, str):
        return Completion(value, finish_reason="stop", latency_ms=latency_ms)
    if not isinstance(value, dict):
        kind = "nothing" if value is None else f"a {type(value).__name__}"
        raise ProviderError(f"{where} returned {kind}; a provider returns {{output}} or {{error}}", kind=CheckError.BAD_RESPONSE)
    error = value.get("error")
    if error:
        raise ProviderError(f"{where}: {error if isinstance(error, str) else js_json(error)}"[:2000], kind=CheckError.OTHER)
    output = value.get("output")
    if output is None:
        raise ProviderError(f"{where} returned no output", kind=CheckError.BAD_RESPONSE)
    usage = value.get("tokenUsage")
    usage = usage if isinstance(usage, dict) else {}
    tokens_in, tokens_out = count(usage.get("prompt")), count(usage.get("completion"))
    cost = value.get("cost")
    cost = float(cost) if isinstance(cost, (int, float)) and not isinstance(cost, bool) and math.isfinite(cost) and cost >= 0 else None
    meter = caller.meter
    meter.tokens_in, meter.tokens_out = meter.tokens_in + tokens_in, meter.tokens_out + tokens_out
    meter.cost_usd += cost or 0.0
    if isinstance(output, str):
        return Completion(output, tokens_in, tokens_out, "stop", latency_ms, cost)
    return Completion(js_json(output), tokens_in, tokens_out, "stop", latency_ms, cost, structured=True)


PYTHON_EMBEDDING_FUNCTION = "call_embedding_api"  # promptfoo's default function of a Python provider's embeddings


async def code_embedding(caller: Caller, spec: ProviderSpec, text: str, limits: CodeLimits) -> list[float]:
    """A grader written in code as an embedding model, as promptfoo calls it for `similar` and answer-relevance:
    JavaScript's callEmbeddingApi(text), Python's call_embedding_api(text, options) (or the id's named function);
    `{embedding: [numbers]}` is the vector. A throw, an `error`, no embedding or a limit is a case error."""
    code = spec.code
    assert code is not None
    options = {"id": spec.id, "label": spec.label, "config": dict(spec.params)}
    where = f"embedding grader {spec.slot}" + (f" ({code.file})" if code.file else "")
    try:
        if isinstance(code, JsCode):
            bridge = Bridge(caller, spec, asyncio.get_running_loop())
            value = await asyncio.to_thread(call_provider, code, text, options, {}, bridge.env(), bridge.send, limits, "callEmbeddingApi")
        else:
            assert isinstance(code, PyCode)
            bridge = Bridge(caller, spec, asyncio.get_running_loop(), PYTHON_READS)
            named = code if code.function != PYTHON_FUNCTION else replace(code, function=PYTHON_EMBEDDING_FUNCTION)
            value = await asyncio.to_thread(call_python_provider, named, [text, options], limits, bridge.env(), bridge.send)
    except SandboxError as exc:
        kind = CheckError.TIMEOUT if exc.fault is Fault.TIMEOUT else CheckError.OTHER
        raise ProviderError(f"{where}: {exc.message}", kind=kind) from None
    if not isinstance(value, dict):
        raise ProviderError(f"{where} returned {'nothing' if value is None else type(value).__name__}; an embedding provider "
                            "returns {embedding} or {error}", kind=CheckError.BAD_RESPONSE)
    if value.get("error"):
        error = value["error"]
        raise ProviderError(f"{where}: {error if isinstance(error, str) else js_json(error)}"[:2000], kind=CheckError.OTHER)
    vector = value.get("embedding")
    if not isinstance(vector, list) or not vector or len(vector) > MAX_EMBEDDING or not all(
            isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x) for x in vector):
        raise ProviderError(f"{where}: Embedding not found (it must return {{embedding: [numbers]}}, at most {MAX_EMBEDDING:,})",
                            kind=CheckError.BAD_RESPONSE)
    usage = value.get("tokenUsage")
    caller.meter.tokens_in += count(usage.get("prompt")) if isinstance(usage, dict) else 0
    return [float(x) for x in vector]


MAX_EMBEDDING = 100_000  # numbers in one vector
