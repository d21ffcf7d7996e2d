"""What the release half needs from GitHub, simulated: pushes to the default branch (merges send a
`push`), PR comments that send `issue_comment`, user tokens (`GET /user`), Deployments with statuses,
and reactions. Kept beside the PR/check-run simulation so the two grow independently."""

from __future__ import annotations

import secrets
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from bot.simulator import shapes
from bot.simulator.state import Account, Installation, IssueComment, PullRequest, Repo
from bot.simulator.views import SimComment, SimDelivery, SimPull, SimRepo

ZERO_SHA = "0" * 40


@dataclass
class DeploymentStatus:
    id: int
    state: str
    creator: Account
    description: str
    environment: str
    created_at: str
    log_url: str = ""
    environment_url: str = ""


@dataclass
class SimDeployment:
    id: int
    repo: Repo
    sha: str
    ref: str
    environment: str
    creator: Account
    description: str
    payload: dict[str, Any]
    created_at: str
    production: bool = False
    statuses: list[DeploymentStatus] = field(default_factory=list)


@dataclass
class Reaction:
    id: int
    comment_id: int
    user: Account
    content: str
    created_at: str


@dataclass
class ReleaseState:
    user_tokens: dict[str, str] = field(default_factory=dict)  # token → login
    deployments: list[SimDeployment] = field(default_factory=list)
    reactions: list[Reaction] = field(default_factory=list)


