"""Blessing a baseline in the service: what later re-validations compare with.

- A pull request merged into the default branch whose review passed (both prompt-review checks succeeded
  on its head, and its review ran evals) → the merge commit's run is the default branch's baseline. A
  (suite, model) with an open re-validation issue keeps its baseline: a merge does not silently accept a
  model's drift; that issue closes when the suite recovers or an owner blesses it.
- `/prompt-review bless [reason]` on a re-validation issue, by an owner of the suite's prompts (the rule of
  approvals and deployments: the owners of every prompt, write access where a prompt is unowned) → that
  suite's run on that model, now, replaces its part of the baseline; the issue is answered and closed.
  Anyone else gets a reply saying why, and nothing changes.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.core.config import CONFIG_PATH, RepoConfig, parse_config
from bot.core.errors import UserError
from bot.core.files import FileTree
from bot.core.release import Ownership, may_move
from bot.core.render import escape
from bot.core.result import APPROVAL_CHECK, EVALS_CHECK
from bot.evals.generators import base_code
from bot.evals.loader import load_suite
from bot.github.client import GitHubError, InstallationClient
from bot.pipeline import github as gh
from bot.pipeline.stages import load_owners, owner_teams
from bot.pipeline.trees import GitHubTree
from bot.revalidate.baseline import Baseline, baseline_from
from bot.revalidate.intake import ISSUE_LABEL
from bot.revalidate.run import OverlayTree, run_revision
from bot.revalidate.store import default_branch_head, label_files, load_baseline, marker, save_baseline
from bot.service.db import ReviewRecord

log = logging.getLogger("prompt_review.revalidate")


# -- a merged PR ------------------------------------------------------------------------------------
def review_passed(client: InstallationClient, engine, repo: str, pr: int, head: str) -> str | None:
    """None when the PR's review at `head` ran evals and both checks succeeded; else why it does not bless."""
    with Session(engine) as session:
        ran = session.scalar(select(ReviewRecord.conclusion).where(
            ReviewRecord.repo == repo, ReviewRecord.pr == pr, ReviewRecord.head_sha == head).order_by(ReviewRecord.id.desc()).limit(1))
    if ran is None or ran == "none":
        return f"#{pr}'s review at {head[:7]} ran no evals"
    for name in (EVALS_CHECK, APPROVAL_CHECK):
        runs = client.check_runs_for(repo, head, name)[:1]
        conclusion = runs[0].get("conclusion") if runs else None
        if conclusion != "success":
            return f"#{pr}'s {name} check is {conclusion or 'missing'}"
    return None


def open_issue_pairs(client: InstallationClient, repo: str, label: str | None, pairs) -> set[tuple[str, str]]:
    """Those of the (suite, model) `pairs` that have an open re-validation issue (found by its marker)."""
    firsts = {(i.get("body") or "").split("\n", 1)[0]
              for i in client._paginate(f"/repos/{repo}/issues", params={"labels": ISSUE_LABEL, "state": "open"})}
    return {p for p in pairs if marker(p[0], p[1], label) in firsts}


def bless_merge(client: InstallationClient, engine, repo: str, env: Mapping[str, str], payload: Mapping) -> Baseline | None:
    """The merge commit's run as the default branch's baseline, when the merged PR's review passed; the baseline written."""
    pr, head, commit = int(payload["pr"]), str(payload["pr_head"]), str(payload["commit"])
    tree = GitHubTree(client, repo, commit, {})
    try:
        config = parse_config(tree.read(CONFIG_PATH))
    except UserError as exc:
        log.info("%s: #%s merged, but its repo config is invalid (%s): the baseline stands", repo, pr, exc)
        return None
    if config.revalidate is None:
        return None  # re-validation is not configured: no baseline to keep
    why_not = review_passed(client, engine, repo, pr, head)
    if why_not is not None:
        log.info("%s: #%s merged; %s: the baseline stands", repo, pr, why_not)
        return None
    run = run_revision(tree, env)
    if run.report.errors or run.report.verdict.could_not_check:
        log.warning("%s: #%s merged but its suites could not be run (%s): the baseline stands", repo, pr,
                    run.report.verdict.could_not_check or "; ".join(str(e) for e in run.report.errors))
        return None
    fresh = baseline_from(run.report, commit, "default branch", run.repeats)
    old = load_baseline(engine, repo)
    if old is not None:
        kept = open_issue_pairs(client, repo, None, {(c.suite, c.model) for c in old.cases.values()})
        fresh = carry_over(fresh, old, kept)
    save_baseline(engine, repo, fresh, str(payload.get("by") or "prompt-review"), f"#{pr} merged with a passing review")
    log.info("%s: #%s merged with a passing review: baseline blessed at %s", repo, pr, commit[:7])
    return fresh


def carry_over(fresh: Baseline, old: Baseline, pairs: set[tuple[str, str]]) -> Baseline:
    """`fresh` with the (suite, model) `pairs` as `old` had them (cases, and what each model reported)."""
    if not pairs:
        return fresh
    cases = {k: c for k, c in fresh.cases.items() if (c.suite, c.model) not in pairs}
    cases.update({k: c for k, c in old.cases.items() if (c.suite, c.model) in pairs})
    models = dict(fresh.models)
    models.update({m: old.models[m] for _, m in pairs if m in old.models})
    return fresh.model_copy(update={"cases": cases, "models": models})


def replace_pair(old: Baseline, fresh: Baseline, suite: str, model: str) -> Baseline:
    """`old` with (suite, model) as `fresh` has it: the part of the baseline one bless speaks for."""
    cases = {k: c for k, c in old.cases.items() if (c.suite, c.model) != (suite, model)}
    cases.update({k: c for k, c in fresh.cases.items() if (c.suite, c.model) == (suite, model)})
    models = dict(old.models)
    if model in fresh.models:
        models[model] = fresh.models[model]
    return old.model_copy(update={"cases": cases, "models": models, "sha": fresh.sha})


