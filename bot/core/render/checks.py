"""Outputs of the two check runs: `prompt-review/evals` (verdict, regressed table, every case in
`text`, annotations on changed prompt lines) and `prompt-review/approval` (approval status)."""

# No `from __future__ import annotations`: this module's public `annotations` function would share its name.
from dataclasses import dataclass

from bot.core.render import conclusion, escape
from bot.core.render.budget import CHECK_LIMIT, LEVELS, Detail, fit
from bot.core.render.context import template_context
from bot.core.render.diffview import SEVERITY_RANK, change_lines, sorted_changes
from bot.core.render.env import render
from bot.core.render.linemap import head_line_for_base
from bot.core.result import ReviewResult
from bot.core.semdiff import Change

TITLE_LIMIT = 255  # GitHub cuts check titles and annotation titles beyond this
MESSAGE_LIMIT = 4000  # annotation messages are plain text; keep them readable


@dataclass(frozen=True)
class CheckOutput:
    conclusion: str
    title: str
    summary: str
    text: str | None
    annotations: tuple[dict, ...] = ()


def _title(text: str) -> str:
    return escape.truncate(text, TITLE_LIMIT)


def _last_resort(title: str):
    return lambda: f"### {escape.inline(title, limit=200)}\n\nThe full output is too large — see the pull request comment.\n"


def render_evals_check(result: ReviewResult) -> CheckOutput:
    outcome = conclusion.evals_outcome(result)
    # The summary keeps the comment's order (verdict, problems, regressed table) at comment detail;
    # the text carries every case: its lists are never folded unless size forces it.
    summary = fit(
        lambda d: render("evals_check.md.j2", **template_context(result, d, part="summary", show_approval=False)),
        CHECK_LIMIT,
        _last_resort(outcome.title),
    )
    text: str | None = None
    if result.evals is not None or result.prompts:
        full = (Detail(regressed_rows=10_000, list_items=10_000, excerpt=400, changes=200, diff_chars=20_000), *LEVELS)

        def render_text(d: Detail) -> str:
            return render("evals_check.md.j2", **template_context(result, d, part="text"))

        text = next((t for t in map(render_text, full) if len(t) <= CHECK_LIMIT), None) or _last_resort(outcome.title)()
    return CheckOutput(
        conclusion=outcome.conclusion,
        title=_title(outcome.title),
        summary=summary,
        text=text,
        annotations=annotations(result, outcome.conclusion),
    )


def render_approval_check(result: ReviewResult) -> CheckOutput:
    outcome = conclusion.approval_outcome(result)
    summary = fit(
        lambda d: render("approval_check.md.j2", **template_context(result, d)),
        CHECK_LIMIT,
        _last_resort(outcome.title),
    )
    return CheckOutput(conclusion=outcome.conclusion, title=_title(outcome.title), summary=summary, text=None)


def annotations(result: ReviewResult, evals_conclusion: str = "neutral") -> tuple[dict, ...]:
    """One annotation per high-severity semantic change, on the head lines it concerns.

    A change that only exists on the base side (a removed rule) is pinned to the head line where
    the removed text used to be, so the reviewer sees it in the Files tab. Levels: `failure` when the
    evals check fails (the change is a likely cause), else `warning`. The caller batches 50 per request.
    """
    if result.superseded_by:
        return ()
    level = "failure" if evals_conclusion == "failure" else "warning"
    out: list[dict] = []
    for prompt in result.prompts:
        sd = prompt.semdiff
        if sd is None or prompt.status == "removed":
            continue
        for change in sorted_changes(sd.changes):
            if SEVERITY_RANK.get(change.severity.value, 9) != 0:
                continue
            path = change.file or prompt.path
            span = change.head_lines
            if not span and change.base_lines and path == prompt.path:
                line = head_line_for_base(prompt.unified_diff or "", change.base_lines[0])
                span = (line, line) if line else None
            if not span:
                continue
            start, end = int(span[0]), int(span[1])
            message = escape.truncate(_message(change), MESSAGE_LIMIT)
            out.append(
                {
                    "path": path,
                    "start_line": start,
                    "end_line": max(start, end),
                    "annotation_level": level,
                    "title": _title(f"{change.type.value.replace('_', ' ')} ({change.severity.value} severity)"),
                    "message": message,
                }
            )
    return tuple(out)


def _message(change: Change) -> str:
    parts = [str(change.summary)]
    if change.before:
        parts.append(f"Before: {change.before}")
    if change.after:
        parts.append(f"After: {change.after}")
    where = change_lines(change)
    if where:
        parts.append(f"Lines: {where}")
    return "\n".join(parts)
