"""Endpoints through which the bot writes: issue comments and check runs (installation auth)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from bot.simulator import checks, shapes
from bot.simulator.http import (GitHubError, not_found, paginate, repo_for, require_installation, require_permission, sim,
                                unprocessable)
from bot.simulator.state import CheckRun, IssueComment, Repo

router = APIRouter()
MAX_COMMENT = 65536
DOCS_COMMENTS = "https://docs.github.com/rest/issues/comments"
DOCS_CHECKS = "https://docs.github.com/rest/checks/runs"


def comment_json(api: str, c: IssueComment) -> dict[str, Any]:
    base = f"{api}/repos/{c.repo.full_name}"
    return {
        "id": c.id, "node_id": shapes.node_id("IssueComment", c.id), "url": f"{base}/issues/comments/{c.id}",
        "html_url": f"{shapes.WEB}/{c.repo.full_name}/pull/{c.issue_number}#issuecomment-{c.id}", "body": c.body,
        "user": shapes.user(api, c.user), "created_at": c.created_at, "updated_at": c.updated_at,
        "issue_url": f"{base}/issues/{c.issue_number}",
        "author_association": "NONE" if c.via_app else "CONTRIBUTOR",
        "performed_via_github_app": None,
        "reactions": {"url": f"{base}/issues/comments/{c.id}/reactions", "total_count": 0, "+1": 0, "-1": 0,
                      "laugh": 0, "confused": 0, "heart": 0, "hooray": 0, "eyes": 0, "rocket": 0},
    }


async def _json(request: Request) -> Any:
    try:
        return await request.json()
    except ValueError:
        raise GitHubError(400, "Problems parsing JSON") from None


def _comment_body(body: Any, docs: str) -> str:
    if not isinstance(body, dict) or not isinstance(body.get("body"), str):
        raise unprocessable("Invalid request.\n\n\"body\" wasn't supplied.", docs)
    if len(body["body"]) > MAX_COMMENT:
        raise GitHubError(422, "Validation Failed", docs, errors=[{
            "resource": "IssueComment", "code": "unprocessable", "field": "data",
            "message": f"Body is too long (maximum is {MAX_COMMENT} characters)"}])
    return body["body"]


@router.get("/repos/{owner}/{repo}/issues/{number}/comments")
def list_comments(request: Request, owner: str, repo: str, number: int):
    r = repo_for(request, owner, repo)
    s = sim(request)
    with s.lock:
        items = [comment_json(s.api_url, c) for c in s.comments_ if c.repo is r and c.issue_number == number]
    chunk, headers = paginate(request, items)
    return JSONResponse(chunk, headers=headers)


@router.post("/repos/{owner}/{repo}/issues/{number}/comments", status_code=201)
async def create_comment(request: Request, owner: str, repo: str, number: int):
    r = repo_for(request, owner, repo)
    require_permission(request, "pull_requests")  # PR comments need pull_requests (or issues) write
    text = _comment_body(await _json(request), f"{DOCS_COMMENTS}#create-an-issue-comment")
    inst = require_installation(request, repo=r)
    s = sim(request)
    with s.lock:
        if (r.full_name, number) not in s.pulls:
            raise not_found()
        now = s.now_iso()
        c = IssueComment(s.next_id(), r, number, s.bot_account(inst.app_id), text, now, now, via_app=True)
        s.comments_.append(c)
        body = comment_json(s.api_url, c)
    return JSONResponse(body, status_code=201, headers={"Location": body["url"]})


@router.patch("/repos/{owner}/{repo}/issues/comments/{comment_id}")
async def update_comment(request: Request, owner: str, repo: str, comment_id: int):
    r = repo_for(request, owner, repo)
    require_permission(request, "pull_requests")
    text = _comment_body(await _json(request), f"{DOCS_COMMENTS}#update-an-issue-comment")
    s = sim(request)
    with s.lock:
        c = next((c for c in s.comments_ if c.id == comment_id and c.repo is r), None)
        if c is None:
            raise not_found()
        c.body, c.updated_at = text, s.now_iso()
        return comment_json(s.api_url, c)


def _find_run(request: Request, r: Repo, check_run_id: int) -> CheckRun:
    run = sim(request).check_runs_.get(check_run_id)
    if run is None or run.repo is not r:
        raise not_found()
    return run


async def _check_run_request(request: Request, owner: str, repo: str, creating: bool):
    """The repository, installation and validated body of a check-run create or update (422 like GitHub)."""
    r = repo_for(request, owner, repo)
    inst = require_installation(request, repo=r)
    require_permission(request, "checks")
    body = await _json(request)
    try:
        checks.validate(body if isinstance(body, dict) else {}, creating=creating)
    except checks.Invalid as exc:
        raise unprocessable(str(exc), f"{DOCS_CHECKS}#{'create' if creating else 'update'}-a-check-run") from None
    return r, inst, body


@router.post("/repos/{owner}/{repo}/check-runs", status_code=201)
async def create_check_run(request: Request, owner: str, repo: str):
    r, inst, body = await _check_run_request(request, owner, repo, creating=True)
    s = sim(request)
    with s.lock:
        sha = body["head_sha"]
        if sha not in r.objects.commits:
            raise unprocessable(f"No commit found for SHA: {sha}", f"{DOCS_CHECKS}#create-a-check-run")
        suite = s.check_suite_for(r, sha, inst.app_id)
        run = CheckRun(s.next_id(), r, suite, body["name"], sha, inst.app_id)
        checks.apply(run, body, s.now_iso())
        s.check_runs_[run.id] = run
        out = s.check_run_rest(run)
    return JSONResponse(out, status_code=201)


@router.patch("/repos/{owner}/{repo}/check-runs/{check_run_id}")
async def update_check_run(request: Request, owner: str, repo: str, check_run_id: int):
    r, inst, body = await _check_run_request(request, owner, repo, creating=False)
    s = sim(request)
    with s.lock:
        run = _find_run(request, r, check_run_id)
        if run.app_id != inst.app_id:
            raise GitHubError(403, "Invalid app_id `%d` - check run can only be modified by the GitHub App that created it."
                              % inst.app_id)
        if body.get("status") == "completed" and body.get("conclusion") is None and run.conclusion is None:
            raise unprocessable("Invalid request.\n\n\"conclusion\" wasn't supplied.", f"{DOCS_CHECKS}#update-a-check-run")
        checks.apply(run, body, s.now_iso())
        return s.check_run_rest(run)


@router.get("/repos/{owner}/{repo}/check-runs/{check_run_id}")
def get_check_run(request: Request, owner: str, repo: str, check_run_id: int):
    r = repo_for(request, owner, repo)
    s = sim(request)
    with s.lock:
        return s.check_run_rest(_find_run(request, r, check_run_id))


@router.get("/repos/{owner}/{repo}/commits/{ref:path}/check-runs")
def list_check_runs(request: Request, owner: str, repo: str, ref: str, check_name: str | None = None,
                    status: str | None = None, filter: str = "latest", app_id: int | None = None):
    r = repo_for(request, owner, repo)
    s = sim(request)
    with s.lock:
        sha = s.resolve_ref(r, ref)
        if sha is None:
            raise unprocessable(f"No commit found for SHA: {ref}")
        runs = [c for c in s.check_runs_.values() if c.repo is r and c.head_sha == sha
                and (check_name is None or c.name == check_name) and (status is None or c.status == status)
                and (app_id is None or c.app_id == app_id)]
        runs.sort(key=lambda c: c.id, reverse=True)
        if filter == "latest":  # the most recent run per name (and app)
            latest: dict[tuple[str, int], CheckRun] = {}
            for c in runs:  # newest first: keep the first of each (name, app)
                latest.setdefault((c.name, c.app_id), c)
            runs = list(latest.values())
        items = [s.check_run_rest(c) for c in runs]
    chunk, headers = paginate(request, items)
    return JSONResponse({"total_count": len(items), "check_runs": chunk}, headers=headers)
