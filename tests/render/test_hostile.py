"""Hostile strings from a PR or a model: no HTML, markdown structure, fence or table breakout,
pings, links or images survive into the comment or the check outputs."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest
from markdown_it import MarkdownIt

from bot.core.errors import SourceError
from bot.core.render import escape, markdown_to_html, render_approval_check, render_comment, render_evals_check
from bot.core.result import Acceptance, Problem
from bot.core.semdiff import ChangeType, PromptDiff, WordDiffHunk, diff_texts, make_change
from tests.render import builders as b

S = b.CaseStatus
HOSTILE = (
    "<script>alert(1)</script><img src=x onerror=alert(1)> <a href='https://evil.example'>x</a> "
    "@octocat @acme/admins #123 GH-9 owner/repo#7 mail me@evil.example "
    "![pixel](https://evil.example/p.png) [click](https://evil.example/c) https://evil.example/bare www.evil.example "
    "a|b|c \\| ``` ```` ~~~ `x` **bold** _em_ $x^2$ <!-- hidden --> </details></summary></td></table> "
    "\u202eevil\u202c\x00\x1b[31m\n# Heading injection\n- list item\n| x | y |\n|---|---|\n```\nfenced\n````\n"
    "    indented code\n> quote\n<details open><summary>fake</summary>"
)
# Tags our templates emit; anything else in the HTML came from hostile text.
ALLOWED_TAGS = {"p", "h3", "h4", "strong", "em", "code", "pre", "table", "thead", "tbody", "tr", "th", "td",
                "details", "summary", "ul", "li", "br", "sub", "hr", "blockquote", "a"}
OUR_LINKS = {b.LINKS.evals_check, b.LINKS.approval_check}


class Page(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags, self.links, self.text, self.stack = [], [], [], []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        if tag == "a":
            self.links.append(dict(attrs).get("href"))
        if tag not in ("br", "hr", "img"):
            self.stack.append(tag)

    def handle_endtag(self, tag):
        if tag in self.stack:
            while self.stack and self.stack.pop() != tag:
                pass

    def handle_data(self, data):
        # Text outside code is where GitHub looks for mentions, refs and bare URLs.
        if "code" not in self.stack and "pre" not in self.stack:
            self.text.append(data)


def github_like(md: str) -> str:
    """Raw HTML on, as GitHub parses it before sanitising (which keeps img, a, details...)."""
    return MarkdownIt("commonmark", {"html": True}).enable(["table", "strikethrough"]).render(md)


def page(md: str) -> Page:
    p = Page()
    p.feed(github_like(md))
    return p


def hostile_result():
    before = "# Support\n\n- Be polite.\n"
    after = before + f"- {HOSTILE}\n"
    prompt = b.prompt_change(f"prompts/{HOSTILE[:40]}.md", before, after, semdiff=diff_texts("prompts/x.md", before, after))
    crafted = PromptDiff(  # what a parser could hand over verbatim: multi-line text with line-start fences
        path="prompts/crafted.md", format="markdown", formatting_only=False,
        changes=(make_change(ChangeType.INSTRUCTION_REMOVED, HOSTILE, before=HOSTILE, base_lines=(2, 4), head_lines=(2, 2)),),
        word_diff=(WordDiffHunk(ops=(("equal", "```\n" + HOSTILE), ("delete", "\n```\n" + HOSTILE), ("insert", "\n````\n</details>\n")),
                                base_lines=(2, 4), head_lines=(2, 2)),),
    )
    crafted_prompt = b.prompt_change("prompts/crafted.md", "a\n", "b\n", semdiff=crafted)
    cases = [
        b.case(f"k{i}{HOSTILE}", status, description=HOSTILE, vars={"question": HOSTILE}, metric=HOSTILE[:30],
               base=b.side(True, HOSTILE), head=b.side(status is not S.REGRESSED and status is not S.STILL_FAILING,
                                                      HOSTILE, [HOSTILE]), reasons=(HOSTILE,))
        for i, status in enumerate([S.REGRESSED, S.REGRESSED, S.FIXED, S.STILL_FAILING, S.NEW])
    ]
    report = b.report([b.suite_report(cases, path=f"evals/{HOSTILE[:50]}.yaml")],
                      errors=(SourceError(HOSTILE, HOSTILE, 3, HOSTILE),), warnings=(SourceError(HOSTILE, HOSTILE, 4),))
    return b.result(
        [prompt, crafted_prompt], evals=report, approval=b.approval(prompts=(f"prompts/{HOSTILE[:40]}.md",)),
        problems=(Problem(HOSTILE, HOSTILE, errors=(SourceError(HOSTILE, HOSTILE, 1),), blocking=False),),
        accepted_regression=Acceptance(HOSTILE, HOSTILE),
    )


def outputs() -> dict[str, str]:
    r = hostile_result()
    evals, approval = render_evals_check(r), render_approval_check(r)
    return {"comment": render_comment(r), "evals summary": evals.summary, "evals text": evals.text,
            "approval summary": approval.summary}


@pytest.fixture(scope="module")
def rendered():
    return outputs()


@pytest.mark.parametrize("part", ["comment", "evals summary", "evals text", "approval summary"])
def test_hostile_text_creates_no_tags_links_or_images(rendered, part):
    p = page(rendered[part])
    assert set(p.tags) <= ALLOWED_TAGS, set(p.tags) - ALLOWED_TAGS
    assert "img" not in p.tags and "script" not in p.tags and "h1" not in p.tags
    assert set(p.links) <= OUR_LINKS


@pytest.mark.parametrize("part", ["comment", "evals summary", "evals text", "approval summary"])
def test_hostile_text_pings_nobody_and_autolinks_nothing(rendered, part):
    text = "".join(page(rendered[part]).text)
    assert "@octocat" not in text and "@acme/admins" not in text and "me@evil" not in text
    assert "#123" not in text and "#7" not in text and "GH-9" not in text
    assert "https://evil" not in text and "www.evil" not in text
    # The words themselves are still there for the reader, joined by an invisible character.
    assert "@\u200doctocat" in text and "#\u200d123" in text


@pytest.mark.parametrize("part", ["comment", "evals summary", "evals text"])
def test_hostile_text_cannot_add_table_rows_cells_headings_or_lists(rendered, part):
    html = github_like(rendered[part])
    for row in re.findall(r"<tr>(.*?)</tr>", html, re.S):
        cells = len(re.findall(r"<t[dh][ >]", row))
        assert cells in (4, 5), row[:200]
    assert "<h1>" not in html and "<h2>" not in html
    assert "<li>list item" not in html and "<blockquote>\n<p>quote" not in html
    # Control and bidi-override characters are gone everywhere.
    assert "\u202e" not in rendered[part] and "\x00" not in rendered[part] and "\x1b" not in rendered[part]


def test_hostile_prompt_text_stays_inside_its_code_fence(rendered):
    html = github_like(rendered["comment"])
    blocks = re.findall(r"<pre><code[^>]*>(.*?)</code></pre>", html, re.S)
    # One diff block per prompt; the hostile fences inside them did not end them early.
    assert len(blocks) == 2
    assert all("indented code" in block and "fake" in block for block in blocks)
    assert "&lt;/details&gt;" in blocks[1]
    assert html.count("<details>") == html.count("</details>")


def test_annotations_carry_hostile_text_as_plain_text_only():
    r = hostile_result()
    for a in render_evals_check(r).annotations:
        assert len(a["title"]) <= 255 and a["start_line"] <= a["end_line"]
        assert "\u202e" not in a["message"] and "\x00" not in a["message"]


@pytest.mark.parametrize("text", [HOSTILE, "`", "``", "a```b", "````\n```", " ` "])
def test_code_span_and_fence_are_longer_than_any_backtick_run_inside(text):
    span = str(escape.code(text))
    run = max((len(m) for m in re.findall("`+", text)), default=0)
    assert span.startswith("`" * (run + 1)) and span.endswith("`" * (run + 1))
    fenced = str(escape.fence(text))
    first = fenced.split("\n", 1)[0]
    assert len(first) > run and fenced.endswith(first)
    html = markdown_to_html(fenced)
    assert html.count("<pre>") == 1 and html.rstrip().endswith("</code></pre>")


def test_table_cell_keeps_pipes_and_newlines_inside_one_cell():
    md = "| a | b |\n|---|---|\n| " + escape.cell("x | y\nz `|` w") + " | 2 |\n"
    html = markdown_to_html(md)
    assert html.count("<td>") == 2
    assert "x | y<br>z" in html.replace("<br />", "<br>")
