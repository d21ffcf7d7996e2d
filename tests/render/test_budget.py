"""Size budget: outputs never exceed GitHub's limits, drop the least important parts first and say so."""

from __future__ import annotations

import re

from bot.core.render import markdown_to_html, render_comment, render_evals_check
from bot.core.result import COMMENT_MARKER
from tests.render import scenarios


def balanced(md: str) -> None:
    """Nothing cut in half: fences, details and table rows are complete."""
    assert md.count("<details>") == md.count("</details>")
    fences = re.findall(r"^(`{3,})", md, re.M)
    assert len(fences) % 2 == 0
    for line in md.splitlines():
        if line.startswith("| ") and not line.startswith("|---"):
            assert line.endswith(" |"), line[-80:]
    html = markdown_to_html(md)
    assert html.count("<table>") == html.count("</table>")


def test_1000_regressions_fit_in_one_comment_with_a_visible_truncation_note():
    comment = render_comment(scenarios.many_regressions(1000))
    assert len(comment) <= 65536
    assert comment.startswith(COMMENT_MARKER)
    shown = comment.count("| refund_out_of_window") + comment.count("| refund\\_out\\_of\\_window")
    hidden = int(re.search(r"\*\*(\d+) more cases in this cluster — see the check run details", comment).group(1))
    assert 0 < shown < 1000 and shown + hidden == 1000
    balanced(comment)


def test_check_outputs_stay_within_65535_characters():
    out = render_evals_check(scenarios.many_regressions(300))
    assert len(out.summary) <= 65535 and len(out.text) <= 65535
    balanced(out.summary)
    balanced(out.text)


def test_a_small_comment_keeps_every_detail():
    comment = render_comment(scenarios.friendlier())
    assert "more regressed cases" not in comment
    assert comment.count("| refund\\_out\\_of\\_window") == 41
    assert "<summary>Word-level diff</summary>" in comment


def test_a_tight_limit_drops_word_diffs_and_lists_before_regressed_rows():
    full = render_comment(scenarios.friendlier())
    tight = render_comment(scenarios.friendlier(), limit=len(full) - 500)
    assert len(tight) <= len(full) - 500
    assert "Word-level diff" not in tight
    assert tight.count("| refund\\_out\\_of\\_window") == 41
    balanced(tight)


def test_an_absurdly_small_limit_still_returns_the_marker_and_the_verdict():
    comment = render_comment(scenarios.many_regressions(300), limit=400)
    assert len(comment) <= 400
    assert comment.startswith(COMMENT_MARKER)
    assert "300 of 359 cases regressed" in comment.replace("\\", "")
    assert "see the check run details" in comment
