"""Shared fixtures: database URLs for SQLite (always) and PostgreSQL (started by scripts/test.sh)."""

from __future__ import annotations

import os
import uuid

import pytest
from sqlalchemy import create_engine, text

from bot.modelserver.app import create_app as create_model_app
from bot.serving import start_in_thread

PG_ENV = "PROMPT_REVIEW_TEST_POSTGRES_URL"


def postgres_url() -> str:
    url = os.environ.get(PG_ENV)
    if not url:
        pytest.fail(f"{PG_ENV} is not set: run the tests with `bash scripts/test.sh`, which starts a PostgreSQL server")
    return url


@pytest.fixture
def pg_database_url():
    """A fresh, empty PostgreSQL database for one test, dropped afterwards."""
    admin_url = postgres_url()
    name = "t_" + uuid.uuid4().hex[:12]
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    base, _, _ = admin_url.rpartition("/")
    try:
        yield f"{base}/{name}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'"))
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request, tmp_path):
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'test.db'}"
    return request.getfixturevalue("pg_database_url")


@pytest.fixture(scope="module")
def model_server():
    """The scripted model server (OpenAI and Anthropic shapes) on loopback, one per test module."""
    with start_in_thread(create_model_app()) as server:
        yield server
