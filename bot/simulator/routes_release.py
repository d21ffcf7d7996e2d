"""Simulator endpoints the release half uses: GET /user (user tokens), Deployments and their
statuses, comment reactions, commits of a branch, and the PRs a commit belongs to."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from bot.simulator import shapes
from bot.simulator.documents import commit_json, pull_json
from bot.simulator.http import GitHubError, not_found, paginate, read_json, repo_for, unprocessable, user_login
from bot.simulator.records import DeploymentStatus, Reaction, SimDeployment
from bot.simulator.state import SimState

REACTIONS = ("+1", "-1", "laugh", "confused", "heart", "hooray", "rocket", "eyes")
DEPLOYMENT_STATES = ("error", "failure", "inactive", "in_progress", "queued", "pending", "success")


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


def _deployment(s: SimState, request: Request, owner: str, repo: str, deployment_id: int) -> SimDeployment:
    r = repo_for(s, request, owner, repo)
    d = next((d for d in s.deployments if d.id == deployment_id and d.repo is r), None)
    if d is None:
        raise not_found()
    return d


class ReleaseRoutes:
    """What the release half asks GitHub, given the state."""

    def __init__(self, state: SimState) -> None:
        self.state = state
        self.router = r = APIRouter()
        r.add_api_route("/user", self.get_user, methods=["GET"])
        r.add_api_route("/repos/{owner}/{repo}/deployments", self.create_deployment, methods=["POST"], status_code=201)
        r.add_api_route("/repos/{owner}/{repo}/deployments", self.list_deployments, methods=["GET"])
        r.add_api_route("/repos/{owner}/{repo}/deployments/{deployment_id}", self.get_deployment, methods=["GET"])
        r.add_api_route("/repos/{owner}/{repo}/deployments/{deployment_id}/statuses", self.create_deployment_status,
                        methods=["POST"], status_code=201)
        r.add_api_route("/repos/{owner}/{repo}/deployments/{deployment_id}/statuses", self.list_deployment_statuses,
                        methods=["GET"])
        r.add_api_route("/repos/{owner}/{repo}/issues/comments/{comment_id}/reactions", self.create_reaction,
                        methods=["POST"], status_code=201)
        r.add_api_route("/repos/{owner}/{repo}/commits", self.list_commits, methods=["GET"])
        r.add_api_route("/repos/{owner}/{repo}/commits/{commit_sha}/pulls", self.commit_pulls, methods=["GET"])

    def get_user(self, request: Request):
        s = self.state
        login = user_login(s, request)
        with s.lock:
            a = s.accounts[login]
        created = s.now_iso()
        return {**shapes.user(s.api_url, a), "name": a.login, "company": None, "blog": "", "location": None,
                "email": None, "hireable": None, "bio": None, "twitter_username": None, "public_repos": 1,
                "public_gists": 0, "followers": 0, "following": 0, "created_at": created, "updated_at": created}

    async def create_deployment(self, request: Request, owner: str, repo: str):
        s = self.state
        r = repo_for(s, request, owner, repo)
        body = await read_json(request)
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
            s.deployments.append(d)
            return _deployment_json(s.api_url, d)

    def list_deployments(self, request: Request, owner: str, repo: str, environment: str | None = None, sha: str | None = None):
        s = self.state
        r = repo_for(s, request, owner, repo)
        with s.lock:
            items = [_deployment_json(s.api_url, d) for d in reversed(s.deployments) if d.repo is r
                     and (environment is None or d.environment == environment) and (sha is None or d.sha == sha)]
        chunk, headers = paginate(s, request, items)
        return JSONResponse(chunk, headers=headers)

    def get_deployment(self, request: Request, owner: str, repo: str, deployment_id: int):
        d = _deployment(self.state, request, owner, repo, deployment_id)
        return _deployment_json(self.state.api_url, d)

    async def create_deployment_status(self, request: Request, owner: str, repo: str, deployment_id: int):
        s = self.state
        d = _deployment(s, request, owner, repo, deployment_id)
        body = await read_json(request)
        state = body.get("state") if isinstance(body, dict) else None
        if state not in DEPLOYMENT_STATES:
            raise unprocessable(f"Invalid request.\n\nstate must be one of {', '.join(DEPLOYMENT_STATES)}")
        with s.lock:
            st = DeploymentStatus(s.next_id(), state, s.bot_account(), str(body.get("description") or "")[:140],
                                  str(body.get("environment") or d.environment), s.now_iso(),
                                  str(body.get("log_url") or body.get("target_url") or ""),
                                  str(body.get("environment_url") or ""))
            if state == "success":  # GitHub marks earlier deployments of the environment inactive
                for other in s.deployments:
                    if other is not d and other.repo is d.repo and other.environment == d.environment and other.statuses \
                            and other.statuses[-1].state == "success":
                        other.statuses.append(DeploymentStatus(s.next_id(), "inactive", st.creator, "", other.environment,
                                                               st.created_at))
            d.statuses.append(st)
            return _status_json(s.api_url, d, st)

    def list_deployment_statuses(self, request: Request, owner: str, repo: str, deployment_id: int):
        s = self.state
        d = _deployment(s, request, owner, repo, deployment_id)
        with s.lock:
            items = [_status_json(s.api_url, d, st) for st in reversed(d.statuses)]
        chunk, headers = paginate(s, request, items)
        return JSONResponse(chunk, headers=headers)

    async def create_reaction(self, request: Request, owner: str, repo: str, comment_id: int):
        s = self.state
        r = repo_for(s, request, owner, repo)
        body = await read_json(request)
        content = body.get("content") if isinstance(body, dict) else None
        if content not in REACTIONS:
            raise unprocessable("Invalid request.\n\ncontent is not a valid reaction")
        with s.lock:
            if not any(c.id == comment_id and c.repo is r for c in s.comments):
                raise not_found()
            user = s.bot_account()
            # GitHub makes one reaction per user and content: asking again answers 200 with the first
            x = next((x for x in s.reactions if x.comment_id == comment_id and x.user is user
                      and x.content == content), None)
            status = 200 if x else 201
            if x is None:
                x = Reaction(s.next_id(), comment_id, user, content, s.now_iso())
                s.reactions.append(x)
            return JSONResponse({"id": x.id, "node_id": shapes.node_id("Reaction", x.id),
                                 "user": shapes.user(s.api_url, x.user), "content": x.content,
                                 "created_at": x.created_at}, status_code=status)

    def list_commits(self, request: Request, owner: str, repo: str, sha: str | None = None):
        s = self.state
        r = repo_for(s, request, owner, repo)
        with s.lock:
            head = s.resolve_ref(r, sha or r.default_branch)
            if head is None:
                raise GitHubError(404, f"No commit found for SHA: {sha}")
            shas = r.objects.ancestors(head)  # newest first, like GitHub's default order
            chunk, headers = paginate(s, request, shas)
            return JSONResponse([commit_json(s, r, c) for c in chunk], headers=headers)

    def commit_pulls(self, request: Request, owner: str, repo: str, commit_sha: str):
        s = self.state
        r = repo_for(s, request, owner, repo)
        with s.lock:
            sha = s.resolve_ref(r, commit_sha)
            if sha is None:
                raise unprocessable(f"No commit found for SHA: {commit_sha}")
            pulls = [p for (name, _), p in s.pulls.items() if name == r.full_name
                     and (p.merge_commit_sha == sha or p.head_sha == sha)]
            items = [pull_json(s, p) for p in sorted(pulls, key=lambda p: -p.number)]
        chunk, headers = paginate(s, request, items)
        return JSONResponse(chunk, headers=headers)
