"""Per-case comparison, exact McNemar on known tables, bootstrap interval and the verdict policy."""

from __future__ import annotations

import pytest

from bot.core.compare import CaseStatus, SideResult, Tally, bootstrap_interval, compare_case, decide_verdict, mcnemar_exact
from bot.core.config import EvalsConfig

PASS = SideResult(True, 1.0, "ok", runs=1, passes=1)
FAIL = SideResult(False, 0.0, "no", runs=1, passes=0)
ERR = SideResult(False, 0.0, "", error="HTTP 503", runs=1)


@pytest.mark.parametrize(
    "base, head, status",
    [
        (PASS, FAIL, CaseStatus.REGRESSED),
        (FAIL, PASS, CaseStatus.FIXED),
        (FAIL, FAIL, CaseStatus.STILL_FAILING),
        (PASS, PASS, CaseStatus.STILL_PASSING),
        (None, PASS, CaseStatus.NEW),
        (PASS, None, CaseStatus.REMOVED),
        (PASS, ERR, CaseStatus.ERROR),
        (ERR, FAIL, CaseStatus.ERROR),
    ],
)
def test_case_status_from_both_sides(base, head, status):
    assert compare_case(base, head) is status


def test_a_side_whose_repeats_disagree_is_flaky():
    assert SideResult(True, 0.67, "x", runs=3, passes=2).flaky
    assert not SideResult(True, 1.0, "x", runs=3, passes=3).flaky


@pytest.mark.parametrize(
    "b, c, p",
    [
        (0, 0, 1.0),
        (1, 0, 1.0),
        (5, 0, 0.0625),
        (6, 0, 0.03125),
        (10, 2, 0.0385742),  # 2 · (1 + 12 + 66) / 4096
        (3, 3, 1.0),
        (41, 0, 2 / 2**41),
    ],
)
def test_exact_mcnemar_matches_the_binomial_table(b, c, p):
    assert mcnemar_exact(b, c) == pytest.approx(p, rel=1e-5)
    assert mcnemar_exact(c, b) == pytest.approx(p, rel=1e-5)


def test_bootstrap_interval_brackets_the_observed_change_and_is_reproducible():
    pairs = [(True, False)] * 20 + [(True, True)] * 80
    lo, hi = bootstrap_interval(pairs)
    assert lo < -0.2 < hi < 0 and lo > -0.4
    assert bootstrap_interval(pairs) == (lo, hi)
    assert bootstrap_interval([(True, True)] * 10) == (0.0, 0.0)


def test_many_consistent_regressions_block_with_a_headline():
    t = Tally(regressed=41, still_passing=250, still_failing=9)
    v = decide_verdict(t, [t.pass_rate_head], EvalsConfig())
    assert v.blocking and v.conclusion == "failure"
    assert v.headline == "41 of 300 cases regressed · pass rate 97.0% → 83.3% (p < 0.001)"


def test_flaky_regressions_that_are_not_significant_are_reported_not_blocking():
    t = Tally(regressed=2, regressed_flaky=2, still_passing=50)
    v = decide_verdict(t, [t.pass_rate_head], EvalsConfig())
    assert not v.blocking and v.conclusion == "neutral"
    assert "flaky regressions not significant at 0.05" in v.headline


def test_consistent_regressions_block_however_few():
    # Significance is for claims about noise, not a licence: 2 cases that failed on every run block.
    v = decide_verdict(Tally(regressed=2, still_passing=50), [], EvalsConfig())
    assert v.blocking and v.conclusion == "failure" and "not significant" not in v.headline


def test_flaky_regressions_are_left_to_the_paired_test():
    noisy = Tally(regressed=8, regressed_flaky=8, fixed=5, still_passing=50)  # noise both ways: p ≈ 0.58
    assert not decide_verdict(noisy, [], EvalsConfig()).blocking
    one_way = Tally(regressed=8, regressed_flaky=8, still_passing=50)  # 8 of 8 discordant pairs one way: p < 0.01
    assert decide_verdict(one_way, [], EvalsConfig()).blocking
    assert decide_verdict(Tally(regressed=8, still_passing=50), [], EvalsConfig()).blocking


def test_max_regressions_allows_that_many():
    t = Tally(regressed=8, still_passing=50)
    assert not decide_verdict(t, [], EvalsConfig(max_regressions=8)).blocking


def test_any_failure_and_min_pass_rate_policies():
    t = Tally(still_passing=9, still_failing=1)
    assert not decide_verdict(t, [0.9], EvalsConfig()).blocking
    assert decide_verdict(t, [0.9], EvalsConfig(fail_on="any_failure")).blocking
    v = decide_verdict(t, [0.9], EvalsConfig(min_pass_rate=0.95))
    assert v.blocking and "below min pass rate 95.0%" in v.headline


def test_never_policy_and_config_errors():
    t = Tally(regressed=40, still_passing=10)
    assert not decide_verdict(t, [], EvalsConfig(fail_on="never")).blocking
    v = decide_verdict(Tally(), [], EvalsConfig(), config_errors=2)
    assert v.blocking and v.headline == "2 suite config errors"


def test_nothing_affected_is_success():
    v = decide_verdict(Tally(), [], EvalsConfig())
    assert (v.blocking, v.conclusion, v.headline) == (False, "success", "no eval cases affected")
