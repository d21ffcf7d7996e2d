"""The simulator's FastAPI app: GitHub-shaped errors, rate-limit headers, faults and the call log."""

from __future__ import annotations

import asyncio
import hashlib
import uuid

from fastapi import APIRouter, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException

from bot.serving import RunningServer, start_in_thread
from bot.simulator.driver import Simulator
from bot.simulator.faults import Fault
from bot.simulator.http import DOCS, GitHubError
from bot.simulator.routes_app import router as app_router
from bot.simulator.routes_issues import router as issues_router
from bot.simulator.routes_oauth import router as oauth_router
from bot.simulator.routes_release import router as release_router
from bot.simulator.routes_repos import router as repos_router
from bot.simulator.routes_web import router as web_router
from bot.simulator.routes_write import router as write_router


def routers() -> tuple[APIRouter, ...]:
    """The route groups the app serves, in matching order."""
    # issues first: it owns issue comments and hands comments on PRs to the repos routes
    return (app_router, issues_router, repos_router, write_router, release_router, web_router, oauth_router)


def create_app(sim: Simulator) -> FastAPI:
    """The REST API over `sim`; `app.state.sim` may be swapped for a fresh Simulator (tests reuse one server)."""
    app = FastAPI(title="GitHub simulator", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.sim = sim
    for router in routers():
        app.include_router(router)

    @app.exception_handler(GitHubError)
    async def github_error(request: Request, exc: GitHubError):
        return JSONResponse(exc.body(), status_code=exc.status, headers=exc.headers)

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException):
        message = "Not Found" if exc.status_code == 404 else str(exc.detail)
        return JSONResponse({"message": message, "documentation_url": DOCS, "status": str(exc.status_code)},
                            status_code=exc.status_code)

    @app.exception_handler(RequestValidationError)
    async def bad_params(request: Request, exc: RequestValidationError):
        # GitHub routes on path shape: /pulls/abc simply does not exist
        return JSONResponse({"message": "Not Found", "documentation_url": DOCS, "status": "404"}, status_code=404)

    @app.middleware("http")
    async def faults_and_calls(request: Request, call_next):
        sim = request.app.state.sim
        path, method = request.url.path, request.method
        if path.startswith("/_sim/"):
            return await call_next(request)
        fault = sim.take_fault(method, path)
        if not (fault and fault.delay):
            return await _answer(request, call_next, sim, fault)
        # Like GitHub, finish a slow request even when the client has given up waiting: the body is
        # read first (a disconnect would otherwise abort the route before it applies the write).
        sim.delay_started()
        try:
            await request.body()
            await asyncio.sleep(fault.delay)
            return await _answer(request, call_next, sim, fault)
        finally:
            sim.delay_finished()

    return app


async def _answer(request: Request, call_next, sim: Simulator, fault: Fault | None) -> Response:
    """The route's (or the fault's canned) answer, with GitHub's headers, recorded in the call log."""
    path, method = request.url.path, request.method
    canned = fault.response(sim.now()) if fault else None
    if canned is not None:
        status, headers, body = canned
        response = JSONResponse(body, status_code=status, headers=headers)
    else:
        response = await call_next(request)
    credential = request.headers.get("authorization", "anonymous")
    key = hashlib.sha256(credential.encode()).hexdigest()
    for name, value in sim.rate_limit_headers(key).items():
        response.headers.setdefault(name, value)
    response.headers["X-GitHub-Request-Id"] = uuid.uuid4().hex[:20].upper()
    response.headers["X-GitHub-Media-Type"] = "github.v3; format=json"
    sim.record_call(method, path, response.status_code)
    return response


def start(sim: Simulator, host: str = "127.0.0.1", port: int | None = None) -> RunningServer:
    """Serve `sim` on a loopback port in a thread; its object URLs then point at that server."""
    server = start_in_thread(create_app(sim), host=host, port=port)
    sim.api_url = server.url
    return server
