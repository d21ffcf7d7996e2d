"""The migrations build exactly the schema the models declare: a column, index or table added to one and
not the other fails here instead of in production (on SQLite and PostgreSQL)."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

import bot.release.models  # noqa: F401  (registers the release tables on Base.metadata)
import bot.release.tables  # noqa: F401
from bot.service.db import Base, make_engine
from bot.service.migrate import upgrade


def test_the_migrated_database_is_what_the_models_declare(database_url):
    engine = make_engine(database_url)
    upgrade(engine)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diff == []
