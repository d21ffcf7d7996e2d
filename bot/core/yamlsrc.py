"""YAML loading that remembers where every value came from, so errors can name a line.

Safe (no tags that construct Python objects) and YAML 1.2: plain scalars resolve by the 1.2 core
schema as promptfoo's js-yaml reads them — `yes`/`no`/`on`/`off` stay strings, `010` is 10 —
not by PyYAML's YAML 1.1 rules.

Bounded: YAML comes from pull requests, so size, aliases, expanded size (an alias bomb of 1 KB
expands to a billion values), nesting depth and tags are checked on the parser's event stream
*before* any node or Python object is built (see YamlLimits).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any

import yaml

from bot.core.errors import SourceError, UserError

Path = tuple[str | int, ...]

# libyaml's parser when PyYAML was built with it (the wheels are): same safe semantics, ~5x faster.
_BaseLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

# YAML 1.2.2 §10.3.2 (core schema), tag by tag, with the first characters a plain scalar of that
# tag can start with. Timestamps and `<<` merge keys are kept from PyYAML's rules: js-yaml's default
# schema (what promptfoo loads suites with) resolves both as well.
_BOOL = "tag:yaml.org,2002:bool"
_INT = "tag:yaml.org,2002:int"
_FLOAT = "tag:yaml.org,2002:float"
_CORE_1_2 = (
    (_BOOL, r"^(?:true|True|TRUE|false|False|FALSE)\Z", "tTfF"),
    (_INT, r"^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)\Z", "-+0123456789"),
    (_FLOAT, r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))\Z",
     "-+0123456789."),
    ("tag:yaml.org,2002:null", r"^(?:~|null|Null|NULL|)\Z", ["~", "n", "N", ""]),
)
_KEPT_FROM_1_1 = ("tag:yaml.org,2002:timestamp", "tag:yaml.org,2002:merge")


class _Core12Loader(_BaseLoader):  # type: ignore[misc, valid-type]
    """Parses (libyaml when available) and tags plain scalars by the YAML 1.2 core schema."""

    yaml_implicit_resolvers: dict = {}


_PATTERNS = {tag: re.compile(pattern) for tag, pattern, _ in _CORE_1_2}
for _tag, _pattern, _first in _CORE_1_2:
    _Core12Loader.add_implicit_resolver(_tag, _PATTERNS[_tag], list(_first))
for _first_char, _resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items():
    for _tag, _regexp in _resolvers:
        if _tag in _KEPT_FROM_1_1:
            _Core12Loader.add_implicit_resolver(_tag, _regexp, [_first_char])


class _Core12Constructor(yaml.SafeLoader):
    """Builds values with 1.2 meanings: `010` → 10 (1.1: 8), `0o10` → 8, no `1_000` or `1:30` numbers."""


def _core_scalar(loader: yaml.SafeLoader, node: yaml.ScalarNode, tag: str, kind: str) -> str:
    """The scalar's text, checked against the core pattern: an explicit `!!int 1_000` is an error."""
    value = str(loader.construct_scalar(node))
    if not _PATTERNS[tag].match(value):
        raise yaml.constructor.ConstructorError(None, None, f"{value!r} is not a YAML 1.2 {kind}", node.start_mark)
    return value


