"""The sticky PR comment: one markdown document within GitHub's size limit."""

from __future__ import annotations

from bot.core.render import conclusion, escape
from bot.core.render.budget import COMMENT_LIMIT, fit
from bot.core.render.context import template_context
from bot.core.render.env import render
from bot.core.result import COMMENT_MARKER, ReviewResult


def render_comment(result: ReviewResult, *, limit: int = COMMENT_LIMIT) -> str:
    """Markdown starting with the COMMENT_MARKER line, always at most `limit` characters."""

    def last_resort() -> str:
        evals = conclusion.evals_outcome(result)
        return (
            f"{COMMENT_MARKER}\n### {evals.icon} {escape.inline(evals.title, limit=200)}\n\n"
            "The full review is too large for a comment — see "
            + (f"{escape.link('the full review', result.links.review_page)} or " if result.links.review_page else "")
            + "the check run details.\n"
        )

    return fit(lambda d: render("comment.md.j2", **template_context(result, d)), limit, last_resort)
