"""Test files parsed once per review and handed out as copies (bot/evals/sources.load_yaml_kept): what one caller does
to its copy never reaches the next, a changed text is parsed afresh, and a broken file fails every time."""

from __future__ import annotations

import pytest

from bot.core.errors import UserError
from bot.evals import sources
from bot.evals.sources import load_yaml_kept

CASES = "".join(f"- vars: {{question: 'question number {i} about refunds'}}\n  assert: [{{type: contains, value: '{i}'}}]\n"
                for i in range(60))


def test_each_caller_gets_its_own_copy_with_the_same_lines():
    first = load_yaml_kept(CASES, "evals/cases.yaml")
    assert len(CASES) >= sources._KEPT_MIN_CHARS  # the text is big enough to be kept
    first.data[0]["vars"]["question"] = "changed by the first caller"
    first.data.append({"vars": {}})
    first.lines[(0,)] = 999
    second = load_yaml_kept(CASES, "evals/cases.yaml")
    assert second.data[0]["vars"]["question"] == "question number 0 about refunds"
    assert len(second.data) == 60 and second.lines[(0,)] == 1 and second.line_of((59, "assert")) == 120
    assert second.file == "evals/cases.yaml"


def test_a_changed_text_or_another_file_is_parsed_afresh():
    load_yaml_kept(CASES, "evals/cases.yaml")
    changed = CASES.replace("question number 7 ", "question seven ")
    assert load_yaml_kept(changed, "evals/cases.yaml").data[7]["vars"]["question"] == "question seven about refunds"
    assert load_yaml_kept(CASES, "evals/other.yaml").error((3,), "x").file == "evals/other.yaml"


def test_a_broken_file_fails_each_time_with_its_line():
    broken = CASES + "- vars: {question: [unclosed\n"
    for _ in range(2):
        with pytest.raises(UserError) as caught:
            load_yaml_kept(broken, "evals/cases.yaml")
        (error,) = caught.value.errors
        assert error.file == "evals/cases.yaml" and error.line is not None and error.line >= 121


def test_what_is_kept_stays_within_its_bytes():
    for i in range(40):  # 36 MB of documents, over the 32 MB kept
        load_yaml_kept(CASES + f"- vars: {{long: '{i}{'x' * 900_000}'}}\n", f"evals/f{i}.yaml")
    assert 0 < sum(len(v) for v in sources._kept.values()) <= sources._KEPT_BYTES
    assert len(load_yaml_kept(CASES + "- vars: {long: '39" + "x" * 900_000 + "'}\n", "evals/f39.yaml").data) == 61
