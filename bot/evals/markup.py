"""promptfoo 0.121's is-xml / contains-xml (well-formed XML, optionally with required element paths), with
the same verdicts as promptfoo's: XML through the stdlib's expat with every DTD internal subset refused
before parsing (so no entity is ever declared, let alone expanded) and a size bound. is-html and
contains-html are in bot.evals.html_checks, is-refusal in bot.evals.refusal.
"""

from __future__ import annotations

import re
import xml.parsers.expat
from dataclasses import dataclass, field
from typing import Any

MAX_MARKUP_CHARS = 1_000_000  # a longer output is not parsed: the case is an error, never a pass


class MarkupNotRead(ValueError):
    """The output was not parsed (longer than MAX_MARKUP_CHARS): no verdict, since calling it "not XML"
    would let a not-is-xml pass unchecked."""


# --- value ----------------------------------------------------------------------------------------------

def required_elements(value: Any) -> tuple[tuple[str, ...] | None, str | None]:
    """(the dotted element paths a value names, or None for none; what is wrong with the value).

    promptfoo reads a text as a comma list, a non-empty list as is, a mapping's `requiredElements` list;
    any other non-empty mapping is an error; anything else (absent, empty, a number) requires nothing.
    """
    if isinstance(value, str):
        return tuple(part.strip() for part in value.split(",")), None
    if isinstance(value, list):
        return (tuple(_js_text(v) for v in value) if value else None), None
    if isinstance(value, dict) and value:
        listed = value.get("requiredElements")
        if not isinstance(listed, list):
            return None, "value must be text (a comma list of element paths), a list, or {requiredElements: [...]}"
        return tuple(_js_text(v) for v in listed), None
    return None, None


def _js_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return "null" if value is None else str(value)


# --- XML ------------------------------------------------------------------------------------------------

@dataclass
class _Element:
    attrs: tuple[str, ...] = ()
    has_text: bool = False  # only whether an element holds text matters to a path, never the text
    children: dict[str, list[_Element]] = field(default_factory=dict)


class _Refused(Exception):
    pass


def _parse_xml(text: str, namespaces: bool) -> _Element:
    """The document as a tree (root: a synthetic element holding the top-level elements). Raises
    xml.parsers.expat.ExpatError or _Refused on anything not well-formed or with a DTD internal subset."""
    parser = xml.parsers.expat.ParserCreate(namespace_separator=" " if namespaces else None)
    parser.SetParamEntityParsing(xml.parsers.expat.XML_PARAM_ENTITY_PARSING_NEVER)
    top = _Element()
    stack = [top]

    def start(name: str, attrs: dict[str, str]) -> None:
        element = _Element(attrs=tuple(f"@_{a}" for a in attrs))
        stack[-1].children.setdefault(name, []).append(element)
        stack.append(element)

    def end(name: str) -> None:
        stack.pop()

    def chars(data: str) -> None:
        if not stack[-1].has_text and data.strip():
            stack[-1].has_text = True

    def doctype(name: str, sysid: str | None, pubid: str | None, has_internal_subset: int) -> None:
        if has_internal_subset:
            raise _Refused("DTD internal subsets are not supported")

    def declared(*_: Any) -> None:  # unreachable without an internal subset; refuses any that slips through
        raise _Refused("entity declarations are not supported")

    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = chars
    parser.StartDoctypeDeclHandler = doctype
    parser.EntityDeclHandler = declared
    parser.Parse(text, True)
    return top


def _child_value(element: _Element) -> Any:
    """What promptfoo's parsed tree holds for an element: text alone is a primitive, anything else a mapping."""
    if not element.children and not element.attrs:
        return "text" if element.has_text else ""
    return element


