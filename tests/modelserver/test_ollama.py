"""The scripted server answers Ollama's chat API as Ollama does, so bench/compat_parity.py can run promptfoo's
Ollama configs against it: `/api/chat` without `stream: false` (promptfoo's chat provider sends none) streams JSON
lines, with it one JSON object (what prompt-review asks for)."""

from __future__ import annotations

import json

import httpx

CHAT = {"model": "llama3.3", "messages": [{"role": "user", "content": "Write a tweet about bananas"}]}


def lines(response: httpx.Response) -> list[dict]:
    return [json.loads(line) for line in response.text.splitlines() if line.strip()]


def test_chat_without_stream_false_answers_in_json_lines_ending_done(model_server):
    response = httpx.post(f"{model_server.url}/api/chat", json=CHAT)
    assert response.status_code == 200
    chunks = lines(response)
    assert "".join(c["message"]["content"] for c in chunks) == "You said: Write a tweet about bananas"
    assert [c["done"] for c in chunks] == [False, True]
    assert chunks[-1]["done_reason"] == "stop" and chunks[-1]["eval_count"] > 0


def test_chat_with_stream_false_answers_one_object(model_server):
    response = httpx.post(f"{model_server.url}/api/chat", json={**CHAT, "stream": False})
    assert response.json()["message"]["content"] == "You said: Write a tweet about bananas"
    assert response.json()["done"] is True
