"""App-level endpoints (JWT auth): the App, installation tokens, webhook deliveries, manifests; and the
tests' controls for faults and the call log (under /_sim/, not GitHub's)."""

from __future__ import annotations

import base64
import secrets
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from bot.simulator import shapes
from bot.simulator.checks import integration
from bot.simulator.documents import installation_json
from bot.simulator.events import Webhooks
from bot.simulator.faults import Faults
from bot.simulator.http import GitHubError, not_found, read_json, require_app
from bot.simulator.keys import generate_private_key, public_key_of
from bot.simulator.records import AppRecord, Delivery, Installation
from bot.simulator.state import SimState


def _own_installation(s: SimState, app: AppRecord, installation_id: int) -> Installation:
    """The installation if it is this App's; 404 otherwise (GitHub does not say whose it is)."""
    inst = s.installations.get(installation_id)
    if inst is None or inst.app_id != app.id:
        raise not_found()
    return inst


def _item(d: Delivery) -> dict[str, Any]:
    return {"id": d.id, "guid": d.guid, "delivered_at": d.delivered_at, "redelivery": d.redelivery,
            "duration": round(d.duration, 3), "status": d.status, "status_code": d.status_code, "event": d.event,
            "action": d.action, "installation_id": d.installation_id, "repository_id": d.repository_id,
            "throttled_at": None}


def _cursor(delivery_id: int) -> str:
    return base64.urlsafe_b64encode(f"v1:{delivery_id}".encode()).decode().rstrip("=")


def _uncursor(cursor: str) -> int:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        return int(raw.removeprefix("v1:"))
    except (ValueError, UnicodeDecodeError):
        raise GitHubError(400, "Bad cursor") from None


