"""The web process: verify, persist, answer 202 — never slow work in the request.

Endpoints: POST /webhook, GET /healthz, GET /readyz, GET /metrics, GET /setup.
"""

from __future__ import annotations

import json
import logging

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError, SQLAlchemyError

from bot import logs
from bot.github.signature import verify
from bot.service import queue
from bot.service.groupcommit import DeliveryWriter
from bot.service.intake import Decision, decide
from bot.service.queue import DeliveryRecord
from bot.service.metrics import Metrics
from bot.service.migrate import is_current
from bot.settings import Settings

log = logging.getLogger("prompt_review.web")

MAX_HEADER_CHARS = 100  # GitHub's delivery ids are GUIDs and event names short; the columns hold 100


class _TooLarge(Exception):
    pass


async def _read_limited(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise _TooLarge
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise _TooLarge
        chunks.append(chunk)
    return b"".join(chunks)


def create_web_app(settings: Settings, engine: Engine, metrics: Metrics) -> FastAPI:
    writer = DeliveryWriter(engine)
    app = FastAPI(title="prompt-review", docs_url=None, redoc_url=None, openapi_url=None)
    secret = settings.webhook_secret or ""

    @app.post("/webhook")
    async def webhook(request: Request) -> Response:
        event = request.headers.get("x-github-event", "")
        delivery_id = request.headers.get("x-github-delivery", "")
        try:
            body = await _read_limited(request, settings.max_webhook_bytes)
        except _TooLarge:
            metrics.deliveries.labels(event or "unknown", "too_large").inc()
            return JSONResponse({"error": f"payload larger than {settings.max_webhook_bytes} bytes"}, status_code=413)
        if not secret or not verify(secret, body, request.headers.get("x-hub-signature-256")):
            metrics.deliveries.labels(event or "unknown", "bad_signature").inc()
            return JSONResponse({"error": "missing or invalid X-Hub-Signature-256"}, status_code=401)
        try:
            payload = json.loads(body)
        except (UnicodeDecodeError, json.JSONDecodeError):
            metrics.deliveries.labels(event or "unknown", "bad_json").inc()
            return JSONResponse({"error": "body is not JSON"}, status_code=400)
        if not isinstance(payload, dict) or not event or not delivery_id:
            metrics.deliveries.labels(event or "unknown", "bad_request").inc()
            return JSONResponse({"error": "expected a JSON object with X-GitHub-Event and X-GitHub-Delivery headers"}, status_code=400)
        if len(delivery_id) > MAX_HEADER_CHARS or len(event) > MAX_HEADER_CHARS:
            metrics.deliveries.labels("unknown", "bad_request").inc()
            return JSONResponse({"error": f"X-GitHub-Event and X-GitHub-Delivery must be at most {MAX_HEADER_CHARS} characters"}, status_code=400)
        with logs.context(delivery=delivery_id):
            decision = None if event == "ping" else decide(event, payload)
            try:
                stored = await writer.store(_record(delivery_id, event, payload, decision))
            except SQLAlchemyError:
                log.exception("could not store delivery")
                metrics.deliveries.labels(event, "db_error").inc()
                # 503 makes GitHub mark the delivery failed, so it can be redelivered later.
                return JSONResponse({"error": "storage unavailable; redeliver later"}, status_code=503)
            if decision is None:
                metrics.deliveries.labels(event, "recorded").inc()
                return JSONResponse({"ok": True}, status_code=200)
            outcome = decision.outcome if stored else "duplicate"
            metrics.deliveries.labels(event, outcome).inc()
            log.info("delivery %s %s.%s → %s", delivery_id, event, payload.get("action"), outcome)
            return JSONResponse({"outcome": outcome}, status_code=202)

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

    try:
        from bot.service.setup import create_setup_router
    except ImportError:  # the setup flow ships with the deploy work; the service runs without it
        create_setup_router = None
    if create_setup_router is not None:
        app.include_router(
            create_setup_router(
                configured=lambda: settings.configured,
                public_url=settings.public_url,
                github_web_url=settings.github_web_url,
                github_api_url=settings.github_api_url,
                credentials_path=settings.credentials_path,
            )
        )
    return app


def _record(delivery_id: str, event: str, payload: dict, decision: Decision | None) -> DeliveryRecord:
    if decision is None:  # ping
        return DeliveryRecord(delivery_id, event)
    action = payload.get("action")
    return DeliveryRecord(
        delivery_id,
        event,
        action[:MAX_HEADER_CHARS] if isinstance(action, str) else None,
        decision.repo,
        decision.pr,
        decision.outcome,
        tuple(decision.jobs),
        decision.cancel_key,
        decision.installation,
    )
