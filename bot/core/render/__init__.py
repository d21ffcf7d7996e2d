"""Rendering of a review: the sticky PR comment, the two check-run outputs and an HTML preview.

Pure: a `ReviewResult` in, strings out. Everything from a PR or a model is escaped by
`bot.core.render.escape`; every output fits GitHub's size limits (`bot.core.render.budget`).
"""

from bot.core.render.checks import CheckOutput, annotations, render_approval_check, render_evals_check
from bot.core.render.comment import render_comment
from bot.core.render.conclusion import Outcome, approval_outcome, evals_outcome
from bot.core.render.html import html_page, markdown_to_html

__all__ = [
    "render_comment",
    "render_evals_check",
    "render_approval_check",
    "CheckOutput",
    "annotations",
    "markdown_to_html",
    "html_page",
    "Outcome",
    "evals_outcome",
    "approval_outcome",
]
