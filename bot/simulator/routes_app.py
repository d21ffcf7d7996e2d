"""App-level endpoints (JWT auth): the App, installation tokens, webhook deliveries, manifests."""

from __future__ import annotations

import base64
import secrets
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from bot.simulator import shapes
from bot.simulator.checks import integration
from bot.simulator.driver import TOKEN_TTL, generate_private_key, public_key_of
from bot.simulator.http import GitHubError, not_found, require_app, sim
from bot.simulator.state import AppRecord, Delivery, Token

router = APIRouter()


@router.get("/app")
def get_app(request: Request):
    app = require_app(request)
    s = sim(request)
    with s.lock:
        out = integration(s.api_url, app)
        out["installations_count"] = sum(1 for i in s.installations.values() if i.app_id == app.id)
    return out


def _own_installation(s, app, installation_id: int):
    """The installation if it is this App's; 404 otherwise (GitHub does not say whose it is)."""
    inst = s.installations.get(installation_id)
    if inst is None or inst.app_id != app.id:
        raise not_found()
    return inst


@router.get("/app/installations/{installation_id}")
def get_installation(request: Request, installation_id: int):
    app = require_app(request)
    s = sim(request)
    with s.lock:
        return s.installation_json(_own_installation(s, app, installation_id))


@router.get("/repos/{owner}/{repo}/installation")
def get_repo_installation(request: Request, owner: str, repo: str):
    app = require_app(request)
    s = sim(request)
    with s.lock:
        r = s.repos.get(f"{owner}/{repo}")
        inst = s.installation_for(r, app.id) if r else None
        if inst is None:
            raise not_found()
        return s.installation_json(inst)


@router.post("/app/installations/{installation_id}/access_tokens", status_code=201)
def create_token(request: Request, installation_id: int):
    app = require_app(request)
    s = sim(request)
    with s.lock:
        inst = _own_installation(s, app, installation_id)
        tok = Token("ghs_" + secrets.token_urlsafe(27)[:36], inst.id, s.now() + TOKEN_TTL)
        s.tokens[tok.token] = tok
        out: dict[str, Any] = {"token": tok.token, "expires_at": shapes.iso(tok.expires_at),
                               "permissions": dict(app.permissions),
                               "repository_selection": "all" if inst.repos is None else "selected"}
    return JSONResponse(out, status_code=201)


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


@router.get("/app/hook/deliveries")
def list_deliveries(request: Request, per_page: int = 30, cursor: str | None = None, status: str | None = None):
    """Newest first; cursor pagination: the `Link` header's rel="next" carries the cursor."""
    require_app(request)
    s = sim(request)
    per_page = min(max(per_page, 1), 100)
    with s.lock:
        items = sorted(s.deliveries_, key=lambda d: d.id, reverse=True)
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


@router.get("/app/hook/deliveries/{delivery_id}")
def get_delivery(request: Request, delivery_id: int):
    require_app(request)
    s = sim(request)
    with s.lock:
        d = next((d for d in s.deliveries_ if d.id == delivery_id), None)
        if d is None:
            raise not_found()
        out = _item(d)
        out.update({"url": s.webhook_url or "", "request": {"headers": dict(d.headers), "payload": d.payload},
                    "response": {"headers": dict(d.response_headers), "payload": d.response_body}})
    return out


@router.post("/app/hook/deliveries/{delivery_id}/attempts", status_code=202)
def redeliver(request: Request, delivery_id: int):
    require_app(request)
    s = sim(request)
    with s.lock:
        if not any(d.id == delivery_id for d in s.deliveries_):
            raise not_found()
    # GitHub answers 202 at once and delivers later; never block the caller on its own webhook
    s.redeliver(delivery_id, background=True)
    return JSONResponse({}, status_code=202)


@router.post("/app-manifests/{code}/conversions", status_code=201)
def convert_manifest(request: Request, code: str):
    s = sim(request)
    with s.lock:
        manifest = s.manifest_codes.pop(code, None)
        if manifest is None:
            raise not_found()
        pem = generate_private_key()
        owner = s._account(manifest.get("owner") or "prompt-review-owner")
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


# -- test-only control endpoints (not GitHub's) ---------------------------------------------
@router.post("/_sim/faults", status_code=201)
async def add_fault(request: Request):
    body = await request.json()
    allowed = {"path", "method", "status", "times", "delay", "retry_after", "primary_rate_limit", "body"}
    if not isinstance(body, dict) or "path" not in body or set(body) - allowed:
        return JSONResponse({"message": f"expected an object with 'path' and any of {sorted(allowed)}"}, status_code=422)
    sim(request).add_fault(**body)
    return JSONResponse({"faults": len(sim(request).faults)}, status_code=201)


@router.delete("/_sim/faults", status_code=204)
def clear_faults(request: Request):
    sim(request).clear_faults()
    return Response(status_code=204)


@router.get("/_sim/calls")
def list_calls(request: Request):
    return [c._asdict() for c in list(sim(request).calls)]
