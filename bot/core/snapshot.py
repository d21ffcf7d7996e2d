"""A ReviewResult stored between jobs (the approval and accept-regression jobs reuse the review of a
head) as versioned JSON: adding or renaming a field can never break the jobs of open PRs at a deploy,
because a snapshot that does not load as the current schema is simply reviewed again."""

from __future__ import annotations

from functools import lru_cache

from pydantic import TypeAdapter, ValidationError

from bot.core import safejson
from bot.core.result import ReviewResult

SCHEMA = "prompt-review/snapshot@1"


@lru_cache(maxsize=1)
def _adapter() -> TypeAdapter[ReviewResult]:
    return TypeAdapter(ReviewResult)


def dump(result: ReviewResult) -> bytes:
    body = _adapter().dump_json(result).decode()
    return f'{{"schema": "{SCHEMA}", "result": {body}}}'.encode()


def load(data: bytes | None) -> ReviewResult | None:
    """The stored result, or None when there is none or it is not this schema (an older snapshot,
    a pickle from before snapshots were JSON): the caller reviews the head again."""
    if not data:
        return None
    try:
        doc = safejson.loads(data, max_depth=256)
    except (ValueError, UnicodeDecodeError):
        return None
    if not isinstance(doc, dict) or doc.get("schema") != SCHEMA:
        return None
    try:
        return _adapter().validate_python(doc["result"])
    except (ValidationError, KeyError, TypeError):
        return None
