"""The scripted server over real loopback HTTP: API shapes, errors, faults, stats and latency."""

from __future__ import annotations

import json

import httpx
import pytest

from bot.modelserver import LATENCY_HEADER, create_app
from bot.serving import start_in_thread

from .conftest import chat, system_prompt

BASE = system_prompt()
# One client for the module: a fresh httpx.Client per call costs an SSL context each time.
CLIENT = httpx.Client(timeout=10)
OUT_OF_WINDOW = "My yoga mat was delivered 45 days ago. Can I get a refund?"


def openai_chat(url: str, model: str = "gpt-4o-mini", question: str = OUT_OF_WINDOW, **extra) -> httpx.Response:
    body = {"model": model, "messages": chat(BASE, question), **extra}
    return CLIENT.post(f"{url}/v1/chat/completions", json=body, headers={"Authorization": "Bearer test"})


def anthropic_messages(url: str, model: str = "claude-3-5-haiku-latest", **extra) -> httpx.Response:
    body = {"model": model, "max_tokens": 300, "system": BASE, "messages": [{"role": "user", "content": OUT_OF_WINDOW}], **extra}
    return CLIENT.post(f"{url}/v1/messages", json=body, headers={"x-api-key": "test", "anthropic-version": "2023-06-01"})


def test_chat_completion_is_shaped_like_openai(server):
    r = openai_chat(server)
    assert r.status_code == 200
    body = r.json()
    assert body["id"].startswith("chatcmpl-") and body["object"] == "chat.completion"
    assert isinstance(body["created"], int) and body["model"] == "gpt-4o-mini"
    (choice,) = body["choices"]
    assert choice["index"] == 0 and choice["finish_reason"] == "stop"
    assert choice["message"]["role"] == "assistant"
    assert "not eligible for a refund" in choice["message"]["content"]
    usage = body["usage"]
    assert usage["prompt_tokens"] > 100 and usage["completion_tokens"] > 10
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]


def test_messages_is_shaped_like_anthropic(server):
    r = anthropic_messages(server)
    assert r.status_code == 200
    body = r.json()
    assert body["id"].startswith("msg_") and body["type"] == "message" and body["role"] == "assistant"
    assert body["model"] == "claude-3-5-haiku-latest" and body["stop_reason"] == "end_turn"
    (block,) = body["content"]
    assert block["type"] == "text" and "not eligible for a refund" in block["text"]
    assert set(body["usage"]) == {"input_tokens", "output_tokens"} and body["usage"]["input_tokens"] > 100


def test_both_apis_give_the_same_answer_to_the_same_prompt(server):
    openai_text = openai_chat(server, model="gpt-4o").json()["choices"][0]["message"]["content"]
    anthropic_text = anthropic_messages(server, model="claude-sonnet-4-0").json()["content"][0]["text"]
    assert openai_text == anthropic_text


def test_max_tokens_cuts_the_answer_and_says_why(server):
    oa = openai_chat(server, max_tokens=5).json()
    assert oa["choices"][0]["finish_reason"] == "length" and oa["usage"]["completion_tokens"] == 5
    an = anthropic_messages(server, max_tokens=5).json()
    assert an["stop_reason"] == "max_tokens" and an["usage"]["output_tokens"] == 5


def test_n_returns_that_many_choices(server):
    choices = openai_chat(server, n=3).json()["choices"]
    assert [c["index"] for c in choices] == [0, 1, 2]


def test_models_are_listed_in_each_apis_shape(server):
    oa = CLIENT.get(f"{server}/v1/models").json()
    assert oa["object"] == "list" and {"id": "gpt-4o-mini", "object": "model"}.items() <= oa["data"][0].items()
    an = CLIENT.get(f"{server}/v1/models", headers={"anthropic-version": "2023-06-01"}).json()
    assert all(m["type"] == "model" and m["id"].startswith("claude") for m in an["data"]) and an["has_more"] is False


