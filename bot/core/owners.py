"""The prompt owners file (`.github/PROMPTOWNERS`): GitHub CODEOWNERS syntax and matching semantics.

Pure: text in, rules out. Bad lines are reported with their line number and skipped, as GitHub does.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache

from wcmatch import glob as wcglob

from bot.core.config import DEFAULT_OWNERS_FILE
from bot.core.errors import SourceError
from bot.core.files import normalize

# CASE: GitHub evaluates CODEOWNERS case-sensitively. DOTGLOB: like gitignore, `*` matches dotfiles.
# BRACE/EXTGLOB/NEGATE stay off: CODEOWNERS has none of them, so `{a,b}` is literal text.
_GLOB_FLAGS = wcglob.GLOBSTAR | wcglob.DOTGLOB | wcglob.CASE | wcglob.FORCEUNIX

_USER = re.compile(r"@[A-Za-z0-9](?:[A-Za-z0-9_-]*[A-Za-z0-9_])?")
_TEAM = re.compile(r"@[A-Za-z0-9](?:[A-Za-z0-9_-]*[A-Za-z0-9_])?/[A-Za-z0-9_.-]+")
_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")


@dataclass(frozen=True)
class OwnerRule:
    """One line of the owners file: a pattern and its owners (empty = explicitly unowned)."""

    pattern: str
    owners: tuple[str, ...]
    line: int
    globs: tuple[str, ...] = field(default=(), repr=False, compare=False)

    def matches(self, path: str) -> bool:
        return bool(self.globs) and _matcher(self.globs).match(normalize(path))

    def describe(self, file: str | None = None) -> str:
        where = f"{file} line {self.line}" if file else f"line {self.line}"
        return f"{where}: {self.pattern} {' '.join(self.owners) or '(no owners)'}".rstrip()


@dataclass(frozen=True)
class OwnersFile:
    """Parsed owners file. `exists` is False when the file is absent (then every path is unowned)."""

    file: str = DEFAULT_OWNERS_FILE
    rules: tuple[OwnerRule, ...] = ()
    errors: tuple[SourceError, ...] = ()
    exists: bool = True

    def rule_for(self, path: str) -> OwnerRule | None:
        """The last rule whose pattern matches `path` (GitHub: the last matching line wins)."""
        for rule in reversed(self.rules):
            if rule.matches(path):
                return rule
        return None

    def owners_for(self, path: str) -> tuple[str, ...] | None:
        """None: no rule matched (unowned). (): a rule without owners matched (explicitly unowned)."""
        rule = self.rule_for(path)
        return None if rule is None else rule.owners


@lru_cache(maxsize=8192)
def _matcher(globs: tuple[str, ...]) -> wcglob.WcMatcher:
    # Compiled lazily and shared: the same base owners file is parsed for every PR event.
    return wcglob.compile(list(globs), flags=_GLOB_FLAGS)


def parse_owners(text: str | bytes | None, file: str = DEFAULT_OWNERS_FILE) -> OwnersFile:
    """Parse CODEOWNERS-syntax text. None means the file does not exist on the base branch."""
    if text is None:
        return OwnersFile(file=file, exists=False)
    if isinstance(text, bytes):
        text = text.decode("utf-8", errors="replace")
    rules: list[OwnerRule] = []
    errors: list[SourceError] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        try:
            rule = _parse_line(raw, number)
        except _LineError as exc:
            errors.append(SourceError(file, f"{exc} (this line is ignored)", number))
            continue
        if rule is not None:
            rules.append(rule)
    return OwnersFile(file=file, rules=tuple(rules), errors=tuple(errors), exists=True)


class _LineError(ValueError):
    pass


def _parse_line(raw: str, number: int) -> OwnerRule | None:
    line = raw.strip().lstrip("\ufeff")
    if not line or line.startswith("#"):
        return None
    if line.startswith("\\#"):
        # GitHub lists this gitignore escape among the rules that do not work in CODEOWNERS.
        raise _LineError("escaping a leading '#' with '\\' is not supported in CODEOWNERS files")
    tokens = _split(line)
    pattern, owner_tokens = tokens[0], tokens[1:]
    globs = _pattern_globs(pattern)
    owners: list[str] = []
    for token in owner_tokens:
        if _TEAM.fullmatch(token) or _USER.fullmatch(token) or _EMAIL.fullmatch(token):
            owners.append(token)
        else:
            raise _LineError(f"'{token}' is not an owner; use @user, @org/team or an email address")
    return OwnerRule(pattern=pattern, owners=tuple(owners), line=number, globs=globs)


def _split(line: str) -> list[str]:
    """Split on unescaped whitespace; a token starting with '#' starts an inline comment."""
    tokens: list[str] = []
    current = ""
    escaped = False
    for ch in line:
        if escaped:
            current += ch
            escaped = False
        elif ch == "\\":
            current += ch
            escaped = True
        elif ch in " \t":
            if current:
                tokens.append(current)
                current = ""
        elif ch == "#" and not current:
            break
        else:
            current += ch
    if current:
        tokens.append(current)
    return tokens


def _pattern_globs(pattern: str) -> tuple[str, ...]:
    """Translate a CODEOWNERS pattern into wcmatch globs over file paths.

    GitHub's rules (docs "About code owners" + gitignore): a leading '/' or a slash in the middle
    anchors to the root, otherwise the pattern matches at any depth; a trailing '/' matches
    everything below a directory; a final segment that is exactly '*' matches direct children
    only (`docs/*`); any other final segment also matches everything below a matching directory.
    """
    if pattern.startswith("!"):
        raise _LineError(f"'{pattern}': negation with '!' is not supported in CODEOWNERS files")
    if re.search(r"(?<!\\)[\[\]]", pattern):
        raise _LineError(f"'{pattern}': character ranges with '[ ]' are not supported in CODEOWNERS files")
    if "***" in pattern:
        raise _LineError(f"'{pattern}': three consecutive '*' are not a valid pattern")
    if pattern.endswith("\\") and not pattern.endswith("\\\\"):
        raise _LineError(f"'{pattern}': a pattern cannot end with a lone '\\'")
    body = pattern
    anchored = body.startswith("/")
    body = body.lstrip("/")
    is_dir = body.endswith("/")
    body = body.rstrip("/")
    if not body:
        raise _LineError(f"'{pattern}' matches no file")
    if re.search(r"(^|/)\.\.?(/|$)", body):
        raise _LineError(f"'{pattern}': '.' and '..' segments never match repository paths")
    if not anchored and "/" not in body:
        body = f"**/{body}"
    last = body.rsplit("/", 1)[-1]
    if is_dir:
        return (f"{body}/**",) if last != "**" else (body,)
    if last in ("*", "**"):
        return (body,)
    return (body, f"{body}/**")


__all__ = ["OwnerRule", "OwnersFile", "parse_owners"]
