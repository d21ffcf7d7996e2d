"""The review as plain terminal text (`review --format text`, the demo): no markdown escapes, no
HTML, tables wrapped to the width. Built with rich into a string; colour only when asked (a TTY).

Same order as the comment: headline, causes, clusters, semantic diff (a prompt's per-model variants
together), footer.
"""

from __future__ import annotations

from rich.console import Console
from rich.table import Table
from rich.text import Text

from bot.core.render import conclusion
from bot.core.render.budget import LEVELS
from bot.core.render.causes import CauseView, cause_views, cluster_views
from bot.core.render.context import prompt_views
from bot.core.render.views import suite_views
from bot.core.result import ReviewResult

_DETAIL = LEVELS[0]
_MEMBERS_SHOWN = 4  # after the representative: a terminal screen is short


def cause_sentence(c: CauseView) -> str:
    """'Removing “…” (file line 9 of the base) broke 41 refund_eligibility cases.' — or, with no
    cause determined, how many cases changed and why none was named."""
    cases = f"{c.cases} {c.groups} case{'s' if c.cases != 1 else ''}"
    if not c.changes:
        return f"{cases} {'regressed' if c.verb == 'broke' else 'fixed'}: cause {c.evidence}."
    line = " together with ".join(f"{ch.verb} “{ch.quote}” ({ch.file}{' ' + ch.lines if ch.lines else ''})"
                                  for ch in c.changes)
    return line[0].upper() + line[1:] + f" {c.verb} {cases}."


def render_text(result: ReviewResult, width: int = 100, color: bool = False) -> str:
    console = Console(width=max(40, width), color_system="standard" if color else None,
                      force_terminal=color, no_color=not color, highlight=False, emoji=False, soft_wrap=False)
    with console.capture() as capture:
        evals = conclusion.evals_outcome(result)
        console.print(Text(f"{evals.icon} {evals.title}", style="bold"))
        console.print(f"prompt-review/evals: {evals.conclusion.replace('_', ' ')}")
        for problem in result.problems:
            console.print(Text(f"! {problem.title}: {problem.detail}", style="red"))
            for e in problem.errors:
                console.print(f"    {e}")
        for w in result.evals.warnings if result.evals is not None else ():  # a notice: the verdict is the same without it
            console.print(Text(f"warning: {w}", style="yellow"))

        causes = cause_views(result)
        if causes:
            console.print()
            console.print(Text("What caused it", style="bold underline"))
            for c in causes:
                console.print(Text("• " + cause_sentence(c), style="bold" if c.changes else ""))
                if c.changes:
                    console.print(f"  Evidence: {c.evidence}.")
                elif c.hint:
                    console.print(f"  Hint: {c.hint}.")
                if c.assertions:
                    console.print(f"  Failing: {c.assertions}")

        report = result.evals
        if report is not None:
            rows_left = _DETAIL.regressed_rows
            for s in suite_views(report, _DETAIL):
                console.print()
                console.print(Text(f"Suite {s.path}" + (f" — {s.description}" if s.description else ""), style="bold"))
                console.print(s.headline or s.skipped_reason or "No affected cases ran in this suite.")
                clusters, used = cluster_views(result, s.path, "regressed", _DETAIL, rows_left)
                rows_left -= used
                for cl in clusters:
                    console.print()
                    head = f"{cl.size} regressed" + (f" · {cl.metric}" if cl.metric else "") + f" — failing {cl.assertion}"
                    console.print(Text(head, style="yellow"))
                    if cl.cause:
                        console.print(f"caused by {cl.cause}")
                    if cl.head_output:
                        console.print(f"every head output: {cl.head_output}")
                    table = Table(show_lines=False, expand=True, box=None, pad_edge=False)
                    table.add_column("Case", ratio=2)
                    table.add_column("Base output", ratio=3)
                    if not cl.head_output:
                        table.add_column("Head output", ratio=3)
                    for r in (cl.representative, *cl.members[:_MEMBERS_SHOWN]):
                        table.add_row(r.name, r.base_output, *(() if cl.head_output else (r.head_output,)))
                    console.print(table)
                    more = cl.size - 1 - min(len(cl.members), _MEMBERS_SHOWN)
                    if more > 0:
                        console.print(f"… and {more} more cases in this cluster (--format json lists them all)")
                fixed, _ = cluster_views(result, s.path, "fixed", _DETAIL, 0)
                for cl in fixed:  # good news, one line each: the representative names the kind of case
                    console.print()
                    line = f"{cl.size} fixed" + (f" · {cl.metric}" if cl.metric else "") + f" — were failing {cl.assertion}"
                    console.print(Text(line + (f" — fixed by {cl.cause}" if cl.cause else ""), style="green"))
                    console.print(f"e.g. {cl.representative.name}" + (f" and {cl.size - 1} more" if cl.size > 1 else ""))
                for lst in s.lists:
                    if not (fixed and lst.status == "fixed"):
                        console.print(f"{lst.total} {lst.label}")

        changed = {p.path for p in result.prompts}
        for view in prompt_views(result, _DETAIL):  # a prompt's changed per-model variants together, as in the comment
            note = view.variant
            if note is not None and note.first:
                console.print()
                console.print(Text(f"One prompt, a variant per model ({note.suite})", style="bold"))
                for path, models in note.siblings:
                    console.print(f"  {path} on {', '.join(models)}" + (" · changed" if path in changed else ""))
            console.print()
            console.print(Text(f"Prompt {view.path} ({view.status}, +{view.lines_added} −{view.lines_removed} lines)", style="bold"))
            if note is not None:
                console.print(f"Variant for {', '.join(note.models)}.")
            if view.formatting_only:
                console.print("formatting only: no semantic change")
                continue
            table = Table(expand=True, box=None, pad_edge=False)
            for name, ratio in (("Severity", 1), ("Change", 4), ("Lines", 1)):
                table.add_column(name, ratio=ratio)
            for row in view.rows:
                table.add_row(row.severity, row.summary, row.lines)
            console.print(table)

        if report is not None:
            stats = report.stats
            extra = f" ({stats.explain_calls} to find causes)" if stats.explain_calls else ""
            console.print()
            console.print(f"{stats.model_calls} model calls{extra} · {stats.cache_hits} cached · "
                          f"${stats.cost_usd:.4f} · {stats.wall_s:.1f}s")
    return "\n".join(line.rstrip() for line in capture.get().splitlines()) + "\n"
