"""markdown_to_html: GitHub-like rendering of our markdown for the demo and the example page."""

from __future__ import annotations

from bot.core.render import markdown_to_html
from bot.core.render.html import html_page
from tests.render import scenarios


def test_tables_strikethrough_and_details_render_like_github():
    html = markdown_to_html("| a | b |\n|---|---|\n| 1 | ~~2~~ |\n\n<details><summary>3 fixed</summary>\n\n- x\n\n</details>\n")
    assert "<table>" in html and "<td><s>2</s></td>" in html
    assert "<details><summary>3 fixed</summary>" in html


def test_raw_html_other_than_our_tags_is_shown_as_text():
    html = markdown_to_html("<img src=x onerror=alert(1)>\n\nhi <script>alert(1)</script> <br>\n")
    assert "<img" not in html and "<script" not in html
    assert "&lt;img" in html and "&lt;script&gt;" in html and "<br>" in html


def test_the_example_comment_becomes_a_complete_page():
    from bot.core.render import render_comment

    page = html_page(render_comment(scenarios.friendlier()))
    assert page.startswith("<!doctype html>") and page.rstrip().endswith("</html>")
    # the cluster's header + representative, its folded header + 40 members, diff header+rows, approval header+row
    assert page.count("<tr>") == 1 + 1 + 1 + 40 + 1 + 7 + 1 + 1
    assert "<!-- prompt-review:comment -->" in page  # kept as an invisible HTML comment, as on GitHub
