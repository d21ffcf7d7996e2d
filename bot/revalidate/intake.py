"""Which deliveries cause re-validation work (pure: payload in, job out), imported by the webhook intake so
it stays light — the work itself is bot.revalidate.bless.

- a pull request merged into the default branch → a `revalidate` job that blesses the merge commit as the
  baseline when the PR's review passed (`trigger: merge`);
- `/prompt-review bless [reason]` commented on a re-validation issue → a `revalidate` job that blesses what
  the suite does now on that issue's model, if the commenter owns the suite's prompts (`trigger: bless`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum

from bot.service.queue import NewJob

KIND = "revalidate"
ISSUE_LABEL = "prompt-review:revalidate"
REPO_KEY_PR = 0  # a repo's re-validation jobs share one key (owner/repo#0): they run one at a time, in order
BLESS = re.compile(r"/prompt-review\s+bless(?:\s+(.*))?\Z")
MAX_REASON = 500


class Trigger(str, Enum):
    SCHEDULE = "schedule"
    FINGERPRINT = "fingerprint"
    MERGE = "merge"
    BLESS = "bless"


@dataclass(frozen=True)
class Intake:
    job: NewJob
    pr: int | None = None  # the merged PR (the delivery is recorded against it)
    cancel_key: str | None = None  # the merged PR's queued review work, which nobody waits for any more


def _d(value: object) -> dict:
    return value if isinstance(value, dict) else {}


def _s(value: object) -> str | None:
    return value if isinstance(value, str) and "\x00" not in value else None


def _n(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and 0 < value < 2**31 else None


def _id64(value: object) -> int | None:
    """A comment id (GitHub's outgrew 32 bits)."""
    return value if isinstance(value, int) and not isinstance(value, bool) and 0 < value < 2**63 else None


def parse_bless(body: str | None) -> tuple[bool, str | None]:
    """(is it `/prompt-review bless`, its reason) from the first line of a comment."""
    lines = (body or "").strip().splitlines()
    match = BLESS.match(lines[0].strip()) if lines else None
    if match is None:
        return False, None
    return True, ((match.group(1) or "").strip().strip('"').strip()[:MAX_REASON] or None)


def revalidate_job_for(event: str, action: str | None, payload: dict, repo: str, installation_id: int,
                       sender: str | None) -> Intake | None:
    """The re-validation job a delivery causes, or None when it is none of re-validation's business."""
    if event == "pull_request" and action == "closed":
        pr = _d(payload.get("pull_request"))
        number, default = _n(pr.get("number")), _s(_d(payload.get("repository")).get("default_branch"))
        head, commit = _s(_d(pr.get("head")).get("sha")), _s(pr.get("merge_commit_sha"))
        if not pr.get("merged") or number is None or not head or not commit or _s(_d(pr.get("base")).get("ref")) != default:
            return None
        merged_by = _s(_d(pr.get("merged_by")).get("login")) or sender
        job = NewJob(KIND, repo, REPO_KEY_PR, installation_id, "",
                     {"trigger": Trigger.MERGE.value, "pr": number, "pr_head": head, "commit": commit, "by": merged_by})
        return Intake(job, number, f"{repo}#{number}")
    if event == "issue_comment" and action == "created":
        issue, comment = _d(payload.get("issue")), _d(payload.get("comment"))
        number = _n(issue.get("number"))
        listed = issue.get("labels")
        labels = {_s(_d(x).get("name")) for x in (listed if isinstance(listed, list) else [])}
        bless, reason = parse_bless(_s(comment.get("body")))
        if number is None or issue.get("pull_request") or ISSUE_LABEL not in labels or not bless or not sender:
            return None
        if _s(_d(comment.get("user")).get("type")) == "Bot":
            return None  # never act on our own (or another app's) comments
        job = NewJob(KIND, repo, REPO_KEY_PR, installation_id, "",
                     {"trigger": Trigger.BLESS.value, "issue": number, "sender": sender, "reason": reason,
                      "comment_id": _id64(comment.get("id"))})
        return Intake(job)
    return None


__all__ = ["revalidate_job_for", "parse_bless", "Intake", "Trigger", "KIND", "ISSUE_LABEL"]
