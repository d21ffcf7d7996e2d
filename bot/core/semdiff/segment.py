"""Split prompt text into sections (headings, XML-style tags) and instructions (sentences,
list items, code blocks, template tags), each with its line range in the file.

Hand-written and line-based rather than a markdown parser: prompts mix markdown with jinja
tags, handlebars blocks and XML-ish tags, and every instruction needs exact file lines.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from bot.core.semdiff.structure import Example, Section, Unit

# `##Impact:` renders as text in CommonMark but a model reads it as the heading it was meant to
# be: a missing space after the hashes is formatting, not a change of structure.
_HEADING = re.compile(r"^\s{0,3}(#{1,6})(?:\s+|(?=[A-Za-z]))(.*?)\s*#*\s*$")
# A short line ending in a colon on its own ("RESPONSE FORMAT:", "Examples:") titles what follows.
_LABEL = re.compile(r"^\s{0,3}([A-Za-z][\w ()/&'-]{0,38}?)\s*:\s*$")
_FENCE = re.compile(r"^\s*(```|~~~)")
_LIST = re.compile(r"^(\s*)(?:[-*+•]|\d{1,3}[.)]|[a-zA-Z][.)]|\([A-Za-z0-9]{1,3}\))\s+(.*)$")
_RULE = re.compile(r"^\s*([-*_=])(\s*\1){2,}\s*$")
_OPEN_TAG = re.compile(r"^\s*<([A-Za-z][\w-]*)(\s[^>]*)?>\s*$")
_CLOSE_TAG = re.compile(r"^\s*</([A-Za-z][\w-]*)>\s*$")
_JINJA_STMT = re.compile(r"^\s*\{%-?\s*(.*?)\s*-?%\}\s*$")
_JINJA_COMMENT = re.compile(r"^\s*\{#.*#\}\s*$")
_HBS_BLOCK = re.compile(r"^\s*\{\{~?\s*([#/^]|else\b)\s*(.*?)\s*~?\}\}\s*$")
_TABLE = re.compile(r"^\s*\|.*\|\s*$")
_TABLE_SEP = re.compile(r"^\s*\|[\s:|-]+\|\s*$")
_EXAMPLES = re.compile(r"\b(examples|few[- ]shot|sample (conversations|dialogues|replies))\b", re.I)
_ONE_EXAMPLE = re.compile(r"^(<)?\s*example\b", re.I)
_SENTENCE_END = re.compile(r"[.!?][\"')\]]*\s+(?=[A-Z0-9\"'(\[*`{<])")
_ABBREV = re.compile(r"\b(e\.g|i\.e|etc|vs|mr|mrs|ms|dr|st|no|approx|incl)\.$", re.I)


@dataclass
class _Block:
    kind: str  # para | item | code | logic | row
    lines: list[tuple[int, str]] = field(default_factory=list)
    branch: str | None = None


@dataclass
class _Sec:
    title: str
    level: int
    start: int
    blocks: list[_Block] = field(default_factory=list)
    end: int = 0


def segment(text: str, first_line: int = 1) -> tuple[list[Section], list[Example]]:
    """Sections with their instructions, and few-shot examples found in example sections/tags."""
    secs: list[_Sec] = [_Sec("", 0, first_line)]
    tags: list[str] = []  # open XML-ish section tags, to return to the outer section on close
    branches: list[str] = []
    examples: list[Example] = []
    current: _Block | None = None
    fence: _Block | None = None
    example_tag: tuple[str, int, list[str]] | None = None
    json_depth = 0
    lines = text.split("\n")

    def close() -> None:
        nonlocal current
        if current is not None and current.lines:
            secs[-1].blocks.append(current)
        current = None

    for offset, raw in enumerate(lines):
        no = first_line + offset
        secs[-1].end = no
        if fence is not None and json_depth:
            fence.lines.append((no, raw))
            json_depth += _json_depth(raw)
            if json_depth <= 0:
                json_depth = 0
                secs[-1].blocks.append(fence)
                fence = None
            continue
        if fence is not None:
            if _FENCE.match(raw):
                fence.lines.append((no, ""))
                secs[-1].blocks.append(fence)
                fence = None
            else:
                fence.lines.append((no, raw))
            continue
        if example_tag is not None:
            name, start, body = example_tag
            if re.match(rf"^\s*</{re.escape(name)}>\s*$", raw):
                examples.append(Example("\n".join(body).strip(), (start, no)))
                example_tag = None
            else:
                body.append(raw)
            continue
        stripped = raw.lstrip()
        if stripped[:1].isalpha() and stripped[1:2] not in (".", ")") and "|" not in raw and not _LABEL.match(raw):
            # Fast path for the common case, plain prose: nothing structural starts with a letter.
            if current is not None and current.kind == "item" and raw[:1].isupper():
                close()  # an unindented capitalised line after a list item starts a new paragraph
            if current is None or current.kind not in ("para", "item"):
                close()
                current = _Block("para", [], _top(branches))
            current.lines.append((no, raw.strip()))
            continue
        m = _LABEL.match(raw)
        if m and (current is None or current.kind != "item" or not raw[:1].isspace()) and _content_follows(lines, offset):
            close()
            secs.append(_Sec(m.group(1).strip(), 8, no))
            continue
        if stripped[:1] in "{[" and (current is None or not current.lines) and _json_start(lines, offset):
            # A JSON object or array on its own lines is a schema or a sample answer, not prose.
            close()
            fence = _Block("code", [(no, raw)], _top(branches))
            depth = _json_depth(raw)
            if depth <= 0:
                secs[-1].blocks.append(fence)
                fence = None
            else:
                json_depth = depth
            continue
        if _FENCE.match(raw):
            close()
            fence = _Block("code", [(no, "")], _top(branches))
            continue
        if not raw.strip() or _RULE.match(raw) or _JINJA_COMMENT.match(raw):
            close()
            continue
        m = _HEADING.match(raw)
        if m:
            close()
            secs.append(_Sec(m.group(2).strip(), len(m.group(1)), no))
            continue
        m = _OPEN_TAG.match(raw)
        if m:
            close()
            if _ONE_EXAMPLE.match(m.group(1)):
                example_tag = (m.group(1), no, [])
            else:
                tags.append(secs[-1].title)
                secs.append(_Sec(f"<{m.group(1)}>", 7, no))
            continue
        m = _CLOSE_TAG.match(raw)
        if m:
            close()
            outer = tags.pop() if tags else ""
            secs.append(_Sec(f"{outer} (after </{m.group(1)}>)" if outer else f"(after </{m.group(1)}>)", 7, no))
            continue
        m = _JINJA_STMT.match(raw) or _HBS_BLOCK.match(raw)
        if m:
            close()
            stmt = raw.strip()
            _track_branch(stmt, branches)
            if _is_meaningful_tag(stmt):
                secs[-1].blocks.append(_Block("logic", [(no, stmt)], _top(branches[:-1] if _opens(stmt) else branches)))
            continue
        if _TABLE.match(raw):
            close()
            if not _TABLE_SEP.match(raw):
                secs[-1].blocks.append(_Block("row", [(no, raw.strip())], _top(branches)))
            continue
        m = _LIST.match(raw)
        if m:
            close()
            current = _Block("item", [(no, m.group(2))], _top(branches))
            continue
        if current is None:
            current = _Block("para", [], _top(branches))
        current.lines.append((no, raw.strip()))
    close()
    if fence is not None:
        secs[-1].blocks.append(fence)
    if example_tag is not None:
        name, start, body = example_tag
        examples.append(Example("\n".join(body).strip(), (start, first_line + len(lines) - 1)))

    sections: list[Section] = []
    for sec in secs:
        if _EXAMPLES.search(sec.title) or _ONE_EXAMPLE.match(sec.title):
            examples.extend(_examples_of(sec))
            units: list[Unit] = []
        else:
            units = [u for b in sec.blocks for u in _units_of(b)]
        if sec.title or units:
            sections.append(Section(sec.title, sec.level, (sec.start, max(sec.start, sec.end)), tuple(units)))
    return _merge_same_titles(sections), examples


def _content_follows(lines: list[str], offset: int) -> bool:
    """A label titles what follows it; one with nothing after it ("Summary:" at the end) is text."""
    for line in lines[offset + 1:]:
        if line.strip():
            return not (_HEADING.match(line) or _LABEL.match(line))
    return False


def _json_depth(line: str) -> int:
    """How many brackets this line opens (negative: closes), outside strings."""
    plain = re.sub(r'"(?:[^"\\]|\\.)*"', '""', line)
    return plain.count("{") + plain.count("[") - plain.count("}") - plain.count("]")


def _json_start(lines: list[str], offset: int) -> bool:
    """A line opening `{` or `[` whose next lines look like JSON keys or values."""
    first = lines[offset].strip()
    if first in ("{", "[") and offset + 1 < len(lines):
        return bool(re.match(r'^\s*("|\{|\[|\d|true|false|null|\]|\})', lines[offset + 1]))
    return bool(re.match(r'^[{\[]\s*"[^"]*"\s*:', first))


def _examples_of(sec: _Sec) -> list[Example]:
    blocks = [b for b in sec.blocks if b.lines]
    if not blocks:
        return []
    groups = [blocks] if _ONE_EXAMPLE.match(sec.title) else [[b] for b in blocks]
    out = []
    for group in groups:
        text = "\n".join(t for b in group for _, t in b.lines).strip()
        if text:
            out.append(Example(text, (group[0].lines[0][0], group[-1].lines[-1][0])))
    return out


def _units_of(block: _Block) -> list[Unit]:
    if block.kind == "code":
        body = "\n".join(t for _, t in block.lines).strip("\n")
        if not body.strip():
            return []
        return [Unit(body, (block.lines[0][0], block.lines[-1][0]), "code", block.branch)]
    if block.kind == "logic":
        return [Unit(block.lines[0][1], (block.lines[0][0], block.lines[0][0]), "logic", block.branch)]
    # Join wrapped lines, remembering where each line starts, so a sentence maps back to lines.
    starts: list[tuple[int, int]] = []
    joined = ""
    for no, line in block.lines:
        if joined:
            joined += " "
        starts.append((len(joined), no))
        joined += line.strip()
    units = []
    for start, end in _sentences(joined):
        sentence = joined[start:end].strip()
        if not sentence:
            continue
        first = max(no for pos, no in starts if pos <= start)
        last = max(no for pos, no in starts if pos < end)
        units.append(Unit(sentence, (first, last), "instruction", block.branch))
    return units


def _sentences(text: str) -> list[tuple[int, int]]:
    spans, start = [], 0
    for m in _SENTENCE_END.finditer(text):
        if _ABBREV.search(text[start : m.start() + 1]):
            continue
        spans.append((start, m.start() + len(m.group(0).rstrip())))
        start = m.end()
    spans.append((start, len(text)))
    return spans


def _opens(stmt: str) -> bool:
    return bool(re.match(r"^\{[%{]-?~?\s*(#\s*)?(if|for|block|macro|call|each|unless|with|filter)\b", stmt))


def _track_branch(stmt: str, branches: list[str]) -> None:
    body = re.sub(r"^\{[%{]-?~?\s*|\s*-?~?[%}]\}$", "", stmt)
    word = re.match(r"[#/^]?\s*(\w+)", body)
    name = word.group(1) if word else ""
    if _opens(stmt):
        branches.append(stmt)
    elif name in ("elif", "else") and branches:
        branches[-1] = stmt
    elif (name.startswith("end") or body.startswith("/")) and branches:
        branches.pop()


def _is_meaningful_tag(stmt: str) -> bool:
    """Tags that close or switch a branch carry no instruction of their own."""
    body = re.sub(r"^\{[%{]-?~?\s*", "", stmt)
    return not re.match(r"(end\w*|else\b|/)", body)


def _top(branches: list[str]) -> str | None:
    return branches[-1] if branches else None


def _merge_same_titles(sections: list[Section]) -> list[Section]:
    """A heading that repeats (e.g. two '## Notes') keeps one entry per title, in order."""
    seen: dict[str, int] = {}
    out: list[Section] = []
    for s in sections:
        key = s.key
        if key in seen and key:
            i = seen[key]
            prev = out[i]
            out[i] = Section(prev.title, prev.level, (prev.lines[0], max(prev.lines[1], s.lines[1])), prev.units + s.units)
        else:
            seen[key] = len(out)
            out.append(s)
    return out
