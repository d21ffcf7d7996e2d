"""The manifest's hot path: GET /v1/repos/{owner}/{repo}/manifest and …/prompts/{path} with a repo token.

Apps poll these, so they are plain ASGI endpoints answered from memory: the live tokens (by hash) and
the built manifest bytes with their ETag per (repo, label, model). A hit does no database work and never
waits for the thread pool. What a hit could get wrong is bounded:

- a change made in this process (a deployment, rollback, rollout step, token revocation — through the
  API, a comment or a button) is seen by the next request (bot.release.models.Changes);
- a change made by another process is seen within MAX_STALE_SECONDS: every CHECK_SECONDS a request
  starts a re-read of a cheap database stamp (latest deployment id, number of revoked tokens) in the
  background and goes on from memory; the caches are dropped when the stamp moved. A request waits for
  that re-read only when the last one is older than MAX_STALE_SECONDS (the thread pool was stuck), so
  the bound holds while the re-read stays off every request's path (bench/manifest.py: waiting for it
  each second put ~40 ms into the p99).
"""

from __future__ import annotations

import asyncio
import json
import math
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import parse_qsl

from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError
from starlette.concurrency import run_in_threadpool

from bot.core.release import check_label
from bot.release import store
from bot.release.answers import Problem, bearer, refusal
from bot.release.models import Changes

CHECK_SECONDS = 0.5  # how often another process's label moves and token revocations are looked for
MAX_STALE_SECONDS = 2 * CHECK_SECONDS  # the bound: older than this, a request waits for the re-read
MAX_TOKENS = 10_000  # live tokens kept; past that the cache starts over (a flood of real tokens is no attack)
MAX_MANIFESTS = 1_000  # (repo, label, model) bodies kept; a manifest is tens of KB
MAX_MODEL_CHARS = 200

Build = Callable[[str, str, "str | None"], dict]  # (repo, label, model) → the manifest as JSON data


@dataclass(frozen=True)
class Reader:
    """A live repo token: which repository it is for and its scope."""

    repo: str
    scope: str


@dataclass
class Built:
    """One manifest as served: its bytes, ETag and data, and the single-prompt answers made from it."""

    body: bytes
    etag: str
    data: dict
    prompts: dict[str, bytes] = field(default_factory=dict)

    def prompt(self, path: str) -> bytes:
        if path not in self.prompts:
            item = next((p for p in self.data["prompts"] if p["path"] == path), None)
            if item is None:
                raise Problem(404, f"label {self.data['label']} has no prompt {path}; it has: "
                                   + ", ".join(p["path"] for p in self.data["prompts"]))
            d = self.data
            self.prompts[path] = json.dumps({"repo": d["repo"], "label": d["label"], "commit": d["commit"], **item,
                                             "etag": d["etag"]}).encode()
        return self.prompts[path]


class ManifestCache:
    def __init__(self, engine: Engine, build: Build, check_seconds: float = CHECK_SECONDS,
                 clock: Callable[[], float] = time.monotonic):
        self.engine, self.build, self.check_seconds, self.clock = engine, build, check_seconds, clock
        self._tokens: dict[str, Reader] = {}
        self._manifests: dict[tuple[str, str, str | None], Built] = {}
        self._seen = (Changes.labels, Changes.tokens)
        self._stamp: tuple[int | None, int] | None = None
        self._checked = -math.inf
        self._checking: asyncio.Task | None = None
        self._epoch = 0  # bumped whenever the caches are dropped: a build begun before must not be kept

    def _drop(self, manifests: bool, tokens: bool) -> None:
        if manifests:
            self._manifests.clear()
        if tokens:
            self._tokens.clear()
        self._epoch += 1

    async def current(self) -> None:
        """Drop what changed: at once for changes of this process, within check_seconds for others'."""
        seen = (Changes.labels, Changes.tokens)
        if seen != self._seen:
            self._drop(seen[0] != self._seen[0], seen[1] != self._seen[1])
            self._seen = seen
        age = self.clock() - self._checked
        if age < self.check_seconds:
            return
        if self._checking is None:
            self._checking = asyncio.create_task(self._check())
        if age >= 2 * self.check_seconds:  # MAX_STALE_SECONDS: the background re-read did not land in time
            await asyncio.shield(self._checking)

    async def _check(self) -> None:
        try:
            stamp = await run_in_threadpool(store.freshness, self.engine)
            if stamp != self._stamp:
                self._drop(self._stamp is None or stamp[0] != self._stamp[0], self._stamp is None or stamp[1] != self._stamp[1])
                self._stamp = stamp
            self._checked = self.clock()
        finally:
            self._checking = None

    async def reader(self, secret: str) -> Reader | None:
        """The live token with this secret (None: unknown or revoked)."""
        key = store.token_hash(secret)
        hit = self._tokens.get(key)
        if hit is not None:
            return hit
        epoch = self._epoch
        row = await run_in_threadpool(store.token_for, self.engine, secret)
        if row is None:
            return None
        found = Reader(row.repo, row.scope)
        if epoch == self._epoch:  # not revoked meanwhile, as far as this process can tell
            if len(self._tokens) >= MAX_TOKENS:
                self._tokens.clear()
            self._tokens[key] = found
        return found

    async def manifest(self, repo: str, label: str, model: str | None) -> Built:
        key = (repo, label, model)
        hit = self._manifests.get(key)
        if hit is not None:
            return hit
        epoch = self._epoch
        data = await run_in_threadpool(self.build, repo, label, model)
        built = Built(json.dumps(data).encode(), data["etag"], data)
        if epoch == self._epoch:
            if len(self._manifests) >= MAX_MANIFESTS:
                self._manifests.clear()
            self._manifests[key] = built
        return built


