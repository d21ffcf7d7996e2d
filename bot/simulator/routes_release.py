"""Simulator endpoints the release half uses: GET /user (user tokens), Deployments and their
statuses, comment reactions, commits of a branch, and the PRs a commit belongs to."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from bot.simulator import shapes
from bot.simulator.http import GitHubError, _credential, not_found, paginate, repo_for, sim, unprocessable
from bot.simulator.release import DeploymentStatus, Reaction, SimDeployment
from bot.simulator.routes_repos import commit_json
from bot.simulator.routes_write import _json

router = APIRouter()
REACTIONS = ("+1", "-1", "laugh", "confused", "heart", "hooray", "rocket", "eyes")
DEPLOYMENT_STATES = ("error", "failure", "inactive", "in_progress", "queued", "pending", "success")


@router.get("/user")
def get_user(request: Request):
    s = sim(request)
    token = _credential(request)
    with s.lock:
        login = s.release.user_tokens.get(token or "")
        if login is None:
            raise GitHubError(401, "Requires authentication" if token is None else "Bad credentials")
        a = s.accounts[login]
    created = s.now_iso()
    return {**shapes.user(s.api_url, a), "name": a.login, "company": None, "blog": "", "location": None,
            "email": None, "hireable": None, "bio": None, "twitter_username": None, "public_repos": 1,
            "public_gists": 0, "followers": 0, "following": 0, "created_at": created, "updated_at": created}


def _deployment_json(api: str, d: SimDeployment) -> dict[str, Any]:
    url = f"{api}/repos/{d.repo.full_name}/deployments/{d.id}"
    return {"url": url, "id": d.id, "node_id": shapes.node_id("Deployment", d.id), "sha": d.sha, "ref": d.ref,
            "task": "deploy", "payload": d.payload, "original_environment": d.environment,
            "environment": d.environment, "description": d.description, "creator": shapes.user(api, d.creator),
            "created_at": d.created_at, "updated_at": d.statuses[-1].created_at if d.statuses else d.created_at,
            "statuses_url": f"{url}/statuses", "repository_url": f"{api}/repos/{d.repo.full_name}",
            "transient_environment": False, "production_environment": d.production,
            "performed_via_github_app": None}


def _status_json(api: str, d: SimDeployment, st: DeploymentStatus) -> dict[str, Any]:
    url = f"{api}/repos/{d.repo.full_name}/deployments/{d.id}"
    return {"url": f"{url}/statuses/{st.id}", "id": st.id, "node_id": shapes.node_id("DeploymentStatus", st.id),
            "state": st.state, "creator": shapes.user(api, st.creator), "description": st.description,
            "environment": st.environment, "target_url": st.log_url, "log_url": st.log_url,
            "environment_url": st.environment_url, "created_at": st.created_at, "updated_at": st.created_at,
            "deployment_url": url, "repository_url": f"{api}/repos/{d.repo.full_name}",
            "performed_via_github_app": None}


def _deployment(request: Request, owner: str, repo: str, deployment_id: int) -> SimDeployment:
    r = repo_for(request, owner, repo)
    d = next((d for d in sim(request).release.deployments if d.id == deployment_id and d.repo is r), None)
    if d is None:
        raise not_found()
    return d


@router.post("/repos/{owner}/{repo}/deployments", status_code=201)
async def create_deployment(request: Request, owner: str, repo: str):
    r = repo_for(request, owner, repo)
    s = sim(request)
    body = await _json(request)
    if not isinstance(body, dict) or not isinstance(body.get("ref"), str):
        raise unprocessable("Invalid request.\n\n\"ref\" wasn't supplied.")
    payload = body.get("payload") or {}
    if not isinstance(payload, (dict, str)):
        raise unprocessable("Invalid request.\n\nFor 'properties/payload', is not an object or string.")
    with s.lock:
        sha = s.resolve_ref(r, body["ref"])
        if sha is None:
            raise GitHubError(422, f"No ref found for: {body['ref']}")
        env = body.get("environment") or "production"
        d = SimDeployment(s.next_id(), r, sha, body["ref"], env, s.bot_account(), str(body.get("description") or ""),
                          payload if isinstance(payload, dict) else {"raw": payload}, s.now_iso(),
                          bool(body.get("production_environment", env == "production")))
        s.release.deployments.append(d)
        return _deployment_json(s.api_url, d)


@router.get("/repos/{owner}/{repo}/deployments")
def list_deployments(request: Request, owner: str, repo: str, environment: str | None = None, sha: str | None = None):
    r = repo_for(request, owner, repo)
    s = sim(request)
    with s.lock:
        items = [_deployment_json(s.api_url, d) for d in reversed(s.release.deployments) if d.repo is r
                 and (environment is None or d.environment == environment) and (sha is None or d.sha == sha)]
    chunk, headers = paginate(request, items)
    return JSONResponse(chunk, headers=headers)


@router.get("/repos/{owner}/{repo}/deployments/{deployment_id}")
def get_deployment(request: Request, owner: str, repo: str, deployment_id: int):
    d = _deployment(request, owner, repo, deployment_id)
    return _deployment_json(sim(request).api_url, d)


@router.post("/repos/{owner}/{repo}/deployments/{deployment_id}/statuses", status_code=201)
async def create_deployment_status(request: Request, owner: str, repo: str, deployment_id: int):
    d = _deployment(request, owner, repo, deployment_id)
    s = sim(request)
    body = await _json(request)
    state = body.get("state") if isinstance(body, dict) else None
    if state not in DEPLOYMENT_STATES:
        raise unprocessable(f"Invalid request.\n\nstate must be one of {', '.join(DEPLOYMENT_STATES)}")
    with s.lock:
        st = DeploymentStatus(s.next_id(), state, s.bot_account(), str(body.get("description") or "")[:140],
                              str(body.get("environment") or d.environment), s.now_iso(),
                              str(body.get("log_url") or body.get("target_url") or ""),
                              str(body.get("environment_url") or ""))
        if state == "success":  # GitHub marks earlier deployments of the environment inactive
            for other in s.release.deployments:
                if other is not d and other.repo is d.repo and other.environment == d.environment and other.statuses \
                        and other.statuses[-1].state == "success":
                    other.statuses.append(DeploymentStatus(s.next_id(), "inactive", st.creator, "", other.environment,
                                                           st.created_at))
        d.statuses.append(st)
        return _status_json(s.api_url, d, st)


@router.get("/repos/{owner}/{repo}/deployments/{deployment_id}/statuses")
def list_deployment_statuses(request: Request, owner: str, repo: str, deployment_id: int):
    d = _deployment(request, owner, repo, deployment_id)
    s = sim(request)
    with s.lock:
        items = [_status_json(s.api_url, d, st) for st in reversed(d.statuses)]
    chunk, headers = paginate(request, items)
    return JSONResponse(chunk, headers=headers)


@router.post("/repos/{owner}/{repo}/issues/comments/{comment_id}/reactions", status_code=201)
async def create_reaction(request: Request, owner: str, repo: str, comment_id: int):
    r = repo_for(request, owner, repo)
    s = sim(request)
    body = await _json(request)
    content = body.get("content") if isinstance(body, dict) else None
    if content not in REACTIONS:
        raise unprocessable("Invalid request.\n\ncontent is not a valid reaction")
    with s.lock:
        if not any(c.id == comment_id and c.repo is r for c in s.comments_):
            raise not_found()
        user = s.bot_account()
        # GitHub makes one reaction per user and content: asking again answers 200 with the first
        x = next((x for x in s.release.reactions if x.comment_id == comment_id and x.user is user
                  and x.content == content), None)
        status = 200 if x else 201
        if x is None:
            x = Reaction(s.next_id(), comment_id, user, content, s.now_iso())
            s.release.reactions.append(x)
        return JSONResponse({"id": x.id, "node_id": shapes.node_id("Reaction", x.id),
                             "user": shapes.user(s.api_url, x.user), "content": x.content,
                             "created_at": x.created_at}, status_code=status)


@router.get("/repos/{owner}/{repo}/commits")
def list_commits(request: Request, owner: str, repo: str, sha: str | None = None):
    r = repo_for(request, owner, repo)
    s = sim(request)
    with s.lock:
        head = s.resolve_ref(r, sha or r.default_branch)
        if head is None:
            raise GitHubError(404, f"No commit found for SHA: {sha}")
        shas = r.objects.ancestors(head)  # newest first, like GitHub's default order
        chunk, headers = paginate(request, shas)
        return JSONResponse([commit_json(s, r, c) for c in chunk], headers=headers)


@router.get("/repos/{owner}/{repo}/commits/{commit_sha}/pulls")
def commit_pulls(request: Request, owner: str, repo: str, commit_sha: str):
    r = repo_for(request, owner, repo)
    s = sim(request)
    with s.lock:
        sha = s.resolve_ref(r, commit_sha)
        if sha is None:
            raise unprocessable(f"No commit found for SHA: {commit_sha}")
        pulls = [p for (name, _), p in s.pulls.items() if name == r.full_name
                 and (p.merge_commit_sha == sha or p.head_sha == sha)]
        items = [s.pull_json(p) for p in sorted(pulls, key=lambda p: -p.number)]
    chunk, headers = paginate(request, items)
    return JSONResponse(chunk, headers=headers)
