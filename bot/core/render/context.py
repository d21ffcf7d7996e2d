"""The context every template gets: outcomes, views at one detail level, and the raw result."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from bot.core.render import conclusion
from bot.core.render.budget import Detail
from bot.core.render.causes import cause_views, cluster_views
from bot.core.matrix import report_matrices
from bot.core.render.diffview import PromptView, VariantNote, prompt_view
from bot.core.variants import group_order, variant_groups
from bot.core.render.matrixview import matrix_view
from bot.core.render.views import model_ids, suite_views
from bot.core.result import COMMENT_MARKER, Acceptance, ReviewResult


def _accepted(result: ReviewResult) -> Acceptance | None:
    acc = result.accepted_regression
    return acc if acc is not None and acc.by else None


def _all_pass(result: ReviewResult) -> bool:
    report = result.evals
    if report is None or result.problems or report.errors or report.budget_exhausted or report.cancelled:
        return False
    cases = report.cases()
    statuses = {c.status.value for c in cases}
    return bool(cases) and statuses <= {"still_passing", "fixed", "new"} and not any(
        c.flaky for c in cases
    ) and all(c.head is None or c.head.passed for c in cases) and not any(c.loosened for c in cases)


def prompt_views(result: ReviewResult, detail: Detail) -> tuple[PromptView, ...]:
    """The changed prompts, each per-model variant beside the other changed variants of its prompt."""
    by_path = {p.path: p for p in result.prompts}
    views, headed = [], set()
    for path, group in group_order(list(by_path), variant_groups(result.evals)):
        view = prompt_view(by_path[path], detail)
        if group is not None:
            view = replace(view, variant=VariantNote(group.suite, group.models_of(path), group.suite not in headed,
                                                     tuple((v.path, v.models) for v in group.variants)))
            headed.add(group.suite)
        views.append(view)
    return tuple(views)


def template_context(result: ReviewResult, detail: Detail, **extra: Any) -> dict[str, Any]:
    evals = conclusion.evals_outcome(result)
    approval = conclusion.approval_outcome(result)
    report = result.evals
    # A local `review` (no PR) does not evaluate approvals: it must not show a check it did not compute.
    show_approval = (bool(result.prompts) and result.pr is not None) or result.approval is not None
    suites = suite_views(report, detail) if report is not None else ()
    ctx: dict[str, Any] = dict(
        marker=COMMENT_MARKER,
        result=result,
        report=report,
        verdict=result.approval,
        evals=evals,
        approval=approval,
        show_approval=show_approval,
        icon=conclusion.overall_icon(evals, approval) if show_approval else evals.icon,
        suites=suites,
        prompts=prompt_views(result, detail),
        models=model_ids(report) if report is not None else (),
        stats=report.stats if report is not None else None,
        accepted=_accepted(result),
        all_pass=_all_pass(result),
        detail=detail,
        problem_errors=max(5, detail.list_items),
    )
    clusters, rows_left = {}, detail.regressed_rows
    for s in suites:
        clusters[s.path], used = cluster_views(result, s.path, "regressed", detail, rows_left)
        rows_left -= used
    fixed, fixed_left = {}, detail.list_items  # fixed cases are good news: folded, on the lists' budget
    for s in suites:
        fixed[s.path], used = cluster_views(result, s.path, "fixed", detail, fixed_left)
        fixed_left -= used
    ctx.update(clusters=clusters, fixed_clusters=fixed, causes=cause_views(result))
    matrices = report_matrices(report) if report is not None else {}
    acc = _accepted(result)
    missing = conclusion.unaccepted_models(result)
    accepted = frozenset(report.verdict.blocked_models) - frozenset(missing) if acc is not None and report is not None else frozenset()
    ctx.update(matrices={path: matrix_view(m, detail, accepted) for path, m in matrices.items()})
    ctx.update(extra)
    return ctx
