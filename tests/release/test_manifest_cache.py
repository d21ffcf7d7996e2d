"""The manifest's in-memory caches: a label move or a revoked token is seen by the next request when this
process made it, and within MAX_STALE_SECONDS when another process did (its database stamp is re-read in
the background every CHECK_SECONDS; a request waits for it only past the bound)."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import text

from bot.core.release import Move, Plan
from bot.release import store
from bot.release.answers import Problem
from bot.release.manifest_api import ManifestCache
from bot.release.service import Release
from bot.service.db import make_engine
from bot.service.migrate import upgrade

REPO = "acme/app"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def engine(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'release.db'}")
    upgrade(engine)
    yield engine
    engine.dispose()


def deploy(engine, version: str, previous: str | None) -> None:
    store.store_blob(engine, REPO, version, f"You are version {version[:4]}.".encode())
    store.apply(engine, REPO, Plan("production", "c" * 40, (Move("prompts/a.md", previous, version),), False),
                kind="deploy", actor="erin", via="api", reason=None)


def served(cache: ManifestCache, secret: str) -> str:
    async def read() -> str:
        await cache.current()
        if await cache.reader(secret) is None:
            raise Problem(401, "unknown or revoked repo token")
        return (await cache.manifest(REPO, "production", None)).data["prompts"][0]["version"]

    return asyncio.run(read())


def test_this_process_sees_a_revocation_and_a_label_move_at_the_next_request(engine):
    deploy(engine, "a" * 40, None)
    row, secret = store.create_token(engine, REPO, "read", "erin")
    clock = Clock()
    cache = ManifestCache(engine, lambda repo, label, model: Release(engine, None).manifest(repo, label), clock=clock)  # type: ignore[arg-type]
    assert served(cache, secret) == "a" * 12

    deploy(engine, "b" * 40, "a" * 40)  # the clock stands still: only the in-process signal can tell
    assert served(cache, secret) == "b" * 12
    store.revoke_token(engine, REPO, row.id, "erin")
    with pytest.raises(Problem, match="revoked"):
        served(cache, secret)


def test_another_process_s_revocation_and_label_move_are_seen_within_the_check_interval(engine):
    deploy(engine, "a" * 40, None)
    row, secret = store.create_token(engine, REPO, "read", "erin")
    clock = Clock()
    cache = ManifestCache(engine, lambda repo, label, model: Release(engine, None).manifest(repo, label), clock=clock)  # type: ignore[arg-type]
    assert served(cache, secret) == "a" * 12

    # Plain SQL, as another process would write: no in-process signal reaches the cache.
    with engine.begin() as conn:
        conn.execute(text("UPDATE label_pointers SET version = :v"), {"v": "b" * 40})
        conn.execute(text("INSERT INTO deployments (repo, label, commit_sha, kind, actor, via, override, blocked, created_at) "
                          "VALUES (:r, 'production', :c, 'deploy', 'erin', 'cli', 0, '[]', CURRENT_TIMESTAMP)"),
                     {"r": REPO, "c": "d" * 40})
    clock.now += cache.check_seconds / 2
    assert served(cache, secret) == "a" * 12  # still within the bound: served from memory
    clock.now += 2 * cache.check_seconds  # past the bound: this request waits for the re-read
    assert served(cache, secret) == "b" * 12

    with engine.begin() as conn:
        conn.execute(text("UPDATE repo_tokens SET revoked_at = CURRENT_TIMESTAMP WHERE id = :id"), {"id": row.id})
    assert served(cache, secret) == "b" * 12
    clock.now += 2 * cache.check_seconds
    with pytest.raises(Problem, match="revoked"):
        served(cache, secret)
