"""The common structure every prompt format is parsed into, before two sides are compared."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from bot.core.errors import SourceError

Lines = tuple[int, int]


@dataclass(frozen=True)
class Unit:
    """One instruction: a sentence, a list item's sentence, a code block or a template tag line."""

    text: str  # as written, whitespace collapsed, list marker removed
    lines: Lines
    kind: str = "instruction"  # instruction | code | logic
    branch: str | None = None  # enclosing jinja/handlebars branch, e.g. "{% if premium %}"
    canon: str = field(init=False, repr=False, compare=False)  # computed once: compared many times

    def __post_init__(self) -> None:
        object.__setattr__(self, "canon", canonical(self.text))


@dataclass(frozen=True)
class Example:
    text: str
    lines: Lines
    canon: str = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "canon", canonical(self.text))


@dataclass(frozen=True)
class Section:
    title: str  # "" for the text before the first heading
    level: int
    lines: Lines
    units: tuple[Unit, ...]

    @property
    def key(self) -> str:
        return re.sub(r"[^\w<>/ ]+", "", self.title.lower()).strip()


@dataclass(frozen=True)
class Message:
    role: str  # "prompt" for single-text formats
    lines: Lines
    text: str
    sections: tuple[Section, ...]
    examples: tuple[Example, ...] = ()

    @property
    def units(self) -> list[Unit]:
        return [u for s in self.sections for u in s.units]


@dataclass(frozen=True)
class Setting:
    value: object
    line: int | None


@dataclass
class Parsed:
    """One side of a prompt file, in the common structure."""

    path: str
    format: str
    text: str
    messages: list[Message] = field(default_factory=list)
    examples: list[Example] = field(default_factory=list)  # few-shot examples outside messages' text
    settings: dict[str, Setting] = field(default_factory=dict)  # flattened front matter / request keys
    variables: dict[str, int | None] = field(default_factory=dict)  # name -> first line (used or declared)
    uses: dict[str, int | None] = field(default_factory=dict)  # name -> first line, template uses only
    includes: list[str] = field(default_factory=list)
    errors: list[SourceError] = field(default_factory=list)
    fallback: bool = False


_EMPHASIS = re.compile(r"\*\*|__|\*|`")
_SPACE = re.compile(r"\s+")
_SPACE_BEFORE_PUNCT = re.compile(r"\s+([.,;:!?)])")


_TEMPLATE_SPACE = re.compile(r"(\{[{%]-?~?)\s*|\s*(~?-?[%}]\})")


def canonical(text: str) -> str:
    """The text with formatting removed: emphasis marks, backticks, whitespace runs (also
    inside `{{ }}`/`{% %}`), and a final full stop."""
    if "*" in text or "_" in text or "`" in text:
        text = _EMPHASIS.sub("", text)
    if "{" in text:
        text = _TEMPLATE_SPACE.sub(lambda m: m.group(1) or m.group(2), text)
    if "  " in text or "\n" in text or "\t" in text:
        text = _SPACE.sub(" ", text)
    text = text.strip()
    if " " in text and _SPACE_BEFORE_PUNCT.search(text):
        text = _SPACE_BEFORE_PUNCT.sub(r"\1", text)
    return text[:-1] if text.endswith(".") else text
