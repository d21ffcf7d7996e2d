"""The scripted server answers Ollama's API as Ollama does for both of promptfoo's Ollama providers, so
bench/compat_parity.py can run promptfoo's Ollama configs against it: `/api/chat` without `stream: false`
(promptfoo sends none) streams JSON lines, and `/api/generate` (promptfoo's `ollama:MODEL`) answers a prompt."""

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


def test_generate_answers_the_prompt(model_server):
    response = httpx.post(f"{model_server.url}/api/generate",
                          json={"model": "mannix/llama3.1-8b-abliterated", "prompt": "Write a tweet about bananas", "stream": False})
    assert response.status_code == 200
    assert response.json()["response"] == "You said: Write a tweet about bananas"
    streamed = lines(httpx.post(f"{model_server.url}/api/generate", json={"model": "m", "prompt": "hello there"}))
    assert "".join(c["response"] for c in streamed) == "You said: hello there" and streamed[-1]["done"] is True


def test_generate_without_a_prompt_is_refused(model_server):
    response = httpx.post(f"{model_server.url}/api/generate", json={"model": "m"})
    assert response.status_code == 400
