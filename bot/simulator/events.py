"""Webhook payloads and their signed delivery, recorded like GitHub's App delivery log.

Payload shapes follow `@octokit/webhooks-schemas` and the published examples; every send (and
redelivery) is a `Delivery` with the receiver's status, which `GET /app/hook/deliveries` lists.
`Webhooks` is given the simulator's state; the driver builds payloads with it and sends them
after releasing the state's lock, so the bot can call back while a synchronous delivery is in flight.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import uuid
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import httpx

from bot.simulator import checks, documents, shapes
from bot.simulator.records import CheckRun, Delivery, Installation, IssueComment, PullRequest, Repo, Review
from bot.simulator.state import SimState
from bot.simulator.views import SimDelivery

USER_AGENT = "GitHub-Hookshot/prompt-review-simulator"
ZERO_SHA = "0" * 40


def sign(secret: str, body: bytes) -> str:
    """The `X-Hub-Signature-256` value GitHub sends for `body`."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


class Webhooks:
    """Builds the payloads of one simulated GitHub's events and delivers them to its webhook URL."""

    def __init__(self, state: SimState) -> None:
        self.state = state
        self._sender = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sim-webhooks")  # keeps order
        self._pending: list[Future[None]] = []

    # -- payloads (call with the state's lock held) -------------------------------------------
    def envelope(self, r: Repo, action: str | None, sender: str) -> dict[str, Any]:
        s = self.state
        out: dict[str, Any] = {"action": action} if action else {}
        out["repository"] = shapes.repository(s.api_url, r)
        if r.owner.type == "Organization":
            out["organization"] = documents.org_json(s, r.owner.login)
        out["sender"] = shapes.user(s.api_url, s.account(sender))
        inst = s.installation_for(r)
        if inst:
            out["installation"] = {"id": inst.id, "node_id": shapes.node_id("Installation", inst.id)}
        return out

    def pull_payload(self, p: PullRequest, action: str, sender: str, **extra: Any) -> dict[str, Any]:
        out = self.envelope(p.repo, action, sender)
        out["number"] = p.number
        out["pull_request"] = documents.pull_json(self.state, p)
        out.update(extra)
        return out

    def review_payload(self, rv: Review, action: str, sender: str) -> dict[str, Any]:
        out = self.envelope(rv.pull.repo, action, sender)
        review = shapes.review(self.state.api_url, rv)
        review["state"] = rv.state.lower()  # webhooks use lower-case states
        out["review"] = review
        out["pull_request"] = shapes.simple_pull_request(self.state.api_url, rv.pull)
        return out

    def installation_payload(self, inst: Installation, action: str, sender: str) -> dict[str, Any]:
        # no `requester`: GitHub names one only when someone asked an admin to install (never null)
        s = self.state
        return {"action": action, "installation": documents.installation_json(s, inst),
                "repositories": documents.repo_refs(s, s.installed_repo_names(inst)),
                "sender": shapes.user(s.api_url, s.account(sender))}

    def repositories_added_payload(self, inst: Installation, names: list[str], sender: str) -> dict[str, Any]:
        s = self.state
        return {"action": "added", "installation": documents.installation_json(s, inst),
                "repository_selection": "all" if inst.repos is None else "selected",
                "repositories_added": documents.repo_refs(s, names), "repositories_removed": [], "requester": None,
                "sender": shapes.user(s.api_url, s.account(sender))}

    def check_run_payload(self, run: CheckRun, action: str, sender: str, **extra: Any) -> dict[str, Any]:
        out = self.envelope(run.repo, action, sender)
        cr = documents.check_run_json(self.state, run)
        suite = run.suite
        cr["check_suite"] = {
            "id": suite.id, "node_id": shapes.node_id("CheckSuite", suite.id), "head_branch": suite.head_branch,
            "head_sha": suite.head_sha, "status": run.status, "conclusion": run.conclusion,
            "url": f"{self.state.api_url}/repos/{run.repo.full_name}/check-suites/{suite.id}", "before": None,
            "after": suite.head_sha, "pull_requests": cr["pull_requests"], "app": cr["app"],
            "created_at": run.started_at, "updated_at": run.completed_at or run.started_at,
        }
        out["check_run"] = cr
        out.update(extra)
        return out

    def check_suite_payload(self, r: Repo, head_sha: str, action: str, sender: str) -> dict[str, Any]:
        s = self.state
        api = s.api_url
        suite = s.check_suite_for(r, head_sha, s.app_id)
        out = self.envelope(r, action, sender)
        commit = r.objects.commits[head_sha]
        out["check_suite"] = {
            "id": suite.id, "node_id": shapes.node_id("CheckSuite", suite.id), "head_branch": suite.head_branch,
            "head_sha": head_sha, "status": "completed", "conclusion": None, "before": None, "after": head_sha,
            "url": f"{api}/repos/{r.full_name}/check-suites/{suite.id}",
            "pull_requests": [shapes.pull_minimal(api, p) for p in s.open_pulls_at(r, head_sha)],
            "app": checks.integration(api, s.apps[s.app_id]),
            "created_at": s.now_iso(), "updated_at": s.now_iso(), "latest_check_runs_count": 0,
            "check_runs_url": f"{api}/repos/{r.full_name}/check-suites/{suite.id}/check-runs",
            "head_commit": {"id": head_sha, "tree_id": commit.tree, "message": commit.message, "timestamp": s.now_iso(),
                            "author": {"name": "x", "email": "x@example.com"},
                            "committer": {"name": "x", "email": "x@example.com"}},
        }
        return out

    def push_payload(self, r: Repo, branch: str, before: str, after: str, pusher: str) -> dict[str, Any]:
        s = self.state
        api = s.api_url
        known = set(r.objects.ancestors(before)) if before != ZERO_SHA else set()
        shas = [c for c in reversed(r.objects.ancestors(after)) if c not in known]
        commits = [self._push_commit(r, sha) for sha in shas]
        repo = shapes.repository(api, r)
        repo.update({"pushed_at": int(s.now()), "created_at": int(s.now()) - 1000, "stargazers": 0,
                     "master_branch": r.default_branch})
        out = {"ref": f"refs/heads/{branch}", "before": before, "after": after, "created": before == ZERO_SHA,
               "deleted": False, "forced": False, "base_ref": None,
               "compare": f"{shapes.WEB}/{r.full_name}/compare/{before[:12]}...{after[:12]}",
               "commits": commits, "head_commit": commits[-1] if commits else None, "repository": repo,
               "pusher": {"name": pusher, "email": f"{pusher}@users.noreply.github.com"},
               "sender": shapes.user(api, s.account(pusher))}
        inst = s.installation_for(r)
        if inst:
            out["installation"] = {"id": inst.id, "node_id": shapes.node_id("Installation", inst.id)}
        if r.owner.type == "Organization":
            out["organization"] = documents.org_json(s, r.owner.login)
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

    def comment_payload(self, c: IssueComment, action: str) -> dict[str, Any]:
        s = self.state
        out = self.envelope(c.repo, action, c.user.login)
        issue = s.issues.get((c.repo.full_name, c.issue_number))
        # a comment on an issue carries the issue as the Issues API has it (labels, body); on a pull request, its issue side
        out["issue"] = (documents.issue_json(s, issue) if issue is not None else
                        documents.pull_issue_json(s, c.repo, c.issue_number, s.pulls.get((c.repo.full_name, c.issue_number))))
        out["comment"] = documents.comment_json(s, c)
        return out

    # -- delivery --------------------------------------------------------------------------
    def emit(self, event: str, payload: dict[str, Any], installation_id: int | None,
             repository_id: int | None, redelivery: bool = False, guid: str | None = None,
             background: bool = False) -> SimDelivery:
        """Record and send one delivery; in the background when asked or when `sync_webhooks` is off."""
        s = self.state
        body = json.dumps(payload).encode()
        guid = guid or str(uuid.uuid4())
        headers = {"Content-Type": "application/json", "User-Agent": USER_AGENT, "X-GitHub-Event": event,
                   "X-GitHub-Delivery": guid, "X-Hub-Signature-256": sign(s.webhook_secret, body),
                   "X-Hub-Signature": "sha1=" + hmac.new(s.webhook_secret.encode(), body, hashlib.sha1).hexdigest(),
                   "X-GitHub-Hook-ID": "1", "X-GitHub-Hook-Installation-Target-Type": "integration",
                   "X-GitHub-Hook-Installation-Target-ID": str(s.app_id)}
        with s.lock:
            d = Delivery(s.next_id(), guid, event, payload.get("action"), payload, body, headers, installation_id,
                         repository_id, s.now_iso(), redelivery)
            s.deliveries.append(d)
        if s.sync_webhooks and not background:
            self._send(d)
        else:
            self._pending.append(self._sender.submit(self._send, d))
        return SimDelivery.of(d)

    def about(self, event: str, r: Repo, payload: dict[str, Any]) -> SimDelivery:
        """Send `payload` as an event about repository `r` (recorded under its installation)."""
        with self.state.lock:
            installation_id, repository_id = self.state.route(r)
        return self.emit(event, payload, installation_id, repository_id)

    def deliver(self, event: str, payload: dict[str, Any], installation_id: int | None = None) -> SimDelivery:
        """Send an arbitrary payload (e.g. a published example) signed like any other delivery."""
        repo_id = (payload.get("repository") or {}).get("id")
        return self.emit(event, payload, installation_id or (payload.get("installation") or {}).get("id"), repo_id)

    def _send(self, d: Delivery) -> None:
        s = self.state
        url = s.webhook_url
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
        with s.lock:
            d.status_code, d.status, d.response_headers, d.response_body = code, status, rh, rb
            d.duration = time.monotonic() - start

    def wait_for_deliveries(self, timeout: float = 30.0) -> None:
        """Block until every queued background delivery (incl. API redeliveries) has been sent."""
        for f in list(self._pending):
            f.result(timeout)
        self._pending = [f for f in self._pending if not f.done()]

    def deliveries(self, event: str | None = None) -> list[SimDelivery]:
        with self.state.lock:
            return [SimDelivery.of(d) for d in self.state.deliveries if event is None or d.event == event]

    def redeliver(self, delivery_id: int, background: bool = False) -> SimDelivery:
        """Send a recorded delivery again with the same GUID and body (a new record, redelivery=True)."""
        with self.state.lock:
            old = next((d for d in self.state.deliveries if d.id == delivery_id), None)
            if old is None:
                raise KeyError(f"no delivery {delivery_id}")
        return self.emit(old.event, old.payload, old.installation_id, old.repository_id, redelivery=True, guid=old.guid,
                         background=background)

    def close(self) -> None:
        self._sender.shutdown(wait=True)
