"""The web process: verify, persist, answer 202 — never slow work in the request.

Endpoints: POST /webhook, GET /healthz, GET /readyz, GET /metrics, GET /setup.
"""

from __future__ import annotations

import json
import logging
import math
import re
import sys

from fastapi import FastAPI
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError, SQLAlchemyError
from starlette.routing import Route

from bot import logs
from bot.github.signature import verify
from bot.release.api import create_release_router
from bot.release.manifest_api import ManifestRoutes
from bot.service import queue
from bot.service.groupcommit import DeliveryWriter
from bot.service.intake import Decision, decide
from bot.service.queue import DeliveryRecord
from bot.service.metrics import Metrics
from bot.service.migrate import is_current
from bot.service.setup import create_setup_router
from bot.settings import Settings
from bot.ui.routes import create_ui_router
from bot.ui.metrics import RollupMetrics

log = logging.getLogger("prompt_review.web")

MAX_HEADER_CHARS = 100  # GitHub's delivery ids are GUIDs and event names short; the columns hold 100


class WebhookIntake:
    """POST /webhook as a plain ASGI app. It is the one hot path (every delivery GitHub sends), so it
    skips FastAPI's routing, dependency and middleware layers, which cost more CPU than verifying and
    storing a delivery. The FastAPI app routes /webhook here too, so both ways answer alike."""

    def __init__(self, settings: Settings, writer: DeliveryWriter, metrics: Metrics):
        self.secret = settings.webhook_secret or ""
        self.limit = settings.max_webhook_bytes
        self.writer, self.metrics = writer, metrics

    async def __call__(self, scope, receive, send) -> None:  # POST only: both routes to here say so
        headers: dict[bytes, bytes] = {}
        for name, value in scope["headers"]:
            headers.setdefault(name, value)  # the first of repeated headers, as Starlette reads them
        status, answer = await self.handle(headers, receive)
        if status:
            await _answer(send, status, answer)

    async def handle(self, headers: dict[bytes, bytes], receive) -> tuple[int, dict]:
        """(status, JSON answer); status 0 when the client hung up before sending its body."""
        event = headers.get(b"x-github-event", b"").decode("latin-1")
        delivery_id = headers.get(b"x-github-delivery", b"").decode("latin-1")
        declared = headers.get(b"content-length", b"")
        body = None if declared.isdigit() and int(declared) > self.limit else await _read_limited(receive, self.limit)
        if body is None:
            self.metrics.deliveries.labels(event or "unknown", "too_large").inc()
            return 413, {"error": f"payload larger than {self.limit} bytes"}
        if body is _GONE:
            return 0, {}
        signature = headers.get(b"x-hub-signature-256")
        if not self.secret or not verify(self.secret, body, signature.decode("latin-1") if signature else None):
            self.metrics.deliveries.labels(event or "unknown", "bad_signature").inc()
            return 401, {"error": "missing or invalid X-Hub-Signature-256"}
        try:
            payload = parse_body(body)
        except ValueError as exc:  # not JSON, not UTF-8, too deep, NaN, a 5,000-digit number, a lone surrogate
            self.metrics.deliveries.labels(event or "unknown", "bad_json").inc()
            return 400, {"error": f"body is not a JSON document GitHub would send: {_why(exc)}"}
        if not isinstance(payload, dict) or not event or not delivery_id:
            self.metrics.deliveries.labels(event or "unknown", "bad_request").inc()
            return 400, {"error": "expected a JSON object with X-GitHub-Event and X-GitHub-Delivery headers"}
        if len(delivery_id) > MAX_HEADER_CHARS or len(event) > MAX_HEADER_CHARS:
            self.metrics.deliveries.labels("unknown", "bad_request").inc()
            return 400, {"error": f"X-GitHub-Event and X-GitHub-Delivery must be at most {MAX_HEADER_CHARS} characters"}
        with logs.context(delivery=delivery_id):
            decision = None if event == "ping" else decide(event, payload)
            try:
                stored = await self.writer.store(_record(delivery_id, event, payload, decision))
            except SQLAlchemyError:
                log.exception("could not store delivery")
                self.metrics.deliveries.labels(event, "db_error").inc()
                # 503 makes GitHub mark the delivery failed, so it can be redelivered later.
                return 503, {"error": "storage unavailable; redeliver later"}
            if decision is None:
                self.metrics.deliveries.labels(event, "recorded").inc()
                return 200, {"ok": True}
            outcome = decision.outcome if stored else "duplicate"
            self.metrics.deliveries.labels(event, outcome).inc()
            log.info("delivery %s %s.%s → %s", delivery_id, event, payload.get("action"), outcome)
            return 202, {"outcome": outcome}


