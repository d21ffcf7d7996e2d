"""The service's re-validation: run the default branch's suites (repeats from `revalidate`), compare
with the blessed baseline, and keep one issue per (suite, model) — opened when it regresses, updated
on later runs, closed when it recovers. Never a check run: a scheduled run files work, it does not
turn `main` red.

The baseline lives in the audit table (bot.revalidate.store); a merged PR whose review passed, or an
owner's `/prompt-review bless` on the issue, blesses a new one (bot.revalidate.bless).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime

from bot.core.files import FileTree
from bot.core.render import escape
from bot.github.client import InstallationClient
from bot.pipeline.trees import GitHubTree
from bot.revalidate import bless
from bot.revalidate.baseline import Outcome, Revalidation, baseline_from, compare_with_baseline
from bot.revalidate.intake import ISSUE_LABEL, Trigger
from bot.revalidate.run import OverlayTree, Run, run_revision
from bot.revalidate.store import (  # noqa: F401 (re-exported: the store is part of what a job does)
    BASELINE_ACTION, default_branch_head, label_files, load_baseline, marker, save_baseline,
)

log = logging.getLogger("prompt_review")
EXCERPT = 300
# Bounds of an issue's tables (GitHub takes 65,536 characters; escaping can double a cell).
MAX_ROWS, MAX_CLUSTER_ROWS, BODY_BUDGET = 40, 10, 40_000


def due(schedule: str, last_run: datetime, now: datetime) -> bool:
    """Whether a cron `schedule` (UTC) fired after `last_run` and by `now`."""
    from croniter import croniter

    return croniter(schedule, last_run).get_next(datetime) <= now


# -- issues ----------------------------------------------------------------------------------------
def issue_title(o: Outcome, label: str | None = None) -> str:
    return f"Re-validation: {o.suite} regressed on {o.model}" + (f" (the versions `{label}` serves)" if label else "")


def issue_body(o: Outcome, reval: Revalidation, repo: str, label: str | None = None) -> str:
    where = f"`{reval.sha[:7]}` with the prompt versions label {escape.code(label)} serves" if label else f"`{reval.sha[:7]}`"
    lines = [marker(o.suite, o.model, label),
             f"### ❌ {len(o.regressed)} case{'s' if len(o.regressed) != 1 else ''} of {escape.code(o.suite)} regressed on "
             f"{escape.code(o.model)} at {where}",
             "",
             f"Compared with the baseline blessed at `{reval.baseline_sha[:7]}` · pass rate "
             f"{_pct(o.tally.pass_rate_base)} → {_pct(o.tally.pass_rate_head)} · {escape.inline(reval.verdict.headline)}", ""]
    for change in reval.changes:
        if change.model == o.model:
            lines += [f"**The model changed behind its name:** {escape.inline(change.describe())}", ""]
    rows, left = 0, list(o.clusters)
    while left and rows < MAX_ROWS and sum(len(x) + 1 for x in lines) < BODY_BUDGET:
        cl = left.pop(0)  # as a review shows them: the cases that fail the same way together, biggest first
        failing = "; ".join(cl.assertions)
        lines += [f"#### {len(cl.cases)} regressed" + (f" — failing {escape.inline(failing[:EXCERPT])}" if failing else ""), "",
                  "| Case | Runs passed | Baseline output | Now |", "|---|---|---|---|"]
        shown = cl.cases[:min(MAX_CLUSTER_ROWS, MAX_ROWS - rows)]
        for c in shown:
            b, n = c.base, c.now
            lines.append(f"| {escape.cell(c.description[:EXCERPT])} | {_runs(b)} → {_runs(n)} | {escape.cell((b.output if b else '')[:EXCERPT])} | "
                         f"{escape.cell((n.output if n else '')[:EXCERPT])} |")
        rows += len(shown)
        if len(cl.cases) > len(shown):
            lines.append(f"\n… and {len(cl.cases) - len(shown)} more cases in this cluster.")
        lines.append("")
    if left:
        lines += [f"… and {len(left)} more clusters ({sum(len(cl.cases) for cl in left)} cases): "
                  "`prompt-review revalidate` lists every case.", ""]
    lines += ["This issue is updated on each re-validation and closed when the suite recovers. If the new behaviour "
              "is right, an owner blesses it as the baseline (`prompt-review revalidate --bless`, or `/prompt-review bless` here)."]
    return "\n".join(lines) + "\n"


def _runs(side) -> str:
    return f"{side.passes}/{side.runs}" if side is not None else "—"


def _pct(rate: float | None) -> str:
    return "—" if rate is None else f"{rate * 100:.1f}%"


@dataclass(frozen=True)
class IssueSync:
    opened: tuple[int, ...] = ()
    updated: tuple[int, ...] = ()
    closed: tuple[int, ...] = ()


def sync_issues(client: InstallationClient, repo: str, reval: Revalidation, label: str | None = None) -> IssueSync:
    """One open issue per regressed (suite, model): found by its marker, updated, or created; closed on recovery."""
    existing: dict[str, dict] = {}
    for found in client._paginate(f"/repos/{repo}/issues", params={"labels": ISSUE_LABEL, "state": "open"}):
        first = (found.get("body") or "").split("\n", 1)[0]
        existing.setdefault(first, found)
    opened: list[int] = []
    updated: list[int] = []
    closed: list[int] = []
    for o in reval.outcomes:
        key = marker(o.suite, o.model, label)
        issue = existing.get(key)
        if o.regressed and o.blocking:
            body = issue_body(o, reval, repo, label)
            if issue is None:
                created = client._call("POST", f"/repos/{repo}/issues", json={"title": issue_title(o, label), "body": body, "labels": [ISSUE_LABEL]}).json()
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
    label: str | None = None  # None: the default branch as committed
    labels: tuple["RunSummary", ...] = ()  # the runs of the versions each `revalidate.labels` label serves


def _revalidate(client: InstallationClient, engine, repo: str, env: Mapping[str, str], trigger: str, sha: str,
                tree: FileTree, label: str | None = None) -> tuple[RunSummary, Run]:
    run = run_revision(tree, env)
    report = run.report
    baseline = load_baseline(engine, repo, label)
    if baseline is None:
        written = not report.verdict.could_not_check and not report.errors
        if written:
            ref = f"label {label}" if label else "default branch"
            save_baseline(engine, repo, baseline_from(report, sha, ref, run.repeats), "prompt-review", f"first run ({trigger})", label)
        return RunSummary(sha, written, None, IssueSync(), label), run
    reval = compare_with_baseline(baseline, report, sha, run.config.evals)
    if reval.verdict.could_not_check:
        log.warning("re-validation of %s%s could not check: %s", repo, f" ({label})" if label else "", reval.verdict.could_not_check)
        return RunSummary(sha, False, reval, IssueSync(), label), run  # an outage is not a regression: no issue churn
    return RunSummary(sha, False, reval, sync_issues(client, repo, reval, label), label), run


def revalidate_repo(client: InstallationClient, engine, repo: str, env: Mapping[str, str], trigger: str = "schedule") -> RunSummary:
    """The default branch's suites, then the same suites over the versions each `revalidate.labels` label serves."""
    sha = default_branch_head(client, repo)
    tree = GitHubTree(client, repo, sha, {})
    summary, run = _revalidate(client, engine, repo, env, trigger, sha, tree)
    labelled = []
    for label in (run.config.revalidate.labels if run.config.revalidate else []):
        files = label_files(client, engine, repo, label)
        if not files:
            log.info("%s: label %s serves no prompt yet; nothing to re-validate for it", repo, label)
            continue
        labelled.append(_revalidate(client, engine, repo, env, trigger, sha, OverlayTree(tree, files), label)[0])
    return replace(summary, labels=tuple(labelled))


def run_revalidate_job(worker, job) -> None:
    """The worker's `revalidate` job: one repository, the trigger in the payload."""
    client = worker.app.installation(job.installation_id)
    trigger = str(job.payload.get("trigger") or Trigger.SCHEDULE.value)
    if trigger == Trigger.MERGE.value:
        bless.bless_merge(client, worker.engine, job.repo, worker.env, job.payload)
        return
    if trigger == Trigger.BLESS.value:
        done = bless.bless_issue(client, worker.engine, job.repo, worker.env, job.payload)
        log.info("bless on %s#%s by %s: %s", job.repo, done.issue, job.payload.get("sender"), "done" if done.allowed else "refused")
        return
    summary = revalidate_repo(client, worker.engine, job.repo, worker.env, trigger)
    log.info("re-validated %s at %s: %s", job.repo, summary.sha[:7],
             "baseline written" if summary.baseline_written else summary.revalidation.verdict.headline if summary.revalidation else "")
