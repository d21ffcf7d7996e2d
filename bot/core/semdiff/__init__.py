"""Semantic prompt diff: what a prompt change means (instruction removed, constraint weakened,
model changed…) rather than which characters moved. Pure: text in, typed changes out."""

from __future__ import annotations

from dataclasses import replace

from bot.core.errors import SourceError
from bot.core.files import FileTree, normalize
from bot.core.semdiff.compare import compare_text
from bot.core.semdiff.meta import compare_settings, compare_variables, rename_pairs
from bot.core.semdiff.model import (
    HIGH_SEVERITY_TYPES,
    SEVERITY,
    Change,
    ChangeType,
    MessageTokens,
    PromptDiff,
    Severity,
    WordDiffHunk,
    make_change,
    ordered,
)
from bot.core.semdiff.parse import detect_format, fallback_text, parse
from bot.core.semdiff.structure import Parsed
from bot.core.semdiff.tokens import ESTIMATED, estimate_tokens
from bot.core.semdiff.worddiff import word_ops

T = ChangeType
_MAX_INCLUDES = 50
# A total token change smaller than this (relative and absolute) is noise in the table.
_TOKEN_REL, _TOKEN_ABS = 0.20, 50


def diff_texts(path: str, before: str | None, after: str | None) -> PromptDiff:
    """Diff one prompt file's two versions (None = the file does not exist on that side)."""
    if before is None and after is None:
        return PromptDiff(path, detect_format(path, ""), (), False)
    if before is None or after is None:
        return _added_or_removed(path, before, after)
    pa, pb = parse(path, before), parse(path, after)
    errors = tuple(pa.errors + pb.errors)
    if pa.fallback or pb.fallback:
        # Compare like with like: both sides as plain text when either does not parse.
        pa = fallback_text(path, before, pa.format, pa.errors)
        pb = fallback_text(path, after, pb.format, pb.errors)
    changes: list[Change] = []
    if before != after:
        renames = rename_pairs(pa, pb)
        changes += compare_settings(pa, pb)
        changes += compare_variables(pa, pb, renames)
        changes += compare_text(pa, pb, renames)
    tokens_before, tokens_after = _tokens(pa), _tokens(pb)
    if (
        changes
        and abs(tokens_after - tokens_before) >= _TOKEN_ABS
        and abs(tokens_after - tokens_before) >= _TOKEN_REL * max(tokens_before, 1)
    ):
        delta = tokens_after - tokens_before
        changes.append(make_change(T.TOKEN_COUNT_CHANGED,
                                   f"tokens ≈ {tokens_before} → {tokens_after} ({delta:+d}, estimated)",
                                   before=str(tokens_before), after=str(tokens_after)))
    formatting_only = before != after and not changes
    if formatting_only:
        changes.append(make_change(T.FORMATTING_ONLY,
                                   "formatting only (whitespace, wrapping, list markers or heading levels); no change in meaning"))
    return PromptDiff(
        path=path,
        format=pb.format,
        changes=ordered(changes),
        formatting_only=formatting_only,
        errors=errors,
        fallback=pa.fallback or pb.fallback,
        tokens_before=tokens_before,
        tokens_after=tokens_after,
        tokens_estimated=ESTIMATED,
        word_diff=_word_diff(changes),
        message_tokens=_message_tokens(pa, pb),
        files=(path,),
    )


def diff_prompt(path: str, base: FileTree, head: FileTree) -> PromptDiff:
    """Diff `path` between two trees, following jinja {% include/extends/import %} in each tree.

    Changes in an included template carry its path in `Change.file`.
    """
    before, after = _read(base, path), _read(head, path)
    main = diff_texts(path, before, after)
    files = _closure(path, base) | _closure(path, head)
    files.discard(normalize(path))
    changes, hunks, errors = list(main.changes), list(main.word_diff), list(main.errors)
    for file in sorted(files):
        fb, fa = _read(base, file), _read(head, file)
        if fb == fa:
            continue
        sub = diff_texts(file, fb, fa)
        changes += [_in_file(c, file) for c in sub.changes if c.type is not T.FORMATTING_ONLY]
        hunks += [WordDiffHunk(h.ops, h.base_lines, h.head_lines, file) for h in sub.word_diff]
        errors += sub.errors
    semantic = [c for c in changes if c.type is not T.FORMATTING_ONLY]
    differs = before != after or any(_read(base, f) != _read(head, f) for f in files)
    formatting_only = differs and not semantic
    if formatting_only:
        changes = [make_change(T.FORMATTING_ONLY, "formatting only (whitespace, wrapping, list markers or heading levels); no change in meaning")]
    else:
        changes = semantic
    return PromptDiff(
        path=main.path, format=main.format, changes=ordered(changes), formatting_only=formatting_only,
        errors=tuple(errors), fallback=main.fallback, tokens_before=main.tokens_before, tokens_after=main.tokens_after,
        tokens_estimated=main.tokens_estimated, word_diff=tuple(hunks), message_tokens=main.message_tokens,
        files=(path, *sorted(files)),
    )


