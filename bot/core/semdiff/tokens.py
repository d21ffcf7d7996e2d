"""Offline token counts. No tokenizer ships with the installed packages and tiktoken would
download its vocabulary at run time, so counts are an estimate and labelled as one."""

from __future__ import annotations

import re

# Pieces roughly as a BPE pre-tokenizer cuts them: words, up-to-3-digit groups, single
# punctuation marks, runs of newlines, and single non-ASCII characters.
_PIECE = re.compile(r"[A-Za-z]+|\d{1,3}|[^\sA-Za-z\d\x80-\U0010ffff]|\n+|[\x80-\U0010ffff]")

ESTIMATED = True


_LONG_WORD = re.compile(r"[A-Za-z]{7,}")


def estimate_tokens(text: str) -> int:
    """About what cl100k/o200k-style tokenizers give for English prompt text (±15%).

    Common short words are one token; long or rare words split about every six letters.
    """
    return len(_PIECE.findall(text)) + sum((len(w) - 1) // 6 for w in _LONG_WORD.findall(text))
