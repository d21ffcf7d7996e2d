"""Fixtures for the reliability tests: one scripted model server per module, reset per test."""

from __future__ import annotations

import httpx
import pytest

from bot.modelserver.app import create_app as create_model_app
from bot.serving import start_in_thread


@pytest.fixture(scope="module")
def model_server():
    with start_in_thread(create_model_app()) as server:
        yield server


@pytest.fixture
def model(model_server):
    httpx.post(model_server.url + "/_control/reset")
    yield model_server
    httpx.post(model_server.url + "/_control/reset")
