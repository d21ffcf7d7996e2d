"""Fixtures for the service tests: a migrated database engine on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest

from bot.service.db import make_engine
from bot.service.migrate import upgrade


@pytest.fixture
def engine(database_url):
    engine = make_engine(database_url)
    upgrade(engine)
    yield engine
    engine.dispose()
