"""Typed results of the semantic prompt diff, consumed by the comment renderer and by
affected-case selection (a formatting-only diff lets the pipeline skip evals)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from bot.core.errors import SourceError


class ChangeType(str, Enum):
    MODEL_CHANGED = "model_changed"
    PARAMETER_CHANGED = "parameter_changed"
    VARIABLE_ADDED = "variable_added"
    VARIABLE_REMOVED = "variable_removed"
    VARIABLE_RENAMED = "variable_renamed"
    MESSAGE_ADDED = "message_added"
    MESSAGE_REMOVED = "message_removed"
    ROLE_CHANGED = "role_changed"
    SECTION_ADDED = "section_added"
    SECTION_REMOVED = "section_removed"
    SECTION_MOVED = "section_moved"
    SECTION_RENAMED = "section_renamed"
    INSTRUCTION_ADDED = "instruction_added"
    INSTRUCTION_REMOVED = "instruction_removed"
    INSTRUCTION_REWORDED = "instruction_reworded"
    # Not in the first list of the issue, but "report moves as moves" needs a name for an
    # instruction that moved on its own (its section did not move with it).
    INSTRUCTION_MOVED = "instruction_moved"
    CONSTRAINT_WEAKENED = "constraint_weakened"
    CONSTRAINT_STRENGTHENED = "constraint_strengthened"
    NEGATION_ADDED = "negation_added"
    NEGATION_REMOVED = "negation_removed"
    NUMBER_CHANGED = "number_changed"
    OUTPUT_FORMAT_CHANGED = "output_format_changed"
    EXAMPLE_ADDED = "example_added"
    EXAMPLE_REMOVED = "example_removed"
    EXAMPLE_CHANGED = "example_changed"
    FORMATTING_ONLY = "formatting_only"
    TOKEN_COUNT_CHANGED = "token_count_changed"
    FILE_ADDED = "file_added"
    FILE_REMOVED = "file_removed"

    def __str__(self) -> str:
        return self.value


class Severity(str, Enum):
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"
    NONE = "none"

    def __str__(self) -> str:
        return self.value

    @property
    def rank(self) -> int:
        return _RANK[self]


_RANK = {Severity.HIGH: 0, Severity.MEDIUM: 1, Severity.LOW: 2, Severity.NONE: 3}

T = ChangeType
# Anything that can silently drop or loosen a rule a case depends on is high: recall on
# these matters more than anything else in the diff.
SEVERITY: dict[ChangeType, Severity] = {
    T.MODEL_CHANGED: Severity.HIGH,
    # Sampling and length settings change every answer (max_tokens 30 → 150, temperature).
    T.PARAMETER_CHANGED: Severity.HIGH,
    T.VARIABLE_ADDED: Severity.MEDIUM,
    T.VARIABLE_REMOVED: Severity.HIGH,
    T.VARIABLE_RENAMED: Severity.HIGH,
    T.MESSAGE_ADDED: Severity.MEDIUM,
    T.MESSAGE_REMOVED: Severity.HIGH,
    T.ROLE_CHANGED: Severity.HIGH,
    T.SECTION_ADDED: Severity.MEDIUM,
    T.SECTION_REMOVED: Severity.HIGH,
    T.SECTION_MOVED: Severity.LOW,
    T.SECTION_RENAMED: Severity.LOW,
    T.INSTRUCTION_ADDED: Severity.MEDIUM,
    T.INSTRUCTION_REMOVED: Severity.HIGH,
    T.INSTRUCTION_REWORDED: Severity.MEDIUM,
    T.INSTRUCTION_MOVED: Severity.LOW,
    T.CONSTRAINT_WEAKENED: Severity.HIGH,
    T.CONSTRAINT_STRENGTHENED: Severity.MEDIUM,
    T.NEGATION_ADDED: Severity.HIGH,
    T.NEGATION_REMOVED: Severity.HIGH,
    T.NUMBER_CHANGED: Severity.HIGH,
    T.OUTPUT_FORMAT_CHANGED: Severity.HIGH,
    T.EXAMPLE_ADDED: Severity.LOW,
    T.EXAMPLE_REMOVED: Severity.MEDIUM,
    T.EXAMPLE_CHANGED: Severity.MEDIUM,
    T.FORMATTING_ONLY: Severity.NONE,
    T.TOKEN_COUNT_CHANGED: Severity.LOW,
    T.FILE_ADDED: Severity.MEDIUM,
    T.FILE_REMOVED: Severity.HIGH,
}
HIGH_SEVERITY_TYPES = frozenset(t for t, s in SEVERITY.items() if s is Severity.HIGH)

Lines = tuple[int, int]


@dataclass(frozen=True)
class Change:
    """One semantic change. Excerpts are plain text; the renderer escapes them."""

    type: ChangeType
    severity: Severity
    summary: str
    before: str | None = None
    after: str | None = None
    base_lines: Lines | None = None
    head_lines: Lines | None = None
    file: str | None = None  # set when the change is in an included template, not `path`
    context: str | None = None  # where it sits: section title, message role, jinja branch


@dataclass(frozen=True)
class WordDiffHunk:
    """One changed passage as word-level operations, for a collapsible diff in the comment."""

    ops: tuple[tuple[str, str], ...]  # (op, text), op in 'equal' | 'insert' | 'delete'
    base_lines: Lines | None = None
    head_lines: Lines | None = None
    file: str | None = None


@dataclass(frozen=True)
class MessageTokens:
    """Token counts of one message on each side (None where the message does not exist)."""

    role: str
    before: int | None
    after: int | None


@dataclass(frozen=True)
class PromptDiff:
    path: str
    format: str  # text, markdown, jinja2, chat-json, chat-yaml, front-matter, prompty, dotprompt
    changes: tuple[Change, ...]
    formatting_only: bool
    errors: tuple[SourceError, ...] = ()
    fallback: bool = False
    tokens_before: int | None = None
    tokens_after: int | None = None
    tokens_estimated: bool = True
    word_diff: tuple[WordDiffHunk, ...] = ()
    message_tokens: tuple[MessageTokens, ...] = ()
    files: tuple[str, ...] = ()  # the prompt file plus the templates it includes, on either side

    @property
    def has_semantic_changes(self) -> bool:
        return any(c.severity is not Severity.NONE for c in self.changes)


def make_change(type: ChangeType, summary: str, **fields) -> Change:
    return Change(type=type, severity=SEVERITY[type], summary=summary, **fields)


def ordered(changes: list[Change]) -> tuple[Change, ...]:
    """High severity first, then by position in the file (base side, else head side)."""

    def key(c: Change):
        pos = c.base_lines or c.head_lines or (0, 0)
        return (c.severity.rank, c.file or "", pos[0], c.type.value)

    return tuple(sorted(changes, key=key))