class ManifestEndpoint:
    """GET …/manifest (one_prompt False) or …/prompts/{path} (True), as a plain ASGI app under a Route."""

    def __init__(self, cache: ManifestCache, one_prompt: bool):
        self.cache, self.one_prompt = cache, one_prompt

    async def __call__(self, scope, receive, send) -> None:
        headers: dict[bytes, bytes] = {}
        for name, value in scope["headers"]:
            headers.setdefault(name, value)
        try:
            status, extra, body = await self.answer(scope, headers)
        except Exception as exc:
            answer = refusal(exc)
            if answer is None:
                if not isinstance(exc, SQLAlchemyError):
                    raise
                answer = 503, {"error": "the database is unavailable; try again"}
            status, extra, body = answer[0], [], json.dumps(answer[1]).encode()
        start = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()), *extra]
        await send({"type": "http.response.start", "status": status, "headers": start})
        await send({"type": "http.response.body", "body": b"" if scope["method"] == "HEAD" else body})

    async def answer(self, scope, headers: dict[bytes, bytes]) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
        params = scope["path_params"]
        repo = f"{params['owner']}/{params['name']}"
        query = dict(parse_qsl(scope.get("query_string", b"").decode("latin-1")))
        label, model = query.get("label") or "production", query.get("model") or None
        secret = bearer(headers.get(b"authorization", b"").decode("latin-1"))
        if secret is None:
            raise Problem(401, "send a repo token: Authorization: Bearer prt_… (prompt-review tokens create)")
        await self.cache.current()
        token = await self.cache.reader(secret)
        if token is None:
            raise Problem(401, "unknown or revoked repo token")
        if token.repo.lower() != repo.lower():
            raise Problem(403, "this token belongs to another repository")
        if token.scope != "read":
            raise Problem(403, "this token's scope is write (telemetry); the manifest needs a read token")
        check_label(label)
        if model is not None and len(model) > MAX_MODEL_CHARS:
            raise Problem(422, f"model must be at most {MAX_MODEL_CHARS} characters")
        built = await self.cache.manifest(repo, label, model)
        tag = built.etag.encode()
        if headers.get(b"if-none-match") == tag:
            return 304, [(b"etag", tag)], b""
        body = built.prompt(str(params["path"]).strip("/")) if self.one_prompt else built.body
        return 200, [(b"etag", tag), (b"cache-control", b"no-cache")], body


_PATH = re.compile(r"/v1/repos/(?P<owner>[^/]+)/(?P<name>[^/]+)/(?:manifest|prompts/(?P<path>.+))\Z")


class ManifestRoutes:
    """Both endpoints, for the web process's fast path (bot.service.web): apps poll them, so like the
    webhook they skip FastAPI's routing and middleware layers, which cost about twice what answering
    from memory does. The same endpoints are also routes of the release router, so both ways answer alike."""

    def __init__(self, cache: ManifestCache):
        self.manifest, self.prompt = ManifestEndpoint(cache, one_prompt=False), ManifestEndpoint(cache, one_prompt=True)

    def match(self, scope) -> tuple[ManifestEndpoint, dict] | None:
        """The endpoint for a request and its scope with the path parameters; None: not one of them."""
        if scope["type"] != "http" or scope["method"] not in ("GET", "HEAD") or not scope["path"].startswith("/v1/repos/"):
            return None
        found = _PATH.match(scope["path"])
        if found is None:
            return None
        params = {k: v for k, v in found.groupdict().items() if v is not None}
        return (self.prompt if "path" in params else self.manifest), {**scope, "path_params": params}
