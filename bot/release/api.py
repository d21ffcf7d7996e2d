"""The release endpoints under /v1: the manifest and single prompts (repo tokens), deployments,
rollbacks, labels, version sync and token management (a GitHub user token names the person).

Errors answer {"error": "..."} in plain words; a refused request changes nothing.

No `from __future__ import annotations` here: FastAPI reads the handlers' dependency annotations
(Annotated[..., Depends(...)] made inside create_release_router) as objects, not as names to look up.
"""

import json
import logging
from collections.abc import Callable, Coroutine
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.routing import APIRoute
from starlette.routing import Route
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from bot.core.guard import parse_interval, parse_steps
from bot.core.release import Via, check_label, short
from bot.github.client import GitHubApp, GitHubError
from bot.release import rollout, store, telemetry
from bot.release.answers import STATUS, Problem, bearer, refusal  # noqa: F401 (STATUS: bot.ui.routes reads it here)
from bot.release.manifest_api import ManifestCache, ManifestRoutes
from bot.release.models import Deployment
from bot.release.service import Release
from bot.service.db import utcnow
from bot.settings import Settings

log = logging.getLogger("prompt_review.release")

VIAS = {v.value for v in (Via.CLI, Via.API)}


def _error(status: int, message: str, **extra) -> JSONResponse:
    return JSONResponse({"error": message, **extra}, status_code=status)


def _bearer(request: Request) -> str | None:
    return bearer(request.headers.get("authorization", ""))


def deployment_json(d: Deployment, moves=None) -> dict:
    out = {"id": d.id, "repo": d.repo, "label": d.label, "commit": d.commit_sha, "kind": d.kind, "actor": d.actor,
           "via": d.via, "reason": d.reason, "override": d.override, "blocked": d.blocked, "reverts": d.reverts,
           "rolled_back_by": d.rolled_back_by, "pr": d.pr, "github_deployment_id": d.github_deployment_id,
           "created_at": d.created_at.isoformat() if d.created_at else None}
    if moves is not None:
        out["moves"] = [{"path": m.path, "from": short(m.from_version), "to": short(m.to_version)} for m in moves]
    return out


class ReleaseRoute(APIRoute):
    """Every release endpoint answers a refusal — raised by the handler or by a dependency (the token, the
    body) — in words, as {"error": ...} with its status (bot.release.answers), never as a 500."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def answer(request: Request) -> Response:
            try:
                return await handler(request)
            except RequestValidationError as exc:  # a query or path parameter of the wrong type
                where = "; ".join(f"{'.'.join(str(x) for x in e.get('loc', ()))}: {e.get('msg')}" for e in exc.errors())
                return JSONResponse({"error": f"bad request parameter: {where}"}, status_code=422)
            except Exception as exc:
                found = refusal(exc)
                if found is None:
                    raise
                return JSONResponse(found[1], status_code=found[0])

        return answer


async def json_body(request: Request) -> dict:
    """The request's JSON object (an empty body: {})."""
    try:
        data = json.loads(await request.body() or b"{}")
    except ValueError:
        raise Problem(400, "the body must be a JSON object") from None
    if not isinstance(data, dict):
        raise Problem(400, "the body must be a JSON object")
    return data


