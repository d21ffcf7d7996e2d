"""The scripted model server the compat reviews call over real HTTP, one per test module."""

from __future__ import annotations

import pytest

from bot.modelserver import create_app
from bot.serving import start_in_thread


@pytest.fixture(scope="module")
def server_url():
    server = start_in_thread(create_app())
    yield server.url
    server.stop()
