"""The Issues API the re-validation files work through: create, get, update (body, labels, close,
reopen), list by label and state, and comments on issues (installation auth). Issues share the
number sequence of pull requests, as on GitHub. (Comments on issues and pull requests are one route,
in routes_write.py.)"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from bot.simulator.documents import issue_json
from bot.simulator.http import GitHubError, not_found, paginate, read_json, repo_for, require_installation, unprocessable
from bot.simulator.records import Issue, Repo
from bot.simulator.state import SimState

DOCS = "https://docs.github.com/rest/issues/issues"
MAX_BODY = 65536


def _fields(body: Any, creating: bool) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise GitHubError(400, "Problems parsing JSON")
    if creating and not isinstance(body.get("title"), str):
        raise unprocessable("Invalid request.\n\n\"title\" wasn't supplied.", f"{DOCS}#create-an-issue")
    out: dict[str, Any] = {}
    if "title" in body:
        if not isinstance(body["title"], str) or not body["title"].strip():
            raise unprocessable("Invalid request.\n\nFor 'properties/title', is not a string.", DOCS)
        out["title"] = body["title"]
    if body.get("body") is not None:
        if not isinstance(body["body"], str) or len(body["body"]) > MAX_BODY:
            raise GitHubError(422, "Validation Failed", DOCS, errors=[{
                "resource": "Issue", "code": "custom", "field": "body",
                "message": f"body is too long (maximum is {MAX_BODY} characters)"}])
        out["body"] = body["body"]
    if "labels" in body:
        labels = body["labels"]
        if not isinstance(labels, list) or not all(isinstance(x, str) for x in labels):
            raise unprocessable("Invalid request.\n\nFor 'properties/labels', is not an array of strings.", DOCS)
        out["labels"] = list(dict.fromkeys(labels))
    if "state" in body:
        if body["state"] not in ("open", "closed"):
            raise unprocessable("Invalid request.\n\nFor 'properties/state', is not one of open, closed.", DOCS)
        out["state"] = body["state"]
        out["state_reason"] = body.get("state_reason")
    return out


def _issue(s: SimState, r: Repo, number: int) -> Issue:
    i = s.issues.get((r.full_name, number))
    if i is None:
        raise not_found()
    return i


class IssueRoutes:
    """The Issues API, given the state."""

    def __init__(self, state: SimState) -> None:
        self.state = state
        self.router = r = APIRouter()
        r.add_api_route("/repos/{owner}/{repo}/issues", self.create_issue, methods=["POST"], status_code=201)
        r.add_api_route("/repos/{owner}/{repo}/issues/{number}", self.get_issue, methods=["GET"])
        r.add_api_route("/repos/{owner}/{repo}/issues/{number}", self.update_issue, methods=["PATCH"])
        r.add_api_route("/repos/{owner}/{repo}/issues", self.list_issues, methods=["GET"])

    async def create_issue(self, request: Request, owner: str, repo: str):
        s = self.state
        r = repo_for(s, request, owner, repo)
        fields = _fields(await read_json(request), creating=True)
        inst = require_installation(s, request, repo=r)
        with s.lock:
            now = s.now_iso()
            i = Issue(s.next_id(), s.next_number(r), r, s.bot_account(inst.app_id), fields["title"], fields.get("body", ""),
                      fields.get("labels", []), now, now)
            s.issues[(r.full_name, i.number)] = i
            body = issue_json(s, i)
        return JSONResponse(body, status_code=201, headers={"Location": body["url"]})

    def get_issue(self, request: Request, owner: str, repo: str, number: int):
        s = self.state
        r = repo_for(s, request, owner, repo)
        with s.lock:
            return JSONResponse(issue_json(s, _issue(s, r, number)))

    async def update_issue(self, request: Request, owner: str, repo: str, number: int):
        s = self.state
        r = repo_for(s, request, owner, repo)
        fields = _fields(await read_json(request), creating=False)
        require_installation(s, request, repo=r)
        with s.lock:
            i = _issue(s, r, number)
            for k in ("title", "body", "labels"):
                if k in fields:
                    setattr(i, k, fields[k])
            now = s.now_iso()
            if "state" in fields and fields["state"] != i.state:
                i.state = fields["state"]
                i.closed_at = now if i.state == "closed" else None
                i.state_reason = (fields["state_reason"] or "completed") if i.state == "closed" else "reopened"
            i.updated_at = now
            return JSONResponse(issue_json(s, i))

    def list_issues(self, request: Request, owner: str, repo: str, state: str = "open", labels: str | None = None):
        s = self.state
        r = repo_for(s, request, owner, repo)
        wanted = [x for x in (labels or "").split(",") if x]
        with s.lock:
            items = [issue_json(s, i) for (name, _), i in sorted(s.issues.items(), key=lambda kv: -kv[1].number)
                     if name == r.full_name and (state == "all" or i.state == state) and all(w in i.labels for w in wanted)]
        chunk, headers = paginate(s, request, items)
        return JSONResponse(chunk, headers=headers)
