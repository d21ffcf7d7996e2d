"""From a verified webhook delivery to the jobs it causes. Pure: payload dict in, decision out."""

from __future__ import annotations

from dataclasses import dataclass, field

from bot.service.queue import NewJob

PR_REVIEW_ACTIONS = {"opened", "synchronize", "reopened", "ready_for_review"}
REVIEW_EVENTS_ACTIONS = {"submitted", "edited", "dismissed"}


@dataclass
class Decision:
    outcome: str  # queued | recorded | ignored
    repo: str | None = None
    pr: int | None = None
    jobs: list[NewJob] = field(default_factory=list)
    cancel_key: str | None = None
    installation: dict | None = None  # {"id", "account", "repos", "active", "added", "removed"}


def _repo(payload: dict) -> str | None:
    repo = payload.get("repository")
    return repo.get("full_name") if isinstance(repo, dict) else None


def _installation_id(payload: dict) -> int | None:
    inst = payload.get("installation")
    value = inst.get("id") if isinstance(inst, dict) else None
    return value if isinstance(value, int) else None


def _pr_payload(pr: dict, action: str, sender: str | None, label: str | None = None) -> dict:
    head, base = pr.get("head") or {}, pr.get("base") or {}
    head_repo = (head.get("repo") or {}).get("full_name")
    base_repo = (base.get("repo") or {}).get("full_name")
    return {
        "action": action,
        "base_ref": base.get("ref"),
        "base_sha": base.get("sha"),
        "head_ref": head.get("ref"),
        "author": (pr.get("user") or {}).get("login"),
        "fork": bool(head_repo and base_repo and head_repo != base_repo),
        "labels": [label.get("name") for label in pr.get("labels") or [] if isinstance(label, dict)],
        "draft": bool(pr.get("draft")),
        "sender": sender,
        "label": label,
    }


def decide(event: str, payload: dict) -> Decision:
    action = payload.get("action")
    repo = _repo(payload)
    installation_id = _installation_id(payload)
    sender = (payload.get("sender") or {}).get("login") if isinstance(payload.get("sender"), dict) else None

    if event in ("installation", "installation_repositories"):
        inst = payload.get("installation") or {}
        return Decision(
            outcome="recorded",
            installation={
                "id": inst.get("id"),
                "account": ((inst.get("account") or {}).get("login")) or "",
                "active": action not in ("deleted", "suspend"),
                "repos": [r.get("full_name") for r in payload.get("repositories") or [] if isinstance(r, dict)],
                "added": [r.get("full_name") for r in payload.get("repositories_added") or [] if isinstance(r, dict)],
                "removed": [r.get("full_name") for r in payload.get("repositories_removed") or [] if isinstance(r, dict)],
            }
            if isinstance(inst.get("id"), int)
            else None,
        )

    if repo is None or installation_id is None:
        return Decision(outcome="ignored", repo=repo)

    if event == "pull_request" and isinstance(payload.get("pull_request"), dict):
        pr = payload["pull_request"]
        number, head_sha = pr.get("number"), (pr.get("head") or {}).get("sha")
        if not isinstance(number, int) or not isinstance(head_sha, str):
            return Decision(outcome="ignored", repo=repo)
        key = f"{repo}#{number}"
        if action == "closed":
            return Decision(outcome="recorded", repo=repo, pr=number, cancel_key=key)
        base_changed = action == "edited" and "base" in (payload.get("changes") or {})
        labeled_for_forks = action == "labeled"  # the pipeline decides whether the label unlocks fork evals
        if action in PR_REVIEW_ACTIONS or base_changed or labeled_for_forks:
            label = (payload.get("label") or {}).get("name") if isinstance(payload.get("label"), dict) else None
            job = NewJob("review", repo, number, installation_id, head_sha, _pr_payload(pr, action, sender, label))
            return Decision(outcome="queued", repo=repo, pr=number, jobs=[job])
        return Decision(outcome="recorded", repo=repo, pr=number)

    if event == "pull_request_review" and isinstance(payload.get("pull_request"), dict):
        pr = payload["pull_request"]
        number, head_sha = pr.get("number"), (pr.get("head") or {}).get("sha")
        if action in REVIEW_EVENTS_ACTIONS and isinstance(number, int) and isinstance(head_sha, str):
            job = NewJob("approval", repo, number, installation_id, head_sha, _pr_payload(pr, action, sender))
            return Decision(outcome="queued", repo=repo, pr=number, jobs=[job])
        return Decision(outcome="recorded", repo=repo, pr=number if isinstance(number, int) else None)

    if event in ("check_run", "check_suite"):
        obj = payload.get(event) or {}
        prs = [p for p in obj.get("pull_requests") or [] if isinstance(p, dict) and isinstance(p.get("number"), int)]
        head_sha = obj.get("head_sha")
        if event == "check_run" and action == "requested_action" and prs and isinstance(head_sha, str):
            identifier = (payload.get("requested_action") or {}).get("identifier")
            job = NewJob(
                "accept_regression",
                repo,
                prs[0]["number"],
                installation_id,
                head_sha,
                {"identifier": identifier, "sender": sender, "check_run_id": obj.get("id"), "check_name": obj.get("name")},
            )
            return Decision(outcome="queued", repo=repo, pr=prs[0]["number"], jobs=[job])
        if action == "rerequested" and prs and isinstance(head_sha, str):
            jobs = [
                NewJob("review", repo, p["number"], installation_id, head_sha, {"action": "rerequested", "sender": sender})
                for p in prs
            ]
            return Decision(outcome="queued", repo=repo, pr=prs[0]["number"], jobs=jobs)
        return Decision(outcome="recorded", repo=repo)

    return Decision(outcome="ignored", repo=repo)
