"""Changed prompts → the semantic-diff table rows and the collapsible word-level diff text.

Reads `PromptChange` and its `semdiff` (bot.core.semdiff.PromptDiff); strings stay raw here and are
escaped by the templates.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from bot.core.render.budget import Detail
from bot.core.result import PromptChange
from bot.core.semdiff import Change, WordDiffHunk
from bot.core.semdiff.model import Lines

SEVERITY_ICONS = {"high": "🔴", "medium": "🟠", "low": "🟡", "none": "⚪"}
SEVERITY_RANK = {"high": 0, "medium": 1, "low": 2, "none": 3}


@dataclass(frozen=True)
class ChangeRow:
    severity: str
    icon: str
    kind: str
    summary: str
    before: str
    after: str
    lines: str


@dataclass(frozen=True)
class VariantNote:
    """This prompt is one per-model variant of a suite's prompt; the comment shows the variants together."""

    suite: str
    models: tuple[str, ...]  # the models this file is run on
    first: bool  # the first of its group in the comment: the group's heading goes before it
    siblings: tuple[tuple[str, tuple[str, ...]], ...]  # every variant of the group: (path, models)


@dataclass(frozen=True)
class PromptView:
    path: str
    previous_path: str | None
    status: str
    format: str | None
    lines_added: int
    lines_removed: int
    tokens: str | None
    formatting_only: bool
    fallback: bool
    errors: tuple[str, ...]
    rows: tuple[ChangeRow, ...]
    rows_total: int
    severity_counts: str
    diff: str | None  # word-level diff text (git --word-diff notation) or the unified diff
    diff_kind: str  # "word" | "unified"
    diff_hidden: int  # hunks (word) or lines (unified) left out for size
    base_hash: str | None  # version label: the content hash, or e.g. "binary, not reviewed"
    head_hash: str | None
    why: str = "matches prompts.include"  # why the file is under review
    variant: VariantNote | None = None

    @property
    def rows_hidden(self) -> int:
        return self.rows_total - len(self.rows)


def _lines(span: Lines | None) -> str:
    if not span:
        return ""
    a, b = span
    return f"L{a}" if a == b else f"L{a}–{b}"


def change_lines(change: Change) -> str:
    base, head = _lines(change.base_lines), _lines(change.head_lines)
    if base and head:
        return f"{base} → {head}"
    return head or (f"{base} (base)" if base else "")


def sorted_changes(changes: Iterable[Change]) -> list[Change]:
    def key(c: Change) -> tuple[int, int]:
        pos = c.head_lines or c.base_lines or (0, 0)
        return (SEVERITY_RANK.get(c.severity.value, 4), pos[0])

    return sorted(changes or (), key=key)


def _cut(s: str | None, n: int) -> str:
    s = s or ""
    return s if len(s) <= n else s[: n - 1].rstrip() + "…"


def _shorten_equal(text: str, keep: int = 80) -> str:
    """Long unchanged passages inside a hunk keep their ends only; the change is what matters."""
    if len(text) <= 2 * keep + 5:
        return text
    return text[:keep] + " … " + text[-keep:]


def word_diff_text(hunks: Iterable[WordDiffHunk], limit: int) -> tuple[str, int]:
    """Hunks in git --word-diff notation ([-removed-]{+added+}), whole hunks only, within `limit`."""
    out: list[str] = []
    used = 0
    hunks = list(hunks or ())
    for i, hunk in enumerate(hunks):
        head = f"@@ {_lines(hunk.base_lines) or '—'} → {_lines(hunk.head_lines) or '—'} @@"
        body = []
        for op, text in hunk.ops:
            if op == "insert":
                body.append("{+" + text + "+}")
            elif op == "delete":
                body.append("[-" + text + "-]")
            else:
                body.append(_shorten_equal(text))
        piece = head + "\n" + "".join(body).strip("\n") + "\n"
        if used + len(piece) > limit and out:
            return "\n".join(out), len(hunks) - i
        if used + len(piece) > limit:
            return "", len(hunks)
        out.append(piece)
        used += len(piece) + 1
    return "\n".join(out), 0


def unified_text(diff: str, limit: int) -> tuple[str, int]:
    lines = (diff or "").splitlines()
    out: list[str] = []
    used = 0
    for i, line in enumerate(lines):
        if used + len(line) + 1 > limit:
            return "\n".join(out), len(lines) - i
        out.append(line)
        used += len(line) + 1
    return "\n".join(out), 0


def _summary(c: Change) -> str:
    """The change's own summary, prefixed with its kind unless it already says it."""
    kind = c.type.value.replace("_", " ")
    text = str(c.summary or "")
    return text if text.lower().startswith(kind) else f"{kind}: {text}"


def prompt_view(prompt: PromptChange, detail: Detail) -> PromptView:
    sd = prompt.semdiff
    changes = sorted_changes(sd.changes if sd is not None else ())
    n = max(detail.excerpt, 60)
    rows = tuple(
        ChangeRow(
            severity=c.severity.value,
            icon=SEVERITY_ICONS.get(c.severity.value, "⚪"),
            kind=c.type.value.replace("_", " "),
            summary=_cut(_summary(c), 2 * n),
            before=_cut(c.before, n),
            after=_cut(c.after, n),
            lines=change_lines(c),
        )
        for c in changes[: detail.changes]
    )
    counts: dict[str, int] = {}
    for c in changes:
        counts[c.severity.value] = counts.get(c.severity.value, 0) + 1
    severity_counts = " · ".join(f"{counts[s]} {s}" for s in ("high", "medium", "low") if counts.get(s))
    tokens = None
    if sd is not None and sd.tokens_before is not None and sd.tokens_after is not None:
        delta = sd.tokens_after - sd.tokens_before
        approx = "~" if sd.tokens_estimated else ""
        tokens = f"{approx}{sd.tokens_before} → {approx}{sd.tokens_after} tokens ({delta:+d})"
    hunks = sd.word_diff if sd is not None else ()
    if sd is not None and hunks and not sd.fallback:
        diff, hidden = word_diff_text(hunks, detail.diff_chars) if detail.diff_chars else ("", len(hunks))
        kind = "word"
    else:
        text = prompt.unified_diff or ""
        diff, hidden = unified_text(text, detail.diff_chars) if detail.diff_chars else ("", len(text.splitlines()))
        kind = "unified"
    return PromptView(
        path=prompt.path,
        previous_path=prompt.previous_path,
        why=prompt.why,
        status=prompt.status,
        format=sd.format if sd is not None else None,
        lines_added=prompt.lines_added,
        lines_removed=prompt.lines_removed,
        tokens=tokens,
        formatting_only=sd.formatting_only if sd is not None else False,
        fallback=sd.fallback if sd is not None else True,
        errors=tuple(str(e) for e in (sd.errors if sd is not None else ())),
        rows=rows,
        rows_total=len(changes),
        severity_counts=severity_counts,
        diff=diff or None,
        diff_kind=kind,
        diff_hidden=hidden,
        base_hash=_version(prompt.base_hash, prompt.base_unread),
        head_hash=_version(prompt.head_hash, prompt.head_unread),
    )


def _version(hash_: str | None, unread: str | None) -> str | None:
    """The footer's label for one side: its hash, or why a file that exists there was not reviewed
    (None still means absent: "new" on the base side, "deleted" on the head side)."""
    return hash_ or (f"{unread}, not reviewed" if unread else None)
