"""The per-model gate and matrix: plain values in, the verdict and rows a user sees out."""

from __future__ import annotations

import dataclasses

from bot.core.compare import CaseStatus, decide_verdict, tally
from bot.core.config import EvalsConfig
from bot.core.matrix import model_tallies, report_matrices
from bot.core.render import evals_outcome
from bot.core.result import Acceptance
from tests.render import builders as b
from tests.render import scenarios

S = CaseStatus


def _flaky_regression(key: str, provider: str):
    base = b.side(True, "ok")
    head = dataclasses.replace(b.side(False, "no", ["x"]), runs=3, passes=1)
    return b.case(f"{b.SUITE}::{key}::p::{provider}", S.REGRESSED, provider=provider, flaky=True, base=base, head=head)


def _fixed(key: str, provider: str):
    return b.case(f"{b.SUITE}::{key}::p::{provider}", S.FIXED, provider=provider,
                  base=b.side(False, "no", ["x"]), head=b.side(True, "ok"))


def test_flaky_regressions_significant_on_one_model_block_even_when_another_models_fixes_dilute_the_pooled_test():
    claude = [_flaky_regression(f"t{i}", scenarios.CLAUDE) for i in range(8)]
    mini = [_fixed(f"t{i}", b.PROVIDER) for i in range(8)]
    cases = claude + mini
    total = tally([(c.status, c.flaky, c.head) for c in cases])
    pooled = decide_verdict(total, [], EvalsConfig())
    assert not pooled.blocking  # 8 flaky regressions vs 8 fixes: not significant pooled
    verdict = decide_verdict(total, [], EvalsConfig(), per_model=model_tallies(cases))
    assert verdict.blocking and verdict.blocked_models == (scenarios.CLAUDE,)
    assert f"blocking on {scenarios.CLAUDE}" in verdict.headline


def test_one_model_keeps_the_verdict_it_always_had():
    cases = [_fixed("t1", b.PROVIDER), b.case(f"{b.SUITE}::t2::p::{b.PROVIDER}", S.STILL_PASSING, base=b.side(True, "ok"), head=b.side(True, "ok"))]
    total = tally([(c.status, c.flaky, c.head) for c in cases])
    assert decide_verdict(total, [], EvalsConfig(), per_model=model_tallies(cases)) == decide_verdict(total, [], EvalsConfig())


def test_the_matrix_has_a_column_per_model_and_a_row_per_changed_case():
    report = scenarios.two_models().evals
    m = report_matrices(report)[b.SUITE]
    assert [c.model for c in m.models] == [scenarios.CLAUDE, b.PROVIDER]
    assert [c.blocking for c in m.models] == [True, False]
    assert [r.test for r in m.rows][:3] == [f"refund_out_of_window {i:03}: order delivered {40 + i} days ago" for i in (1, 2, 3)]
    first = m.rows[0].cells
    assert (first[0].base, first[0].head, first[0].status) == ("pass", "fail", S.REGRESSED)
    assert (first[1].base, first[1].head) == ("pass", "pass")
    assert m.unchanged == 1


def test_a_single_model_suite_has_no_matrix():
    assert report_matrices(scenarios.all_pass().evals) == {}


def test_an_acceptance_for_one_model_leaves_the_other_models_regression_blocking():
    r = scenarios.two_models(mini_regressed=1)
    on_mini = dataclasses.replace(r, accepted_regression=Acceptance("carol", b.ACCEPTED_AT, models=(b.PROVIDER,)))
    outcome = evals_outcome(on_mini)
    assert outcome.conclusion == "failure" and scenarios.CLAUDE in outcome.title
    both = dataclasses.replace(r, accepted_regression=Acceptance("carol", b.ACCEPTED_AT, models=(b.PROVIDER, scenarios.CLAUDE)))
    assert evals_outcome(both).conclusion == "success"
    by_cases = dataclasses.replace(r, accepted_regression=Acceptance("carol", b.ACCEPTED_AT, tuple(c.key for c in r.evals.cases(S.REGRESSED))))
    assert evals_outcome(by_cases).conclusion == "success"
