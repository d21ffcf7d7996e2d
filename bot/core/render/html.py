"""Markdown → HTML the way GitHub shows a comment (GFM tables and strikethrough), for the demo and
the example script. Raw HTML is off except the few tags our templates emit (details, summary, br,
sub), which GitHub also keeps; any other tag is shown as text."""

from __future__ import annotations

import html as _html
import re

from markdown_it import MarkdownIt

_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<style>
body {{ font: 14px/1.5 -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; max-width: 980px; margin: 2em auto; color: #1f2328; }}
table {{ border-collapse: collapse; margin: 1em 0; display: block; overflow: auto; }}
th, td {{ border: 1px solid #d0d7de; padding: 6px 13px; vertical-align: top; }}
tr:nth-child(2n) {{ background: #f6f8fa; }}
pre, code {{ font-family: ui-monospace, SFMono-Regular, Menlo, monospace; font-size: 85%; background: #f6f8fa; }}
pre {{ padding: 16px; overflow: auto; }}
blockquote {{ border-left: .25em solid #d0d7de; color: #59636e; margin: 0; padding: 0 1em; }}
</style></head><body>
{body}
</body></html>
"""


_ALLOWED_TAG = re.compile(r"</?(details|summary|sub)>|<br ?/?>|<!-- prompt-review:[a-z-]+ -->")


def _allowed(html_src: str) -> bool:
    return "<" not in _ALLOWED_TAG.sub("", html_src)


def _only_allowed_html(state) -> None:
    """Core rule: raw HTML tokens outside the allowlist become plain text."""
    for token in state.tokens:
        if token.type == "html_block" and not _allowed(token.content):
            token.type, token.tag, token.nesting = "code_block", "code", 0
        for child in token.children or ():
            if child.type == "html_inline" and not _allowed(child.content):
                child.type = "text"


def _column_headers(state) -> None:
    """Core rule: a table's header cells say they head columns (screen readers announce them with each cell)."""
    for token in state.tokens:
        if token.type == "th_open":
            token.attrSet("scope", "col")


def _parser() -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": True, "linkify": False}).enable(["table", "strikethrough"])
    md.core.ruler.push("only_allowed_html", _only_allowed_html)
    md.core.ruler.push("column_headers", _column_headers)
    return md


def markdown_to_html(md: str) -> str:
    """GitHub-like HTML of `md`; raw HTML other than details/summary/br/sub is shown as text."""
    return _parser().render(md)


def html_page(md: str, title: str = "prompt-review comment") -> str:
    return _PAGE.format(title=_html.escape(title), body=markdown_to_html(md))
