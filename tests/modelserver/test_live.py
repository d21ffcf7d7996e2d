"""The scripted model server's Realtime and Live APIs answer malformed conversations as the vendors do, over
real loopback WebSocket connections (the reviewer's own client, bot.evals.providers_ws, talks to them)."""

from __future__ import annotations

import asyncio
import json

import pytest

from bot.evals.providers_ws import ClosedEarly, Connection, converse
from bot.modelserver import create_app
from bot.serving import start_in_thread

LIVE_PATH = "/ws/google.ai.generativelanguage.v1beta.GenerativeService.BidiGenerateContent"


@pytest.fixture(scope="module")
def server():
    running = start_in_thread(create_app())
    yield running.url.replace("http://", "ws://")
    running.stop()


def events(url: str, opening: list[str], until) -> list[dict]:
    """The server's events, until `until(event)` is true."""
    seen: list[dict] = []

    async def on_message(text: str):
        seen.append(json.loads(text))
        return [], until(seen[-1])

    host = url.split("://", 1)[1].split("/", 1)[0]
    asyncio.run(asyncio.wait_for(converse(Connection(url, host, host.split(":")[0]), opening, {}, [], 1_000_000, "test", on_message), 10))
    return seen


def test_realtime_answers_an_unknown_client_event_with_an_error_event(server):
    seen = events(f"{server}/v1/realtime?model=gpt-realtime", [json.dumps({"type": "response.explode"})],
                  lambda e: e["type"] == "error")
    assert seen[0]["type"] == "session.created" and seen[0]["session"]["model"] == "gpt-realtime"
    assert seen[-1]["error"]["code"] == "unknown_event" and "response.explode" in seen[-1]["error"]["message"]


def test_realtime_refuses_a_session_update_without_its_type(server):
    seen = events(f"{server}/v1/realtime?model=gpt-realtime", [json.dumps({"type": "session.update", "session": {"instructions": "x"}})],
                  lambda e: e["type"] in ("error", "session.updated"))
    assert seen[-1]["type"] == "error" and "session.type" in seen[-1]["error"]["message"]


def test_live_closes_a_conversation_that_does_not_start_with_setup(server):
    with pytest.raises(ClosedEarly) as closed:
        events(f"{server}{LIVE_PATH}", [json.dumps({"clientContent": {"turns": [], "turnComplete": True}})], lambda e: True)
    assert closed.value.code == 1007 and "setup" in closed.value.reason


def test_live_answers_setup_then_streams_a_turn_with_usage(server):
    opening = [json.dumps({"setup": {"model": "models/gemini-live", "generationConfig": {"responseModalities": ["TEXT"]}}}),
               json.dumps({"clientContent": {"turns": [{"role": "user", "parts": [{"text": 'Please reply with "pong"'}]}], "turnComplete": True}})]
    seen = events(f"{server}{LIVE_PATH}", opening, lambda e: bool(e.get("serverContent", {}).get("turnComplete")))
    assert seen[0] == {"setupComplete": {}}
    assert [p["text"] for e in seen for p in e.get("serverContent", {}).get("modelTurn", {}).get("parts", [])] == ["pong"]
    assert seen[-1]["usageMetadata"]["responseTokenCount"] == 1
