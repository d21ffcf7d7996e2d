"""The CLI's on-disk result cache is bounded: past its size cap the least recently used entries
go first, entries read recently survive, and every process sharing the directory honours the cap."""

from __future__ import annotations

import pytest

from bot.evals.cache import DEFAULT_MAX_BYTES, DiskCache

RESULT = {"passed": True, "score": 1.0, "output": "Refunds are possible within 30 days. " * 25, "failed": []}
ENTRY = len('{"passed": true, "score": 1.0, "output": "", "failed": []}') + len(RESULT["output"])  # bytes on disk


def key(i: int) -> str:
    return f"{i:04d}" + "ab" * 30


def test_the_cap_holds_however_many_results_are_written(tmp_path):
    cache = DiskCache(tmp_path, max_bytes=20 * ENTRY)
    for i in range(200):
        cache.put(key(i), RESULT)
        assert cache.size_bytes() <= 20 * ENTRY
    assert cache.get(key(199)) == RESULT  # the newest is kept
    assert cache.get(key(0)) is None  # the oldest went


def test_an_entry_read_recently_survives_eviction_of_older_ones(tmp_path):
    cache = DiskCache(tmp_path, max_bytes=20 * ENTRY)
    for i in range(15):
        cache.put(key(i), RESULT)
    assert cache.get(key(0)) == RESULT  # a hit makes it the most recently used
    for i in range(15, 25):
        cache.put(key(i), RESULT)
    assert cache.get(key(0)) == RESULT
    assert cache.get(key(1)) is None and cache.get(key(2)) is None  # least recently used went first
    assert all(cache.get(key(i)) == RESULT for i in range(15, 25))


def test_a_second_process_sharing_the_directory_counts_the_first_ones_entries(tmp_path):
    first = DiskCache(tmp_path, max_bytes=10 * ENTRY)
    for i in range(9):
        first.put(key(i), RESULT)
    second = DiskCache(tmp_path, max_bytes=10 * ENTRY)
    for i in range(9, 14):
        second.put(key(i), RESULT)
    assert second.size_bytes() <= 10 * ENTRY
    assert first.get(key(0)) is None and first.get(key(13)) == RESULT


def test_the_default_cap_is_a_few_hundred_megabytes_and_a_zero_cap_is_refused(tmp_path):
    assert DiskCache(tmp_path).max_bytes == DEFAULT_MAX_BYTES == 256 * 1024 * 1024
    with pytest.raises(ValueError):
        DiskCache(tmp_path, max_bytes=0)


def test_review_refuses_a_cache_cap_below_one_megabyte(capsys):
    from bot.cli import main

    with pytest.raises(SystemExit) as exited:
        main(["review", "main..HEAD", "--cache-max-mb", "0"])
    assert exited.value.code == 2
    assert "--cache-max-mb: must be at least 1, got 0" in capsys.readouterr().err