# -- `/prompt-review bless` on an issue ------------------------------------------------------------
@dataclass(frozen=True)
class Blessed:
    issue: int
    allowed: bool
    reply: str
    baseline: Baseline | None = None


class _Refused(Exception):
    pass


def issue_pair(issue: dict, engine, repo: str, labels: list[str]) -> tuple[str, str, str | None]:
    """(suite, model, label) of a re-validation issue: its first line is the marker of a pair a baseline knows."""
    first = (issue.get("body") or "").split("\n", 1)[0]
    for label in [None, *labels]:
        known = load_baseline(engine, repo, label)
        for suite, model in sorted({(c.suite, c.model) for c in (known.cases.values() if known else ())}):
            if marker(suite, model, label) == first:
                return suite, model, label
    raise _Refused("this issue names no suite and model of a stored re-validation baseline")


def suite_prompts(tree: FileTree, suite_path: str, model: str) -> list[str]:
    """The prompt files the suite runs on `model` (its variant, when providers select prompts)."""
    suite, errors = load_suite(tree, suite_path, code=base_code())  # the default branch's own generators run
    if suite is None:
        raise _Refused(f"{suite_path} cannot be loaded at the default branch: "
                       + ("; ".join(str(e) for e in errors) or "it is missing"))
    slots = [p for p in suite.providers if p.slot == model]
    return sorted({pr.source for pr in suite.prompts if pr.source and (not slots or any(p.runs(pr) for p in slots))})


def ownership(client: InstallationClient, tree: FileTree, config: RepoConfig, repo: str, actor: str, paths: list[str]) -> Ownership:
    owners = load_owners(tree, config)
    teams = gh.team_resolver(client)(owner_teams(owners, paths))
    return Ownership({p: owners.owners_for(p) for p in paths}, teams,
                     client.permission(repo, actor) in ("admin", "maintain", "write"))


def bless_issue(client: InstallationClient, engine, repo: str, env: Mapping[str, str], payload: Mapping) -> Blessed:
    """Bless what the issue's suite does now on its model, if the commenter owns the suite's prompts;
    answered on the issue (a reaction on the command, a reply) whatever the outcome."""
    number, sender = int(payload["issue"]), str(payload.get("sender") or "")
    try:
        issue = client._call("GET", f"/repos/{repo}/issues/{number}").json()
        if issue.get("state") != "open":
            raise _Refused("this issue is closed: the suite recovered or was blessed already")
        sha = default_branch_head(client, repo)
        tree: FileTree = GitHubTree(client, repo, sha, {})
        try:
            config = parse_config(tree.read(CONFIG_PATH))
        except UserError as exc:
            raise _Refused(f"{CONFIG_PATH} on the default branch is invalid: {exc}") from None
        suite, model, label = issue_pair(issue, engine, repo, list(config.revalidate.labels) if config.revalidate else [])
        prompts = suite_prompts(tree, suite, model)
        allowed, why = may_move(sender, prompts, ownership(client, tree, config, repo, sender, prompts), act="bless this baseline")
        if not allowed:
            raise _Refused(why)
        if label is not None:
            tree = OverlayTree(tree, label_files(client, engine, repo, label))
        run = run_revision(tree, env, [suite])
        if run.report.errors or run.report.verdict.could_not_check:
            raise _Refused("the suite could not be run now ("
                           + (run.report.verdict.could_not_check or "; ".join(str(e) for e in run.report.errors)) + ")")
        fresh = baseline_from(run.report, sha, f"label {label}" if label else "default branch", run.repeats)
        old = load_baseline(engine, repo, label) or fresh
        blessed = replace_pair(old, fresh, suite, model)
    except _Refused as exc:
        _react(client, repo, payload.get("comment_id"), "-1")
        reply = f"@\u200d{sender}: `/prompt-review bless` refused: {exc}. Nothing changed."
        client._call("POST", f"/repos/{repo}/issues/{number}/comments", json={"body": reply})
        return Blessed(number, False, reply)
    reason = payload.get("reason")
    save_baseline(engine, repo, blessed, sender, f"blessed on #{number}" + (f": {reason}" if reason else ""), label)
    _react(client, repo, payload.get("comment_id"), "+1")
    ours = [c for c in blessed.cases.values() if (c.suite, c.model) == (suite, model)]
    passing = sum(1 for c in ours if c.passed)
    seen = blessed.models.get(model)
    reply = (f"Blessed by @\u200d{sender}: {escape.code(suite)} on {escape.code(model)} as it answers at `{sha[:7]}`"
             + (f" with the versions {escape.code(label)} serves" if label else "")
             + f" is the baseline now ({passing} of {len(ours)} cases pass"
             + (f"; {escape.inline(seen.describe())}" if seen else "") + "). Later re-validations compare with it."
             + (f"\n\nReason: {escape.inline(str(reason))}" if reason else ""))
    client._call("POST", f"/repos/{repo}/issues/{number}/comments", json={"body": reply})
    client._call("PATCH", f"/repos/{repo}/issues/{number}", json={"state": "closed", "state_reason": "completed"})
    return Blessed(number, True, reply, blessed)


def _react(client: InstallationClient, repo: str, comment_id: object, content: str) -> None:
    if isinstance(comment_id, int):
        try:
            client._call("POST", f"/repos/{repo}/issues/comments/{comment_id}/reactions", json={"content": content})
        except GitHubError as exc:  # a missing reaction is cosmetic; the reply says what happened
            log.warning("could not react to comment %s: %s", comment_id, exc)
