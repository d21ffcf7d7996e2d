"""The PR comment links to the service's page of the full review when the service knows its address."""

from __future__ import annotations

from dataclasses import replace

from bot.core.render import render_comment
from tests.render.builders import LINKS, prompt_change, result

PAGE = "https://prompt-review.example/ui/repos/acme/support-bot/reviews/7"


def test_the_comment_links_to_the_full_review_page_when_its_url_is_known():
    r = result([prompt_change("prompts/a.md", "Be brief.\n", "Be very brief.\n")], links=replace(LINKS, review_page=PAGE))
    assert f"[full review with every case and output]({PAGE})" in render_comment(r)
    assert f"[the full review]({PAGE})" in render_comment(r, limit=300)  # too large for a comment: the page has it all


def test_without_a_public_url_the_comment_has_no_such_link():
    r = result([prompt_change("prompts/a.md", "Be brief.\n", "Be very brief.\n")])
    assert "full review" not in render_comment(r).lower()
