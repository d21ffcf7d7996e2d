"""The per-model matrix (bot.core.matrix) as template rows: each cell one short phrase, base → head."""

from __future__ import annotations

from dataclasses import dataclass

from bot.core.compare import CaseStatus
from bot.core.matrix import Cell, SuiteMatrix
from bot.core.render.budget import Detail
from bot.core.render.views import pct

_ICON = {CaseStatus.REGRESSED: "❌", CaseStatus.FIXED: "✅", CaseStatus.NEW: "🆕", CaseStatus.REMOVED: "🗑️", CaseStatus.ERROR: "⚠️"}


@dataclass(frozen=True)
class MatrixView:
    models: tuple[str, ...]
    rates: tuple[str, ...]  # per model: "100.0% → 60.0%"
    blocking: tuple[str, ...]  # per model: "blocks", "accepted" (an owner accepted its regressions) or 
    rows: tuple[tuple[str, tuple[str, ...]], ...]  # (case, cells)
    hidden: int  # changed rows left out at this detail level
    unchanged: int


def cell_text(c: Cell | None) -> str:
    if c is None:
        return "not run"
    text = f"{c.base} → {c.head}"
    icon = _ICON.get(c.status)
    if c.flaky:
        text += " 🎲"
    return f"{icon} {text}" if icon else text


def matrix_view(m: SuiteMatrix, detail: Detail, accepted: frozenset[str] = frozenset()) -> MatrixView:
    n = detail.excerpt or 60
    limit = max(10, detail.list_items) if detail.regressed_rows else 0
    shown = m.rows[:limit]

    def cut(s: str) -> str:
        return s if len(s) <= n else s[: n - 1].rstrip() + "…"

    return MatrixView(
        models=tuple(c.model for c in m.models),
        rates=tuple(f"{pct(c.pass_rate_base)} → {pct(c.pass_rate_head)}" for c in m.models),
        blocking=tuple(("accepted" if c.model in accepted else "blocks") if c.blocking else "" for c in m.models),
        rows=tuple((cut(r.test), tuple(cell_text(c) for c in r.cells)) for r in shown),
        hidden=len(m.rows) - len(shown),
        unchanged=m.unchanged,
    )
