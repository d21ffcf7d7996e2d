"""Which code may run: the base branch's always, a same-repository PR's when the base config allows
it, a fork's never — and every refusal names the rule that refused it."""

from __future__ import annotations

import pytest

from bot.core.config import EvalsConfig, parse_config
from bot.core.errors import UserError
from bot.evals.sandbox.policy import Origin, may_run, origin_of


def test_base_branch_code_always_runs_even_when_pr_code_may_not():
    never = EvalsConfig(run_pr_code="never")
    assert may_run(Origin.BASE, same_repo=True, config=never)[0]
    assert may_run("base", same_repo=False, config=never)[0]


def test_same_repository_pr_code_runs_by_default():
    allowed, reason = may_run(Origin.PR, same_repo=True, config=EvalsConfig(), what="javascript assertion")
    assert allowed and "evals.run_pr_code: same-repo" in reason


def test_pr_code_is_refused_naming_the_rule_when_the_base_config_says_never():
    config = parse_config("evals:\n  run_pr_code: never\n").evals
    allowed, reason = may_run(Origin.PR, same_repo=True, config=config, what="javascript assertion")
    assert not allowed
    assert reason.startswith("refused: executes code from the PR (javascript assertion)")
    assert "allowed from the base branch only" in reason and "evals.run_pr_code: never" in reason


def test_attack_fork_code_never_runs_whatever_the_config():
    for config in (EvalsConfig(), EvalsConfig(run_pr_code="never")):
        allowed, reason = may_run(Origin.PR, same_repo=False, config=config, what="python assertion")
        assert not allowed and "fork" in reason and "python assertion" in reason


def test_code_is_the_bases_only_when_the_base_has_the_very_same_text():
    assert origin_of("output.length > 3", "output.length > 3") is Origin.BASE
    assert origin_of(b"def get_assert(o, c):\n    return True\n", b"def get_assert(o, c):\n    return False\n") is Origin.PR
    assert origin_of("output.length > 3", None) is Origin.PR


def test_run_pr_code_rejects_unknown_values_with_the_line():
    with pytest.raises(UserError) as caught:
        parse_config("evals:\n  fail_on: regression\n  run_pr_code: always\n")
    assert "run_pr_code" in str(caught.value) and ":3" in str(caught.value)