def parse_body(body: bytes):
    """The delivery's JSON, refusing (ValueError) what GitHub never sends but could fail us later:
    nesting past the parser's recursion bound (it raises RecursionError, which would be a 500),
    NaN/Infinity and numbers out of float range (the database's JSON refuses them: a 503, then the
    delivery is redelivered forever), integers past Python's 4,300 digits, and lone UTF-16
    surrogates (not text; PostgreSQL refuses them).

    Depth is bounded by the C parser itself rather than by bot.core.safejson's pre-scan: the scan costs ~12x
    the parse of a typical 20 KB delivery on the one hot path, and intake keeps only the strings and
    numbers it picks (bot.service.intake), so moderately deep JSON goes no further than this function.
    """
    try:
        payload = json.loads(body, parse_constant=_no_constant, parse_float=_finite_float)
    except RecursionError:
        raise ValueError(f"JSON nested deeper than the parser allows (~{sys.getrecursionlimit()} levels)") from None
    if _SURROGATE_ESCAPE.search(body):  # rare: only then is the whole payload checked
        json.dumps(payload, ensure_ascii=False).encode("utf-8")  # UnicodeEncodeError (a ValueError) on a lone surrogate
    return payload


_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")


def _no_constant(name: str):
    raise ValueError(f"{name} is not JSON")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"number {text[:20]} is out of range")
    return value


def _why(exc: ValueError) -> str:
    if isinstance(exc, UnicodeError):
        return "not UTF-8 text"
    return str(exc).split(":")[0][:120]


_GONE = object()  # the client disconnected mid-body


async def _read_limited(receive, limit: int):
    """The request body; None past `limit` bytes (even without a Content-Length), _GONE on disconnect."""
    chunks, size = [], 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return _GONE
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


async def _answer(send, status: int, answer: dict) -> None:
    body = json.dumps(answer).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


class _FastPath:
    """Hands POST /webhook straight to the intake, and the release manifest reads (GET …/manifest,
    …/prompts/{path}) to their endpoints; everything else (and the lifespan) to FastAPI."""

    def __init__(self, app: FastAPI, webhook: WebhookIntake, manifests: ManifestRoutes):
        self.app, self.webhook, self.manifests = app, webhook, manifests

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] == "http" and scope["path"] == "/webhook" and scope["method"] == "POST":
            await self.webhook(scope, receive, send)
        elif (manifest := self.manifests.match(scope)) is not None:
            await manifest[0](manifest[1], receive, send)
        else:
            await self.app(scope, receive, send)


def create_web_app(settings: Settings, engine: Engine, metrics: Metrics, lifespan=None):
    """The web process's ASGI app; `lifespan` runs around serving (the embedded workers of `serve`)."""
    writer = DeliveryWriter(engine)
    app = FastAPI(title="prompt-review", docs_url=None, redoc_url=None, openapi_url=None, lifespan=lifespan)
    webhook = WebhookIntake(settings, writer, metrics)
    app.router.routes.append(Route("/webhook", webhook, methods=["POST"]))

    @app.get("/healthz")
    def healthz() -> dict:
        return {"status": "ok"}

    @app.get("/readyz")
    def readyz() -> Response:
        try:
            ready = is_current(engine)
            if ready:
                # The migration stamp alone does not prove the tables deliveries go into are usable.
                queue.counts_by_state(engine)
        except (OperationalError, SQLAlchemyError) as exc:
            return JSONResponse({"status": "unavailable", "database": type(exc).__name__}, status_code=503)
        if not ready:
            return JSONResponse({"status": "unavailable", "database": "migrations not applied"}, status_code=503)
        return JSONResponse({"status": "ready"})

    @app.get("/metrics")
    def metrics_endpoint() -> Response:
        try:
            counts = queue.counts_by_state(engine)
            for state in ("queued", "running", "done", "dead", "superseded", "cancelled"):
                metrics.jobs_by_state.labels(state).set(counts.get(state, 0))
            metrics.queue_depth.set(counts.get("queued", 0))
            metrics.oldest_queued.set(queue.oldest_queued_age(engine))
        except SQLAlchemyError:
            log.warning("metrics: database unavailable")
        return PlainTextResponse(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)

    app.include_router(
        create_setup_router(
            configured=lambda: settings.configured,
            public_url=settings.public_url,
            github_web_url=settings.github_web_url,
            github_api_url=settings.github_api_url,
            credentials_path=settings.credentials_path,
        )
    )
    release_router, manifests = create_release_router(settings, engine)
    app.include_router(release_router)  # the release half: manifest, deployments, tokens
    app.include_router(create_ui_router(settings, engine, metrics=RollupMetrics(engine)))  # the /ui/ pages: sign-in, history, full reviews, buttons
    return _FastPath(app, webhook, manifests)


def _record(delivery_id: str, event: str, payload: dict, decision: Decision | None) -> DeliveryRecord:
    if decision is None:  # ping
        return DeliveryRecord(delivery_id, event)
    action = payload.get("action")
    return DeliveryRecord(
        delivery_id,
        event,
        action[:MAX_HEADER_CHARS] if isinstance(action, str) and "\x00" not in action else None,
        decision.repo,
        decision.pr,
        decision.outcome,
        tuple(decision.jobs),
        decision.cancel_key,
        decision.installation,
    )