def create_release_router(settings: Settings, engine: Engine) -> tuple[APIRouter, ManifestRoutes]:
    """The /v1 router, and the manifest endpoints for the web process's fast path (also routes of the router)."""
    router = APIRouter(prefix="/v1", route_class=ReleaseRoute)
    key = settings.private_key_pem() if settings.app_id is not None else None
    app = (GitHubApp(settings.app_id, key, settings.github_api_url, timeout=settings.github_timeout_seconds)
           if settings.app_id is not None and key else None)
    release = Release(engine, app, settings.github_web_url) if app is not None else None
    rollups = telemetry.RollupWriter(engine)  # group commit: concurrent telemetry posts share transactions
    writers = telemetry.TokenCache(engine)  # write tokens remembered a few seconds: not one lookup per batch

    # --- what every endpoint below needs, as dependencies; a refusal from any of them (or from the
    # handler) is answered in words by ReleaseRoute -------------------------------------------------
    def need_release() -> Release:
        if release is None:
            raise Problem(503, "the GitHub App is not configured on this service yet (see /setup)")
        return release

    def person(request: Request) -> str:
        """The GitHub login behind the request's user token (a sync dependency: FastAPI runs it off the loop)."""
        token = _bearer(request)
        if token is None:
            raise Problem(401, "send a GitHub user token: Authorization: Bearer $GITHUB_TOKEN")
        try:
            return need_release().identify(token)
        except GitHubError as exc:
            if exc.status in (401, 403):
                raise Problem(401, "GitHub did not accept this token (expired or revoked?)") from None
            raise

    def writer_login(owner: str, name: str, login: Annotated[str, Depends(person)]) -> str:
        """The person, who must have write access to the repository."""
        repo, rel = f"{owner}/{name}", need_release()
        if rel.installation(repo).permission(repo, login) not in ("admin", "maintain", "write"):
            raise Problem(403, f"@{login} needs write access to {repo}")
        return login

    Actor = Annotated[str, Depends(person)]
    Maintainer = Annotated[str, Depends(writer_login)]
    Body = Annotated[dict, Depends(json_body)]

    def via_of(data: dict) -> str:
        return data["via"] if data.get("via") in VIAS else Via.API.value

    def moved(d: Deployment) -> JSONResponse:
        return JSONResponse(deployment_json(d, store.history(engine, d.repo, d.label)[-1][1]), status_code=201)

    # --- manifest (repo tokens): the hot path, answered from memory (bot/release/manifest_api.py) ---
    viewer = Release(engine, None)  # type: ignore[arg-type]  # building a manifest reads only the database
    cache = ManifestCache(engine, lambda repo, label, model: (release or viewer).manifest(repo, label, model))
    fast = ManifestRoutes(cache)
    router.routes.append(Route(router.prefix + "/repos/{owner}/{name}/manifest", fast.manifest, methods=["GET"]))
    router.routes.append(Route(router.prefix + "/repos/{owner}/{name}/prompts/{path:path}", fast.prompt, methods=["GET"]))

    # --- deployments (GitHub user tokens); sync handlers: FastAPI runs their GitHub calls off the loop ---
    @router.post("/repos/{owner}/{name}/deployments")
    def deploy(owner: str, name: str, data: Body, actor: Actor):
        label = check_label(str(data.get("label") or ""))
        prompts = data.get("prompts") or []
        if not isinstance(prompts, list) or not all(isinstance(p, str) for p in prompts):
            raise Problem(400, "prompts must be a list of paths")
        percent, steps, interval = rollout_args(data)
        d = need_release().deploy(f"{owner}/{name}", label, actor=actor, via=via_of(data), ref=data.get("ref") or None,
                                  prompts=tuple(prompts), reason=(data.get("reason") or None),
                                  percent=percent, steps=steps, interval=interval)
        if d.kind == "rollout":
            r = rollout.active(engine, d.repo, d.label)
            return JSONResponse({**deployment_json(d), "rollout": rollout.status_json(engine, r) if r else None},
                                status_code=201)
        return moved(d)

    @router.post("/repos/{owner}/{name}/rollbacks")
    def rollback(owner: str, name: str, data: Body, actor: Actor):
        label = check_label(str(data.get("label") or ""))
        return moved(need_release().rollback(f"{owner}/{name}", label, actor=actor, via=via_of(data),
                                             reason=data.get("reason") or None))

    @router.get("/repos/{owner}/{name}/labels")
    def labels(owner: str, name: str, _actor: Actor, history: bool = False, label: str | None = None):
        repo = f"{owner}/{name}"
        out: dict = {"repo": repo, "labels": {}}
        for p in store.pointers(engine, repo, label):
            out["labels"].setdefault(p.label, []).append({"path": p.path, "version": short(p.version),
                                                          "deployment": p.deployment_id})
        if history:
            out["history"] = [deployment_json(d, moves) for d, moves in store.history(engine, repo, label)]
        return out

    @router.get("/repos/{owner}/{name}/versions")
    def versions(owner: str, name: str, _actor: Actor, path: str | None = None):
        return {"versions": [{"path": v.path, "version": short(v.version), "commit": v.commit_sha, "author": v.author,
                              "pr": v.pr, "evals": v.evals, "approval": v.approval, "scores": v.scores}
                             for v in store.versions_of(engine, f"{owner}/{name}", path)]}

    @router.post("/repos/{owner}/{name}/versions/sync")
    def sync(owner: str, name: str, _login: Maintainer, limit: int = 100):
        rel, repo = need_release(), f"{owner}/{name}"
        return {"repo": repo, "recorded": rel.sync(rel.installation(repo), repo, limit=max(1, min(limit, 1000)))}

    # --- rollouts (GitHub user tokens) -----------------------------------------------------------------
    def rollout_args(data: dict) -> tuple[float | None, tuple[float, ...], float | None]:
        percent = data.get("percent")
        if percent is None:
            if data.get("steps") or data.get("interval"):
                raise Problem(422, "steps and interval need percent (the first step)")
            return None, (), None
        if isinstance(percent, bool) or not isinstance(percent, (int, float)):
            raise Problem(422, "percent must be a number between 0 and 100")
        try:
            steps = parse_steps(str(data["steps"])) if data.get("steps") else (100.0,)
            interval = parse_interval(str(data["interval"])) if data.get("interval") else None
        except ValueError as exc:
            raise Problem(422, str(exc)) from None
        return float(percent), steps, interval

    @router.get("/repos/{owner}/{name}/rollouts")
    def rollout_status(owner: str, name: str, _actor: Actor, label: str = "production"):
        repo = f"{owner}/{name}"
        r = rollout.active(engine, repo, check_label(label)) or rollout.latest(engine, repo, label)
        if r is None:
            raise Problem(404, f"{label} has never had a rollout in {repo}")
        return rollout.status_json(engine, r)

    @router.post("/repos/{owner}/{name}/rollouts/{label}/{action}")
    def rollout_action(owner: str, name: str, label: str, action: str, data: Body, actor: Actor):
        if action not in ("pause", "resume", "abort"):
            raise Problem(404, f"unknown rollout action {action!r}: pause, resume or abort")
        repo = f"{owner}/{name}"
        d = need_release().rollout_action(repo, check_label(label), action, actor=actor, via=via_of(data),
                                          reason=data.get("reason") or None)
        r = rollout.latest(engine, repo, label)
        return JSONResponse({**deployment_json(d), "rollout": rollout.status_json(engine, r) if r else None},
                            status_code=201)

    # --- telemetry (write-scope repo tokens) -----------------------------------------------------------
    def writer(request: Request) -> str:
        token = _bearer(request)
        if token is None:
            raise Problem(401, "send a repo token: Authorization: Bearer prt_… (write scope)")
        row = writers.lookup(token)
        if row is None:
            raise Problem(401, "unknown or revoked repo token")
        if row.scope != "write":
            raise Problem(403, "this token's scope is read (manifest); telemetry needs a write token")
        return row.repo

    async def ingest(request: Request, parse) -> Response:
        try:
            repo = writer(request)
            declared = int(request.headers.get("content-length") or 0)
            if declared > telemetry.MAX_BODY_BYTES:
                raise telemetry.BadPayload(413, "", f"the body is larger than {telemetry.MAX_BODY_BYTES // (1024 * 1024)} MiB")
            body = telemetry.decompress(await request.body(), request.headers.get("content-encoding"))
            from starlette.concurrency import run_in_threadpool

            batch = await run_in_threadpool(parse, repo, body)
            await rollups.store(batch)
        except Problem as exc:
            return _error(exc.status, exc.message)
        except telemetry.BadPayload as exc:
            return _error(exc.status, str(exc), field=exc.field)
        except SQLAlchemyError as exc:
            log.warning("telemetry could not be stored: %s", exc)
            return _error(503, "the database is unavailable: nothing was stored, send the batch again")
        return batch

    @router.post("/traces")
    async def traces(request: Request):
        kind = request.headers.get("content-type", "application/json").split(";")[0].strip().lower()
        if kind == "application/x-protobuf":
            result = await ingest(request, lambda repo, body: telemetry.aggregate_otlp(repo, body, protobuf=True))
            if isinstance(result, Response):
                return result
            from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceResponse

            return Response(ExportTraceServiceResponse().SerializeToString(), media_type="application/x-protobuf")
        if kind != "application/json":
            return _error(415, f"Content-Type {kind} is not OTLP/HTTP: use application/json or application/x-protobuf")
        result = await ingest(request, lambda repo, body: telemetry.aggregate_otlp(repo, body, protobuf=False))
        if isinstance(result, Response):
            return result
        return {"partialSuccess": {}, "accepted": result.accepted, "ignored": result.ignored}

    @router.post("/scores")
    async def scores(request: Request):
        def parse(repo: str, body: bytes):
            try:
                data = json.loads(body or b"{}")
            except ValueError:
                raise telemetry.BadPayload(400, "", "the body must be JSON") from None
            return telemetry.aggregate_scores(repo, data, utcnow())

        result = await ingest(request, parse)
        if isinstance(result, Response):
            return result
        return {"accepted": result.accepted}

    # --- repo tokens (write access) -------------------------------------------------------------------
    @router.post("/repos/{owner}/{name}/tokens")
    def create_token(owner: str, name: str, data: Body, login: Maintainer):
        scope = data.get("scope") or "read"
        if scope not in store.SCOPES:
            raise Problem(422, f"scope must be read or write, not {scope!r}")
        repo = f"{owner}/{name}"
        row, secret = store.create_token(engine, repo, scope, login)
        return JSONResponse({"id": row.id, "repo": repo, "scope": scope, "token": secret,
                             "note": "shown once: store it now"}, status_code=201)

    @router.get("/repos/{owner}/{name}/tokens")
    def list_tokens(owner: str, name: str, _login: Maintainer):
        return {"tokens": [{"id": t.id, "scope": t.scope, "hint": t.hint + "…", "created_by": t.created_by,
                            "created_at": t.created_at.isoformat(), "revoked": t.revoked_at is not None}
                           for t in store.tokens(engine, f"{owner}/{name}")]}

    @router.delete("/repos/{owner}/{name}/tokens/{token_id}")
    def revoke_token(owner: str, name: str, token_id: int, login: Maintainer):
        repo = f"{owner}/{name}"
        row = store.revoke_token(engine, repo, token_id, login)
        if row is None:
            raise Problem(404, f"no token {token_id} in {repo}")
        return {"id": row.id, "revoked": True}

    return router, fast
