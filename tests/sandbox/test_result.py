"""A returned value read with promptfoo's rules (shared by both languages)."""

from __future__ import annotations

import math

from bot.core.config import parse_config
from bot.evals.sandbox.result import CodeLimits, judge


def test_booleans_numbers_and_strings():
    assert judge(True, None, "Python").passed and not judge(False, None, "Python").passed
    assert judge("TRUE", None, "Python").passed and not judge("false", None, "JavaScript").passed
    assert judge("0.7", 0.5, "Python").passed and judge("0.7", 0.5, "Python").score == 0.7


def test_non_finite_and_unknown_values_fail_saying_what_came_back():
    for value in (math.nan, math.inf, None, [1], "maybe"):
        result = judge(value, None, "JavaScript")
        assert not result.passed and "must return a boolean" in result.reason


def test_grading_result_object_from_python_json_string():
    result = judge('{"pass": true, "score": 0.9, "reason": "fine"}', None, "Python")
    assert (result.passed, result.score, result.reason) == (True, 0.9, "fine")


def test_limits_come_from_the_repo_config():
    limits = parse_config("limits:\n  code_timeout_s: 2.5\n  code_memory_mb: 64\n").limits
    assert CodeLimits.from_config(limits) == CodeLimits(timeout_s=2.5, memory_mb=64)
