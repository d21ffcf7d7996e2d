"""The real web app (no GitHub App needed for telemetry) on loopback, with a SQLite database and repo tokens."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from bot.release import store
from bot.serving import RunningServer, start_in_thread
from bot.service.db import make_engine
from bot.service.metrics import Metrics
from bot.service.migrate import upgrade
from bot.service.web import create_web_app
from bot.settings import Settings

REPO = "acme/support-bot"


@dataclass
class Intake:
    url: str
    engine: object
    write: str  # a write token of REPO
    read: str
    other: str  # a write token of another repository
    server: RunningServer


@pytest.fixture
def intake(tmp_path):
    url = f"sqlite:///{tmp_path / 'service.db'}"
    engine = make_engine(url)
    upgrade(engine)
    app = create_web_app(Settings(database_url=url, webhook_secret="s"), engine, Metrics())
    server = start_in_thread(app)
    _, write = store.create_token(engine, REPO, "write", "erin")
    _, read = store.create_token(engine, REPO, "read", "erin")
    _, other = store.create_token(engine, "acme/other", "write", "erin")
    try:
        yield Intake(server.url, engine, write, read, other, server)
    finally:
        server.stop()
        engine.dispose()
