"""A PR whose file list GitHub cut short must never be told it "no longer changes prompt files":
we could not see all of its files, and the comment says that instead."""

from __future__ import annotations

from bot.core.render import render_comment
from bot.core.result import Problem
from tests.render import builders as b


def test_comment_on_a_cut_listing_names_the_limit_not_an_absence_of_prompts():
    limit = Problem("this PR changes more files than GitHub lists",
                    "GitHub lists at most 3,000 files of a pull request. Split it into pull requests of at most 3,000 files.")
    body = render_comment(b.result([], files_truncated=True, problems=(limit,)))
    assert "no longer changes prompt files" not in body
    assert "3,000" in body and "Split" in body


def test_comment_without_prompts_on_a_complete_listing_says_so():
    assert "no longer changes prompt files" in render_comment(b.result([]))
