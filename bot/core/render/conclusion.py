"""Check-run conclusions and titles for `prompt-review/evals` and `prompt-review/approval`.

The evals gate, first rule that applies wins:
 1. `superseded_by`                           → cancelled  "superseded by <sha7>"
 2. any blocking Problem                      → failure    (the problem's title)
 3. no prompt file changed                    → success    "no prompt files changed"
 4. evals skipped, waiting for a fork label   → action_required (the reason)
 5. evals skipped for another reason          → success    (the reason: formatting-only, no suite affected)
 6. no eval report                            → success    "no eval cases affected"
 7. verdict blocking + accepted regression    → success    "regression accepted by @x"
 8. verdict blocking                          → failure    (the verdict headline)
 9. budget exhausted / run cancelled          → failure    a gate must not pass what it did not check
10. otherwise                                 → the verdict's success/neutral

The approval check: superseded → cancelled; otherwise the approval verdict's conclusion and title;
without a verdict, success when no prompt changed, else action_required "approval not evaluated".
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.core.result import ReviewResult

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


def _waits_for_label(reason: str) -> bool:
    r = reason.lower()
    return "label" in r or "fork" in r


def accepted_by(result: ReviewResult) -> str | None:
    acc = result.accepted_regression or {}
    by = acc.get("by") if isinstance(acc, dict) else getattr(acc, "by", None)
    return str(by) if by else None


def evals_outcome(result: ReviewResult) -> Outcome:
    if result.superseded_by:
        return Outcome("cancelled", f"superseded by {result.superseded_by[:7]}")
    blocking = [p for p in result.problems if p.blocking]
    if blocking:
        more = f" (+{len(blocking) - 1} more)" if len(blocking) > 1 else ""
        return Outcome("failure", blocking[0].title + more)
    if not result.prompts:
        return Outcome("success", "no prompt files changed")
    reason = result.evals_skipped_reason
    if reason:
        return Outcome("action_required" if _waits_for_label(reason) else "success", f"evals skipped: {reason}")
    report = result.evals
    if report is None:
        return Outcome("success", "no eval cases affected")
    verdict = report.verdict
    headline = verdict.headline or "evals finished"
    if verdict.blocking:
        who = accepted_by(result)
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
