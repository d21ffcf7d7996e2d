"""The simulator's FastAPI app: its route groups over one state, GitHub-shaped errors, rate-limit
headers, faults and the call log. Knows the state and the components, never the driver."""

from __future__ import annotations

import asyncio
import hashlib
import uuid
from collections.abc import Awaitable, Callable

from fastapi import APIRouter, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException

from bot.simulator.events import Webhooks
from bot.simulator.faults import Fault, Faults
from bot.simulator.http import DOCS, GitHubError
from bot.simulator.routes_app import AppRoutes
from bot.simulator.routes_issues import IssueRoutes
from bot.simulator.routes_oauth import OAuthRoutes
from bot.simulator.routes_release import ReleaseRoutes
from bot.simulator.routes_repos import RepoRoutes
from bot.simulator.routes_web import WebPages
from bot.simulator.routes_write import WriteRoutes
from bot.simulator.state import SimState

Next = Callable[[Request], Awaitable[Response]]


def route_groups(state: SimState, webhooks: Webhooks, faults: Faults) -> tuple[APIRouter, ...]:
    """The routers of every group of routes, each given the state (and what else it needs), in matching order."""
    return (AppRoutes(state, webhooks, faults).router, IssueRoutes(state).router, RepoRoutes(state).router,
            WriteRoutes(state).router, ReleaseRoutes(state).router, WebPages(state).router, OAuthRoutes(state).router)


def build_app(state: SimState, webhooks: Webhooks, faults: Faults) -> FastAPI:
    """The REST API over `state`."""
    app = FastAPI(title="GitHub simulator", docs_url=None, redoc_url=None, openapi_url=None)
    for router in route_groups(state, webhooks, faults):
        app.include_router(router)

    @app.exception_handler(GitHubError)
    async def github_error(request: Request, exc: GitHubError) -> Response:
        return JSONResponse(exc.body(), status_code=exc.status, headers=exc.headers)

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> Response:
        message = "Not Found" if exc.status_code == 404 else str(exc.detail)
        return JSONResponse({"message": message, "documentation_url": DOCS, "status": str(exc.status_code)},
                            status_code=exc.status_code)

    @app.exception_handler(RequestValidationError)
    async def bad_params(request: Request, exc: RequestValidationError) -> Response:
        # GitHub routes on path shape: /pulls/abc simply does not exist
        return JSONResponse({"message": "Not Found", "documentation_url": DOCS, "status": "404"}, status_code=404)

    @app.middleware("http")
    async def faults_and_calls(request: Request, call_next: Next) -> Response:
        if request.url.path.startswith("/_sim/"):
            return await call_next(request)
        fault = faults.take_fault(request.method, request.url.path)
        if not (fault and fault.delay):
            return await _answer(request, call_next, state, faults, fault)
        # Like GitHub, finish a slow request even when the client has given up waiting: the body is
        # read first (a disconnect would otherwise abort the route before it applies the write).
        faults.delay_started()
        try:
            await request.body()
            await asyncio.sleep(fault.delay)
            return await _answer(request, call_next, state, faults, fault)
        finally:
            faults.delay_finished()

    return app


async def _answer(request: Request, call_next: Next, state: SimState, faults: Faults, fault: Fault | None) -> Response:
    """The route's (or the fault's canned) answer, with GitHub's headers, recorded in the call log."""
    canned = fault.response(state.now()) if fault else None
    if canned is not None:
        status, headers, body = canned
        response: Response = JSONResponse(body, status_code=status, headers=headers)
    else:
        response = await call_next(request)
    credential = request.headers.get("authorization", "anonymous")
    key = hashlib.sha256(credential.encode()).hexdigest()
    for name, value in faults.rate_limit_headers(key).items():
        response.headers.setdefault(name, value)
    response.headers["X-GitHub-Request-Id"] = uuid.uuid4().hex[:20].upper()
    response.headers["X-GitHub-Media-Type"] = "github.v3; format=json"
    faults.record_call(request.method, request.url.path, response.status_code)
    return response
