"""Fixtures for the deploy tests: the GitHub simulator on a loopback port (it implements
`POST /app-manifests/{code}/conversions`, the code exchange behind /setup)."""

from __future__ import annotations

import pytest

from bot.simulator import Simulator, start


@pytest.fixture(scope="session")
def github() -> Simulator:
    sim = Simulator()
    with start(sim):
        yield sim  # sim.api_url is the loopback API root