class ReleaseMixin:
    if TYPE_CHECKING:  # what the Simulator (and its EventsMixin) provides
        lock: threading.RLock
        api_url: str
        comments_: list[IssueComment]
        pulls: dict[tuple[str, int], PullRequest]

        def _account(self, login: str, type_: str = "User") -> Account: ...
        def _envelope(self, r: Repo, action: str | None, sender: str) -> dict[str, Any]: ...
        def _pull(self, repo: str | SimRepo, number: int) -> PullRequest: ...
        def _route(self, r: Repo) -> tuple[int | None, int]: ...
        def close_pull(self, repo: str | SimRepo, pr_number: int, merged: bool = False,
                       user: str | None = None) -> SimPull: ...
        def emit(self, event: str, payload: dict[str, Any], installation_id: int | None,
                 repository_id: int | None, redelivery: bool = False, guid: str | None = None,
                 background: bool = False) -> SimDelivery: ...
        def installation_for(self, r: Repo, app_id: int | None = None) -> Installation | None: ...
        def next_id(self) -> int: ...
        def now(self) -> float: ...
        def now_iso(self) -> str: ...
        def org_json(self, login: str) -> dict[str, Any]: ...
        def push_branch(self, repo: str | SimRepo, branch: str, changes: Mapping[str, bytes | str | None],
                        author: str = "maintainer", message: str = "Update") -> str: ...
        def repo(self, repo: str | SimRepo) -> Repo: ...

    @property
    def release(self) -> ReleaseState:
        with self.lock:
            if not hasattr(self, "_release_state"):
                self._release_state = ReleaseState()
            return self._release_state

    # -- identities ------------------------------------------------------------------------
    def user_token(self, login: str) -> str:
        """A user access token for `login` (what `GITHUB_TOKEN` holds for the CLI)."""
        with self.lock:
            self._account(login)
            token = "ghu_" + secrets.token_urlsafe(27)[:36]
            self.release.user_tokens[token] = login
            return token

    def revoke_user_token(self, token: str) -> None:
        with self.lock:
            self.release.user_tokens.pop(token, None)

    # -- the default branch ------------------------------------------------------------------
    def push_event(self, r: Repo, branch: str, before: str, after: str, pusher: str) -> None:
        with self.lock:
            payload = self.push_payload(r, branch, before, after, pusher)
        self.emit("push", payload, *self._route(r))

    def push_payload(self, r: Repo, branch: str, before: str, after: str, pusher: str) -> dict[str, Any]:
        api = self.api_url
        known = set(r.objects.ancestors(before)) if before != ZERO_SHA else set()
        shas = [c for c in reversed(r.objects.ancestors(after)) if c not in known]
        commits = [self._push_commit(r, sha) for sha in shas]
        repo = shapes.repository(api, r)
        repo.update({"pushed_at": int(self.now()), "created_at": int(self.now()) - 1000, "stargazers": 0,
                     "master_branch": r.default_branch})
        out = {"ref": f"refs/heads/{branch}", "before": before, "after": after, "created": before == ZERO_SHA,
               "deleted": False, "forced": False, "base_ref": None,
               "compare": f"{shapes.WEB}/{r.full_name}/compare/{before[:12]}...{after[:12]}",
               "commits": commits, "head_commit": commits[-1] if commits else None, "repository": repo,
               "pusher": {"name": pusher, "email": f"{pusher}@users.noreply.github.com"},
               "sender": shapes.user(api, self._account(pusher))}
        inst = self.installation_for(r)
        if inst:
            out["installation"] = {"id": inst.id, "node_id": shapes.node_id("Installation", inst.id)}
        if r.owner.type == "Organization":
            out["organization"] = self.org_json(r.owner.login)
        return out

    def _push_commit(self, r: Repo, sha: str) -> dict[str, Any]:
        c = r.objects.commits[sha]
        now = r.objects.files(sha)
        before = r.objects.files(c.parents[0]) if c.parents else {}
        ident = {"name": c.author, "email": f"{c.author}@users.noreply.github.com", "username": c.author}
        return {"id": sha, "tree_id": c.tree, "distinct": True, "message": c.message,
                "timestamp": shapes.iso(c.timestamp), "url": f"{shapes.WEB}/{r.full_name}/commit/{sha}",
                "author": ident, "committer": ident,
                "added": sorted(p for p in now if p not in before),
                "removed": sorted(p for p in before if p not in now),
                "modified": sorted(p for p in now if p in before and before[p] != now[p])}

    def merge_pull(self, repo, pr_number: int, user: str | None = None):
        """Merge the PR (fast-forward its base to the head), send `closed` and the base branch's `push`."""
        with self.lock:
            p = self._pull(repo, pr_number)
            before = p.repo.branches[p.base_ref]
        pull = self.close_pull(repo, pr_number, merged=True, user=user)
        self.push_event(p.repo, p.base_ref, before, p.head_sha, user or p.user.login)
        return pull

    def push_default(self, repo, changes, author: str = "maintainer", message: str = "Update") -> str:
        """Commit straight to the default branch and send its `push`."""
        with self.lock:
            r = self.repo(repo)
            before = r.branches[r.default_branch]
        after = self.push_branch(repo, r.default_branch, changes, author, message)
        self.push_event(r, r.default_branch, before, after, author)
        return after

    # -- comments, reactions -------------------------------------------------------------------
    def comment_event(self, repo, issue_number: int, user: str, body: str) -> SimComment:
        """A human's PR comment that sends `issue_comment.created` (e.g. `/prompt-review deploy staging`)."""
        with self.lock:
            r = self.repo(repo)
            now = self.now_iso()
            c = IssueComment(self.next_id(), r, issue_number, self._account(user), body, now, now)
            self.comments_.append(c)
            payload = self._envelope(r, "created", user)
            p = self.pulls.get((r.full_name, issue_number))
            payload["issue"] = self.issue_json(r, issue_number, p)
            from bot.simulator.routes_write import comment_json

            payload["comment"] = comment_json(self.api_url, c)
        self.emit("issue_comment", payload, *self._route(r))
        return SimComment.of(c)

    def issue_json(self, r: Repo, number: int, p) -> dict[str, Any]:
        api = self.api_url
        base = f"{api}/repos/{r.full_name}/issues/{number}"
        user = p.user if p else r.owner
        out: dict[str, Any] = {"id": p.id if p else number, "node_id": shapes.node_id("Issue", p.id if p else number), "url": base,
               "repository_url": f"{api}/repos/{r.full_name}", "labels_url": f"{base}/labels{{/name}}",
               "comments_url": f"{base}/comments", "events_url": f"{base}/events",
               "html_url": f"{shapes.WEB}/{r.full_name}/{'pull' if p else 'issues'}/{number}", "number": number,
               "state": p.state if p else "open", "state_reason": None, "title": p.title if p else "",
               "body": p.body if p else "", "user": shapes.user(api, user), "labels": [], "assignee": None,
               "assignees": [], "milestone": None, "locked": False, "active_lock_reason": None, "comments": 0,
               "closed_at": p.closed_at if p else None, "created_at": p.created_at if p else self.now_iso(),
               "updated_at": p.updated_at if p else self.now_iso(), "author_association": "CONTRIBUTOR",
               "reactions": {"url": f"{base}/reactions", "total_count": 0, "+1": 0, "-1": 0, "laugh": 0,
                             "hooray": 0, "confused": 0, "heart": 0, "rocket": 0, "eyes": 0},
               "timeline_url": f"{base}/timeline", "performed_via_github_app": None}
        if p:
            pr_url = f"{api}/repos/{r.full_name}/pulls/{number}"
            out["pull_request"] = {"url": pr_url, "html_url": f"{shapes.WEB}/{r.full_name}/pull/{number}",
                                   "diff_url": f"{shapes.WEB}/{r.full_name}/pull/{number}.diff",
                                   "patch_url": f"{shapes.WEB}/{r.full_name}/pull/{number}.patch",
                                   "merged_at": p.merged_at}
        return out

    def reactions_of(self, comment_id: int) -> list[str]:
        with self.lock:
            return [x.content for x in self.release.reactions if x.comment_id == comment_id]

    # -- deployments ---------------------------------------------------------------------------
    def deployments(self, repo, environment: str | None = None) -> list[SimDeployment]:
        with self.lock:
            r = self.repo(repo)
            return [d for d in self.release.deployments
                    if d.repo is r and (environment is None or d.environment == environment)]
