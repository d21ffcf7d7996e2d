"""The model axis of an eval report: per suite, a case × model matrix of base → head verdicts and a
pass-rate row per model, so "fine on gpt-4o, broken on claude" is one glance. Pure: a report in.

A *model* here is a provider slot (its label, else its id), as in the case key
`suite::test::prompt::slot`. A *row* is one test; when a model runs several prompts of a test
(not variants: the same prompt twice) the prompt label is part of the row.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from bot.core.compare import CaseStatus, SideResult, Tally, tally
from bot.core.report import CaseResult, EvalReport

# Statuses that make a row worth showing: something changed between base and head on that model.
CHANGED = frozenset({CaseStatus.REGRESSED, CaseStatus.FIXED, CaseStatus.NEW, CaseStatus.REMOVED, CaseStatus.ERROR})


def model_of(case: CaseResult) -> str:
    """The provider slot a case ran on (the last part of its key)."""
    parts = case.key.rsplit("::", 1)
    return parts[1] if len(parts) == 2 else case.provider_id


def test_of(case: CaseResult) -> str:
    parts = case.key.split("::")
    return parts[1] if len(parts) >= 4 else case.key


def model_tallies(cases: Iterable[CaseResult]) -> dict[str, Tally]:
    """Each model's own tally (the per-model gate of `decide_verdict`)."""
    by: dict[str, list[CaseResult]] = {}
    for c in cases:
        by.setdefault(model_of(c), []).append(c)
    return {m: tally([(c.status, c.flaky, c.head, c.loosened is not None) for c in cs]) for m, cs in by.items()}


@dataclass(frozen=True)
class Cell:
    status: CaseStatus
    base: str  # "pass" | "fail" | "error" | "—" (not run on that side)
    head: str
    flaky: bool = False

    @property
    def changed(self) -> bool:
        return self.status in CHANGED or self.flaky


@dataclass(frozen=True)
class Row:
    test: str  # test identity (description, else its id)
    cells: tuple[Cell | None, ...]  # one per model, None when the model does not run this test


@dataclass(frozen=True)
class Column:
    model: str
    tally: Tally
    blocking: bool = False  # this model's regressions block the gate

    @property
    def pass_rate_base(self) -> float | None:
        return self.tally.pass_rate_base

    @property
    def pass_rate_head(self) -> float | None:
        return self.tally.pass_rate_head


@dataclass(frozen=True)
class SuiteMatrix:
    suite: str
    models: tuple[Column, ...]
    rows: tuple[Row, ...]  # tests that changed on at least one model, regressions first
    unchanged: int  # tests that ran and did not change on any model


def _word(side: SideResult | None) -> str:
    if side is None:
        return "—"
    if side.error:
        return "error"
    return "pass" if side.passed else "fail"


def cell(case: CaseResult) -> Cell:
    return Cell(case.status, _word(case.base), _word(case.head), case.flaky)


def suite_matrix(suite_path: str, cases: Sequence[CaseResult], blocked: Iterable[str] = ()) -> SuiteMatrix | None:
    """The matrix of one suite, or None when its cases ran on fewer than two models."""
    cases = [c for c in cases if c.status is not CaseStatus.SKIPPED]
    models = sorted({model_of(c) for c in cases})
    if len(models) < 2:
        return None
    per_test_model: dict[tuple[str, str], int] = {}
    for c in cases:
        per_test_model[(test_of(c), model_of(c))] = per_test_model.get((test_of(c), model_of(c)), 0) + 1
    names: dict[str, str] = {}
    grid: dict[str, dict[str, Cell]] = {}
    for c in cases:
        row = test_of(c)
        if per_test_model[(row, model_of(c))] > 1:  # the same test through several prompts on one model
            row = f"{row} · {c.prompt_label}"
        names.setdefault(row, c.description or row)
        grid.setdefault(row, {})[model_of(c)] = cell(c)
    changed = [r for r, cells in grid.items() if any(x.changed for x in cells.values())]

    def order(r: str) -> tuple:
        cells = grid[r].values()
        return (not any(x.status is CaseStatus.REGRESSED for x in cells), not any(x.status is CaseStatus.ERROR for x in cells), names[r])

    rows = tuple(Row(names[r], tuple(grid[r].get(m) for m in models)) for r in sorted(changed, key=order))
    tallies = model_tallies(cases)
    blocked = set(blocked)
    columns = tuple(Column(m, tallies[m], m in blocked and tallies[m].regressed > 0) for m in models)
    return SuiteMatrix(suite_path, columns, rows, len(grid) - len(changed))


def report_matrices(report: EvalReport) -> Mapping[str, SuiteMatrix]:
    """Suite path → its matrix, for every suite that ran on two models or more."""
    out = {}
    for s in report.suites:
        m = suite_matrix(s.path, s.cases, report.verdict.blocked_models)
        if m is not None:
            out[s.path] = m
    return out


__all__ = ["Cell", "Row", "Column", "SuiteMatrix", "suite_matrix", "report_matrices", "model_tallies", "model_of", "test_of", "CHANGED"]
