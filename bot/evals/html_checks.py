"""promptfoo 0.121's is-html and contains-html, with the same verdicts: the stdlib's html.parser under the
tree rules promptfoo's check applies, and promptfoo's points for signs of HTML, each in one pass over the
output (a hostile answer cannot make either re-scan the text)."""

from __future__ import annotations

import re
from html.parser import HTMLParser

MAX_HTML_CHARS = 10 * 1024 * 1024  # promptfoo's own bound: a longer output is "not HTML"


# the elements promptfoo recognises as HTML (a name with a hyphen, a custom element, counts too)
HTML_ELEMENTS = frozenset("""
html head title base link meta style body article section nav aside h1 h2 h3 h4 h5 h6 header footer address
p hr pre blockquote ol ul li dl dt dd figure figcaption main div a em strong small s cite q dfn abbr ruby rt rp
data time code var samp kbd sub sup i b u mark bdi bdo span br wbr img iframe embed object param picture source
video audio track map area svg math script noscript canvas ins del table caption colgroup col tbody thead tfoot
tr td th form label input button select datalist optgroup option textarea output progress meter fieldset legend
details summary dialog menu slot template
""".split())
_VOID = frozenset("area base br col embed hr img input link meta param source track wbr".split())
_RAW_TEXT = frozenset("script style textarea title".split())
_HEAD_ONLY = frozenset("title base link meta style script noscript template".split())
_WRAPPER = {name: re.compile(f"<{name}(?=[\\s>/])") for name in ("html", "head", "body")}

# promptfoo's signs and their points, besides tags and comments (which _has_tag and _has_comment find)
_INDICATORS: tuple[tuple[re.Pattern[str], int], ...] = (
    (re.compile(r"&(?:[a-zA-Z]+|#[0-9]+|#x[0-9a-fA-F]+);"), 1),
    (re.compile(r"<!DOCTYPE\s+html", re.IGNORECASE), 2),
    (re.compile(r"\s[a-zA-Z-]+=\s*[\"'][^\"']*[\"']"), 1),
    (re.compile(r"<(html|head|body|div|span|p|a|img|h[1-6]|ul|ol|li|table|tr|td|th|form|input|button|script|style"
                r"|link|meta|br|hr)\b", re.IGNORECASE), 2),
)
_TAG_NAME = re.compile(r"<[a-zA-Z][a-zA-Z0-9-]*")
_CLOSING = re.compile(r"</[a-zA-Z][a-zA-Z0-9-]*\s*>")


def _has_tags(text: str) -> tuple[bool, bool]:
    """(an opening tag, a self-closing tag) as promptfoo's patterns `<name( attrs)?>` and `<name( attrs)?/>`
    find them (attrs: anything but `>`), in one pass: each `<name` looks up the next `>` once."""
    opening = closing_slash = False
    next_gt = -1
    for match in _TAG_NAME.finditer(text):
        end = match.end()
        if end < len(text) and text[end] == ">":
            opening = True
        elif end + 1 < len(text) and text[end] == "/" and text[end + 1] == ">":
            closing_slash = True
        elif end < len(text) and text[end].isspace():
            if next_gt < end:
                next_gt = text.find(">", end)
            if next_gt < 0:
                break  # no `>` after this point: no later tag ends either
            opening = True
            if text[next_gt - 1] == "/" and next_gt - 1 > end:
                closing_slash = True
        if opening and closing_slash:
            break
    return opening, closing_slash


def _has_comment(text: str) -> bool:
    """promptfoo's `<!--[^-]*(?:-[^-]+)*-->`: a comment whose text has no `--`, in one pass."""
    start = text.find("<!--")
    while start >= 0:
        dashes = text.find("--", start + 4)
        if dashes < 0:
            return False
        if text.startswith("-->", dashes):
            return True
        start = text.find("<!--", dashes - 2 if dashes - 2 > start else start + 1)
    return False


def contains_html(output: str) -> bool:
    """promptfoo's score of HTML signs (tags, entities, a doctype, comments, attributes, common element
    names): two points make HTML."""
    if len(output) > MAX_HTML_CHARS:
        return False
    opening, self_closing = _has_tags(output)
    closing = bool(_CLOSING.search(output))
    points = 2 if opening and closing else int(opening or closing)
    points += int(self_closing) + int(_has_comment(output))
    points += sum(weight for pattern, weight in _INDICATORS if pattern.search(output))
    return points >= 2


class _HtmlScan(HTMLParser):
    """Walks the tags: is any a recognised element, and does text stand directly in an implied body."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.open: list[str] = []
        self.recognised = False
        self.loose_text = False
        self.in_body = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in HTML_ELEMENTS or "-" in tag:
            self.recognised = True
        if tag in ("html", "head", "body"):
            return
        if tag not in _HEAD_ONLY:
            self.in_body = True
        if tag not in _VOID:
            self.open.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in HTML_ELEMENTS or "-" in tag:
            self.recognised = True
        if tag not in _HEAD_ONLY and tag not in ("html", "head", "body"):
            self.in_body = True
        if tag not in _VOID and tag not in ("html", "head", "body") and tag in HTML_ELEMENTS:
            self.open.append(tag)  # the HTML parser ignores the slash on a non-void element

    def handle_endtag(self, tag: str) -> None:
        if tag in self.open:
            while self.open and self.open.pop() != tag:
                pass

    def handle_data(self, data: str) -> None:
        if data.strip() and not self.open:
            self.loose_text = True


def _closed_tags_only(text: str) -> str:
    """The text up to the first tag or comment that never closes. An HTML parser drops a tag the input ends
    inside (with whatever follows its `<`) and makes an unclosed comment run to the end; html.parser would
    instead rescan the rest of the text from every `<` of such a tail (quadratic time on `<a<a<a…`), so
    the tail is cut off here, in one pass. A tag ends at a `>` outside a quoted attribute value."""
    i = text.find("<")
    while 0 <= i < len(text) - 1:
        name = i + 2 if text[i + 1] == "/" else i + 1  # a start or an end tag
        if not (name < len(text) and text[name].isascii() and text[name].isalpha()):
            if text[i + 1] == "/" and i + 2 == len(text):
                return text  # a bare `</` at the end is text
            if text[i + 1] in "!?/":  # a comment, a declaration or a bogus comment: to `-->` or `>`
                closer = "-->" if text.startswith("<!--", i) else ">"
                j = text.find(closer, i + (4 if closer == "-->" else 2))
                if j < 0:
                    return text[:i]
                i = text.find("<", j + 1)
            else:
                i = text.find("<", i + 1)
            continue
        j, quote, after_equals = i + 1, "", False
        while j < len(text):
            char = text[j]
            if quote:
                if char == quote:
                    quote = ""
            elif char == ">":
                break
            elif char in "\"'" and after_equals:
                quote = char
            if not char.isspace():
                after_equals = char == "="
            j += 1
        if j >= len(text):
            return text[:i]
        i = text.find("<", j + 1)
    return text


def is_html(output: str) -> bool:
    """promptfoo's is-html: not empty, not an XML document, at least one recognised element written in the
    output, and no text directly in a body the output did not open itself."""
    trimmed = output.strip()
    if not trimmed or len(trimmed) > MAX_HTML_CHARS or re.match(r"\s*<\?xml", trimmed, re.IGNORECASE):
        return False
    scan = _HtmlScan()
    scan.feed(_closed_tags_only(trimmed))
    scan.close()
    lower = trimmed.lower()
    if scan.loose_text and not _WRAPPER["body"].search(lower):
        return False
    wrappers = any(pattern.search(lower) for pattern in _WRAPPER.values())
    return scan.recognised or wrappers
