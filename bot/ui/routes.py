"""The /ui/ pages: sign-in, the repositories a person can read, a repository's prompts, a prompt's
history with charts, a PR's full review, and the deploy/rollback buttons (which call the release
service — its rules decide, the page only asks and shows the answer)."""

from __future__ import annotations

import hmac
import logging
import re
import secrets
import threading
import time
from dataclasses import replace
from typing import Any
from urllib.parse import quote, urlsplit

import jinja2
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from sqlalchemy.engine import Engine
from starlette.concurrency import run_in_threadpool

from bot import templates_dir
from bot.core.release import ReleaseError, Via, check_label, may_move, plan_rollback, short
from bot.core.render.comment import render_comment
from bot.core.render.html import markdown_to_html
from bot.github.client import GitHubApp, GitHubError
from bot.release import store
from bot.release.service import Release
from bot.settings import Settings
from bot.ui import auth, charts, data
from bot.ui.metrics import METRICS, MetricsSource
from bot.ui.timeline import EventKind, Timeline

log = logging.getLogger("prompt_review.ui")
CAN_MOVE_TTL = 60.0
FULL = 10**9  # the review page has no size limit


class Redirect(Exception):
    def __init__(self, url: str):
        self.url = url


class Refused(Exception):
    def __init__(self, status: int, message: str):
        self.status, self.message = status, message