def _added_or_removed(path: str, before: str | None, after: str | None) -> PromptDiff:
    text = after if before is None else before
    if text is None:
        raise ValueError(f"{path}: a prompt that is neither added nor removed")
    parsed = parse(path, text)
    tokens = _tokens(parsed)
    excerpt = text if len(text) <= 400 else text[:399] + "…"
    last = max(1, text.rstrip("\n").count("\n") + 1)
    if before is None:
        change = make_change(T.FILE_ADDED, f"prompt file added: {path}", after=excerpt, head_lines=(1, last))
    else:
        change = make_change(T.FILE_REMOVED, f"prompt file removed: {path}", before=excerpt, base_lines=(1, last))
    return PromptDiff(
        path=path, format=parsed.format, changes=(change,), formatting_only=False, errors=tuple(parsed.errors),
        fallback=parsed.fallback, tokens_before=None if before is None else tokens,
        tokens_after=None if after is None else tokens, tokens_estimated=ESTIMATED,
        word_diff=(WordDiffHunk(word_ops(before, after), change.base_lines, change.head_lines),), files=(path,),
    )


def _tokens(p: Parsed) -> int:
    return sum(_message_count(p, m) for m in p.messages) + sum(estimate_tokens(e.text) for e in p.examples)


def _message_count(p: Parsed, m) -> int:
    # Counted once per message and reused for the total and the per-message figures.
    cache = p.__dict__.setdefault("_token_cache", {})
    if id(m) not in cache:
        cache[id(m)] = estimate_tokens(m.text)
    return cache[id(m)]


def _message_tokens(a: Parsed, b: Parsed) -> tuple[MessageTokens, ...]:
    out = []
    for i in range(max(len(a.messages), len(b.messages))):
        ma = a.messages[i] if i < len(a.messages) else None
        mb = b.messages[i] if i < len(b.messages) else None
        either = mb or ma
        assert either is not None  # i < the longer side's length
        role = either.role
        out.append(MessageTokens(role, _message_count(a, ma) if ma else None, _message_count(b, mb) if mb else None))
    return tuple(out)


def _word_diff(changes: list[Change]) -> tuple[WordDiffHunk, ...]:
    seen: set[tuple] = set()
    hunks = []
    for c in ordered(changes):
        if c.type in (T.TOKEN_COUNT_CHANGED, T.FORMATTING_ONLY, T.INSTRUCTION_MOVED, T.SECTION_MOVED):
            continue
        if c.before is None and c.after is None:
            continue
        key = (c.base_lines, c.head_lines, c.before, c.after)
        if key in seen:
            continue
        seen.add(key)
        hunks.append(WordDiffHunk(word_ops(c.before, c.after), c.base_lines, c.head_lines, c.file))
    return tuple(hunks)


def _read(tree: FileTree, path: str) -> str | None:
    data = tree.read(path)
    if data is None:
        return None
    return data.decode("utf-8", errors="replace")


def _closure(path: str, tree: FileTree) -> set[str]:
    """The file plus every template it includes/extends/imports, transitively, in this tree."""
    seen: set[str] = set()
    todo = [normalize(path)]
    while todo and len(seen) < _MAX_INCLUDES:
        current = todo.pop()
        if current in seen:
            continue
        seen.add(current)
        text = _read(tree, current)
        if text is None:
            continue
        for ref in parse(current, text).includes:
            for candidate in _candidates(current, ref):
                if tree.read(candidate) is not None:
                    todo.append(candidate)
                    break
    return seen


def _candidates(current: str, ref: str) -> list[str]:
    """Include paths resolve from the including file's folder first, then from the repo root."""
    folder = current.rsplit("/", 1)[0] if "/" in current else ""
    return [normalize(f"{folder}/{ref}"), normalize(ref)]


def _in_file(c: Change, file: str) -> Change:
    return replace(c, file=file, summary=f"{file}: {c.summary}")


__all__ = [
    "diff_prompt", "diff_texts", "PromptDiff", "Change", "ChangeType", "Severity", "SourceError",
    "WordDiffHunk", "MessageTokens", "SEVERITY", "HIGH_SEVERITY_TYPES",
]
