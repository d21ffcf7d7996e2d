"""GitHub's web-flow OAuth for a GitHub App's own client (sign-in on the service's /ui/ pages), simulated:
the authorize page, the code → user token exchange, and the two endpoints that say which installations
and repositories a signed-in person can see (GitHub lists only repositories the person has explicit
read, write or admin access to)."""

from __future__ import annotations

import html
import secrets
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from bot.simulator import shapes
from bot.simulator.documents import installation_json
from bot.simulator.http import not_found, paginate, read_json, user_login
from bot.simulator.records import AppRecord, Installation, Repo
from bot.simulator.state import SimState

READABLE = ("admin", "maintain", "write", "triage", "read")


def _app_by_client(s: SimState, client_id: str | None) -> AppRecord | None:
    return next((a for a in s.apps.values() if client_id and a.client_id == client_id), None)


def _repos_of(s: SimState, inst: Installation) -> list[Repo]:
    return [r for r in s.repos.values() if r.owner.login == inst.account.login
            and (inst.repos is None or r.full_name in inst.repos)]


def _readable(r: Repo, login: str) -> bool:
    return r.permissions.get(login) in READABLE


class OAuthRoutes:
    """The OAuth web flow and what a signed-in person can see, given the state."""

    def __init__(self, state: SimState) -> None:
        self.state = state
        self.router = r = APIRouter()
        r.add_api_route("/login/oauth/authorize", self.authorize, methods=["GET"])
        r.add_api_route("/login/oauth/access_token", self.access_token, methods=["POST"])
        r.add_api_route("/user/installations", self.user_installations, methods=["GET"])
        r.add_api_route("/user/installations/{installation_id}/repositories", self.user_installation_repos,
                        methods=["GET"])

    def authorize(self, request: Request, client_id: str = "", redirect_uri: str = "", state: str = "", login: str = ""):
        """GitHub asks the person to sign in and authorize; here they type the login to act as (or the test
        passes `login=` and is redirected straight back, as GitHub does for an already-authorized App)."""
        s = self.state
        if _app_by_client(s, client_id) is None or not redirect_uri:
            return HTMLResponse("<!doctype html><title>Not Found</title><h1>404: unknown OAuth application</h1>", 404)
        if login:
            code = secrets.token_hex(10)
            with s.lock:
                s.account(login)
                s.oauth_codes[code] = (client_id, login)
            sep = "&" if "?" in redirect_uri else "?"
            return RedirectResponse(f"{redirect_uri}{sep}{urlencode({'code': code, 'state': state})}", status_code=302)
        hidden = "".join(f'<input type="hidden" name="{k}" value="{html.escape(v)}">'
                         for k, v in (("client_id", client_id), ("redirect_uri", redirect_uri), ("state", state)))
        return HTMLResponse(
            '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Sign in to GitHub (simulator)</title></head>'
            '<body><main><h1>Authorize prompt-review</h1><form method="get" action="/login/oauth/authorize">'
            f'{hidden}<label for="login">Username</label> <input id="login" name="login" autocomplete="username">'
            ' <button type="submit" id="authorize">Authorize</button></form></main></body></html>')

    async def access_token(self, request: Request):
        """Code → user access token; like GitHub, a bad code answers 200 with an `error` field."""
        s = self.state
        values = dict(request.query_params)
        if request.headers.get("content-type", "").startswith("application/json"):
            body = await read_json(request)
            values.update({k: str(v) for k, v in (body or {}).items()})
        else:
            values.update({k: str(v) for k, v in (await request.form()).items()})
        app = _app_by_client(s, values.get("client_id"))
        if app is None or not secrets.compare_digest(app.client_secret, values.get("client_secret", "")):
            answer = {"error": "incorrect_client_credentials",
                      "error_description": "The client_id and/or client_secret passed are incorrect."}
        else:
            with s.lock:
                hit = s.oauth_codes.pop(values.get("code", ""), None)
            if hit is None or hit[0] != app.client_id:
                answer = {"error": "bad_verification_code", "error_description": "The code passed is incorrect or expired."}
            else:
                token = s.mint_user_token(hit[1])
                answer = {"access_token": token, "token_type": "bearer", "scope": ""}
        if "application/json" in request.headers.get("accept", ""):
            return JSONResponse(answer)
        return Response(urlencode(answer), media_type="application/x-www-form-urlencoded")

    def user_installations(self, request: Request):
        s = self.state
        login = user_login(s, request)
        with s.lock:
            items = [installation_json(s, i) for i in s.installations.values()
                     if i.app_id == s.app_id and any(_readable(r, login) for r in _repos_of(s, i))]
        chunk, headers = paginate(s, request, items)
        return JSONResponse({"total_count": len(items), "installations": chunk}, headers=headers)

    def user_installation_repos(self, request: Request, installation_id: int):
        s = self.state
        login = user_login(s, request)
        with s.lock:
            inst = s.installations.get(installation_id)
            if inst is None or inst.app_id != s.app_id:
                raise not_found()
            repos = [r for r in _repos_of(s, inst) if _readable(r, login)]
            if not repos:
                raise not_found()
            items = []
            for r in sorted(repos, key=lambda r: r.full_name):
                role = r.permissions[login]
                items.append({**shapes.repository(s.api_url, r), "permissions": {
                    "admin": role == "admin", "maintain": role in ("admin", "maintain"),
                    "push": role in ("admin", "maintain", "write"), "triage": role != "read", "pull": True}})
        chunk, headers = paginate(s, request, items)
        return JSONResponse({"total_count": len(items), "repositories": chunk}, headers=headers)
