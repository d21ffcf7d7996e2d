"""The escaping layer, one behaviour at a time, checked through the HTML a reader would see."""

from __future__ import annotations

import pytest

from bot.core.render import escape, markdown_to_html

ZWJ = "\u200d"


def shown(md: str) -> str:
    return markdown_to_html(md).strip()


@pytest.mark.parametrize(
    ("text", "visible"),
    [
        ("**not bold**", "<p>**not bold**</p>"),
        ("# not a heading", "<p># not a heading</p>"),
        ("- not a list", "<p>- not a list</p>"),
        ("1. not a list", "<p>1. not a list</p>"),
        ("[x](https://evil.example)", f"<p>[x](https:{ZWJ}//evil.example)</p>"),
        ("<b>raw</b>", "<p>&lt;b&gt;raw&lt;/b&gt;</p>"),
        ("a & b < c", "<p>a &amp; b &lt; c</p>"),
    ],
)
def test_inline_text_renders_literally(text, visible):
    assert shown(escape.inline(text)) == visible


def test_mentions_refs_and_urls_are_broken_with_a_zero_width_joiner():
    md = escape.inline("ping @octocat and @acme/team about #12, GH-3, a@b.example, http://x.example, www.y.example")
    assert f"@{ZWJ}octocat" in md and f"@{ZWJ}acme/team" in md
    assert f"\\#{ZWJ}12" in md and f"GH\\-{ZWJ}3" in md and f"a@{ZWJ}b" in md
    assert f"http\\:{ZWJ}//" in md and f"www{ZWJ}\\." in md


def test_control_and_bidi_override_characters_are_removed():
    assert escape.clean("a\u202eb\u2066c\x00d\x1be\r\nf") == "abcde\nf"


def test_multiline_text_stays_on_one_line_and_cells_use_br():
    assert "\n" not in escape.inline("a\n# b\n    c")
    assert str(escape.cell("a\nb|c")) == "a<br>b\\|c"
    assert str(escape.cell("")) == "—"


def test_truncation_happens_before_escaping_so_no_escape_is_cut_in_half():
    md = str(escape.inline("<<<<<<<<<<", limit=5))
    assert md == "&lt;&lt;&lt;&lt;…"


def test_links_only_to_http_urls():
    assert str(escape.link("evals check", "https://github.com/a/b/runs/1")) == "[evals check](https://github.com/a/b/runs/1)"
    assert str(escape.link("x", "javascript:alert(1)")) == "x"
    assert str(escape.link("x", "https://e.example/a)(b")) == "x"
