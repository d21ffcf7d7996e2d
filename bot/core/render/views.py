"""Eval report → what the templates lay out: plain-text rows and lists cut to a detail level.

Strings here are still raw (unescaped); the templates escape them through the filters of
`bot.core.render.env`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from collections.abc import Mapping
from typing import Any

from bot.core.compare import SideResult
from bot.core.render.budget import Detail
from bot.core.report import CaseResult, EvalReport, SuiteReport


@dataclass(frozen=True)
class CaseRow:
    name: str
    metric: str | None
    assertion: str
    base_output: str
    head_output: str
    reason: str
    flaky: bool


@dataclass(frozen=True)
class CaseList:
    label: str
    icon: str
    total: int
    items: tuple[CaseRow, ...]
    status: str = ""  # the LISTS key: "fixed", "flaky", ...

    @property
    def hidden(self) -> int:
        return self.total - len(self.items)


@dataclass(frozen=True)
class MetricGroup:
    metric: str | None
    total: int
    rows: tuple[CaseRow, ...]


@dataclass(frozen=True)
class LoosenedRow:
    """A case that passes only because the PR loosened or deleted its checks."""

    name: str
    change: str  # "assertions changed", "case deleted", "suite deleted"
    base_verdict: str  # under the base's checks
    head_verdict: str  # the head's output under the base's checks


@dataclass(frozen=True)
class SuiteView:
    path: str
    description: str
    headline: str
    metric_counts: tuple[tuple[str, str], ...]  # (metric, "41 regressed · 2 fixed")
    groups: tuple[MetricGroup, ...]
    regressed_total: int
    regressed_shown: int
    lists: tuple[CaseList, ...]
    unaffected: int
    skipped_reason: str | None
    notes: tuple[str, ...]
    loosened: tuple[LoosenedRow, ...] = ()
    loosened_total: int = 0

    @property
    def regressed_hidden(self) -> int:
        return self.regressed_total - self.regressed_shown


def _status(case: CaseResult) -> str:
    return case.status.value


def _vars_text(vars_: Mapping[str, Any]) -> str:
    return ", ".join(f"{k}={v}" for k, v in vars_.items())


def case_name(case: CaseResult) -> str:
    return case.description or _vars_text(case.vars) or str(case.key)


def _side_failure(side: SideResult | None) -> str:
    if side is None:
        return ""
    if side.error:
        return f"error: {side.error}"
    return "; ".join(side.failed_assertions)


def case_row(case: CaseResult, detail: Detail) -> CaseRow:
    """One case as a table row; excerpts are cut here, before escaping."""
    n = detail.excerpt or 60

    def cut(s: str) -> str:
        return s if len(s) <= n else s[: n - 1].rstrip() + "…"

    base, head = case.base, case.head
    assertion = _side_failure(head) or _side_failure(base)
    return CaseRow(
        name=cut(case_name(case)),
        metric=case.metric,
        assertion=cut(assertion),
        base_output=cut(base.output or "") if base is not None else "",
        head_output=cut(head.output or "") if head is not None else "",
        reason=cut("; ".join(case.reasons)),
        flaky=case.flaky,
    )


LISTS = (  # (status or "flaky", label, icon), the order they appear in
    ("fixed", "fixed", "✅"),
    ("still_failing", "still failing", "🔁"),
    ("flaky", "flaky", "🎲"),
    ("new", "new", "🆕"),
    ("removed", "removed", "🗑️"),
    ("error", "errored", "⚠️"),
    ("skipped", "not run", "⏭️"),
)


def _verdict_word(side: SideResult | None) -> str:
    if side is None:
        return "not run"
    if side.error:
        return "error"
    return "pass" if side.passed else "fail: " + "; ".join(side.failed_assertions)


def loosened_row(case: CaseResult, detail: Detail) -> LoosenedRow:
    n = detail.excerpt or 60

    def cut(s: str) -> str:
        return s if len(s) <= n else s[: n - 1].rstrip() + "…"

    deleted = case.head is None
    return LoosenedRow(
        name=cut(case_name(case)),
        change=cut(case.loosened or ""),
        base_verdict="pass" if deleted else cut(_verdict_word(case.base)),
        head_verdict="deleted: not checked" if deleted else cut(_verdict_word(case.head_under_base)),
    )


def _plural_counts(pairs: Iterable[tuple[int, str]]) -> str:
    return " · ".join(f"{n} {label}" for n, label in pairs if n)


def suite_view(suite: SuiteReport, detail: Detail, rows_left: int) -> SuiteView:
    cases = list(suite.cases)
    regressed = sorted(
        (c for c in cases if _status(c) == "regressed"), key=lambda c: (c.metric or "", str(c.key))
    )
    shown = regressed[: max(0, rows_left)]
    groups: dict[str | None, list[CaseRow]] = {}
    totals: dict[str | None, int] = {}
    for c in regressed:
        totals[c.metric] = totals.get(c.metric, 0) + 1
    for c in shown:
        groups.setdefault(c.metric, []).append(case_row(c, detail))
    by_status: dict[str, list[CaseResult]] = {key: [] for key, _, _ in LISTS}
    for c in cases:
        st = _status(c)
        if st in by_status:
            by_status[st].append(c)
        if c.flaky:
            by_status["flaky"].append(c)
    lists = tuple(
        CaseList(label, icon, len(by_status[key]), tuple(case_row(c, detail) for c in by_status[key][: detail.list_items]), key)
        for key, label, icon in LISTS
        if by_status[key]
    )
    metrics = sorted({c.metric for c in cases if c.metric})
    metric_counts = []
    for m in metrics:
        mc = [c for c in cases if c.metric == m]
        text = _plural_counts(
            (sum(_status(c) == key for c in mc), label) for key, label, _ in (("regressed", "regressed", ""), *LISTS[:2])
        )
        metric_counts.append((m, text or f"{len(mc)} unchanged"))
    loosened = [c for c in cases if c.loosened]
    return SuiteView(
        loosened=tuple(loosened_row(c, detail) for c in loosened[: detail.list_items]),
        loosened_total=len(loosened),
        path=str(suite.path),
        description=suite.description or "",
        headline=suite_headline(suite),
        metric_counts=tuple(metric_counts) if len(metrics) > 0 else (),
        groups=tuple(MetricGroup(m, totals[m], tuple(rows)) for m, rows in groups.items()),
        regressed_total=len(regressed),
        regressed_shown=len(shown),
        lists=lists,
        unaffected=suite.unaffected,
        skipped_reason=suite.skipped_reason,
        notes=tuple(suite.notes),
    )


def pct(rate: float | None) -> str:
    return "—" if rate is None else f"{rate * 100:.1f}%"


def suite_headline(suite: SuiteReport) -> str:
    counts = suite.counts
    parts = [
        _plural_counts(((counts.regressed, "regressed"), (counts.fixed, "fixed"), (counts.still_failing, "still failing"),
                        (counts.still_passing, "still passing"), (counts.new, "new"), (counts.removed, "removed"),
                        (counts.error, "errored"), (counts.skipped, "not run")))
    ]
    base, head = suite.pass_rate_base, suite.pass_rate_head
    if base is not None or head is not None:
        rate = f"pass rate {pct(base)} → {pct(head)}"
        p = suite.p_value
        stats = []
        if p is not None and (counts.regressed or counts.fixed):
            stats.append("p < 0.001" if p < 0.001 else f"p = {p:.3f}")
        ci = suite.interval
        if ci:
            stats.append(f"95% CI {ci[0] * 100:+.1f} to {ci[1] * 100:+.1f} pts")
        parts.append(rate + (f" ({', '.join(stats)})" if stats else ""))
    return " · ".join(p for p in parts if p)


def suite_views(report: EvalReport, detail: Detail) -> tuple[SuiteView, ...]:
    views = []
    rows_left = detail.regressed_rows
    for suite in report.suites:
        view = suite_view(suite, detail, rows_left)
        rows_left -= view.regressed_shown
        views.append(view)
    return tuple(views)


def model_ids(report: EvalReport) -> tuple[str, ...]:
    ids = {c.provider_id for s in report.suites for c in s.cases}
    return tuple(sorted(i for i in ids if i))
