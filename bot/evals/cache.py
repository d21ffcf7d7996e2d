"""Result cache protocol and the two built-in stores (in-memory for tests, on-disk for the CLI).

The service implements the same protocol over its `eval_results` table. Keys are content
hashes (see `bot.evals.runner.cache_key`); values are plain JSON-able dicts.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Protocol, runtime_checkable


@runtime_checkable
class ResultCache(Protocol):
    def get(self, key: str) -> dict | None: ...

    def put(self, key: str, value: dict) -> None: ...


class MemoryCache:
    def __init__(self) -> None:
        self.data: dict[str, dict] = {}

    def get(self, key: str) -> dict | None:
        return self.data.get(key)

    def put(self, key: str, value: dict) -> None:
        self.data[key] = value

    def __len__(self) -> int:
        return len(self.data)

    def __bool__(self) -> bool:  # an empty cache is still a cache: `cache or NoCache()` must keep it
        return True


class NoCache:
    """`--no-cache`: never hits, never stores."""

    def get(self, key: str) -> dict | None:
        return None

    def put(self, key: str, value: dict) -> None:
        return None


class DiskCache:
    """One JSON file per key under `root/ab/abcdef….json`; writes are atomic (rename)."""

    def __init__(self, root: str | os.PathLike[str]):
        self.root = Path(root)

    def _path(self, key: str) -> Path:
        safe = "".join(ch for ch in key if ch.isalnum())[:128] or "empty"
        return self.root / safe[:2] / f"{safe}.json"

    def get(self, key: str) -> dict | None:
        try:
            with open(self._path(key), encoding="utf-8") as fh:
                value = json.load(fh)
        except (OSError, ValueError):
            return None  # a missing or torn entry is a miss, never an error
        return value if isinstance(value, dict) else None

    def put(self, key: str, value: dict) -> None:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                json.dump(value, fh)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
