"""Repository-scoped REST endpoints of the simulator (installation-token auth)."""

from __future__ import annotations

import base64
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from bot.simulator import shapes
from bot.simulator.documents import commit_json, pull_json
from bot.simulator.gitobjects import LINK_MODE
from bot.simulator.http import GitHubError, not_found, paginate, repo_for, require_installation
from bot.simulator.records import PullRequest, Repo
from bot.simulator.state import SimState

MAX_PR_FILES = 3000  # GitHub's cap on GET .../pulls/{n}/files
MAX_PR_COMMITS = 250
MAX_CONTENT = 1024 * 1024  # above this, the contents API returns encoding "none" and no content


def _pull(s: SimState, r: Repo, number: int) -> PullRequest:
    p = s.pulls.get((r.full_name, number))
    if p is None:
        raise not_found()
    return p


def _b64(data: bytes) -> str:
    enc = base64.b64encode(data).decode()
    return "\n".join(enc[i:i + 60] for i in range(0, len(enc), 60)) + ("\n" if enc else "")


class RepoRoutes:
    """Repository reads, given the state."""

    def __init__(self, state: SimState) -> None:
        self.state = state
        self.router = r = APIRouter()
        r.add_api_route("/repos/{owner}/{repo}", self.get_repo, methods=["GET"])
        r.add_api_route("/repos/{owner}/{repo}/pulls/{number}", self.get_pull, methods=["GET"])
        r.add_api_route("/repos/{owner}/{repo}/pulls/{number}/files", self.pull_files, methods=["GET"])
        r.add_api_route("/repos/{owner}/{repo}/pulls/{number}/commits", self.pull_commits, methods=["GET"])
        r.add_api_route("/repos/{owner}/{repo}/pulls/{number}/reviews", self.pull_reviews, methods=["GET"])
        r.add_api_route("/repos/{owner}/{repo}/contents/{path:path}", self.get_contents, methods=["GET"])
        r.add_api_route("/repos/{owner}/{repo}/git/trees/{tree_sha:path}", self.get_tree, methods=["GET"])
        r.add_api_route("/repos/{owner}/{repo}/git/blobs/{file_sha}", self.get_blob, methods=["GET"])
        r.add_api_route("/repos/{owner}/{repo}/collaborators/{username}/permission", self.collaborator_permission,
                        methods=["GET"])
        r.add_api_route("/orgs/{org}/teams/{team_slug}/members", self.team_members, methods=["GET"])
        r.add_api_route("/orgs/{org}/teams/{team_slug}/memberships/{username}", self.team_membership, methods=["GET"])

    def get_repo(self, request: Request, owner: str, repo: str):
        r = repo_for(self.state, request, owner, repo)
        return shapes.full_repository(self.state.api_url, r)

    def get_pull(self, request: Request, owner: str, repo: str, number: int):
        s = self.state
        r = repo_for(s, request, owner, repo)
        with s.lock:
            return pull_json(s, _pull(s, r, number))

    def pull_files(self, request: Request, owner: str, repo: str, number: int):
        s = self.state
        r = repo_for(s, request, owner, repo)
        with s.lock:
            p = _pull(s, r, number)
            files = s.pull_files(p)[:MAX_PR_FILES]
        chunk, headers = paginate(s, request, files)
        base = f"{s.api_url}/repos/{r.full_name}"
        out = []
        for f in chunk:
            entry: dict[str, Any] = {
                "sha": f.sha, "filename": f.filename, "status": f.status, "additions": f.additions,
                "deletions": f.deletions, "changes": f.additions + f.deletions,
                "blob_url": f"{shapes.WEB}/{r.full_name}/blob/{p.head_sha}/{f.filename}",
                "raw_url": f"{shapes.WEB}/{r.full_name}/raw/{p.head_sha}/{f.filename}",
                "contents_url": f"{base}/contents/{f.filename}?ref={p.head_sha}",
            }
            if f.patch is not None:
                entry["patch"] = f.patch
            out.append(entry)
        return JSONResponse(out, headers=headers)

    def pull_commits(self, request: Request, owner: str, repo: str, number: int):
        s = self.state
        r = repo_for(s, request, owner, repo)
        with s.lock:
            shas = s.pull_commits(_pull(s, r, number))[:MAX_PR_COMMITS]
            chunk, headers = paginate(s, request, shas)
            return JSONResponse([commit_json(s, r, sha) for sha in chunk], headers=headers)

    def pull_reviews(self, request: Request, owner: str, repo: str, number: int):
        s = self.state
        r = repo_for(s, request, owner, repo)
        with s.lock:
            p = _pull(s, r, number)
            reviews = [shapes.review(s.api_url, rv) for rv in s.reviews if rv.pull is p]
        chunk, headers = paginate(s, request, reviews)
        return JSONResponse(chunk, headers=headers)

    def get_contents(self, request: Request, owner: str, repo: str, path: str, ref: str | None = None):
        s = self.state
        r = repo_for(s, request, owner, repo)
        with s.lock:
            sha = s.resolve_ref(r, ref or r.default_branch)
            if sha is None:
                raise GitHubError(404, f"No commit found for the ref {ref}")
            entries = dict(r.objects.walk(r.objects.commits[sha].tree))
            path = path.strip("/")
            base = f"{s.api_url}/repos/{r.full_name}"

            def item(p: str, e) -> dict[str, Any]:
                # GitHub describes a symlink as such (type "symlink", its target) rather than reading it
                kind = "dir" if e.type == "tree" else "symlink" if e.mode == LINK_MODE else "file"
                size = len(r.objects.blobs[e.sha]) if e.type == "blob" else 0
                html = f"{shapes.WEB}/{r.full_name}/{'tree' if kind == 'dir' else 'blob'}/{ref or r.default_branch}/{p}"
                git = f"{base}/git/{'trees' if kind == 'dir' else 'blobs'}/{e.sha}"
                url = f"{base}/contents/{p}?ref={ref or r.default_branch}"
                return {"type": kind, "size": size, "name": p.rsplit("/", 1)[-1], "path": p, "sha": e.sha, "url": url,
                        "git_url": git, "html_url": html,
                        "download_url": f"https://raw.githubusercontent.com/{r.full_name}/{sha}/{p}" if kind == "file" else None,
                        "_links": {"self": url, "git": git, "html": html}}

            if path == "":
                return [item(p, e) for p, e in entries.items() if "/" not in p]
            e = entries.get(path)
            if e is None:
                raise not_found()
            if e.type == "tree":
                return [item(p, x) for p, x in entries.items() if p.rsplit("/", 1)[0] == path and p != path]
            out = item(path, e)
            data = r.objects.blobs[e.sha]
            if out["type"] == "symlink":
                return {**out, "target": data.decode("utf-8", "replace")}
            out.update({"content": _b64(data), "encoding": "base64"} if len(data) <= MAX_CONTENT
                       else {"content": "", "encoding": "none"})
            return out

    def get_tree(self, request: Request, owner: str, repo: str, tree_sha: str, recursive: str | None = None):
        s = self.state
        r = repo_for(s, request, owner, repo)
        with s.lock:
            sha = tree_sha if tree_sha in r.objects.trees else s.resolve_ref(r, tree_sha)
            if sha is None:
                raise not_found()
            tree = r.objects.commits[sha].tree if sha in r.objects.commits else sha
            base = f"{s.api_url}/repos/{r.full_name}/git"
            entries = []
            walked = r.objects.walk(tree, recursive=recursive is not None)
            truncated = recursive is not None and len(walked) > s.tree_entry_limit
            if truncated:
                walked = walked[:s.tree_entry_limit]
            # GitHub: "Setting this parameter to any value returns the objects or subtrees"
            for p, e in walked:
                entry: dict[str, Any] = {"path": p, "mode": e.mode.rjust(6, "0") if e.type == "tree" else e.mode,
                                         "type": e.type, "sha": e.sha, "url": f"{base}/{e.type}s/{e.sha}"}
                if e.type == "blob":
                    entry["size"] = len(r.objects.blobs[e.sha])
                entries.append(entry)
            return {"sha": tree, "url": f"{base}/trees/{tree}", "tree": entries, "truncated": truncated}

    def get_blob(self, request: Request, owner: str, repo: str, file_sha: str):
        r = repo_for(self.state, request, owner, repo)
        with self.state.lock:
            data = r.objects.blobs.get(file_sha)
        if data is None:
            raise not_found()
        return {"sha": file_sha, "node_id": shapes.node_id("Blob", int(file_sha[:8], 16)), "size": len(data),
                "url": f"{self.state.api_url}/repos/{r.full_name}/git/blobs/{file_sha}", "content": _b64(data),
                "encoding": "base64"}

    def collaborator_permission(self, request: Request, owner: str, repo: str, username: str):
        s = self.state
        r = repo_for(s, request, owner, repo)
        with s.lock:
            acct = s.accounts.get(username)
            if acct is None:
                raise GitHubError(404, f"{username} is not a user")
            role = r.permissions.get(username, "none")
        legacy = {"maintain": "write", "triage": "read"}.get(role, role)
        flags = {k: legacy in levels for k, levels in {
            "admin": ("admin",), "maintain": ("admin",), "push": ("admin", "write"), "triage": ("admin", "write", "read"),
            "pull": ("admin", "write", "read")}.items()}
        collaborator = dict(shapes.user(s.api_url, acct), permissions=flags, role_name=role)
        return {"permission": legacy, "role_name": role, "user": collaborator}

    def team_members(self, request: Request, org: str, team_slug: str):
        s = self.state
        require_installation(s, request, org=org)
        with s.lock:
            members = s.teams.get((org, team_slug))
            if members is None:
                raise not_found()
            users = [shapes.user(s.api_url, s.account(m)) for m in members]
        chunk, headers = paginate(s, request, users)
        return JSONResponse(chunk, headers=headers)

    def team_membership(self, request: Request, org: str, team_slug: str, username: str):
        s = self.state
        require_installation(s, request, org=org)
        with s.lock:
            members = s.teams.get((org, team_slug))
        if members is None or username not in members:
            raise not_found()
        team = s.accounts[org].id
        return {"url": f"{s.api_url}/teams/{team}/memberships/{username}", "role": "member", "state": "active"}
