"""Check-run conclusions: what the evals gate and the approval check say for each kind of review."""

from __future__ import annotations

import dataclasses

import pytest

from bot.core.render import render_approval_check, render_evals_check
from bot.core.result import Acceptance, Problem
from tests.render import builders as b
from tests.render import scenarios

S = b.CaseStatus


def regressed_result(**fields):
    cases = [b.case(f"r{i}", S.REGRESSED, base=b.side(True, "not eligible"), head=b.side(False, "eligible", ["x"]))
             for i in range(12)]
    return b.result([b.prompt_change("p.md", "a\n", "b\n")], evals=b.report([b.suite_report(cases)]), **fields)


@pytest.mark.parametrize(
    ("scenario", "conclusion", "title_start"),
    [
        ("all_pass", "success", "no regressions in 36 cases"),
        ("no_prompts_any_more", "success", "no prompt files changed"),
        ("superseded", "cancelled", "superseded by 3333333"),
        ("config_error", "failure", ".github/prompt-review.yml is invalid"),
        ("suite_error", "failure", "1 suite config error"),
        ("fork_waiting", "action_required", "evals skipped: pull request from a fork"),
        ("formatting_only", "success", "evals skipped: formatting-only change"),
        ("budget_hit", "failure", "incomplete: no regressions in 60 cases"),
        ("many_regressions", "failure", "300 of 359 cases regressed"),
    ],
)
def test_evals_check_conclusion_and_title(scenario, conclusion, title_start):
    out = render_evals_check(getattr(scenarios, scenario)())
    assert out.conclusion == conclusion
    assert out.title.startswith(title_start)


def test_a_blocking_regression_fails_the_gate_until_an_owner_accepts_it():
    assert render_evals_check(regressed_result()).conclusion == "failure"
    accepted = render_evals_check(regressed_result(accepted_regression=Acceptance("carol", b.ACCEPTED_AT)))
    assert (accepted.conclusion, accepted.title) == ("success", "regression accepted by @carol")


def test_budget_stop_fails_even_when_every_case_that_ran_passed():
    out = render_evals_check(scenarios.budget_hit())
    assert out.conclusion == "failure"
    assert "a gate must not pass what it did not check" in out.summary
    assert "40 not run" in out.summary


def test_a_non_blocking_problem_is_shown_but_does_not_fail_the_gate():
    r = dataclasses.replace(scenarios.all_pass(), problems=(Problem("Provider slow", "Retried 3 calls.", blocking=False),))
    out = render_evals_check(r)
    assert out.conclusion == "success"
    assert "Provider slow" in out.summary


def test_approval_check_follows_the_approval_verdict():
    assert render_approval_check(scenarios.all_pass()).conclusion == "success"
    waiting = render_approval_check(scenarios.friendlier())
    assert waiting.conclusion == "action_required"
    assert "needs 2 more approvals" in waiting.summary


def test_approval_not_evaluated_requires_action_only_when_prompts_changed():
    r = dataclasses.replace(scenarios.all_pass(), approval=None)
    assert (render_approval_check(r).conclusion, render_approval_check(r).title) == ("action_required", "approval not evaluated")


def test_a_broken_config_fails_the_approval_check_too():
    broken = render_approval_check(scenarios.config_error())
    assert broken.conclusion == "failure"
    assert broken.title == "cannot evaluate approvals: .github/prompt-review.yml is invalid"
    assert render_approval_check(scenarios.no_prompts_any_more()).conclusion == "success"
    assert render_approval_check(scenarios.superseded()).conclusion == "cancelled"


def test_annotations_mark_high_severity_changes_on_head_lines_and_fail_with_the_gate():
    out = render_evals_check(scenarios.friendlier())
    refund = next(a for a in out.annotations if "Refunds are only possible" in a["message"])
    # The removed sentence was on base line 9; the annotation sits where it used to be on the head.
    assert (refund["path"], refund["start_line"], refund["end_line"]) == ("prompts/support/system.md", 9, 9)
    assert {a["annotation_level"] for a in out.annotations} == {"failure"}
    assert all(a["title"].endswith("(high severity)") for a in out.annotations)
    assert render_evals_check(scenarios.superseded()).annotations == ()


def test_annotations_are_warnings_when_the_gate_does_not_fail():
    out = render_evals_check(scenarios.all_pass())
    assert out.annotations and {a["annotation_level"] for a in out.annotations} == {"warning"}
