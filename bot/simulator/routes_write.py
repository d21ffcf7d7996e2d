"""Endpoints through which the bot writes: comments on issues and pull requests, and check runs
(installation auth)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from bot.simulator import checks
from bot.simulator.documents import check_run_json, comment_json
from bot.simulator.http import (GitHubError, not_found, paginate, read_json, repo_for, require_installation,
                                require_permission, unprocessable)
from bot.simulator.records import CheckRun, Installation, IssueComment, Repo
from bot.simulator.state import SimState

MAX_COMMENT = 65536
DOCS_COMMENTS = "https://docs.github.com/rest/issues/comments"
DOCS_CHECKS = "https://docs.github.com/rest/checks/runs"


def _comment_body(body: Any, docs: str) -> str:
    if not isinstance(body, dict) or not isinstance(body.get("body"), str):
        raise unprocessable("Invalid request.\n\n\"body\" wasn't supplied.", docs)
    if len(body["body"]) > MAX_COMMENT:
        raise GitHubError(422, "Validation Failed", docs, errors=[{
            "resource": "IssueComment", "code": "unprocessable", "field": "data",
            "message": f"Body is too long (maximum is {MAX_COMMENT} characters)"}])
    return body["body"]


def _find_run(s: SimState, r: Repo, check_run_id: int) -> CheckRun:
    run = s.check_runs.get(check_run_id)
    if run is None or run.repo is not r:
        raise not_found()
    return run


class WriteRoutes:
    """Comments and check runs, given the state."""

    def __init__(self, state: SimState) -> None:
        self.state = state
        self.router = r = APIRouter()
        r.add_api_route("/repos/{owner}/{repo}/issues/{number}/comments", self.list_comments, methods=["GET"])
        r.add_api_route("/repos/{owner}/{repo}/issues/{number}/comments", self.create_comment,
                        methods=["POST"], status_code=201)
        r.add_api_route("/repos/{owner}/{repo}/issues/comments/{comment_id}", self.update_comment, methods=["PATCH"])
        r.add_api_route("/repos/{owner}/{repo}/check-runs", self.create_check_run, methods=["POST"], status_code=201)
        r.add_api_route("/repos/{owner}/{repo}/check-runs/{check_run_id}", self.update_check_run, methods=["PATCH"])
        r.add_api_route("/repos/{owner}/{repo}/check-runs/{check_run_id}", self.get_check_run, methods=["GET"])
        r.add_api_route("/repos/{owner}/{repo}/commits/{ref:path}/check-runs", self.list_check_runs, methods=["GET"])

    async def _check_run_request(self, request: Request, owner: str, repo: str,
                                 creating: bool) -> tuple[Repo, Installation, dict[str, Any]]:
        """The repository, installation and validated body of a check-run create or update (422 like GitHub)."""
        r = repo_for(self.state, request, owner, repo)
        inst = require_installation(self.state, request, repo=r)
        require_permission(self.state, request, "checks")
        body = await read_json(request)
        if not isinstance(body, dict):
            body = {}
        try:
            checks.validate(body, creating=creating)
        except checks.Invalid as exc:
            raise unprocessable(str(exc), f"{DOCS_CHECKS}#{'create' if creating else 'update'}-a-check-run") from None
        return r, inst, body

    def list_comments(self, request: Request, owner: str, repo: str, number: int):
        s = self.state
        r = repo_for(s, request, owner, repo)
        with s.lock:
            items = [comment_json(s, c) for c in s.comments_on(r, number)]
        chunk, headers = paginate(s, request, items)
        return JSONResponse(chunk, headers=headers)

    async def create_comment(self, request: Request, owner: str, repo: str, number: int):
        """A comment on an issue or a pull request (they share the issue comments API and one numbering)."""
        s = self.state
        r = repo_for(s, request, owner, repo)
        on_issue = (r.full_name, number) in s.issues
        if not on_issue:
            require_permission(s, request, "pull_requests")  # PR comments need pull_requests (or issues) write
        text = _comment_body(await read_json(request), f"{DOCS_COMMENTS}#create-an-issue-comment")
        inst = require_installation(s, request, repo=r)
        with s.lock:
            if not on_issue and (r.full_name, number) not in s.pulls:
                raise not_found()
            now = s.now_iso()
            c = IssueComment(s.next_id(), r, number, s.bot_account(inst.app_id), text, now, now, via_app=True)
            s.comments.append(c)
            body = comment_json(s, c)
        return JSONResponse(body, status_code=201, headers={"Location": body["url"]})

    async def update_comment(self, request: Request, owner: str, repo: str, comment_id: int):
        s = self.state
        r = repo_for(s, request, owner, repo)
        require_permission(s, request, "pull_requests")
        text = _comment_body(await read_json(request), f"{DOCS_COMMENTS}#update-an-issue-comment")
        with s.lock:
            c = next((c for c in s.comments if c.id == comment_id and c.repo is r), None)
            if c is None:
                raise not_found()
            c.body, c.updated_at = text, s.now_iso()
            return comment_json(s, c)

    async def create_check_run(self, request: Request, owner: str, repo: str):
        s = self.state
        r, inst, body = await self._check_run_request(request, owner, repo, creating=True)
        with s.lock:
            sha = body["head_sha"]
            if sha not in r.objects.commits:
                raise unprocessable(f"No commit found for SHA: {sha}", f"{DOCS_CHECKS}#create-a-check-run")
            suite = s.check_suite_for(r, sha, inst.app_id)
            run = CheckRun(s.next_id(), r, suite, body["name"], sha, inst.app_id)
            checks.apply(run, body, s.now_iso())
            s.check_runs[run.id] = run
            out = check_run_json(s, run)
        return JSONResponse(out, status_code=201)

    async def update_check_run(self, request: Request, owner: str, repo: str, check_run_id: int):
        s = self.state
        r, inst, body = await self._check_run_request(request, owner, repo, creating=False)
        with s.lock:
            run = _find_run(s, r, check_run_id)
            if run.app_id != inst.app_id:
                raise GitHubError(403, "Invalid app_id `%d` - check run can only be modified by the GitHub App that created it."
                                  % inst.app_id)
            if body.get("status") == "completed" and body.get("conclusion") is None and run.conclusion is None:
                raise unprocessable("Invalid request.\n\n\"conclusion\" wasn't supplied.", f"{DOCS_CHECKS}#update-a-check-run")
            checks.apply(run, body, s.now_iso())
            return check_run_json(s, run)

    def get_check_run(self, request: Request, owner: str, repo: str, check_run_id: int):
        s = self.state
        r = repo_for(s, request, owner, repo)
        with s.lock:
            return check_run_json(s, _find_run(s, r, check_run_id))

    def list_check_runs(self, request: Request, owner: str, repo: str, ref: str, check_name: str | None = None,
                        status: str | None = None, filter: str = "latest", app_id: int | None = None):
        s = self.state
        r = repo_for(s, request, owner, repo)
        with s.lock:
            sha = s.resolve_ref(r, ref)
            if sha is None:
                raise unprocessable(f"No commit found for SHA: {ref}")
            runs = [c for c in s.check_runs.values() if c.repo is r and c.head_sha == sha
                    and (check_name is None or c.name == check_name) and (status is None or c.status == status)
                    and (app_id is None or c.app_id == app_id)]
            runs.sort(key=lambda c: c.id, reverse=True)
            if filter == "latest":  # the most recent run per name (and app)
                latest: dict[tuple[str, int], CheckRun] = {}
                for c in runs:  # newest first: keep the first of each (name, app)
                    latest.setdefault((c.name, c.app_id), c)
                runs = list(latest.values())
            items = [check_run_json(s, c) for c in runs]
        chunk, headers = paginate(s, request, items)
        return JSONResponse({"total_count": len(items), "check_runs": chunk}, headers=headers)