def _has_path(top: _Element, path: list[str]) -> bool:
    current: Any = top
    for key in path:
        if isinstance(current, list):
            if not key.isdigit() or str(int(key)) != key or int(key) >= len(current):
                return False
            current = current[int(key)]
            continue
        if not isinstance(current, _Element):
            return False
        if key in current.children:
            found = current.children[key]
            current = [_child_value(e) for e in found] if len(found) > 1 else _child_value(found[0])
        elif key in current.attrs:
            current = ""
        elif key == "#text" and current.has_text and current is not top:
            current = "text"
        else:
            return False
    return True


def _xml_ok(text: str, required: tuple[str, ...] | None, namespaces: bool) -> tuple[bool, bool]:
    """(valid with every required element, well-formed)."""
    try:
        top = _parse_xml(text, namespaces)
    except (xml.parsers.expat.ExpatError, _Refused, RecursionError):
        return False, False
    return all(_has_path(top, r.split(".")) for r in required or ()), True


def is_xml(output: str, required: tuple[str, ...] | None) -> bool:
    if len(output) > MAX_MARKUP_CHARS:
        raise MarkupNotRead(f"the output is {len(output)} characters, more than {MAX_MARKUP_CHARS} are not parsed as XML")
    return _xml_ok(output, required, namespaces=False)[0] and _xml_ok(output, None, namespaces=True)[1]


_NAME = re.compile(r"[:A-Z_a-z\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u02ff\u0370-\u037d\u037f-\u1fff\u200c\u200d\u2070-\u218f"
                   r"\u2c00-\u2fef\u3001-\ud7ff\uf900-\ufdcf\ufdf0-\ufffd\U00010000-\U000effff]"
                   r"[-.0-9\u00b7\u0300-\u036f\u203f\u2040:A-Z_a-z\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u02ff\u0370-\u037d"
                   r"\u037f-\u1fff\u200c\u200d\u2070-\u218f\u2c00-\u2fef\u3001-\ud7ff\uf900-\ufdcf\ufdf0-\ufffd"
                   r"\U00010000-\U000effff]*")


def _tag_end(text: str, start: int) -> int:
    """Index of the `>` closing the tag at `start` (quotes respected), -1 when a `<` or the end comes first."""
    quote = ""
    for i in range(start + 1, len(text)):
        char = text[i]
        if quote:
            if char == quote:
                quote = ""
        elif char in "\"'":
            quote = char
        elif char == "<":
            return -1
        elif char == ">":
            return i
    return -1


def _declaration_end(text: str, start: int) -> int:
    for opener, closer in (("<!--", "-->"), ("<![CDATA[", "]]>"), ("<?", "?>")):
        if text.startswith(opener, start):
            found = text.find(closer, start + len(opener))
            return len(text) - 1 if found < 0 else found + len(closer) - 1
    quote, depth = "", 0
    for i in range(start + 2, len(text)):
        char = text[i]
        if quote:
            if char == quote:
                quote = ""
        elif char in "\"'":
            quote = char
        elif char == "[":
            depth += 1
        elif char == "]" and depth:
            depth -= 1
        elif char == ">" and not depth:
            return i
    return len(text) - 1


@dataclass(frozen=True)
class _Span:
    start: int
    end: int
    parent: int | None


