"""A suite's warnings (a top-level key promptfoo ignores) reach the PR comment and the evals check run as a
notice with file and line, and change neither the conclusion nor the title."""

from __future__ import annotations

import dataclasses

from bot.core.errors import SourceError
from bot.core.render import render_comment, render_evals_check
from tests.render import scenarios

WARNING = SourceError("evals/support/promptfooconfig.yaml",
                      "ignored key 'x-team' (promptfoo ignores keys it does not define; so does prompt-review)", 24)


def with_warning(result):
    return dataclasses.replace(result, evals=dataclasses.replace(result.evals, warnings=(WARNING,)))


def test_the_comment_and_the_check_run_show_the_warning_with_file_and_line():
    for result in (scenarios.all_pass(), scenarios.friendlier()):
        warned = with_warning(result)
        for part in (render_comment(warned), render_evals_check(warned).summary):  # where suite errors are shown too
            assert "> [!NOTE]\n> **Ignored suite keys**" in part
            assert "> - `evals/support/promptfooconfig.yaml:24`: ignored key 'x\\-team' \\(promptfoo ignores" in part


def test_a_warning_changes_neither_the_conclusion_nor_the_title():
    for result in (scenarios.all_pass(), scenarios.friendlier(), scenarios.suite_error()):
        plain, warned = render_evals_check(result), render_evals_check(with_warning(result))
        assert (warned.conclusion, warned.title) == (plain.conclusion, plain.title)
    assert "Ignored suite keys" not in render_comment(scenarios.all_pass())