def create_ui_router(settings: Settings, engine: Engine, metrics: MetricsSource | None = None) -> APIRouter:
    router = APIRouter(prefix="/ui")
    pages = jinja2.Environment(loader=jinja2.FileSystemLoader(templates_dir()), autoescape=True,
                               undefined=jinja2.StrictUndefined)
    pages.filters["q"] = lambda s: quote(str(s), safe="/")
    sessions = auth.Sessions(auth.session_key(settings))
    users = auth.GitHubUsers(settings, timeout=settings.github_timeout_seconds)
    app = (GitHubApp(settings.app_id, settings.private_key_pem(), settings.github_api_url,  # type: ignore[arg-type]
                     timeout=settings.github_timeout_seconds)
           if settings.app_id is not None and settings.private_key_pem() else None)
    release = Release(engine, app, settings.github_web_url) if app is not None else None
    movers: dict[tuple[str, str, str], tuple[float, bool, str]] = {}
    movers_lock = threading.Lock()

    def render(name: str, status: int = 200, person: auth.Person | None = None, **context: Any) -> HTMLResponse:
        html = pages.get_template(f"ui/{name}.html.j2").render(person=person, **context)
        return HTMLResponse(html, status_code=status, headers={
            "Cache-Control": "no-store", "X-Frame-Options": "DENY", "Referrer-Policy": "same-origin",
            "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; "
                                       "form-action 'self' " + users.web_url + "; frame-ancestors 'none'"})

    def signed_in(request: Request) -> auth.Person:
        person = sessions.person(request.cookies.get(auth.SESSION_COOKIE))
        if person is None:
            raise Redirect("/ui/login?next=" + quote(request.url.path, safe=""))
        return person

    def repo_of(person: auth.Person, owner: str, name: str) -> auth.RepoAccess:
        """The repository if this person can read it; otherwise 404, never a hint that it exists."""
        try:
            found = users.access(person.token).get(f"{owner}/{name}".lower())
        except auth.SignInError:
            raise Redirect("/ui/login") from None
        if found is None:
            raise Refused(404, f"No repository {owner}/{name} that you can read has prompt-review installed.")
        return found

    def can_move(login: str, repo: str, path: str) -> tuple[bool, str]:
        """Whether the release rules would let `login` move `path` (shown as enabled buttons); cached briefly."""
        if release is None:
            return False, "the GitHub App is not configured"
        key, now = (login, repo, path), time.monotonic()
        with movers_lock:
            hit = movers.get(key)
        if hit and hit[0] > now:
            return hit[1], hit[2]
        try:
            client = release.installation(repo)
            head = release.at(client, repo, release.resolve(client, repo, None))
            allowed, why = may_move(login, [path], release.ownership(client, head, login, [path]))
        except (ReleaseError, GitHubError) as exc:
            allowed, why = False, str(getattr(exc, "message", exc))
        with movers_lock:
            movers[key] = (now + CAN_MOVE_TTL, allowed, why)
        return allowed, why

    def page(fn):
        """Run a page handler, turning sign-in redirects and refusals into responses."""
        async def run(request: Request, **kw):
            try:
                return await fn(request, **kw)
            except Redirect as r:
                return RedirectResponse(r.url, status_code=303)
            except Refused as r:
                person = sessions.person(request.cookies.get(auth.SESSION_COOKIE))
                return render("message", r.status, person, title="Not available" if r.status == 404 else "Refused",
                              message=r.message)
        return run

    def check_csrf(request: Request, person: auth.Person, form) -> None:
        origin = request.headers.get("origin")
        if origin and urlsplit(origin).netloc != request.url.netloc:
            raise Refused(403, "This form was sent from another site.")
        if not hmac.compare_digest(str(form.get("csrf") or ""), person.csrf):
            raise Refused(403, "This form expired or did not come from this page; reload the page and try again.")

    # --- sign-in ---------------------------------------------------------------------------------
    @router.get("/login", include_in_schema=False)
    async def login(request: Request, next: str = "/ui/"):
        if not users.enabled:
            return render("message", 503, title="Sign-in is not set up",
                          message="Sign-in uses the GitHub App's OAuth client: set PROMPT_REVIEW_OAUTH_CLIENT_ID and "
                                  "PROMPT_REVIEW_OAUTH_CLIENT_SECRET (/setup writes them for a new App).")
        state = secrets.token_urlsafe(24)
        target = next if next.startswith("/ui/") else "/ui/"
        redirect = str(request.url_for("ui_callback"))
        response = RedirectResponse(users.authorize_url(redirect, state), status_code=303)
        response.set_cookie(auth.STATE_COOKIE, sessions.seal({"state": state, "next": target}), max_age=auth.STATE_SECONDS,
                            path="/ui/auth", httponly=True, samesite="lax", secure=request.url.scheme == "https")
        return response

    @router.get("/auth/callback", name="ui_callback", include_in_schema=False)
    async def callback(request: Request, code: str = "", state: str = ""):
        saved = sessions.open(request.cookies.get(auth.STATE_COOKIE), auth.STATE_SECONDS) or {}
        if not (code and state and isinstance(saved.get("state"), str) and hmac.compare_digest(saved["state"], state)):
            return render("message", 400, title="Sign-in failed",
                          message="This sign-in link was not started from this browser, or it expired.", retry=True)
        try:
            redirect = str(request.url_for("ui_callback"))
            token = await run_in_threadpool(users.exchange, code, redirect)
            who = await run_in_threadpool(users.login, token)
        except auth.SignInError as exc:
            return render("message", 400, title="Sign-in failed", message=str(exc), retry=True)
        response = RedirectResponse(str(saved.get("next") or "/ui/"), status_code=303)
        response.set_cookie(auth.SESSION_COOKIE, sessions.new_session(who, token), max_age=auth.SESSION_SECONDS,
                            path="/ui", httponly=True, samesite="lax", secure=request.url.scheme == "https")
        response.delete_cookie(auth.STATE_COOKIE, path="/ui/auth")
        log.info("ui: %s signed in", who)
        return response

    @router.post("/logout", include_in_schema=False)
    async def logout(request: Request):
        async def run(request: Request):
            person = signed_in(request)
            check_csrf(request, person, await request.form())
            users.forget(person.token)
            response = render("message", 200, title="Signed out", message="You are signed out.", retry=True)
            response.delete_cookie(auth.SESSION_COOKIE, path="/ui")
            return response
        return await page(run)(request)

    # --- pages -----------------------------------------------------------------------------------
    @router.get("/", include_in_schema=False)
    async def index(request: Request):
        async def run(request: Request):
            person = signed_in(request)
            try:
                access = await run_in_threadpool(users.access, person.token)
            except auth.SignInError:
                raise Redirect("/ui/login") from None
            by_account: dict[str, list[auth.RepoAccess]] = {}
            for a in sorted(access.values(), key=lambda a: a.full_name.lower()):
                by_account.setdefault(a.account, []).append(a)
            return render("index", 200, person, accounts=by_account)
        return await page(run)(request)

    @router.get("/repos/{owner}/{name}", include_in_schema=False)
    async def repo_page(request: Request, owner: str, name: str):
        async def run(request: Request):
            person = signed_in(request)
            access = await run_in_threadpool(repo_of, person, owner, name)
            view = await run_in_threadpool(data.repo_view, engine, access.full_name)
            return render("repo", 200, person, repo=access, view=view)
        return await page(run)(request)

    @router.get("/repos/{owner}/{name}/prompts/{path:path}", include_in_schema=False)
    async def prompt_page(request: Request, owner: str, name: str, path: str):
        async def run(request: Request):
            person = signed_in(request)
            access = await run_in_threadpool(repo_of, person, owner, name)
            t = await run_in_threadpool(data.timeline, engine, access.full_name, path, metrics)
            allowed, why = await run_in_threadpool(can_move, person.login, access.full_name, path)
            return render("prompt", 200, person, repo=access, t=t, path=path, charts=_charts(t), allowed=allowed,
                          why=why, done=_done(request.query_params.get("done")), kinds=EventKind)
        return await page(run)(request)

    @router.get("/repos/{owner}/{name}/reviews/{pr}", include_in_schema=False)
    async def review_page(request: Request, owner: str, name: str, pr: int):
        async def run(request: Request):
            person = signed_in(request)
            access = await run_in_threadpool(repo_of, person, owner, name)
            found = await run_in_threadpool(data.review, engine, access.full_name, pr)
            if found is None:
                raise Refused(404, f"No review of #{pr} in {access.full_name} is recorded.")
            record, result = found
            if result is not None:  # this page is the "full review" the comment links to
                result = replace(result, links=replace(result.links, review_page=None))
            body = markdown_to_html(render_comment(result, limit=FULL)) if result is not None else ""
            return render("review", 200, person, repo=access, record=record, result=result, body=body)
        return await page(run)(request)

    # --- buttons ---------------------------------------------------------------------------------
    @router.get("/repos/{owner}/{name}/deploy", include_in_schema=False)
    async def confirm_deploy(request: Request, owner: str, name: str, label: str = "", path: str = "", commit: str = ""):
        async def run(request: Request):
            person = signed_in(request)
            access = await run_in_threadpool(repo_of, person, owner, name)
            try:
                check_label(label)
            except ReleaseError as exc:
                raise Refused(422, exc.message) from None
            pointers = await run_in_threadpool(store.pointers, engine, access.full_name, label)
            versions = await run_in_threadpool(store.versions_of, engine, access.full_name, path)
            current = next((short(p.version) for p in pointers if p.path == path), None)
            target = next((v for v in reversed(versions) if v.commit_sha == commit), None)
            if target is None:
                raise Refused(404, f"No version of {path} at {commit[:12]} is recorded.")
            moves = [(path, current, short(target.version))]
            return render("confirm", 200, person, repo=access, action="deploy", label=label, path=path, commit=commit,
                          moves=moves, needs_reason=target.evals not in ("success", "neutral", "skipped"))
        return await page(run)(request)

    @router.get("/repos/{owner}/{name}/rollback", include_in_schema=False)
    async def confirm_rollback(request: Request, owner: str, name: str, label: str = "", path: str = ""):
        async def run(request: Request):
            person = signed_in(request)
            access = await run_in_threadpool(repo_of, person, owner, name)
            past = await run_in_threadpool(store.past_deployments, engine, access.full_name, label)
            try:
                undone, plan = plan_rollback(check_label(label), past)
            except ReleaseError as exc:
                raise Refused(409, exc.message) from None
            moves = [(m.path, short(m.from_version), short(m.to_version)) for m in plan.moves]
            return render("confirm", 200, person, repo=access, action="rollback", label=label, path=path, commit="",
                          moves=moves, needs_reason=False, undone=undone.id)
        return await page(run)(request)

    async def act(request: Request, owner: str, name: str, action: str):
        person = signed_in(request)
        form = await request.form()
        check_csrf(request, person, form)
        access = await run_in_threadpool(repo_of, person, owner, name)
        if release is None:
            raise Refused(503, "The GitHub App is not configured on this service yet (see /setup).")
        label, path = str(form.get("label") or ""), str(form.get("path") or "")
        reason = str(form.get("reason") or "").strip() or None

        def go():
            if action == "deploy":
                return release.deploy(access.full_name, label, actor=person.login, via=Via.BUTTON.value,
                                      ref=str(form.get("commit") or "") or None, prompts=(path,) if path else (), reason=reason)
            return release.rollback(access.full_name, label, actor=person.login, via=Via.BUTTON.value, reason=reason)
        try:
            d = await run_in_threadpool(go)
        except ReleaseError as exc:
            from bot.release.api import STATUS

            raise Refused(STATUS[exc.kind], exc.message) from None
        with movers_lock:
            movers.clear()
        back = f"/ui/repos/{access.full_name}/prompts/{quote(path)}" if path else f"/ui/repos/{access.full_name}"
        return RedirectResponse(f"{back}?done={quote(f'{d.kind} #{d.id} of {label}')}", status_code=303)

    @router.post("/repos/{owner}/{name}/deploy", include_in_schema=False)
    async def deploy(request: Request, owner: str, name: str):
        return await page(lambda r: act(r, owner, name, "deploy"))(request)

    @router.post("/repos/{owner}/{name}/rollback", include_in_schema=False)
    async def rollback(request: Request, owner: str, name: str):
        return await page(lambda r: act(r, owner, name, "rollback"))(request)

    # --- JSON for `prompt-review history --server` ----------------------------------------------------
    @router.get("/api/repos/{owner}/{name}/history/{path:path}", include_in_schema=False)
    async def history_json(request: Request, owner: str, name: str, path: str):
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() not in ("bearer", "token") or not token.strip():
            return JSONResponse({"error": "send a GitHub user token: Authorization: Bearer $GITHUB_TOKEN"}, status_code=401)
        try:
            access = await run_in_threadpool(users.access, token.strip())
        except auth.SignInError as exc:
            return JSONResponse({"error": str(exc)}, status_code=401)
        found = access.get(f"{owner}/{name}".lower())
        if found is None:
            return JSONResponse({"error": f"no repository {owner}/{name} that you can read has prompt-review installed"},
                                status_code=404)
        t = await run_in_threadpool(data.timeline, engine, found.full_name, path, metrics)
        return Response(t.model_dump_json(), media_type="application/json")

    return router


_DONE = re.compile(r"(deploy|rollback) #\d+ of [a-z0-9-]{1,63}")


def _done(value: str | None) -> str | None:
    """The "Done: …" note after a button, only in the words this service writes (a link cannot put text on the page)."""
    return value if value and _DONE.fullmatch(value) else None


def _charts(t: Timeline) -> list[tuple[str, str]]:
    """(caption, svg) per chart: eval pass rate per version, then each production metric."""
    out = []
    if t.scores:
        out.append(("Eval pass rate per version", charts.scores_chart("Eval pass rate per version", list(t.scores))))
    names = list(dict.fromkeys([*[m for m in METRICS if any(s.metric == m for s in t.series)],
                                *[s.metric for s in t.series]]))
    for metric in names:
        series = [s for s in t.series if s.metric == metric]
        svg = charts.time_chart(f"{metric} per version", series, list(t.events), [x for x in t.shifts if x.metric == metric])
        if svg:
            out.append((f"{metric} per version/arm", svg))
    return out
