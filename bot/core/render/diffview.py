"""Changed prompts → the semantic-diff table rows and the collapsible word-level diff text.

Reads `PromptChange` and its `semdiff` (bot.core.semdiff.PromptDiff) by attribute; strings stay
raw here and are escaped by the templates.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bot.core.render.budget import Detail

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


def _val(x: Any) -> str:
    return str(getattr(x, "value", x))


def _lines(span: Any) -> str:
    if not span:
        return ""
    a, b = span
    return f"L{a}" if a == b else f"L{a}–{b}"


def change_lines(change: Any) -> str:
    base, head = _lines(getattr(change, "base_lines", None)), _lines(getattr(change, "head_lines", None))
    if base and head:
        return f"{base} → {head}"
    return head or (f"{base} (base)" if base else "")


def sorted_changes(changes: Any) -> list[Any]:
    def key(c: Any):
        pos = getattr(c, "head_lines", None) or getattr(c, "base_lines", None) or (0, 0)
        return (SEVERITY_RANK.get(_val(c.severity), 4), pos[0])

    return sorted(changes or (), key=key)


def _cut(s: str | None, n: int) -> str:
    s = s or ""
    return s if len(s) <= n else s[: n - 1].rstrip() + "…"


def _shorten_equal(text: str, keep: int = 80) -> str:
    """Long unchanged passages inside a hunk keep their ends only; the change is what matters."""
    if len(text) <= 2 * keep + 5:
        return text
    return text[:keep] + " … " + text[-keep:]


def word_diff_text(hunks: Any, limit: int) -> tuple[str, int]:
    """Hunks in git --word-diff notation ([-removed-]{+added+}), whole hunks only, within `limit`."""
    out: list[str] = []
    used = 0
    hunks = list(hunks or ())
    for i, hunk in enumerate(hunks):
        head = f"@@ {_lines(getattr(hunk, 'base_lines', None)) or '—'} → {_lines(getattr(hunk, 'head_lines', None)) or '—'} @@"
        body = []
        for op, text in getattr(hunk, "ops", ()) or ():
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


def _summary(c: Any) -> str:
    """The change's own summary, prefixed with its kind unless it already says it."""
    kind = _val(c.type).replace("_", " ")
    text = str(c.summary or "")
    return text if text.lower().startswith(kind) else f"{kind}: {text}"


def prompt_view(prompt: Any, detail: Detail) -> PromptView:
    sd = getattr(prompt, "semdiff", None)
    changes = sorted_changes(getattr(sd, "changes", ()) if sd is not None else ())
    n = max(detail.excerpt, 60)
    rows = tuple(
        ChangeRow(
            severity=_val(c.severity),
            icon=SEVERITY_ICONS.get(_val(c.severity), "⚪"),
            kind=_val(c.type).replace("_", " "),
            summary=_cut(_summary(c), 2 * n),
            before=_cut(getattr(c, "before", None), n),
            after=_cut(getattr(c, "after", None), n),
            lines=change_lines(c),
        )
        for c in changes[: detail.changes]
    )
    counts: dict[str, int] = {}
    for c in changes:
        counts[_val(c.severity)] = counts.get(_val(c.severity), 0) + 1
    severity_counts = " · ".join(f"{counts[s]} {s}" for s in ("high", "medium", "low") if counts.get(s))
    tokens = None
    if sd is not None and getattr(sd, "tokens_before", None) is not None and getattr(sd, "tokens_after", None) is not None:
        delta = sd.tokens_after - sd.tokens_before
        approx = "~" if getattr(sd, "tokens_estimated", True) else ""
        tokens = f"{approx}{sd.tokens_before} → {approx}{sd.tokens_after} tokens ({delta:+d})"
    hunks = getattr(sd, "word_diff", ()) if sd is not None else ()
    if hunks and not getattr(sd, "fallback", False):
        diff, hidden = word_diff_text(hunks, detail.diff_chars) if detail.diff_chars else ("", len(hunks))
        kind = "word"
    else:
        text = getattr(prompt, "unified_diff", "") or ""
        diff, hidden = unified_text(text, detail.diff_chars) if detail.diff_chars else ("", len(text.splitlines()))
        kind = "unified"
    return PromptView(
        path=prompt.path,
        previous_path=getattr(prompt, "previous_path", None),
        why=getattr(prompt, "why", "matches prompts.include"),
        status=getattr(prompt, "status", "modified"),
        format=getattr(sd, "format", None) if sd is not None else None,
        lines_added=getattr(prompt, "lines_added", 0),
        lines_removed=getattr(prompt, "lines_removed", 0),
        tokens=tokens,
        formatting_only=bool(getattr(sd, "formatting_only", False)) if sd is not None else False,
        fallback=bool(getattr(sd, "fallback", False)) if sd is not None else sd is None,
        errors=tuple(str(e) for e in (getattr(sd, "errors", ()) if sd is not None else ())),
        rows=rows,
        rows_total=len(changes),
        severity_counts=severity_counts,
        diff=diff or None,
        diff_kind=kind,
        diff_hidden=hidden,
        base_hash=_version(getattr(prompt, "base_hash", None), getattr(prompt, "base_unread", None)),
        head_hash=_version(getattr(prompt, "head_hash", None), getattr(prompt, "head_unread", None)),
    )


def _version(hash_: str | None, unread: str | None) -> str | None:
    """The footer's label for one side: its hash, or why a file that exists there was not reviewed
    (None still means absent: "new" on the base side, "deleted" on the head side)."""
    return hash_ or (f"{unread}, not reviewed" if unread else None)