class AppRoutes:
    """The App's own endpoints, given the state, the webhook sender (redeliveries) and the faults."""

    def __init__(self, state: SimState, webhooks: Webhooks, faults: Faults) -> None:
        self.state = state
        self.webhooks = webhooks
        self.faults = faults
        self.router = r = APIRouter()
        r.add_api_route("/app", self.get_app, methods=["GET"])
        r.add_api_route("/app/installations/{installation_id}", self.get_installation, methods=["GET"])
        r.add_api_route("/repos/{owner}/{repo}/installation", self.get_repo_installation, methods=["GET"])
        r.add_api_route("/app/installations/{installation_id}/access_tokens", self.create_token,
                        methods=["POST"], status_code=201)
        r.add_api_route("/app/hook/deliveries", self.list_deliveries, methods=["GET"])
        r.add_api_route("/app/hook/deliveries/{delivery_id}", self.get_delivery, methods=["GET"])
        r.add_api_route("/app/hook/deliveries/{delivery_id}/attempts", self.redeliver,
                        methods=["POST"], status_code=202)
        r.add_api_route("/app-manifests/{code}/conversions", self.convert_manifest, methods=["POST"], status_code=201)
        # test-only controls (not GitHub's)
        r.add_api_route("/_sim/faults", self.add_fault, methods=["POST"], status_code=201)
        r.add_api_route("/_sim/faults", self.clear_faults, methods=["DELETE"], status_code=204)
        r.add_api_route("/_sim/calls", self.list_calls, methods=["GET"])

    def get_app(self, request: Request):
        s = self.state
        app = require_app(s, request)
        with s.lock:
            out = integration(s.api_url, app)
            out["installations_count"] = sum(1 for i in s.installations.values() if i.app_id == app.id)
        return out

    def get_installation(self, request: Request, installation_id: int):
        s = self.state
        app = require_app(s, request)
        with s.lock:
            return installation_json(s, _own_installation(s, app, installation_id))

    def get_repo_installation(self, request: Request, owner: str, repo: str):
        s = self.state
        app = require_app(s, request)
        with s.lock:
            r = s.repos.get(f"{owner}/{repo}")
            inst = s.installation_for(r, app.id) if r else None
            if inst is None:
                raise not_found()
            return installation_json(s, inst)

    def create_token(self, request: Request, installation_id: int):
        s = self.state
        app = require_app(s, request)
        with s.lock:
            inst = _own_installation(s, app, installation_id)
            tok = s.mint_token(inst.id)
            out: dict[str, Any] = {"token": tok.token, "expires_at": shapes.iso(tok.expires_at),
                                   "permissions": dict(app.permissions),
                                   "repository_selection": "all" if inst.repos is None else "selected"}
        return JSONResponse(out, status_code=201)

    def list_deliveries(self, request: Request, per_page: int = 30, cursor: str | None = None, status: str | None = None):
        """Newest first; cursor pagination: the `Link` header's rel="next" carries the cursor."""
        s = self.state
        require_app(s, request)
        per_page = min(max(per_page, 1), 100)
        with s.lock:
            items = sorted(s.deliveries, key=lambda d: d.id, reverse=True)
            if status == "success":
                items = [d for d in items if d.ok]
            elif status == "failure":
                items = [d for d in items if not d.ok]
            if cursor is not None:
                before = _uncursor(cursor)
                items = [d for d in items if d.id < before]
            page, more = items[:per_page], len(items) > per_page
            body = [_item(d) for d in page]
        headers = {}
        if more:
            q = f"per_page={per_page}&cursor={_cursor(page[-1].id)}" + (f"&status={status}" if status else "")
            headers["Link"] = f'<{s.api_url}/app/hook/deliveries?{q}>; rel="next"'
        return JSONResponse(body, headers=headers)

    def get_delivery(self, request: Request, delivery_id: int):
        s = self.state
        require_app(s, request)
        with s.lock:
            d = next((d for d in s.deliveries if d.id == delivery_id), None)
            if d is None:
                raise not_found()
            out = _item(d)
            out.update({"url": s.webhook_url or "", "request": {"headers": dict(d.headers), "payload": d.payload},
                        "response": {"headers": dict(d.response_headers), "payload": d.response_body}})
        return out

    def redeliver(self, request: Request, delivery_id: int):
        s = self.state
        require_app(s, request)
        with s.lock:
            if not any(d.id == delivery_id for d in s.deliveries):
                raise not_found()
        # GitHub answers 202 at once and delivers later; never block the caller on its own webhook
        self.webhooks.redeliver(delivery_id, background=True)
        return JSONResponse({}, status_code=202)

    def convert_manifest(self, request: Request, code: str):
        s = self.state
        with s.lock:
            manifest = s.manifest_codes.pop(code, None)
            if manifest is None:
                raise not_found()
            pem = generate_private_key()
            owner = s.account(manifest.get("owner") or "prompt-review-owner")
            name = manifest.get("name") or "prompt-review"
            app = AppRecord(s.next_id(), name.lower().replace(" ", "-"), name, owner, public_key_of(pem),
                            secrets.token_hex(20), f"Iv1.{secrets.token_hex(8)}", secrets.token_hex(20), s.now_iso(), pem,
                            dict(manifest.get("default_permissions") or {}), list(manifest.get("default_events") or []),
                            manifest.get("description") or "", manifest.get("url") or "")
            s.apps[app.id] = app
            out = integration(s.api_url, app)
            out.update({"client_id": app.client_id, "client_secret": app.client_secret,
                        "webhook_secret": app.webhook_secret, "pem": pem.decode()})
        return JSONResponse(out, status_code=201)

    async def add_fault(self, request: Request):
        body = await read_json(request)
        allowed = {"path", "method", "status", "times", "delay", "retry_after", "primary_rate_limit", "body"}
        if not isinstance(body, dict) or "path" not in body or set(body) - allowed:
            return JSONResponse({"message": f"expected an object with 'path' and any of {sorted(allowed)}"}, status_code=422)
        self.faults.add_fault(**body)
        return JSONResponse({"faults": len(self.faults.faults)}, status_code=201)

    def clear_faults(self, request: Request):
        self.faults.clear_faults()
        return Response(status_code=204)

    def list_calls(self, request: Request):
        return [c._asdict() for c in list(self.faults.calls)]
