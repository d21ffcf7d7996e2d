"""The Issues API the re-validation files work through: create, get, update (body, labels, close,
reopen), list by label and state, and comments on issues (installation auth). Issues share the
number sequence of pull requests, as on GitHub."""

from __future__ import annotations

import weakref
from dataclasses import dataclass, field
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from bot.simulator import shapes
from bot.simulator.http import GitHubError, not_found, paginate, repo_for, require_installation, sim, unprocessable
from bot.simulator.routes_write import _comment_body, _json, comment_json, create_comment as create_pull_comment
from bot.simulator.state import Account, IssueComment, Repo

router = APIRouter()
DOCS = "https://docs.github.com/rest/issues/issues"
MAX_BODY = 65536


@dataclass
class Issue:
    id: int
    number: int
    repo: Repo
    user: Account
    title: str
    body: str
    labels: list[str]
    created_at: str
    updated_at: str
    state: str = "open"
    state_reason: str | None = None
    closed_at: str | None = None


@dataclass
class _Store:
    issues: dict[tuple[str, int], Issue] = field(default_factory=dict)


_stores: "weakref.WeakKeyDictionary[Any, _Store]" = weakref.WeakKeyDictionary()


def issues_of(s) -> dict[tuple[str, int], Issue]:
    """The issues of one simulator (kept beside it, so a fresh Simulator starts with none)."""
    return _stores.setdefault(s, _Store()).issues


def issue_json(s, i: Issue) -> dict[str, Any]:
    api, name = s.api_url, i.repo.full_name
    base = f"{api}/repos/{name}/issues/{i.number}"
    comments = sum(1 for c in s.comments_ if c.repo is i.repo and c.issue_number == i.number)
    return {
        "id": i.id, "node_id": shapes.node_id("Issue", i.id), "url": base, "repository_url": f"{api}/repos/{name}",
        "labels_url": f"{base}/labels{{/name}}", "comments_url": f"{base}/comments", "events_url": f"{base}/events",
        "html_url": f"{shapes.WEB}/{name}/issues/{i.number}", "number": i.number, "state": i.state,
        "state_reason": i.state_reason, "title": i.title, "body": i.body, "user": shapes.user(api, i.user),
        "labels": [{"id": abs(hash(n)) % 10**9, "node_id": shapes.node_id("Label", abs(hash(n)) % 10**9),
                    "url": f"{api}/repos/{name}/labels/{n}", "name": n, "color": "ededed", "default": False,
                    "description": None} for n in i.labels],
        "assignee": None, "assignees": [], "milestone": None, "locked": False, "active_lock_reason": None,
        "comments": comments, "closed_at": i.closed_at, "created_at": i.created_at, "updated_at": i.updated_at,
        "closed_by": None, "author_association": "NONE", "timeline_url": f"{base}/timeline",
        "performed_via_github_app": None,
        "reactions": {"url": f"{base}/reactions", "total_count": 0, "+1": 0, "-1": 0, "laugh": 0, "hooray": 0,
                      "confused": 0, "heart": 0, "rocket": 0, "eyes": 0},
    }


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


@router.post("/repos/{owner}/{repo}/issues", status_code=201)
async def create_issue(request: Request, owner: str, repo: str):
    r = repo_for(request, owner, repo)
    fields = _fields(await _json(request), creating=True)
    inst = require_installation(request, repo=r)
    s = sim(request)
    with s.lock:
        number = s.issue_numbers[r.full_name] = s.issue_numbers.get(r.full_name, 0) + 1
        now = s.now_iso()
        i = Issue(s.next_id(), number, r, s.bot_account(inst.app_id), fields["title"], fields.get("body", ""),
                  fields.get("labels", []), now, now)
        issues_of(s)[(r.full_name, number)] = i
        body = issue_json(s, i)
    return JSONResponse(body, status_code=201, headers={"Location": body["url"]})


def _issue(request: Request, r: Repo, number: int) -> Issue:
    i = issues_of(sim(request)).get((r.full_name, number))
    if i is None:
        raise not_found()
    return i


@router.get("/repos/{owner}/{repo}/issues/{number}")
def get_issue(request: Request, owner: str, repo: str, number: int):
    r = repo_for(request, owner, repo)
    s = sim(request)
    with s.lock:
        return JSONResponse(issue_json(s, _issue(request, r, number)))


@router.patch("/repos/{owner}/{repo}/issues/{number}")
async def update_issue(request: Request, owner: str, repo: str, number: int):
    r = repo_for(request, owner, repo)
    fields = _fields(await _json(request), creating=False)
    require_installation(request, repo=r)
    s = sim(request)
    with s.lock:
        i = _issue(request, r, number)
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


@router.get("/repos/{owner}/{repo}/issues")
def list_issues(request: Request, owner: str, repo: str, state: str = "open", labels: str | None = None):
    r = repo_for(request, owner, repo)
    wanted = [x for x in (labels or "").split(",") if x]
    s = sim(request)
    with s.lock:
        items = [issue_json(s, i) for (name, _), i in sorted(issues_of(s).items(), key=lambda kv: -kv[1].number)
                 if name == r.full_name and (state == "all" or i.state == state) and all(w in i.labels for w in wanted)]
    chunk, headers = paginate(request, items)
    return JSONResponse(chunk, headers=headers)


@router.post("/repos/{owner}/{repo}/issues/{number}/comments", status_code=201)
async def create_comment(request: Request, owner: str, repo: str, number: int):
    """A comment on an issue here; on a pull request, the pull request comment route."""
    r = repo_for(request, owner, repo)
    s = sim(request)
    if (r.full_name, number) not in issues_of(s):
        return await create_pull_comment(request, owner, repo, number)
    text = _comment_body(await _json(request), "https://docs.github.com/rest/issues/comments#create-an-issue-comment")
    inst = require_installation(request, repo=r)
    with s.lock:
        now = s.now_iso()
        c = IssueComment(s.next_id(), r, number, s.bot_account(inst.app_id), text, now, now, via_app=True)
        s.comments_.append(c)
        body = comment_json(s.api_url, c)
        body["html_url"] = f"{shapes.WEB}/{r.full_name}/issues/{number}#issuecomment-{c.id}"
    return JSONResponse(body, status_code=201, headers={"Location": body["url"]})


def comment_on_issue(s, repo: str, number: int, user: str, body: str) -> IssueComment:
    """A human's comment on an issue, sending `issue_comment.created` with the issue as this API has it
    (its labels and body), e.g. `/prompt-review bless` on a re-validation issue."""
    with s.lock:
        r = s.repo(repo)
        i = issues_of(s).get((r.full_name, number))
        if i is None:
            raise KeyError(f"no issue #{number} in {r.full_name}")
        now = s.now_iso()
        c = IssueComment(s.next_id(), r, number, s._account(user), body, now, now)
        s.comments_.append(c)
        payload = s._envelope(r, "created", user)
        payload["issue"] = issue_json(s, i)
        payload["comment"] = comment_json(s.api_url, c)
    s.emit("issue_comment", payload, *s._route(r))
    return c
