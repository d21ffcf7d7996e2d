"""The explanation as the templates lay it out: causes in words (which change broke which cases,
with the evidence) and clusters of cases with one representative row and the members folded.

Strings are raw here; the templates escape them.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.core.explain import ChangeRef, Cluster, Explanation, cluster_cases
from bot.core.explain.model import Cause, ClusterKind
from bot.core.render.budget import Detail
from bot.core.render.views import CaseRow, case_row
from bot.core.report import CaseResult
from bot.core.result import ReviewResult

VISIBLE_ROWS = 5  # a cluster of up to this many cases shows them all; a bigger one folds its members

_VERB = {
    "instruction_removed": "removing",
    "section_removed": "removing the section",
    "message_removed": "removing the message",
    "example_removed": "removing the example",
    "variable_removed": "removing the variable",
    "file_removed": "deleting",
    "instruction_added": "adding",
    "section_added": "adding the section",
    "message_added": "adding the message",
    "example_added": "adding the example",
    "variable_added": "adding the variable",
    "file_added": "adding",
    "instruction_reworded": "rewording",
    "instruction_moved": "moving",
    "section_moved": "moving the section",
    "constraint_weakened": "weakening",
    "constraint_strengthened": "strengthening",
    "negation_added": "negating",
    "negation_removed": "dropping the negation in",
    "number_changed": "changing the number in",
    "output_format_changed": "changing the output format in",
    "model_changed": "changing the model",
    "parameter_changed": "changing a parameter",
    "role_changed": "changing the role of",
    "hunk": "the edit",
}


@dataclass(frozen=True)
class ChangeLine:
    verb: str  # "removing"
    quote: str  # the removed/altered text (or the added text)
    file: str
    lines: str  # "line 9 of the base"
    summary: str


@dataclass(frozen=True)
class CauseView:
    changes: tuple[ChangeLine, ...]  # empty: not determined
    verb: str  # "broke" | "fixed"
    cases: int
    groups: str  # "refund_eligibility" or the suite path(s)
    assertions: str  # the failing assertion(s), for a single cluster
    evidence: str
    hint: str  # the lexical hint, when the cause is not determined


@dataclass(frozen=True)
class ClusterView:
    id: str
    kind: str  # regressed | fixed
    size: int
    metric: str | None
    assertion: str  # lifted: every member fails the same way
    reason: str | None  # lifted when every member ran for the same reason
    head_output: str | None  # lifted when every member answered the same
    cause: str | None  # "removing “Refunds are…”" or None
    representative: CaseRow
    members: tuple[CaseRow, ...]  # after the representative, cut to the detail level
    folded: bool  # members go in a <details>
    hidden: int  # members not listed at all (budget)


def _quote(c: ChangeRef, n: int = 90) -> str:
    text = " ".join((c.before if c.before and not c.type.endswith("added") else c.after or c.before or "").split())
    return text if len(text) <= n else text[: n - 1].rstrip() + "…"


def change_line(c: ChangeRef) -> ChangeLine:
    return ChangeLine(_VERB.get(c.type, c.type.replace("_", " ")), _quote(c), c.file, c.lines, c.summary)


def change_phrase(c: ChangeRef) -> str:
    line = change_line(c)
    return f"{line.verb} “{line.quote}”" if line.quote else line.verb


def clusters_of(result: ReviewResult) -> tuple[Cluster, ...]:
    ex: Explanation | None = result.explanation
    if ex is not None:
        return ex.clusters
    return cluster_cases(result.evals.cases()) if result.evals is not None else ()


def _label(members: list[CaseResult], suite: str) -> str:
    metrics = {m.metric for m in members}
    return f"{metrics.pop()} " if len(metrics) == 1 and None not in metrics else ""


def cause_views(result: ReviewResult) -> tuple[CauseView, ...]:
    """One line per cause (its clusters merged), biggest first; clusters with no cause after."""
    ex: Explanation | None = result.explanation
    if ex is None or result.evals is None:
        return ()
    by_key = {c.key: c for c in result.evals.cases()}
    merged: dict[tuple, list[tuple[Cluster, Cause]]] = {}
    for cluster in ex.clusters:
        cause = ex.cause_of(cluster.id)
        if cause is None:
            continue
        key = (cause.changes, cluster.kind) if cause.determined else (cluster.id,)
        merged.setdefault(key, []).append((cluster, cause))
    views = []
    for items in merged.values():
        clusters = [c for c, _ in items]
        cause = items[0][1]
        members = [by_key[k] for c in clusters for k in c.cases if k in by_key]
        refs = [r for r in (ex.change(i) for i in cause.changes) if r is not None]
        suites = sorted({c.suite for c in clusters})
        label = _label(members, suites[0])
        hint = ""
        if not cause.determined and cause.hints:
            top = cause.hints[0]
            ref = ex.change(top.change)
            if ref is not None:
                hint = f"the {top.source} quotes “{top.quote}”, which {change_phrase(ref)} touched ({ref.where})"
        evidence = "; ".join(dict.fromkeys(c.evidence for _, c in items))
        views.append(CauseView(
            changes=tuple(change_line(r) for r in refs),
            verb="broke" if clusters[0].kind is ClusterKind.REGRESSED else "fixed",
            cases=len(members),
            groups=label.strip() or ", ".join(suites),
            assertions="; ".join(clusters[0].assertions) if len(clusters) == 1 else "",
            evidence=evidence,
            hint=hint,
        ))
    views.sort(key=lambda v: (not v.changes, v.verb != "broke", -v.cases))
    return tuple(views)


def cluster_views(result: ReviewResult, suite_path: str, kind: str, detail: Detail, rows_left: int) -> tuple[tuple[ClusterView, ...], int]:
    """The suite's clusters of one kind, and how many case rows they used."""
    if result.evals is None:
        return (), 0
    by_key = {c.key: c for c in result.evals.cases()}
    ex: Explanation | None = result.explanation
    views, used = [], 0
    for cluster in clusters_of(result):
        if cluster.suite != suite_path or cluster.kind.value != kind:
            continue
        members = [by_key[k] for k in cluster.cases if k in by_key]
        if not members:
            continue
        rows = [case_row(c, detail) for c in members]
        budget = max(0, rows_left - used)
        shown = rows[: max(1, budget)] if budget else rows[:1]
        used += len(shown)
        reasons = {r.reason for r in rows}
        outputs = {r.head_output for r in rows}
        metrics = {c.metric for c in members}
        cause = ex.cause_of(cluster.id) if ex is not None else None
        cause_text = None
        if cause is not None and cause.determined and ex is not None:
            cause_text = " + ".join(change_phrase(r) for r in (ex.change(i) for i in cause.changes) if r is not None)
        views.append(ClusterView(
            id=cluster.id, kind=kind, size=len(members),
            metric=metrics.pop() if len(metrics) == 1 else None,
            assertion=rows[0].assertion,
            reason=rows[0].reason if len(reasons) == 1 and len(rows) > 1 else None,
            head_output=rows[0].head_output if len(outputs) == 1 and len(rows) > 1 else None,
            cause=cause_text,
            representative=shown[0],
            members=tuple(shown[1:]),
            folded=len(members) > VISIBLE_ROWS,
            hidden=len(rows) - len(shown),
        ))
    return tuple(views), used
