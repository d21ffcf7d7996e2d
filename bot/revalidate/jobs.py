"""The service's re-validation: run the default branch's suites (repeats from `revalidate`), compare
with the blessed baseline, and keep one issue per (suite, model) — opened when it regresses, updated
on later runs, closed when it recovers. Never a check run: a scheduled run files work, it does not
turn `main` red.

The baseline lives in the audit table (action `revalidate_baseline`): blessing one is an audited act.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.core.render import escape
from bot.github.client import InstallationClient
from bot.pipeline.trees import GitHubTree
from bot.revalidate.baseline import Baseline, BaselineError, Outcome, Revalidation, baseline_from, compare_with_baseline, parse_baseline
from bot.revalidate.run import run_revision

log = logging.getLogger("prompt_review")
ISSUE_LABEL = "prompt-review:revalidate"
BASELINE_ACTION = "revalidate_baseline"
EXCERPT = 300


def due(schedule: str, last_run: datetime, now: datetime) -> bool:
    """Whether a cron `schedule` (UTC) fired after `last_run` and by `now`."""
    from croniter import croniter

    return croniter(schedule, last_run).get_next(datetime) <= now


# -- the baseline store ----------------------------------------------------------------------------
def load_baseline(engine, repo: str) -> Baseline | None:
    with Session(engine) as session:
        row = session.scalar(select_baseline(repo))
    if row is None:
        return None
    try:
        return parse_baseline(row.details.get("baseline", ""), f"{repo} baseline #{row.id}")
    except BaselineError as exc:
        log.warning("ignoring a stored baseline: %s", exc)
        return None


def select_baseline(repo: str):
    from bot.service.db import AuditEntry

    return (select(AuditEntry).where(AuditEntry.repo == repo, AuditEntry.action == BASELINE_ACTION)
            .order_by(AuditEntry.id.desc()).limit(1))


def save_baseline(engine, repo: str, baseline: Baseline, actor: str, why: str) -> None:
    from bot.service.db import AuditEntry

    with Session(engine) as session, session.begin():
        session.add(AuditEntry(repo=repo, pr=0, head_sha=baseline.sha, action=BASELINE_ACTION, actor=actor,
                               details={"why": why, "baseline": baseline.dumps()}))


# -- issues ----------------------------------------------------------------------------------------
def marker(suite: str, model: str) -> str:
    return f"<!-- prompt-review:revalidate suite={suite} model={model} -->"


def issue_title(o: Outcome) -> str:
    return f"Re-validation: {o.suite} regressed on {o.model}"


def issue_body(o: Outcome, reval: Revalidation, repo: str) -> str:
    lines = [marker(o.suite, o.model),
             f"### ❌ {len(o.regressed)} case{'s' if len(o.regressed) != 1 else ''} of {escape.code(o.suite)} regressed on "
             f"{escape.code(o.model)} at `{reval.sha[:7]}`",
             "",
             f"Compared with the baseline blessed at `{reval.baseline_sha[:7]}` · pass rate "
             f"{_pct(o.tally.pass_rate_base)} → {_pct(o.tally.pass_rate_head)} · {escape.inline(reval.verdict.headline)}", ""]
    for change in reval.changes:
        if change.model == o.model:
            lines += [f"**The model changed behind its name:** {escape.inline(change.describe())}", ""]
    lines += ["| Case | Runs passed | Failing | Baseline output | Now |", "|---|---|---|---|---|"]
    for c in o.regressed:
        b, n = c.base, c.now
        lines.append(f"| {escape.cell(c.description)} | {b.passes}/{b.runs} → {n.passes}/{n.runs} | "  # type: ignore[union-attr]
                     f"{escape.cell('; '.join(n.failed_assertions) if n else '')} | {escape.cell((b.output if b else '')[:EXCERPT])} | "
                     f"{escape.cell((n.output if n else '')[:EXCERPT])} |")
    lines += ["", "This issue is updated on each re-validation and closed when the suite recovers. If the new behaviour "
              "is right, an owner blesses it as the baseline (`prompt-review revalidate --bless`, or `/prompt-review bless` here)."]
    return "\n".join(lines) + "\n"


def _pct(rate: float | None) -> str:
    return "—" if rate is None else f"{rate * 100:.1f}%"


@dataclass(frozen=True)
class IssueSync:
    opened: tuple[int, ...] = ()
    updated: tuple[int, ...] = ()
    closed: tuple[int, ...] = ()


def sync_issues(client: InstallationClient, repo: str, reval: Revalidation) -> IssueSync:
    """One open issue per regressed (suite, model): found by its marker, updated, or created; closed on recovery."""
    existing: dict[str, dict] = {}
    for issue in client._paginate(f"/repos/{repo}/issues", params={"labels": ISSUE_LABEL, "state": "open"}):
        first = (issue.get("body") or "").split("\n", 1)[0]
        existing.setdefault(first, issue)
    opened, updated, closed = [], [], []
    for o in reval.outcomes:
        key = marker(o.suite, o.model)
        issue = existing.get(key)
        if o.regressed and o.blocking:
            body = issue_body(o, reval, repo)
            if issue is None:
                created = client._call("POST", f"/repos/{repo}/issues", json={"title": issue_title(o), "body": body, "labels": [ISSUE_LABEL]}).json()
                opened.append(int(created["number"]))
            else:
                client._call("PATCH", f"/repos/{repo}/issues/{issue['number']}", json={"body": body})
                client._call("POST", f"/repos/{repo}/issues/{issue['number']}/comments",
                             json={"body": f"Still regressed at `{reval.sha[:7]}`: {len(o.regressed)} cases (the description above is updated)."})
                updated.append(int(issue["number"]))
        elif issue is not None and not o.regressed:
            client._call("POST", f"/repos/{repo}/issues/{issue['number']}/comments",
                         json={"body": f"Recovered at `{reval.sha[:7]}`: every case of this suite passes on {o.model} as in the baseline."})
            client._call("PATCH", f"/repos/{repo}/issues/{issue['number']}", json={"state": "closed", "state_reason": "completed"})
            closed.append(int(issue["number"]))
    return IssueSync(tuple(opened), tuple(updated), tuple(closed))


# -- one run ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class RunSummary:
    sha: str
    baseline_written: bool
    revalidation: Revalidation | None
    issues: IssueSync


def default_branch_head(client: InstallationClient, repo: str) -> str:
    branch = client._call("GET", f"/repos/{repo}").json().get("default_branch") or "main"
    (head,) = client._paginate(f"/repos/{repo}/commits", params={"sha": branch}, limit=1)
    return str(head["sha"])


def revalidate_repo(client: InstallationClient, engine, repo: str, env: Mapping[str, str], trigger: str = "schedule") -> RunSummary:
    sha = default_branch_head(client, repo)
    tree = GitHubTree(client, repo, sha, {})
    run = run_revision(tree, env)
    report = run.report
    baseline = load_baseline(engine, repo)
    if baseline is None:
        if not report.verdict.could_not_check and not report.errors:
            save_baseline(engine, repo, baseline_from(report, sha, "default branch", run.repeats), "prompt-review", f"first run ({trigger})")
        return RunSummary(sha, True, None, IssueSync())
    reval = compare_with_baseline(baseline, report, sha, run.config.evals)
    if reval.verdict.could_not_check:
        log.warning("re-validation of %s could not check: %s", repo, reval.verdict.could_not_check)
        return RunSummary(sha, False, reval, IssueSync())  # an outage is not a regression: no issue churn
    return RunSummary(sha, False, reval, sync_issues(client, repo, reval))


def run_revalidate_job(worker, job) -> None:
    """The worker's `revalidate` job: one repository, the trigger in the payload."""
    client = worker.app.installation(job.installation_id)
    summary = revalidate_repo(client, worker.engine, job.repo, worker.env, str(job.payload.get("trigger") or "schedule"))
    log.info("re-validated %s at %s: %s", job.repo, summary.sha[:7],
             "baseline written" if summary.baseline_written else summary.revalidation.verdict.headline if summary.revalidation else "")
