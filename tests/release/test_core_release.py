"""bot.core.release with plain values: the gate, ownership, rollback and the comment command."""

from __future__ import annotations

import pytest

from bot.core.release import (
    Move, Ownership, PastDeployment, Refusal, ReleaseError, ReviewFacts, may_move, parse_command, plan_deploy,
    plan_rollback,
)

PASSED = ReviewFacts(7, "a" * 40, "success", "success")
FAILED = ReviewFacts(8, "b" * 40, "failure", "action_required")


def test_protected_label_refuses_a_failed_review_without_a_reason_and_records_the_override_with_one():
    at = {"p.md": "v2"}
    with pytest.raises(ReleaseError) as refused:
        plan_deploy("production", "c" * 40, at, {"p.md": "v1"}, reviews={"p.md": FAILED})
    assert refused.value.kind is Refusal.REVIEW_DID_NOT_PASS and "#8 did not pass" in refused.value.message
    plan = plan_deploy("production", "c" * 40, at, {"p.md": "v1"}, reviews={"p.md": FAILED}, reason="hotfix")
    assert plan.override and plan.moves == (Move("p.md", "v1", "v2"),) and "evals failure" in plan.blocked[0]
    assert not plan_deploy("staging", "c" * 40, at, {}, reviews={"p.md": FAILED}).override
    assert not plan_deploy("production", "c" * 40, at, {}, reviews={"p.md": PASSED}).override


def test_owners_of_every_moved_prompt_may_deploy_and_unowned_needs_write_access():
    owners = Ownership({"a.md": ("@acme/team",), "b.md": None}, {"acme/team": frozenset({"erin"})}, has_write=False)
    assert may_move("erin", ["a.md"], owners) == (True, "")
    allowed, why = may_move("erin", ["a.md", "b.md"], owners)
    assert not allowed and "b.md (unowned: needs write access)" in why
    assert not may_move("mallory", ["a.md"], owners)[0]


def test_rollback_undoes_the_latest_deployment_not_undone_and_refuses_at_the_first():
    d1 = PastDeployment(1, "prod", "c1", (Move("p", None, "v1"),), rolled_back=False, is_rollback=False)
    d2 = PastDeployment(2, "prod", "c2", (Move("p", "v1", "v2"),), rolled_back=False, is_rollback=False)
    undone, plan = plan_rollback("prod", [d1, d2])
    assert undone.id == 2 and plan.moves == (Move("p", "v2", "v1"),) and plan.commit == "c1"
    with pytest.raises(ReleaseError) as nothing:
        plan_rollback("prod", [d1])
    assert nothing.value.kind is Refusal.NOTHING_TO_RESTORE


def test_comment_commands_parse_verb_label_and_reason():
    assert parse_command("/prompt-review deploy staging") == ("deploy", "staging", None)
    assert parse_command("/prompt-review deploy production tone matters\nmore text") == ("deploy", "production", "tone matters")
    assert parse_command("looks good! /prompt-review deploy staging") is None
