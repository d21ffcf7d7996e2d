"""Bypass 6: 5 of 5 cases turning from pass to fail used to be "neutral · not significant" and exit 0.
Consistent regressions count toward max_regressions and block; only flaky ones are left to the test."""

from __future__ import annotations

from tests.gate.conftest import WEAK, prompt_text


def test_five_cases_that_all_regress_block(gate_repo):
    gate_repo.commit({"prompts/support.txt": prompt_text(WEAK)})
    r = gate_repo.review()
    assert r.status == 1, r.stderr
    assert r.data["conclusion"] == "failure" and "not significant" not in r.data["title"]
    assert r.data["title"].startswith("5 of 5 cases regressed")


def test_with_repeats_cases_that_fail_every_run_block_beside_flaky_ones(gate_repo):
    gate_repo.commit({".github/prompt-review.yml": "evals:\n  repeats: 3\n"}, "repeats")
    gate_repo.commit({"prompts/support.txt": prompt_text(WEAK)})
    r = gate_repo.review()
    assert r.status == 1, r.stderr
    regressed = r.cases("regressed")
    assert len(regressed) == 5 and all((c["head"]["runs"], c["head"]["passes"]) == (3, 0) for c in regressed)
    assert "not significant" not in r.data["title"]


def test_one_consistent_regression_is_allowed_only_by_max_regressions(gate_repo):
    gate_repo.commit({".github/prompt-review.yml": "evals:\n  max_regressions: 5\n"}, "allow five")
    gate_repo.commit({"prompts/support.txt": prompt_text(WEAK)})
    r = gate_repo.review()
    assert r.status == 0 and r.data["conclusion"] == "neutral", r.stderr
