"""From a verified webhook delivery to the jobs it causes. Pure: payload dict in, decision out."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from bot.release.intake import backfill_jobs_for, release_job_for
from bot.revalidate.intake import revalidate_job_for
from bot.service.queue import NewJob

MAX_REPO_CHARS = 300  # owner (39) + "/" + name (100) fits with room; the column holds 300
SHA = re.compile(r"[0-9a-f]{40}(?:[0-9a-f]{24})?")  # SHA-1, or SHA-256 repositories
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


def _d(value: object) -> dict:
    """A payload object, or {} when GitHub (or an attacker with the secret) sent something else."""
    return value if isinstance(value, dict) else {}


def _s(value: object) -> str | None:
    """A payload string as the database can store it (PostgreSQL text holds no NUL), else None."""
    return value if isinstance(value, str) and "\x00" not in value else None


def _names(items: object, key: str) -> list[str]:
    return [v for v in (_d(i).get(key) for i in (items if isinstance(items, list) else [])) if isinstance(v, str)]


def _repo(payload: dict) -> str | None:
    name = _s(_d(payload.get("repository")).get("full_name"))
    return name if name and len(name) <= MAX_REPO_CHARS else None


def _id(value: object) -> int | None:
    """A PR number or installation id as the database stores it (GitHub's fit in 32 bits)."""
    return value if isinstance(value, int) and not isinstance(value, bool) and 0 < value < 2**31 else None


def _id64(value: object) -> int | None:
    """A check run id (GitHub's outgrew 32 bits)."""
    return value if isinstance(value, int) and not isinstance(value, bool) and 0 < value < 2**63 else None


def _sha(value: object) -> str | None:
    return value if isinstance(value, str) and SHA.fullmatch(value) else None


def _installation_id(payload: dict) -> int | None:
    inst = payload.get("installation")
    return _id(inst.get("id")) if isinstance(inst, dict) else None


def _pr_payload(pr: dict, action: str | None, sender: str | None, label: str | None = None) -> dict:
    head, base = _d(pr.get("head")), _d(pr.get("base"))
    head_repo = _s(_d(head.get("repo")).get("full_name"))
    base_repo = _s(_d(base.get("repo")).get("full_name"))
    return {
        "action": action,
        "base_ref": _s(base.get("ref")),
        "base_sha": _sha(base.get("sha")),
        "head_ref": _s(head.get("ref")),
        "author": _s(_d(pr.get("user")).get("login")),
        "fork": bool(head_repo and base_repo and head_repo != base_repo),
        "labels": _names(pr.get("labels"), "name"),
        "draft": bool(pr.get("draft")),
        "sender": sender,
        "label": label,
    }


def _from_fork(pull: dict) -> bool:
    """A check payload's minimal PR: head and base repositories differ (GitHub usually omits fork PRs there)."""
    head, base = _d(_d(pull.get("head")).get("repo")).get("id"), _d(_d(pull.get("base")).get("repo")).get("id")
    return head is not None and base is not None and head != base


def decide(event: str, payload: dict) -> Decision:
    action = _s(payload.get("action"))
    repo = _repo(payload)
    installation_id = _installation_id(payload)
    sender = _s(_d(payload.get("sender")).get("login"))

    if event in ("installation", "installation_repositories"):
        inst = _d(payload.get("installation"))
        backfill = backfill_jobs_for(event, action, payload)  # versions of the repos it was installed on
        return Decision(
            outcome="queued" if backfill else "recorded",
            jobs=backfill,
            installation={
                "id": inst.get("id"),
                "account": _s(_d(inst.get("account")).get("login")) or "",
                "active": action not in ("deleted", "suspend"),
                "repos": _names(payload.get("repositories"), "full_name"),
                "added": _names(payload.get("repositories_added"), "full_name"),
                "removed": _names(payload.get("repositories_removed"), "full_name"),
            }
            if _id(inst.get("id")) is not None
            else None,
        )

    if repo is None or installation_id is None:
        return Decision(outcome="ignored", repo=repo)

    release_job = release_job_for(event, action, payload, repo, installation_id, sender)
    if release_job is not None:  # push to the default branch, deploy comment or button
        return Decision(outcome="queued", repo=repo, pr=release_job.pr or None, jobs=[release_job])

    reval = revalidate_job_for(event, action, payload, repo, installation_id, sender)
    if reval is not None:  # a PR merged into the default branch, or `/prompt-review bless` on a re-validation issue
        return Decision(outcome="queued", repo=repo, pr=reval.pr, jobs=[reval.job], cancel_key=reval.cancel_key)

    if event == "pull_request" and isinstance(payload.get("pull_request"), dict):
        pr = payload["pull_request"]
        number, head_sha = _id(pr.get("number")), _sha(_d(pr.get("head")).get("sha"))
        if number is None or head_sha is None:
            return Decision(outcome="ignored", repo=repo)
        key = f"{repo}#{number}"
        if action == "closed":
            return Decision(outcome="recorded", repo=repo, pr=number, cancel_key=key)
        base_changed = action == "edited" and "base" in _d(payload.get("changes"))
        labeled_for_forks = action == "labeled"  # the pipeline decides whether the label unlocks fork evals
        if action in PR_REVIEW_ACTIONS or base_changed or labeled_for_forks:
            label = _s(_d(payload.get("label")).get("name"))
            job = NewJob("review", repo, number, installation_id, head_sha, _pr_payload(pr, action, sender, label))
            return Decision(outcome="queued", repo=repo, pr=number, jobs=[job])
        return Decision(outcome="recorded", repo=repo, pr=number)

    if event == "pull_request_review" and isinstance(payload.get("pull_request"), dict):
        pr = payload["pull_request"]
        number, head_sha = _id(pr.get("number")), _sha(_d(pr.get("head")).get("sha"))
        if action in REVIEW_EVENTS_ACTIONS and number is not None and head_sha is not None:
            job = NewJob("approval", repo, number, installation_id, head_sha, _pr_payload(pr, action, sender))
            return Decision(outcome="queued", repo=repo, pr=number, jobs=[job])
        return Decision(outcome="recorded", repo=repo, pr=number)

    if event in ("check_run", "check_suite"):
        obj = _d(payload.get(event))
        listed = obj.get("pull_requests")
        pulls = listed if isinstance(listed, list) else []
        prs = [p for p in pulls if isinstance(p, dict) and _id(p.get("number")) is not None]
        head_sha = _sha(obj.get("head_sha"))
        if event == "check_run" and action == "requested_action" and prs and head_sha is not None:
            identifier = _d(payload.get("requested_action")).get("identifier")
            job = NewJob(
                "accept_regression",
                repo,
                prs[0]["number"],
                installation_id,
                head_sha,
                {"identifier": _s(identifier), "sender": sender, "check_run_id": _id64(obj.get("id")), "check_name": _s(obj.get("name"))},
            )
            return Decision(outcome="queued", repo=repo, pr=prs[0]["number"], jobs=[job])
        if action == "rerequested" and prs and head_sha is not None:
            # A re-run gets new check runs (the worker keys them by job); a fork PR keeps its label gate.
            jobs = [
                NewJob("review", repo, p["number"], installation_id, head_sha,
                       {"action": "rerequested", "sender": sender, "fork": _from_fork(p)})
                for p in prs
            ]
            return Decision(outcome="queued", repo=repo, pr=prs[0]["number"], jobs=jobs)
        return Decision(outcome="recorded", repo=repo)

    return Decision(outcome="ignored", repo=repo)
