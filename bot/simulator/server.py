"""Serving a `Simulator` over real HTTP on loopback, for the demo and the end-to-end tests."""

from __future__ import annotations

from fastapi import FastAPI

from bot.serving import RunningServer, start_in_thread
from bot.simulator.driver import Simulator


def create_app(sim: Simulator) -> FastAPI:
    """The REST API over `sim`'s state."""
    return sim.app()


def start(sim: Simulator, host: str = "127.0.0.1", port: int | None = None) -> RunningServer:
    """Serve `sim` on a loopback port in a thread; its object URLs then point at that server."""
    server = start_in_thread(sim.app(), host=host, port=port)
    sim.api_url = server.url
    return server
