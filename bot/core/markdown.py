"""The safety layer: every string that comes from a PR or a model reaches markdown through one of
these functions, so it cannot inject HTML, markdown structure, pings, links or images. The one
escaping layer of core: the renderer (as `bot.core.render.escape`) and the approval verdict use it.

GitHub renders comments as GFM with its own post-filters: @user and #123 become pings/links and
bare URLs become links even inside raw HTML text, so those are broken with a zero-width joiner
wherever untrusted text is shown outside code.
"""

from __future__ import annotations

import html
import re

from markupsafe import Markup

ZWJ = "\u200d"

# C0/C1 controls (except tab/newline) and bidi overrides (Trojan-source style reordering).
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\u200e\u200f\u061c]")
# @user, @org/team, #123, GH-123: GitHub turns these into notifications or cross-links.
_MENTION = re.compile(r"([@#＠＃])(?=[\w\d])")
_GH_REF = re.compile(r"\b(GH)-(\d)", re.IGNORECASE)
# Bare URLs and www. hosts are autolinked by GFM; breaking the scheme separator keeps them text.
_SCHEME = re.compile(r"([a-zA-Z][a-zA-Z0-9+.-]*):(//)")
_WWW = re.compile(r"\b(www)\.", re.IGNORECASE)
_EMAIL = re.compile(r"(?<=[\w.+-])@(?=[\w-]+\.)")
# ASCII punctuation with a markdown meaning: backslash-escaped in inline text.
_MD_PUNCT = re.compile(r"([\\`*_{}\[\]()#+\-.!|~=:$^])")


def clean(text: object) -> str:
    """Plain text with control and bidi-override characters removed and newlines normalised."""
    s = "" if text is None else str(text)
    s = s.replace("\r\n", "\n").replace("\r", "\n")
    return _CONTROL.sub("", s)


def unping(s: str) -> str:
    """Break @mentions, #refs, GH-refs, autolinked URLs and e-mail addresses with a zero-width joiner."""
    s = _EMAIL.sub("@" + ZWJ, s)
    s = _MENTION.sub(lambda m: m.group(1) + ZWJ, s)
    s = _GH_REF.sub(lambda m: m.group(1) + "-" + ZWJ + m.group(2), s)
    s = _SCHEME.sub(lambda m: m.group(1) + ":" + ZWJ + m.group(2), s)
    s = _WWW.sub(lambda m: m.group(1) + ZWJ + ".", s)
    return s


def _entities(s: str) -> str:
    # Quotes matter only inside tag attributes, and no tag can open once < is escaped.
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def truncate(text: object, limit: int) -> str:
    """Plain text cut to `limit` characters with an ellipsis (cut before escaping, never after)."""
    s = clean(text)
    if limit and len(s) > limit:
        return s[: max(0, limit - 1)].rstrip() + "…"
    return s


def inline(text: object, limit: int = 0, newline: str = " ") -> Markup:
    """Untrusted text as one line of markdown: literal characters, no structure, no pings."""
    # Pings and URLs are broken first, on the raw text, so escaping cannot hide them from the regexes.
    s = unping(truncate(text, limit))
    s = _MD_PUNCT.sub(r"\\\1", s)
    s = _entities(s)
    # Leading spaces/tabs would make an indented code block or continue a list item.
    s = "\n".join(line.strip() for line in s.split("\n"))
    return Markup(s.replace("\n", newline))


def cell(text: object, limit: int = 0) -> Markup:
    """Untrusted text inside a GFM table cell: one row, pipes escaped, newlines as <br>."""
    s = inline(text, limit, newline="<br>")
    return Markup(s if s.strip() else "—")


def html_text(text: object, limit: int = 0) -> Markup:
    """Untrusted text inside a raw HTML block (e.g. <summary>): entities, single line, no pings."""
    s = truncate(text, limit).replace("\n", " ")
    return Markup(_entities(unping(s)))


def _longest_run(s: str, ch: str) -> int:
    runs = re.findall(re.escape(ch) + "+", s)
    return max((len(r) for r in runs), default=0)


def code(text: object, limit: int = 0, in_table: bool = False) -> Markup:
    """Untrusted text as an inline code span whose delimiters are longer than any backtick run inside."""
    s = truncate(text, limit).replace("\n", " ")
    if not s:
        return Markup("")
    if in_table:
        # GFM splits table cells on | before parsing code spans, so pipes need escaping here too.
        s = s.replace("|", "\\|")
    ticks = "`" * (_longest_run(s, "`") + 1)
    pad = " " if s.startswith("`") or s.endswith("`") or (s.startswith(" ") and s.endswith(" ")) else ""
    return Markup(f"{ticks}{pad}{s}{pad}{ticks}")


def fence(text: object, lang: str = "", limit: int = 0) -> Markup:
    """Untrusted text as a fenced code block that its content cannot close (fence longer than any run)."""
    s = truncate(text, limit)
    lang = re.sub(r"[^a-z0-9_+-]", "", lang.lower())
    ticks = "`" * max(3, _longest_run(s, "`") + 1)
    body = s if s.endswith("\n") or not s else s + "\n"
    return Markup(f"{ticks}{lang}\n{body}{ticks}")


def link(label: object, url: str | None) -> Markup:
    """A link only to an http(s) URL we produced (check-run pages); anything else is plain text."""
    text = inline(label)
    if not url or not re.fullmatch(r"https?://[^\s()<>\"'`]+", url):
        return text
    return Markup(f"[{text}]({url})")


def count_noun(n: int, singular: str, plural: str | None = None) -> str:
    return f"{n} {singular if n == 1 else (plural or singular + 's')}"


def html_escape_attr(s: str) -> str:
    return html.escape(s, quote=True)
