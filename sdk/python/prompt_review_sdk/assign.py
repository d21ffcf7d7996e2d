"""Rollout arms, assigned locally: bucket = hash(repo, path, rollout id, unit) mod 10,000. No network, so
the same unit lands in the same arm in every process, and raising a candidate's percent only ever moves
units from the control to the candidate (the candidate owns the top of the bucket range)."""

from __future__ import annotations

import hashlib
import random
from collections.abc import Sequence

BUCKETS = 10_000


def bucket(repo: str, path: str, rollout_id: int | str, unit: str) -> int:
    key = f"{repo}\x1f{path}\x1f{rollout_id}\x1f{unit}".encode()
    return int.from_bytes(hashlib.sha256(key).digest()[:8], "big") % BUCKETS


def pick(percents: Sequence[float], b: int) -> int:
    """The arm index for bucket `b`: arm 0 (control) keeps the bottom, later arms stack down from the top."""
    start = BUCKETS
    for i in range(len(percents) - 1, 0, -1):
        start -= round(percents[i] * BUCKETS / 100)
        if b >= start:
            return i
    return 0


def random_bucket() -> int:
    return random.randrange(BUCKETS)
