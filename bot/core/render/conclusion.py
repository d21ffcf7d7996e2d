"""Check-run conclusions and titles for `prompt-review/evals` and `prompt-review/approval`.

The evals gate, first rule that applies wins. Whenever evals ran, the verdict decides — which
files matched `prompts.include` never does:
 1. `superseded_by`                           → cancelled  "superseded by <sha7>"
 2. any blocking Problem                      → failure    (the problem's title)
 3. evals skipped: formatting-only → success; otherwise (a fork PR waiting for the label)
                                               → action_required (the reason): not run is not passed
 4. no eval report, no reviewed file changed  → success    "no prompt files changed"
 5. no eval report                            → success    "no eval cases affected"
 6. too many cases could not be checked       → failure    the cause once, with the fix (never accepted away)
 7. verdict blocking + accepted regression    → success    "regression accepted by @x" — when the
                                                acceptance covers every blocked model (the gate is per model)
 8. verdict blocking                          → failure    (the verdict headline)
 9. budget exhausted / run cancelled          → failure    a gate must not pass what it did not check
10. otherwise                                 → the verdict's success/neutral

The approval check: superseded → cancelled; otherwise the approval verdict's conclusion and title;
without a verdict, success when no prompt changed, else action_required "approval not evaluated".
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.core.compare import Block, CaseStatus
from bot.core.matrix import model_of
from bot.core.result import EvalsSkip, ReviewResult

ICONS = {
    "success": "✅",
    "failure": "❌",
    "neutral": "⚪",
    "action_required": "⏳",
    "cancelled": "⏹️",
    "skipped": "⏭️",
}


@dataclass(frozen=True)
class Outcome:
    conclusion: str  # success | failure | neutral | action_required | cancelled
    title: str  # plain text (check-run titles are not markdown); the comment escapes it
    note: str | None = None  # plain words shown under the verdict, e.g. why a partial run fails

    @property
    def icon(self) -> str:
        return ICONS.get(self.conclusion, "⚪")


def accepted_by(result: ReviewResult) -> str | None:
    acc = result.accepted_regression
    return acc.by if acc is not None and acc.by else None


def unaccepted_models(result: ReviewResult) -> tuple[str, ...]:
    """Blocked models the acceptance does not cover. The gate is per model: an acceptance covers a
    model it names, or whose every regressed (or loosened) case it lists; one that names neither (from before
    acceptances were per model) covers every model, as it always did."""
    acc, report = result.accepted_regression, result.evals
    if acc is None or not acc.by or report is None:
        return ()
    blocked = report.verdict.blocked_models
    if not acc.models and not acc.cases:
        return ()
    needed: dict[str, set[str]] = {}  # per model, the cases an acceptance must cover: regressed or loosened
    for c in report.cases():
        if c.status is CaseStatus.REGRESSED or c.loosened:
            needed.setdefault(model_of(c), set()).add(c.key)
    return tuple(m for m in blocked if m not in acc.models and not needed.get(m, set()) <= set(acc.cases))


def evals_outcome(result: ReviewResult) -> Outcome:
    if result.superseded_by:
        return Outcome("cancelled", f"superseded by {result.superseded_by[:7]}")
    blocking = [p for p in result.problems if p.blocking]
    if blocking:
        more = f" (+{len(blocking) - 1} more)" if len(blocking) > 1 else ""
        return Outcome("failure", blocking[0].title + more)
    reason = result.evals_skipped_reason
    if reason or result.evals_skipped:
        passes = result.evals_skipped is EvalsSkip.FORMATTING_ONLY
        return Outcome("success" if passes else "action_required", f"evals skipped: {reason or 'not run'}")
    report = result.evals
    if report is None:
        return Outcome("success", "no prompt files changed" if not result.prompts else "no eval cases affected")
    verdict = report.verdict
    headline = verdict.headline or "evals finished"
    if Block.COULD_NOT_CHECK in verdict.blocks:
        note = verdict.could_not_check
        return Outcome("failure", f"could not check: {note}" if note else f"could not check: {headline}", note=note)
    if verdict.blocking:
        who = accepted_by(result)
        missing = unaccepted_models(result)
        if who and missing:
            note = (f"{headline}. @{who} accepted the regression on {', '.join(m for m in verdict.blocked_models if m not in missing)}; "
                    f"the regression on {', '.join(missing)} still blocks until a prompt owner accepts it for that model.")
            return Outcome("failure", f"regression on {', '.join(missing)} not accepted", note=note)
        if who:
            note = f"{headline}. A prompt owner, @{who}, accepted this regression, so the evals check passes."
            return Outcome("success", f"regression accepted by @{who}", note=note)
        return Outcome("failure", headline)
    if report.budget_exhausted or report.cancelled:
        why = report.budget_exhausted or "the run was cancelled"
        skipped = report.stats.cases_skipped
        note = (
            f"Only part of the affected cases ran ({why}; {skipped} not run), so this check fails: "
            "a gate must not pass what it did not check. Raise evals.budget in "
            ".github/prompt-review.yml or reduce the affected cases, then push again."
        )
        return Outcome("failure", f"incomplete: {headline}", note=note)
    return Outcome(verdict.conclusion if verdict.conclusion in ("success", "neutral") else "neutral", headline)


def approval_outcome(result: ReviewResult) -> Outcome:
    if result.superseded_by:
        return Outcome("cancelled", f"superseded by {result.superseded_by[:7]}")
    verdict = result.approval
    blocking = [p for p in result.problems if p.blocking]
    if verdict is None and blocking:
        # Approval rules come from the same broken config: a required check must not wait silently (issue #3).
        return Outcome("failure", f"cannot evaluate approvals: {blocking[0].title.replace('`', '')}")
    if verdict is None:
        if not result.prompts:
            return Outcome("success", "no prompt files changed")
        return Outcome("action_required", "approval not evaluated")
    return Outcome(str(verdict.conclusion), str(verdict.title))


def overall_icon(*outcomes: Outcome) -> str:
    order = ["failure", "action_required", "cancelled", "neutral", "success"]
    worst = min((o.conclusion for o in outcomes), key=lambda c: order.index(c) if c in order else 3)
    return ICONS.get(worst, "⚪")
