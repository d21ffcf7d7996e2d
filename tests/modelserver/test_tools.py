"""Rule 12 over real loopback HTTP: a request that declares tools and asks for one gets tool calls
(OpenAI tool_calls, Anthropic tool_use blocks) with arguments taken from the text."""

from __future__ import annotations

import json

import httpx

CLIENT = httpx.Client(timeout=10)

WEATHER = {"type": "function", "function": {
    "name": "get_weather", "description": "Get the current weather in a city",
    "parameters": {"type": "object", "properties": {"location": {"type": "string"}, "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]}},
                   "required": ["location"]}}}
FLIGHTS = {"type": "function", "function": {
    "name": "book_flight", "description": "Book a plane ticket between two airports",
    "parameters": {"type": "object", "properties": {"origin": {"type": "string"}, "destination": {"type": "string"},
                                                    "passengers": {"type": "integer"}, "refundable": {"type": "boolean"}},
                   "required": ["origin", "destination", "passengers"]}}}


def openai(url: str, question: str, tools=(WEATHER, FLIGHTS), messages=None, **extra) -> httpx.Response:
    body = {"model": "gpt-4o-mini", "messages": messages or [{"role": "user", "content": question}], "tools": list(tools), **extra}
    return CLIENT.post(f"{url}/v1/chat/completions", json=body, headers={"Authorization": "Bearer test"})


def called(response: httpx.Response) -> list[tuple[str, dict]]:
    assert response.status_code == 200, response.text
    (choice,) = response.json()["choices"]
    if choice["finish_reason"] != "tool_calls":
        return []
    assert choice["message"]["content"] is None
    return [(c["function"]["name"], json.loads(c["function"]["arguments"])) for c in choice["message"]["tool_calls"]]


def test_a_tool_named_in_the_question_is_called_with_arguments_from_the_text(server):
    r = openai(server, "Use get_weather for Oslo in celsius, please.")
    (call,) = r.json()["choices"][0]["message"]["tool_calls"]
    assert call["type"] == "function" and call["id"].startswith("call_")
    assert call["function"] == {"name": "get_weather", "arguments": '{"location":"Oslo","unit":"celsius"}'}  # compact, as OpenAI sends it
    assert r.json()["choices"][0]["finish_reason"] == "tool_calls"


def test_without_a_mention_the_tool_whose_description_matches_the_question_is_called(server):
    assert called(openai(server, "What is the weather like in New York today?")) == [("get_weather", {"location": "New York"})]
    assert called(openai(server, "I need a plane ticket from Paris to Rome for 2 people")) == [
        ("book_flight", {"origin": "Paris", "destination": "Rome", "passengers": 2})]
    reply = openai(server, 'Please reply with "hello"').json()["choices"][0]
    assert reply["finish_reason"] == "stop" and reply["message"]["content"] == "hello"  # no tool fits: a text answer


def test_two_tools_named_are_two_calls_each_with_its_own_part_of_the_text(server):
    question = "Call book_flight from Oslo to Bergen for 3 passengers, refundable, then get_weather for Bergen"
    assert called(openai(server, question)) == [
        ("book_flight", {"origin": "Oslo", "destination": "Bergen", "passengers": 3, "refundable": True}),
        ("get_weather", {"location": "Bergen"})]


def test_a_required_argument_the_text_does_not_give_is_left_out(server):
    assert called(openai(server, "Use book_flight to Lisbon")) == [("book_flight", {"origin": "Lisbon"})]


def test_tool_choice_none_named_and_unknown(server):
    assert called(openai(server, "Use get_weather for Oslo", tool_choice="none")) == []
    forced = {"type": "function", "function": {"name": "book_flight"}}
    assert called(openai(server, "Use get_weather for Oslo", tool_choice=forced)) == [("book_flight", {"origin": "Oslo"})]  # the whole text
    assert called(openai(server, "hello there", tool_choice="required")) == [("get_weather", {})]
    bad = openai(server, "Use get_weather for Oslo", tool_choice={"type": "function", "function": {"name": "launch"}})
    assert bad.status_code == 400 and bad.json()["error"]["param"] == "tool_choice" and "'launch'" in bad.json()["error"]["message"]


def test_a_tool_result_is_answered_in_text_and_no_tools_means_no_calls(server):
    messages = [{"role": "user", "content": "Use get_weather for Oslo"},
                {"role": "assistant", "content": None, "tool_calls": [{"id": "call_1", "type": "function",
                                                                        "function": {"name": "get_weather", "arguments": "{}"}}]},
                {"role": "tool", "tool_call_id": "call_1", "content": "12 degrees"}]
    assert called(openai(server, "", messages=messages)) == []
    assert called(openai(server, "Use get_weather for Oslo", tools=())) == []


def test_anthropic_answers_with_tool_use_blocks(server):
    tools = [{"name": "get_weather", "description": "Get the current weather in a city",
              "input_schema": WEATHER["function"]["parameters"]}]
    body = {"model": "claude-3-5-haiku-latest", "max_tokens": 300, "tools": tools,
            "messages": [{"role": "user", "content": [{"type": "text", "text": "Use get_weather for Tromsø in fahrenheit"}]}]}
    headers = {"x-api-key": "test", "anthropic-version": "2023-06-01"}
    r = CLIENT.post(f"{server}/v1/messages", json=body, headers=headers).json()
    (block,) = r["content"]
    assert r["stop_reason"] == "tool_use" and block["type"] == "tool_use" and block["id"].startswith("toolu_")
    assert (block["name"], block["input"]) == ("get_weather", {"location": "Tromsø", "unit": "fahrenheit"})
    body["tool_choice"] = {"type": "none"}
    assert CLIENT.post(f"{server}/v1/messages", json=body, headers=headers).json()["stop_reason"] == "end_turn"


def test_the_responses_api_answers_with_function_call_items(server):
    flat = {"type": "function", **WEATHER["function"]}  # the responses API's tool form
    body = {"model": "gpt-4o-mini", "input": "Use get_weather for Oslo in celsius, please.", "tools": [flat]}
    r = CLIENT.post(f"{server}/v1/responses", json=body, headers={"Authorization": "Bearer test"})
    assert r.status_code == 200, r.text
    (item,) = r.json()["output"]
    assert item["type"] == "function_call" and item["status"] == "completed" and item["call_id"].startswith("call_")
    assert (item["name"], item["arguments"]) == ("get_weather", '{"location":"Oslo","unit":"celsius"}')
    plain = CLIENT.post(f"{server}/v1/responses", json={**body, "tools": []}, headers={"Authorization": "Bearer test"})
    assert plain.json()["output"][0]["type"] == "message"


def test_an_azure_deployment_answers_with_tool_calls(server):
    body = {"messages": [{"role": "user", "content": "Use book_flight from Oslo to Rome for 2 passengers"}], "tools": [WEATHER, FLIGHTS]}
    r = CLIENT.post(f"{server}/openai/deployments/gpt4o/chat/completions?api-version=2024-10-21", json=body, headers={"api-key": "test"})
    assert called(r) == [("book_flight", {"origin": "Oslo", "destination": "Rome", "passengers": 2})]