def test_invalid_requests_get_the_real_apis_error_shapes(server):
    r = CLIENT.post(f"{server}/v1/chat/completions", json={"model": "gpt-4o"})
    assert r.status_code == 400
    assert r.json()["error"] == {"message": "messages: Field required", "type": "invalid_request_error", "param": "messages", "code": None}
    r = CLIENT.post(f"{server}/v1/messages", json={"model": "claude-sonnet-4-0", "messages": [{"role": "user", "content": "hi"}]})
    assert r.status_code == 400
    assert r.json() == {"type": "error", "error": {"type": "invalid_request_error", "message": "max_tokens: Field required"}}
    r = CLIENT.post(f"{server}/v1/chat/completions", content=b"{not json", headers={"content-type": "application/json"})
    assert r.status_code == 400 and r.json()["error"]["type"] == "invalid_request_error"


def test_streaming_is_refused_with_a_clear_message(server):
    r = openai_chat(server, stream=True)
    assert r.status_code == 400 and "stream is not supported" in r.json()["error"]["message"]


def test_claude_streams_the_same_message_as_server_sent_events(server):
    """promptfoo's Anthropic provider with `stream: true` reads the events and assembles the message: the same one."""
    ask = {"model": "claude-sonnet-4-0", "max_tokens": 50, "messages": [{"role": "user", "content": 'Reply with exactly "Mango season".'}]}
    whole = CLIENT.post(f"{server}/v1/messages", json=ask, headers={"x-api-key": "test"}).json()
    r = CLIENT.post(f"{server}/v1/messages", json={**ask, "stream": True}, headers={"x-api-key": "test"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
    events = [json.loads(line[len("data: "):]) for line in r.text.splitlines() if line.startswith("data: ")]
    assert [e["type"] for e in events] == ["message_start", "content_block_start", "content_block_delta", "content_block_stop",
                                           "message_delta", "message_stop"]
    text = "".join(e["delta"]["text"] for e in events if e["type"] == "content_block_delta")
    assert (text, events[-2]["delta"]["stop_reason"]) == (whole["content"][0]["text"], whole["stop_reason"]) == ("Mango season", "end_turn")
    tools = {"tools": [{"name": "get_weather", "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}}}],
             "tool_choice": {"type": "any"}}
    r = CLIENT.post(f"{server}/v1/messages", json={**ask, **tools, "stream": True}, headers={"x-api-key": "test"})
    events = [json.loads(line[len("data: "):]) for line in r.text.splitlines() if line.startswith("data: ")]
    assert events[1]["content_block"]["type"] == "tool_use" and events[2]["delta"]["type"] == "input_json_delta"
    r = CLIENT.post(f"{server}/v1/messages", json={**ask, **tools, "tool_choice": {"type": "tool", "name": "nope"}, "stream": True},
                    headers={"x-api-key": "test"})
    assert r.status_code == 400 and r.json()["type"] == "error"  # an error is never streamed


def test_429_with_retry_after_is_served_count_times_then_answers(server):
    assert CLIENT.post(f"{server}/_control/faults", json={"status": 429, "count": 3, "retry_after": 1}).json() == {"queued": 3}
    for _ in range(3):
        r = openai_chat(server)
        assert r.status_code == 429
        assert r.headers["retry-after"] == "1" and r.headers["retry-after-ms"] == "1000"
        assert r.json()["error"]["code"] == "rate_limit_exceeded" and r.json()["error"]["type"] == "requests"
    assert openai_chat(server).status_code == 200
    stats = CLIENT.get(f"{server}/_control/stats").json()
    assert stats["by_model"] == {"gpt-4o-mini": 4} and stats["answered_by_model"] == {"gpt-4o-mini": 1}
    assert (stats["faults_served"], stats["faults_pending"]) == (3, 0)


def test_server_errors_are_shaped_per_api(server):
    CLIENT.post(f"{server}/_control/faults", json={"status": 500, "count": 1}).raise_for_status()
    CLIENT.post(f"{server}/_control/faults", json={"status": 529, "count": 1}).raise_for_status()
    r = openai_chat(server)
    assert r.status_code == 500 and r.json()["error"]["type"] == "server_error" and "retry-after" not in r.headers
    r = anthropic_messages(server)
    assert r.status_code == 529 and r.json() == {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}


def test_a_fault_can_target_one_model(server):
    CLIENT.post(f"{server}/_control/faults", json={"status": 503, "model": "gpt-4.1"}).raise_for_status()
    assert openai_chat(server, model="gpt-4o").status_code == 200
    assert openai_chat(server, model="gpt-4.1-mini").status_code == 503
    assert openai_chat(server, model="gpt-4.1-mini").status_code == 200


def test_a_delay_fault_outlasts_the_client_timeout_once(server):
    CLIENT.post(f"{server}/_control/faults", json={"delay_ms": 1500}).raise_for_status()
    with pytest.raises(httpx.ReadTimeout):
        CLIENT.post(f"{server}/v1/chat/completions", json={"model": "gpt-4o", "messages": chat(BASE, "hi")}, timeout=0.2)
    assert openai_chat(server).status_code == 200


def test_control_refuses_a_fault_that_does_nothing(server):
    r = CLIENT.post(f"{server}/_control/faults", json={"count": 2})
    assert r.status_code == 400 and "status, a delay_ms, or both" in r.json()["error"]


def test_stats_count_requests_per_model_and_repeats_and_reset_clears_them(server):
    openai_chat(server, model="gpt-4o")
    openai_chat(server, model="gpt-4o")
    openai_chat(server, model="gpt-4o", question="Do you ship to Canada?")
    anthropic_messages(server)
    stats = CLIENT.get(f"{server}/_control/stats").json()
    assert stats["by_model"] == {"gpt-4o": 3, "claude-3-5-haiku-latest": 1}
    assert stats["by_endpoint"] == {"chat.completions": 3, "messages": 1}
    assert (stats["requests"], stats["distinct_prompts"], stats["repeated_prompts"]) == (4, 3, 1)
    CLIENT.post(f"{server}/_control/reset").raise_for_status()
    assert CLIENT.get(f"{server}/_control/stats").json()["requests"] == 0


def test_flaky_model_answers_differently_on_repeats_of_some_prompts(server):
    from .conftest import load_cases

    varied = 0
    for case in load_cases()[:80]:
        first = openai_chat(server, model="scripted-flaky", question=case["vars"]["question"]).json()
        second = openai_chat(server, model="scripted-flaky", question=case["vars"]["question"]).json()
        varied += first["choices"][0]["message"]["content"] != second["choices"][0]["message"]["content"]
    assert 5 < varied < 40


def test_latency_header_overrides_the_default_per_request():
    slow = start_in_thread(create_app(latency_ms=3000))
    try:
        body = {"model": "gpt-4o", "messages": chat(BASE, "Do you ship to Canada?")}
        fast = CLIENT.post(f"{slow.url}/v1/chat/completions", json=body, headers={LATENCY_HEADER: "0"}, timeout=30)
        assert fast.status_code == 200
        with pytest.raises(httpx.ReadTimeout):
            CLIENT.post(f"{slow.url}/v1/chat/completions", json=body, timeout=0.3)
        r = CLIENT.post(f"{slow.url}/v1/chat/completions", json=body, headers={LATENCY_HEADER: "soon"}, timeout=30)
        assert r.status_code == 400 and LATENCY_HEADER in r.json()["error"]["message"]
    finally:
        slow.stop(timeout=0.5)


def test_an_api_key_is_enforced_when_configured():
    guarded = start_in_thread(create_app(api_key="sk-right"))
    try:
        body = {"model": "gpt-4o", "messages": chat(BASE, "hi")}
        r = CLIENT.post(f"{guarded.url}/v1/chat/completions", json=body, headers={"Authorization": "Bearer sk-wrong"})
        assert r.status_code == 401 and r.json()["error"]["code"] == "invalid_api_key"
        ok = CLIENT.post(f"{guarded.url}/v1/chat/completions", json=body, headers={"Authorization": "Bearer sk-right"})
        assert ok.status_code == 200
        an = CLIENT.post(f"{guarded.url}/v1/messages", json={"model": "claude-sonnet-4-0", "max_tokens": 10,
                                                            "messages": [{"role": "user", "content": "hi"}]})
        assert an.status_code == 401 and an.json()["error"]["type"] == "authentication_error"
    finally:
        guarded.stop()
