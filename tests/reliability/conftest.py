"""Fixtures for the reliability tests: the scripted model server (tests/conftest.py), reset per test."""

from __future__ import annotations

import httpx
import pytest


@pytest.fixture
def model(model_server):
    httpx.post(model_server.url + "/_control/reset")
    yield model_server
    httpx.post(model_server.url + "/_control/reset")
