"""Result cache protocol and the two built-in stores (in-memory for tests, on-disk for the CLI).

The service implements the same protocol over its `eval_results` table. Keys are content
hashes (see `bot.evals.runner.cache_key`); values are plain JSON-able dicts.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
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


DEFAULT_MAX_BYTES = 256 * 1024 * 1024  # ~50,000 typical results; the CLI's `--cache-max-mb` changes it
_LOW_WATER = 0.8  # evict down to 80 % of the cap, so one eviction scan serves many later writes


class DiskCache:
    """One JSON file per key under `root/ab/abcdef….json`; writes are atomic (rename).

    Bounded: when the entries pass `max_bytes`, the least recently used ones are deleted first.
    A file's mtime is its last use (set on write and on every hit), so several processes sharing a
    directory agree on the order without a separate index.
    """

    def __init__(self, root: str | os.PathLike[str], max_bytes: int = DEFAULT_MAX_BYTES):
        if max_bytes < 1:
            raise ValueError("max_bytes must be at least 1")
        self.root = Path(root)
        self.max_bytes = max_bytes
        self._size: int | None = None  # bytes under root; counted on the first write
        self._clock = 0  # last mtime (ns) this process set: strictly increasing even within one clock tick

    def _path(self, key: str) -> Path:
        safe = "".join(ch for ch in key if ch.isalnum())[:128] or "empty"
        return self.root / safe[:2] / f"{safe}.json"

    def _touch(self, path: Path) -> None:
        self._clock = max(time.time_ns(), self._clock + 1)
        os.utime(path, ns=(self._clock, self._clock))

    def get(self, key: str) -> dict | None:
        path = self._path(key)
        try:
            with open(path, encoding="utf-8") as fh:
                value = json.load(fh)
        except (OSError, ValueError):
            return None  # a missing, torn or just-evicted entry is a miss, never an error
        try:
            self._touch(path)
        except OSError:
            pass  # a read-only or concurrently evicted cache still answers this hit
        return value if isinstance(value, dict) else None

    def put(self, key: str, value: dict) -> None:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            old_size = path.stat().st_size
        except OSError:
            old_size = 0
        fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                json.dump(value, fh)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        self._touch(path)
        if self._size is None:
            self._size = sum(size for _, size, _ in self._entries())
        else:
            self._size += path.stat().st_size - old_size
        if self._size > self.max_bytes:
            self._evict(keep=path)

    def size_bytes(self) -> int:
        """Bytes held by the entries now (a directory scan)."""
        return sum(size for _, size, _ in self._entries())

    def _entries(self) -> list[tuple[int, int, Path]]:
        found = []
        for path in self.root.glob("*/*.json"):
            try:
                st = path.stat()
            except OSError:
                continue  # removed by another process meanwhile
            found.append((st.st_mtime_ns, st.st_size, path))
        return found

    def _evict(self, keep: Path) -> None:
        entries = sorted(self._entries())  # oldest use first
        total = sum(size for _, size, _ in entries)
        target = int(self.max_bytes * _LOW_WATER)
        for _, size, path in entries:
            if total <= target:
                break
            if path == keep:
                continue  # the entry just written is the most recently used
            path.unlink(missing_ok=True)
            total -= size
        self._size = total
