"""Typed explanation of a review: clusters of cases, the changes that may have caused them, and
per cluster the cause found (with its evidence) or why none was determined."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import Enum

from unidiff import PatchSet

Lines = tuple[int, int]

# Kinds of semantic change that are not an edit one could revert on their own.
_NOT_REVERTIBLE = frozenset({"token_count_changed", "formatting_only"})


class ClusterKind(str, Enum):
    REGRESSED = "regressed"
    FIXED = "fixed"


@dataclass(frozen=True)
class ChangeRef:
    """One candidate cause: a semantic change of a prompt (or a plain diff hunk when the prompt
    has no semantic diff), located in the file it edits."""

    id: str  # "prompts/support/system.md#1": stable within one review
    prompt: str  # the changed prompt (PromptChange.path)
    file: str  # the file the edit is in (an included template, or the prompt itself)
    type: str  # a semdiff ChangeType value, or "hunk"
    severity: str
    summary: str
    before: str | None = None
    after: str | None = None
    base_lines: Lines | None = None
    head_lines: Lines | None = None

    @property
    def lines(self) -> str:
        """'line 9 of the base' for a removal, 'lines 47–48' (head) otherwise; '' without lines."""
        lines = self.head_lines or self.base_lines
        if lines is None:
            return ""
        span = f"line {lines[0]}" if lines[0] == lines[1] else f"lines {lines[0]}–{lines[1]}"
        return span if self.head_lines else f"{span} of the base"

    @property
    def where(self) -> str:
        return f"{self.file} {self.lines}".strip()


@dataclass(frozen=True)
class Cluster:
    """Cases of one suite that changed the same way: same status, same failing assertion(s), similar
    outputs. The first case is the representative."""

    id: str
    suite: str
    kind: ClusterKind
    assertions: tuple[str, ...]  # the failing assertion(s) all members share
    cases: tuple[str, ...]  # case keys, representative first
    files: tuple[str, ...] = ()  # changed files the members depend on (from "prompt X changed")

    @property
    def representative(self) -> str:
        return self.cases[0]

    @property
    def size(self) -> int:
        return len(self.cases)


@dataclass(frozen=True)
class Hint:
    """Free lexical evidence: a failing assertion or a base output quotes text the change removed
    or altered."""

    change: str  # ChangeRef.id
    score: float
    quote: str  # the shared words
    source: str  # "assertion" | "base output"


@dataclass(frozen=True)
class Cause:
    """What broke (or fixed) one cluster. `changes` is empty when no cause was determined."""

    cluster: str
    changes: tuple[str, ...]  # ChangeRef ids; one, or a minimal set found by delta debugging
    determined: bool
    restored: int = 0  # sampled cases whose head verdict the revert turned back
    sampled: int = 0
    evidence: str = ""  # "reverting it alone restores 5 of 5 sampled cases" / why not determined
    hints: tuple[Hint, ...] = ()


@dataclass(frozen=True)
class Explanation:
    clusters: tuple[Cluster, ...]
    causes: tuple[Cause, ...]
    changes: tuple[ChangeRef, ...]
    calls: int = 0  # model calls the ablation cost (within the review's budget)
    cache_hits: int = 0
    note: str | None = None  # e.g. "explain is off", "budget exhausted after 40 calls"
    tokens_in: int = 0
    tokens_out: int = 0
    cost_usd: float = 0.0
    wall_s: float = 0.0  # the ablation's own wall time, after the eval run

    def cause_of(self, cluster_id: str) -> Cause | None:
        return next((c for c in self.causes if c.cluster == cluster_id), None)

    def change(self, change_id: str) -> ChangeRef | None:
        return next((c for c in self.changes if c.id == change_id), None)

    def cluster(self, cluster_id: str) -> Cluster | None:
        return next((c for c in self.clusters if c.id == cluster_id), None)


def candidate_changes(prompts: Iterable) -> tuple[ChangeRef, ...]:
    """Every revertible change of a review's prompts (bot.core.result.PromptChange): its semantic
    changes, or its unified-diff hunks when it has no semantic diff."""
    out: list[ChangeRef] = []
    for p in prompts:
        semdiff = p.semdiff
        if semdiff is not None and semdiff.changes and not semdiff.formatting_only:
            n = 0
            for c in semdiff.changes:
                kind = c.type.value
                if kind in _NOT_REVERTIBLE:
                    continue
                n += 1
                out.append(ChangeRef(
                    id=f"{p.path}#{n}", prompt=p.path, file=c.file or p.path, type=kind,
                    severity=c.severity.value, summary=c.summary,
                    before=c.before, after=c.after, base_lines=c.base_lines, head_lines=c.head_lines,
                ))
        elif semdiff is None and p.unified_diff:
            out += hunk_changes(p.path, p.unified_diff)
    return tuple(out)


def hunk_changes(path: str, unified_diff: str) -> list[ChangeRef]:
    """The hunks of a plain unified diff as candidate changes (the fallback without a semantic diff)."""
    try:
        patch = PatchSet(unified_diff if unified_diff.endswith("\n") else unified_diff + "\n")
    except Exception:
        return []
    out = []
    for f in patch:
        for n, h in enumerate(f, 1):
            removed = "".join(line.value for line in h if line.is_removed)
            added = "".join(line.value for line in h if line.is_added)
            base = (h.source_start, h.source_start + h.source_length - 1) if h.source_length else None
            head = (h.target_start, h.target_start + h.target_length - 1) if h.target_length else None
            out.append(ChangeRef(
                id=f"{path}@{n}", prompt=path, file=path, type="hunk", severity="medium",
                summary=f"diff hunk {n} ({h.added} added, {h.removed} removed lines)",
                before=removed or None, after=added or None, base_lines=base, head_lines=head,
            ))
    return out
