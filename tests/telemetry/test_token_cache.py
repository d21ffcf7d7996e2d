"""Telemetry posts look their write token up once every few seconds, not once per batch: a revoked token
is refused once its few seconds are over, and unknown tokens are never remembered."""

from __future__ import annotations

from bot.release import store, telemetry
from bot.service.db import make_engine
from bot.service.migrate import upgrade

REPO = "acme/support-bot"


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_a_revoked_token_is_refused_once_its_ttl_is_over(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'db.sqlite'}")
    upgrade(engine)
    row, secret = store.create_token(engine, REPO, "write", "erin")
    clock = Clock()
    tokens = telemetry.TokenCache(engine, ttl=5.0, clock=clock)
    assert tokens.lookup(secret).repo == REPO
    store.revoke_token(engine, REPO, row.id, "erin")
    clock.now += 4.9
    assert tokens.lookup(secret) is not None  # remembered: no lookup within the ttl
    clock.now += 0.2
    assert tokens.lookup(secret) is None
    assert tokens.lookup(secret) is None  # and it stays refused
    engine.dispose()


def test_unknown_tokens_are_not_remembered_and_the_cache_is_bounded(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'db.sqlite'}")
    upgrade(engine)
    tokens = telemetry.TokenCache(engine, size=3, clock=Clock())
    for i in range(50):
        assert tokens.lookup(f"prt_unknown{i}") is None
    secrets = [store.create_token(engine, REPO, "write", "erin")[1] for _ in range(10)]
    assert all(tokens.lookup(s).repo == REPO for s in secrets)
    assert len(tokens._known) <= 3
    engine.dispose()
