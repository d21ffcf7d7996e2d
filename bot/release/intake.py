"""Which deliveries cause release work (pure: payload in, job out); imported by the webhook intake,
so it stays light — the work itself is bot.release.jobs."""

from __future__ import annotations

from bot.core.release import parse_command
from bot.service.queue import NewJob

KIND = "release"
BUTTON_VERBS = ("deploy", "rollback")  # a check-run button's identifier is VERB_LABEL
PUSH_KEY_PR = 0  # push jobs of a repo share one key (owner/repo#0): they run one at a time, in order


MAX_BACKFILL_REPOS = 100  # repos one installation delivery backfills; others: `prompt-review versions sync`
MAX_REPO_CHARS = 300


def _d(value: object) -> dict:
    return value if isinstance(value, dict) else {}


def _s(value: object) -> str | None:
    return value if isinstance(value, str) and "\x00" not in value else None


def release_job_for(event: str, action: str | None, payload: dict, repo: str, installation_id: int,
                    sender: str | None) -> NewJob | None:
    """The release job a delivery causes, or None when it is none of the release half's business."""
    if event == "push":
        ref, default = _s(payload.get("ref")), _s(_d(payload.get("repository")).get("default_branch"))
        after = _s(payload.get("after"))
        if not ref or not default or ref != f"refs/heads/{default}" or not after or set(after) == {"0"}:
            return None
        head = _d(payload.get("head_commit"))
        author = _s(_d(head.get("author")).get("username")) or _s(_d(payload.get("pusher")).get("name")) or sender
        return NewJob(KIND, repo, PUSH_KEY_PR, installation_id, after,
                      {"op": "push", "before": _s(payload.get("before")), "author": author,
                       "timestamp": _s(head.get("timestamp"))})
    if event == "issue_comment" and action == "created":
        issue, comment = _d(payload.get("issue")), _d(payload.get("comment"))
        number = issue.get("number")
        body = _s(comment.get("body")) or ""
        if not issue.get("pull_request") or not isinstance(number, int) or parse_command(body) is None:
            return None
        if _s(_d(comment.get("user")).get("type")) == "Bot":
            return None  # never act on our own (or another app's) replies
        return NewJob(KIND, repo, number, installation_id, "0" * 40,
                      {"op": "command", "body": body[:2000], "sender": sender, "comment_id": comment.get("id")})
    if event == "check_run" and action == "requested_action":
        identifier = _s(_d(payload.get("requested_action")).get("identifier")) or ""
        run = _d(payload.get("check_run"))
        verb, _, label = identifier.partition("_")
        if verb not in BUTTON_VERBS or not label or not _s(run.get("head_sha")):
            return None
        prs = [p.get("number") for p in run.get("pull_requests") or [] if isinstance(p, dict)]
        number = next((n for n in prs if isinstance(n, int)), PUSH_KEY_PR)
        return NewJob(KIND, repo, number, installation_id, run["head_sha"],
                      {"op": "button", "verb": verb, "label": label, "sender": sender})
    return None


def backfill_jobs_for(event: str, action: str | None, payload: dict) -> list[NewJob]:
    """The App was installed on repos (installation.created, installation_repositories.added): one
    versions sync per repo, as `prompt-review versions sync --repo` does. It shares the repo's push key,
    so it never runs beside a push's recording; a redelivery records nothing twice."""
    if (event, action) == ("installation", "created"):
        items = payload.get("repositories")
    elif (event, action) == ("installation_repositories", "added"):
        items = payload.get("repositories_added")
    else:
        return []
    installation_id = _d(payload.get("installation")).get("id")
    if not isinstance(installation_id, int) or isinstance(installation_id, bool) or not isinstance(items, list):
        return []
    names = [n for n in (_s(_d(i).get("full_name")) for i in items)
             if n and n.count("/") == 1 and len(n) <= MAX_REPO_CHARS]
    return [NewJob(KIND, name, PUSH_KEY_PR, installation_id, "0" * 40, {"op": "sync"})
            for name in names[:MAX_BACKFILL_REPOS]]