def xml_candidates(text: str) -> list[tuple[int, int]]:
    """The balanced element spans of a text, in the order promptfoo tries them: first runs of sibling
    elements with no candidate parent, then each outermost element."""
    stack: list[tuple[str, int]] = []
    spans: list[_Span] = []
    i = text.find("<")
    while 0 <= i < len(text):
        nxt = text[i + 1] if i + 1 < len(text) else ""
        end = -1
        if nxt in "!?" and nxt:
            end = _declaration_end(text, i)
        elif nxt == "/":
            name = _NAME.match(text, i + 2)
            end = _tag_end(text, i) if name else -1
            if name and end >= 0:
                if stack and stack[-1][0] == name.group():
                    _, opened = stack.pop()
                    spans.append(_Span(opened, end + 1, stack[-1][1] if stack else None))
                else:
                    stack.clear()
        else:
            name = _NAME.match(text, i + 1)
            end = _tag_end(text, i) if name else -1
            if name and end >= 0:
                if text[i:end].rstrip().endswith("/"):
                    spans.append(_Span(i, end + 1, stack[-1][1] if stack else None))
                else:
                    stack.append((name.group(), i))
        i = text.find("<", (end if end >= 0 else i) + 1)
    starts = {s.start for s in spans}
    ordered: list[tuple[int, int]] = []
    seen: set[tuple[int, int]] = set()

    def add(span: tuple[int, int]) -> None:
        if span not in seen:
            seen.add(span)
            ordered.append(span)

    siblings: dict[int | None, list[_Span]] = {}
    for s in spans:
        siblings.setdefault(s.parent, []).append(s)
    for parent, group in siblings.items():
        if len(group) <= 1 or (parent is not None and parent in starts):
            continue
        group.sort(key=lambda s: (s.start, s.end))
        add((group[0].start, group[-1].end))
    for s in sorted((s for s in spans if s.parent is None or s.parent not in starts), key=lambda s: (s.start, -s.end)):
        add((s.start, s.end))
    return ordered


_ATTRIBUTE = re.compile(r"""([^\s=/>"']+)(?:\s*=\s*(?:"[^"]*"|'[^']*'|[^\s>]*))?""")


def _mark_text(element: _Element, text: str, start: int, end: int) -> None:
    if not element.has_text and text[start:end].strip():
        element.has_text = True


def _lenient_tree(text: str) -> tuple[_Element, bool]:
    """A span's elements read as promptfoo's lenient (non-validating) parser reads them for contains-xml:
    stray `&` and unquoted or valueless attributes are accepted; only a closing tag that does not close the
    open element makes the span not well-formed."""
    top = _Element()
    stack = [top]
    names: list[str] = []
    i, last = 0, 0
    while True:
        i = text.find("<", i)
        if i < 0:
            break
        nxt = text[i + 1] if i + 1 < len(text) else ""
        end = -1
        if nxt and nxt in "!?":
            end = _declaration_end(text, i)
            _mark_text(stack[-1], text, last, i)
            if text.startswith("<![CDATA[", i):
                _mark_text(stack[-1], text, i + 9, max(i + 9, end - 2))
        elif nxt == "/":
            name = _NAME.match(text, i + 2)
            end = _tag_end(text, i) if name else -1
            if name and end >= 0:
                _mark_text(stack[-1], text, last, i)
                if not names or names[-1] != name.group():
                    return top, False
                names.pop()
                stack.pop()
        else:
            name = _NAME.match(text, i + 1)
            end = _tag_end(text, i) if name else -1
            if name and end >= 0:
                _mark_text(stack[-1], text, last, i)
                body = text[name.end():end]
                closed = body.rstrip().endswith("/")
                attrs = tuple(f"@_{m.group(1)}" for m in _ATTRIBUTE.finditer(body.rstrip().rstrip("/") if closed else body))
                element = _Element(attrs=attrs)
                stack[-1].children.setdefault(name.group(), []).append(element)
                if not closed:
                    stack.append(element)
                    names.append(name.group())
        if end < 0:
            i += 1
            continue
        i = last = end + 1
    return top, True


def contains_xml(output: str, required: tuple[str, ...] | None) -> bool:
    if len(output) > MAX_MARKUP_CHARS:
        raise MarkupNotRead(f"the output is {len(output)} characters, more than {MAX_MARKUP_CHARS} are not searched for XML")
    well_formed: list[tuple[int, int]] = []
    for start, end in xml_candidates(output):
        if any(start >= a and end <= b for a, b in well_formed):
            continue
        top, formed = _lenient_tree(output[start:end])
        if formed and all(_has_path(top, r.split(".")) for r in required or ()):
            return True
        if formed:
            well_formed.append((start, end))
    return False
