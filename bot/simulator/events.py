"""Webhook payloads and their signed delivery, recorded like GitHub's App delivery log.

Payload shapes follow `@octokit/webhooks-examples`; every send (and redelivery) is a
`Delivery` with the receiver's status, which `GET /app/hook/deliveries` lists.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
import uuid
from concurrent.futures import Future, ThreadPoolExecutor
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import httpx

from bot.simulator import shapes
from bot.simulator.checks import check_run_json
from bot.simulator.state import (Account, AppRecord, CheckRun, CheckSuite, Delivery, Installation, Label,
                                 PullRequest, Repo, Review)
from bot.simulator.views import SimDelivery, SimRepo

USER_AGENT = "GitHub-Hookshot/prompt-review-simulator"


def sign(secret: str, body: bytes) -> str:
    """The `X-Hub-Signature-256` value GitHub sends for `body`."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


class EventsMixin:
    if TYPE_CHECKING:  # what the Simulator this is mixed into provides
        lock: threading.RLock
        api_url: str
        app_id: int
        apps: dict[int, AppRecord]
        check_runs_: dict[int, CheckRun]
        installations: dict[int, Installation]
        pulls: dict[tuple[str, int], PullRequest]
        repos: dict[str, Repo]
        sync_webhooks: bool
        webhook_secret: str
        webhook_url: str | None

        def _account(self, login: str, type_: str = "User") -> Account: ...
        def check_suite_for(self, r: Repo, head_sha: str, app_id: int) -> CheckSuite: ...
        def installation_for(self, r: Repo, app_id: int | None = None) -> Installation | None: ...
        def next_id(self) -> int: ...
        def now_iso(self) -> str: ...
        def repo(self, repo: str | SimRepo) -> Repo: ...

    def __init__(self) -> None:
        self.deliveries_: list[Delivery] = []
        self._sender = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sim-webhooks")  # keeps order
        self._pending: list[Future] = []

    # -- payloads --------------------------------------------------------------------------
    def _route(self, r: Repo) -> tuple[int | None, int]:
        inst = self.installation_for(r)
        return (inst.id if inst else None), r.id

    def _envelope(self, r: Repo, action: str | None, sender: str) -> dict[str, Any]:
        api = self.api_url
        out: dict[str, Any] = {"action": action} if action else {}
        out["repository"] = shapes.repository(api, r)
        if r.owner.type == "Organization":
            out["organization"] = self.org_json(r.owner.login)
        out["sender"] = shapes.user(api, self._account(sender))
        inst = self.installation_for(r)
        if inst:
            out["installation"] = {"id": inst.id, "node_id": shapes.node_id("Installation", inst.id)}
        return out

    def org_json(self, login: str) -> dict[str, Any]:
        a = self._account(login)
        u = f"{self.api_url}/orgs/{login}"
        return {"login": login, "id": a.id, "node_id": shapes.node_id("Organization", a.id), "url": u,
                "repos_url": f"{u}/repos", "events_url": f"{u}/events", "hooks_url": f"{u}/hooks",
                "issues_url": f"{u}/issues", "members_url": f"{u}/members{{/member}}",
                "public_members_url": f"{u}/public_members{{/member}}",
                "avatar_url": f"https://avatars.githubusercontent.com/u/{a.id}?v=4", "description": None}

    def label_json(self, p: PullRequest, lb: Label) -> dict[str, Any]:
        return shapes.label(self.api_url, p.repo, lb)

    def pull_json(self, p: PullRequest) -> dict[str, Any]:
        return shapes.pull_request(self.api_url, p, self.pull_stats(p))

    def pull_payload(self, p: PullRequest, action: str, sender: str, **extra: Any) -> dict[str, Any]:
        out = self._envelope(p.repo, action, sender)
        out["number"] = p.number
        out["pull_request"] = self.pull_json(p)
        for key, value in extra.items():
            out[key] = value(self.api_url, p) if callable(value) else value
        return out

    def review_payload(self, rv: Review, action: str, sender: str) -> dict[str, Any]:
        out = self._envelope(rv.pull.repo, action, sender)
        review = shapes.review(self.api_url, rv)
        review["state"] = rv.state.lower()  # webhooks use lower-case states
        out["review"] = review
        out["pull_request"] = shapes.simple_pull_request(self.api_url, rv.pull)
        return out

    def installation_json(self, inst: Installation) -> dict[str, Any]:
        api, app = self.api_url, self.apps[inst.app_id]
        return {
            "id": inst.id, "client_id": app.client_id, "account": shapes.user(api, inst.account),
            "repository_selection": "all" if inst.repos is None else "selected",
            "access_tokens_url": f"{api}/app/installations/{inst.id}/access_tokens",
            "repositories_url": f"{api}/installation/repositories",
            "html_url": f"{shapes.WEB}/settings/installations/{inst.id}", "app_id": app.id, "app_slug": app.slug,
            "target_id": inst.account.id, "target_type": inst.account.type, "permissions": dict(app.permissions),
            "events": list(app.events), "created_at": inst.created_at, "updated_at": inst.created_at,
            "single_file_name": None, "has_multiple_single_files": False, "single_file_paths": [],
            "suspended_by": None, "suspended_at": None,
        }

    def _repo_refs(self, names: list[str]) -> list[dict[str, Any]]:
        return [{"id": r.id, "node_id": shapes.node_id("Repository", r.id), "name": r.name,
                 "full_name": r.full_name, "private": r.private} for r in (self.repos[n] for n in names if n in self.repos)]

    def installed_repo_names(self, inst: Installation) -> list[str]:
        if inst.repos is not None:
            return list(inst.repos)
        return [n for n, r in self.repos.items() if r.owner.login == inst.account.login and r.fork_of is None]

    def installation_payload(self, inst: Installation, action: str, sender: str) -> dict[str, Any]:
        return {"action": action, "installation": self.installation_json(inst),
                "repositories": self._repo_refs(self.installed_repo_names(inst)),
                "sender": shapes.user(self.api_url, self._account(sender))}

    def add_installation_repos(self, installation_id: int, repos: list[str], sender: str | None = None) -> None:
        """Add repositories to a selected-repos installation; sends `installation_repositories.added`."""
        with self.lock:
            inst = self.installations[installation_id]
            names = [r if "/" in r else f"{inst.account.login}/{r}" for r in repos]
            if inst.repos is not None:  # an "all repositories" installation already covers them
                inst.repos += [n for n in names if n not in inst.repos]
            payload = {"action": "added", "installation": self.installation_json(inst),
                       "repository_selection": "all" if inst.repos is None else "selected", "repositories_added": self._repo_refs(names),
                       "repositories_removed": [], "requester": None,
                       "sender": shapes.user(self.api_url, self._account(sender or inst.account.login))}
        self.emit("installation_repositories", payload, installation_id, None)

    def check_run_payload(self, run: CheckRun, action: str, sender: str, **extra: Any) -> dict[str, Any]:
        out = self._envelope(run.repo, action, sender)
        cr = self.check_run_rest(run)
        suite = run.suite
        cr["check_suite"] = {
            "id": suite.id, "node_id": shapes.node_id("CheckSuite", suite.id), "head_branch": suite.head_branch,
            "head_sha": suite.head_sha, "status": run.status, "conclusion": run.conclusion,
            "url": f"{self.api_url}/repos/{run.repo.full_name}/check-suites/{suite.id}", "before": None,
            "after": suite.head_sha, "pull_requests": cr["pull_requests"], "app": cr["app"],
            "created_at": run.started_at, "updated_at": run.completed_at or run.started_at,
        }
        out["check_run"] = cr
        out.update(extra)
        return out

    def check_run_rest(self, run: CheckRun) -> dict[str, Any]:
        pulls = [p for p in self.pulls.values() if p.repo is run.repo and p.head_sha == run.head_sha and p.state == "open"]
        return check_run_json(self.api_url, run, self.apps[run.app_id], pulls)

    def request_check_run_action(self, repo, check_run_id: int, identifier: str, user: str) -> None:
        """A user clicked a check-run button; sends `check_run.requested_action`."""
        with self.lock:
            run = self.check_runs_[check_run_id]
            payload = self.check_run_payload(run, "requested_action", user, requested_action={"identifier": identifier})
        self.emit("check_run", payload, *self._route(run.repo))

    def rerequest_check_run(self, repo, check_run_id: int, user: str) -> None:
        """A user clicked "Re-run" on a completed check run; sends `check_run.rerequested`."""
        with self.lock:
            run = self.check_runs_[check_run_id]
            if run.status != "completed":  # GitHub offers the button on completed runs only
                raise ValueError(f"check run {check_run_id} is {run.status}, not completed: it cannot be re-run")
            payload = self.check_run_payload(run, "rerequested", user)
        self.emit("check_run", payload, *self._route(run.repo))

    def rerequest_check_suite(self, repo, head_sha: str, user: str) -> None:
        with self.lock:
            r = self.repo(repo)
            suite = self.check_suite_for(r, head_sha, self.app_id)
            payload = self._envelope(r, "rerequested", user)
            pulls = [shapes.pull_minimal(self.api_url, p) for p in self.pulls.values()
                     if p.repo is r and p.head_sha == head_sha and p.state == "open"]
            payload["check_suite"] = {
                "id": suite.id, "node_id": shapes.node_id("CheckSuite", suite.id), "head_branch": suite.head_branch,
                "head_sha": head_sha, "status": "completed", "conclusion": None, "before": None, "after": head_sha,
                "url": f"{self.api_url}/repos/{r.full_name}/check-suites/{suite.id}", "pull_requests": pulls,
                "app": check_run_json(self.api_url, CheckRun(0, r, suite, "", head_sha, self.app_id),
                                      self.apps[self.app_id], [])["app"],
                "created_at": self.now_iso(), "updated_at": self.now_iso(), "latest_check_runs_count": 0,
                "check_runs_url": f"{self.api_url}/repos/{r.full_name}/check-suites/{suite.id}/check-runs",
                "head_commit": {"id": head_sha, "tree_id": r.objects.commits[head_sha].tree,
                                "message": r.objects.commits[head_sha].message, "timestamp": self.now_iso(),
                                "author": {"name": "x", "email": "x@example.com"},
                                "committer": {"name": "x", "email": "x@example.com"}},
            }
        self.emit("check_suite", payload, *self._route(r))

    def pull_stats(self, p: PullRequest) -> dict[str, int]:
        files = self.pull_files(p)
        return {"commits": len(self.pull_commits(p)), "additions": sum(f.additions for f in files),
                "deletions": sum(f.deletions for f in files), "changed_files": len(files)}

    def pull_files(self, p: PullRequest):
        from bot.simulator.diffs import diff_commits
        base = p.repo.objects.merge_base(p.repo.branches.get(p.base_ref, p.base_sha), p.head_sha) or p.base_sha
        key = (base, p.head_sha)  # commits never change, so a diff between two SHAs never does
        cache = p.repo.objects.diff_cache
        if key not in cache:
            cache[key] = diff_commits(p.repo.objects, base, p.head_sha)
        return cache[key]

    def pull_commits(self, p: PullRequest) -> list[str]:
        """Commits on the head not on the base, oldest first (what GitHub lists for a PR)."""
        objs = p.repo.objects
        on_base = set(objs.ancestors(p.repo.branches.get(p.base_ref, p.base_sha)))
        return [c for c in reversed(objs.ancestors(p.head_sha)) if c not in on_base]

    # -- delivery --------------------------------------------------------------------------
    def emit(self, event: str, payload: dict[str, Any], installation_id: int | None,
             repository_id: int | None, redelivery: bool = False, guid: str | None = None,
             background: bool = False) -> SimDelivery:
        """Record and send one delivery; in the background when asked or when `sync_webhooks` is off."""
        body = json.dumps(payload).encode()
        guid = guid or str(uuid.uuid4())
        headers = {"Content-Type": "application/json", "User-Agent": USER_AGENT, "X-GitHub-Event": event,
                   "X-GitHub-Delivery": guid, "X-Hub-Signature-256": sign(self.webhook_secret, body),
                   "X-Hub-Signature": "sha1=" + hmac.new(self.webhook_secret.encode(), body, hashlib.sha1).hexdigest(),
                   "X-GitHub-Hook-ID": "1", "X-GitHub-Hook-Installation-Target-Type": "integration",
                   "X-GitHub-Hook-Installation-Target-ID": str(self.app_id)}
        with self.lock:
            d = Delivery(self.next_id(), guid, event, payload.get("action"), payload, body, headers, installation_id,
                         repository_id, self.now_iso(), redelivery)
            self.deliveries_.append(d)
        if self.sync_webhooks and not background:
            self._send(d)
        else:
            self._pending.append(self._sender.submit(self._send, d))
        return SimDelivery.of(d)

    def deliver(self, event: str, payload: dict[str, Any], installation_id: int | None = None) -> SimDelivery:
        """Send an arbitrary payload (e.g. a published example) signed like any other delivery."""
        repo_id = (payload.get("repository") or {}).get("id")
        return self.emit(event, payload, installation_id or (payload.get("installation") or {}).get("id"), repo_id)

    def _send(self, d: Delivery) -> None:
        url = self.webhook_url
        if not url:
            d.status = "No webhook URL configured"
            return
        start = time.monotonic()
        try:
            resp = httpx.post(url, content=d.body, headers=d.headers, timeout=10.0)
        except httpx.HTTPError as exc:
            code, status, rh, rb = 0, f"We couldn't deliver this payload: {type(exc).__name__}", {}, ""
        else:
            code, rh, rb = resp.status_code, dict(resp.headers), resp.text[:10_000]
            status = "OK" if resp.is_success else f"Invalid HTTP Response: {resp.status_code}"
        with self.lock:
            d.status_code, d.status, d.response_headers, d.response_body = code, status, rh, rb
            d.duration = time.monotonic() - start

    def wait_for_deliveries(self, timeout: float = 30.0) -> None:
        """Block until every queued background delivery (incl. API redeliveries) has been sent."""
        for f in list(self._pending):
            f.result(timeout)
        self._pending = [f for f in self._pending if not f.done()]

    def deliveries(self, event: str | None = None) -> list[SimDelivery]:
        with self.lock:
            return [SimDelivery.of(d) for d in self.deliveries_ if event is None or d.event == event]

    def redeliver(self, delivery_id: int, background: bool = False) -> SimDelivery:
        """Send a recorded delivery again with the same GUID and body (a new record, redelivery=True)."""
        with self.lock:
            old = next((d for d in self.deliveries_ if d.id == delivery_id), None)
            if old is None:
                raise KeyError(f"no delivery {delivery_id}")
        return self.emit(old.event, old.payload, old.installation_id, old.repository_id, redelivery=True, guid=old.guid,
                         background=background)

    def close(self) -> None:
        self._sender.shutdown(wait=True)