def _construct_bool(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> bool:
    return _core_scalar(loader, node, _BOOL, "boolean (true or false)").lower() == "true"


def _construct_int(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> int:
    value = _core_scalar(loader, node, _INT, "integer")
    if value.startswith(("0o", "0x")):
        return int(value[2:], 8 if value[1] == "o" else 16)
    return int(value, 10)  # decimal even with leading zeros


def _construct_float(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> float:
    value = _core_scalar(loader, node, _FLOAT, "float").lower()
    if value.endswith(".inf"):
        return -math.inf if value.startswith("-") else math.inf
    return math.nan if value == ".nan" else float(value)


_Core12Constructor.add_constructor(_BOOL, _construct_bool)
_Core12Constructor.add_constructor(_INT, _construct_int)
_Core12Constructor.add_constructor(_FLOAT, _construct_float)


_CORE_TAGS = frozenset(
    {_BOOL, _INT, _FLOAT, "tag:yaml.org,2002:null", "tag:yaml.org,2002:str", "tag:yaml.org,2002:seq",
     "tag:yaml.org,2002:map", *_KEPT_FROM_1_1}
)


@dataclass(frozen=True)
class YamlLimits:
    """Bounds on one YAML document from a pull request, checked before it is built.

    Fixed settings of the reviewer, not repo config: the repo config is itself YAML read with them.
    Each is far above what a real suite needs and low enough that a document within all of them
    loads in about a second and 120 MB (bench/hostile_yaml.py).
    """

    # Bytes of text. Suites, test files and chat prompts are kilobytes; 10 MB is a very large test sheet.
    max_bytes: int = 10_000_000
    # Alias uses (`*name`). The expanded bound below is what stops alias bombs; this one is for a clear
    # message. Room for one or two `<<: *defaults` per case of a suite at limits.max_cases (5000).
    max_aliases: int = 10_000
    # Values (mapping keys, values and items) after every alias is expanded. A 5000-case suite with a
    # dozen vars and assertions per case is ~150,000; building 250,000 takes ~1 s and ~120 MB.
    max_nodes: int = 250_000
    # Nesting of mappings and sequences. Suites nest about 6 deep; Python recursion ends near 1000.
    max_depth: int = 100


DEFAULT_LIMITS = YamlLimits()


def _tag_name(tag: str) -> str:
    return "!!" + tag[len("tag:yaml.org,2002:"):] if tag.startswith("tag:yaml.org,2002:") else tag


def check_bounds(text: str, file: str, limits: YamlLimits = DEFAULT_LIMITS) -> None:
    """Raise UserError (file, line, limit) if `text` passes a limit or uses a tag outside the core schema.

    One pass over the parser's events, keeping numbers only: the expanded size of each anchored
    node is remembered, so an alias adds its size without being walked and the count cannot blow up.
    """
    size = len(text) if len(text) * 4 <= limits.max_bytes else len(text.encode("utf-8", "surrogatepass"))
    if size > limits.max_bytes:
        raise _too_big(file, size, limits)
    # Per open collection: [anchor, expanded values below it so far].
    stack: list[list[Any]] = []
    sizes: dict[str, int] = {}
    open_anchors: set[str] = set()
    total = aliases = 0

    def fail(event: yaml.Event, message: str) -> UserError:
        mark = event.start_mark
        return UserError(SourceError(file, message, None if mark is None else mark.line + 1))

    def add(event: yaml.Event, count: int) -> None:
        nonlocal total
        total += count
        if total > limits.max_nodes:
            raise fail(event, f"the YAML document holds more than {limits.max_nodes:,} values, counting each alias "
                              f"at its expanded size (limit {limits.max_nodes:,})")
        if stack:
            stack[-1][1] += count

    try:
        for event in yaml.parse(text, Loader=_Core12Loader):
            tag = event.tag if isinstance(event, (yaml.ScalarEvent, yaml.CollectionStartEvent)) else None
            if tag is not None and tag != "!" and tag not in _CORE_TAGS:
                raise fail(event, f"the YAML tag {_tag_name(tag)} is not allowed (only the YAML 1.2 core schema: "
                                  "!!str, !!int, !!float, !!bool, !!null, !!seq, !!map)")
            if isinstance(event, yaml.AliasEvent):
                aliases += 1
                if aliases > limits.max_aliases:
                    raise fail(event, f"more than {limits.max_aliases:,} YAML aliases (limit {limits.max_aliases:,})")
                if event.anchor in open_anchors:
                    raise fail(event, f"the YAML alias *{event.anchor} refers to a value that contains it (a recursive alias)")
                # an undefined alias is reported when composing
                add(event, 1 if event.anchor is None else sizes.get(event.anchor, 1))
            elif isinstance(event, yaml.ScalarEvent):
                add(event, 1)
                if event.anchor is not None:
                    sizes[event.anchor] = 1
            elif isinstance(event, yaml.CollectionStartEvent):
                if len(stack) >= limits.max_depth:
                    raise fail(event, f"the YAML document nests deeper than {limits.max_depth} levels (limit {limits.max_depth})")
                add(event, 1)
                stack.append([event.anchor, 0])
                if event.anchor is not None:
                    open_anchors.add(event.anchor)
            elif isinstance(event, yaml.CollectionEndEvent):
                anchor, below = stack.pop()
                if stack:
                    stack[-1][1] += below
                if anchor is not None:
                    open_anchors.discard(anchor)
                    sizes[anchor] = 1 + below
    except yaml.YAMLError as exc:
        raise _invalid(exc, file) from None


def _too_big(file: str, size: int, limits: YamlLimits) -> UserError:
    return UserError(SourceError(file, f"the YAML document is {size:,} bytes, over the limit of {limits.max_bytes:,} bytes; split it into smaller files"))


def _invalid(exc: yaml.YAMLError, file: str) -> UserError:
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    problem = getattr(exc, "problem", None) or str(exc)
    line = mark.line + 1 if mark is not None else None
    return UserError(SourceError(file, f"invalid YAML: {problem}", line))


@dataclass
class LocatedYaml:
    """A parsed YAML document plus the 1-based line of every mapping key / sequence item."""

    file: str
    data: Any
    lines: dict[Path, int] = field(default_factory=dict)

    def line_of(self, path: Path) -> int | None:
        """The line of `path`, or of its nearest ancestor that has one."""
        path = tuple(path)
        while path:
            if path in self.lines:
                return self.lines[path]
            path = path[:-1]
        return self.lines.get((), None)

    def error(self, path: Path, message: str) -> SourceError:
        dotted = ".".join(str(p) for p in path) or None
        return SourceError(self.file, message, self.line_of(path), dotted)


def compose(text: str, file: str = "<yaml>", limits: YamlLimits = DEFAULT_LIMITS) -> yaml.Node | None:
    """The node tree of one document, scalars tagged by the 1.2 core schema (for callers that need positions).

    Bounded like load_yaml; raises UserError naming `file` and the line.
    """
    check_bounds(text, file, limits)
    try:
        return yaml.compose(text, Loader=_Core12Loader)
    except yaml.YAMLError as exc:
        raise _invalid(exc, file) from None


def load_yaml(text: str | bytes, file: str, limits: YamlLimits = DEFAULT_LIMITS) -> LocatedYaml:
    """Parse one YAML document safely; raise UserError naming file and line on bad syntax or a passed limit."""
    if isinstance(text, bytes):
        if len(text) > limits.max_bytes:  # before decoding: the text would double it in memory
            raise _too_big(file, len(text), limits)
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise UserError(SourceError(file, f"not UTF-8 text (byte {exc.start})")) from None
    node = compose(text, file, limits)
    located = LocatedYaml(file=file, data=None)
    if node is None:
        return located
    located.lines[()] = node.start_mark.line + 1
    try:
        located.data = _construct(node, (), located.lines, file, _Core12Constructor(""))
    except yaml.YAMLError as exc:
        raise _invalid(exc, file) from None
    return located


def _construct(node: yaml.Node, path: Path, lines: dict[Path, int], file: str, loader: yaml.SafeLoader) -> Any:
    # One loader per document: building a SafeLoader per value made a 300-case suite take 0.3 s.
    if isinstance(node, yaml.MappingNode):
        result: dict[Any, Any] = {}
        loader.flatten_mapping(node)
        for key_node, value_node in node.value:
            key = loader.construct_object(key_node, deep=True)
            if isinstance(key, (dict, list)):
                raise UserError(SourceError(file, "a mapping key must be a plain value", key_node.start_mark.line + 1))
            if key in result:
                raise UserError(SourceError(file, f"duplicate key {key!r}", key_node.start_mark.line + 1))
            child = path + (key,)
            lines[child] = key_node.start_mark.line + 1
            result[key] = _construct(value_node, child, lines, file, loader)
        return result
    if isinstance(node, yaml.SequenceNode):
        items = []
        for index, item in enumerate(node.value):
            child = path + (index,)
            lines[child] = item.start_mark.line + 1
            items.append(_construct(item, child, lines, file, loader))
        return items
    return loader.construct_object(node, deep=True)


def pydantic_errors(located: LocatedYaml, exc: Any, prefix: Path = ()) -> list[SourceError]:
    """Turn a pydantic ValidationError into SourceErrors with lines from the YAML."""
    errors = []
    for err in exc.errors():
        loc = prefix + tuple(p for p in err["loc"] if not (isinstance(p, str) and p.startswith("function-")))
        message = err["msg"]
        if err["type"] == "extra_forbidden":
            message = f"unknown key {loc[-1]!r}"
        errors.append(located.error(loc, message))
    return errors
