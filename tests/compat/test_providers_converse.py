"""promptfoo's Bedrock Converse provider (`bedrock:converse:MODEL`, and `bedrock:MODEL` through Converse): the request
body it makes of each config key (tools in Converse's, OpenAI's and Anthropic's forms, toolChoice, Nova 2's
reasoningConfig, Claude's thinking, guardrails, performance and service tiers, …) and its text of the answer
(reasoning, tool uses, malformed answers), pinned against promptfoo 0.121.20 itself — data/converse_promptfoo.json is
what `PROMPTFOO_CACHE_ENABLED=false node bench/converse_oracle.mjs PROMPTFOO/dist/src/index.js <
data/converse_cases.json` printed —; and the calls over real loopback HTTP against the scripted model server."""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import unquote

import pytest

from bot.evals.providers import Completion, ProviderError
from bot.evals.providers_wire import parse, request
from bot.modelserver import create_app
from bot.serving import start_in_thread
from tests.compat.bedrock import complete, load, provider

DATA = Path(__file__).parent / "data"
CASES = json.loads((DATA / "converse_cases.json").read_text())
PROMPTFOO = json.loads((DATA / "converse_promptfoo.json").read_text())
KEY = "scripted-key"
WEATHER = CASES[0]["config"]["tools"]


@pytest.fixture(scope="module")
def server():
    running = start_in_thread(create_app(api_key=KEY))
    yield running.url
    running.stop()


def call(pid: str, config: dict, prompt: str, base: str) -> Completion | ProviderError:
    return complete({"BEDROCK_BASE_URL": base, "AWS_REGION": "us-east-1", "AWS_BEARER_TOKEN_BEDROCK": KEY}, pid, config, prompt)


@pytest.mark.parametrize("index", range(len(CASES)))
def test_the_request_is_the_one_promptfoo_sends(index):
    case, promptfoo = CASES[index], PROMPTFOO[index]
    path, body = request(provider(case["provider"], case["config"]), (("user", case["prompt"]),))
    assert (unquote(path), body) == (promptfoo["request"]["path"], promptfoo["request"]["body"])  # the oracle's path is decoded


@pytest.mark.parametrize("index", range(len(CASES)))
def test_the_output_is_what_promptfoo_makes_of_the_answer(index):
    case, promptfoo = CASES[index], PROMPTFOO[index]
    spec = provider(case["provider"], case["config"])
    if "error" in promptfoo:  # a malformed answer: promptfoo's error, the case's error here
        with pytest.raises(Exception, match=promptfoo["error"].split(".")[0]):
            parse(spec, case["response"])
    else:
        assert parse(spec, case["response"]).text == promptfoo["output"]


def test_the_example_tool_configs_get_tool_uses_over_http_in_each_form(server):
    anthropic = [{"name": "get_weather", "description": "Get the current weather for a city",
                  "input_schema": WEATHER[0]["toolSpec"]["inputSchema"]["json"]}]
    openai = [{"type": "function", "function": {"name": "get_weather", "description": "Get the current weather for a city",
                                                "parameters": WEATHER[0]["toolSpec"]["inputSchema"]["json"]}}]
    for tools in (WEATHER, anthropic, openai):
        got = call("bedrock:converse:us.anthropic.claude-sonnet-4-6", {"maxTokens": 1024, "temperature": 0, "tools": tools, "toolChoice": "auto"},
                   "Use the get_weather tool for Tokyo.", server)
        assert isinstance(got, Completion), got
        use = json.loads(got.text)
        assert (use["type"], use["name"], use["input"]) == ("tool_use", "get_weather", {"city": "Tokyo"})


def test_a_none_tool_choice_sends_no_tools_and_the_model_answers_in_text(server):
    got = call("bedrock:converse:amazon.nova-lite-v1:0", {"tools": WEATHER, "toolChoice": "none"}, "Use get_weather for Oslo", server)
    assert isinstance(got, Completion) and "tool_use" not in got.text


def test_a_named_tool_choice_the_tools_do_not_declare_is_a_case_error(server):
    got = call("bedrock:converse:amazon.nova-lite-v1:0", {"tools": WEATHER, "toolChoice": {"tool": {"name": "get_time"}}}, "now?", server)
    assert isinstance(got, ProviderError) and "get_time" in str(got)


def test_reasoning_is_asked_for_and_shown_as_promptfoo_shows_it_over_http(server):
    nova = {"maxTokens": 4096, "temperature": 0.7, "reasoningConfig": {"type": "enabled", "maxReasoningEffort": "medium"}}
    got = call("bedrock:converse:us.amazon.nova-2-lite-v1:0", nova, "Solve this step by step: 2+2", server)
    assert isinstance(got, Completion), got
    thinking, signature, answer = got.text.split("\n\n", 2)
    assert (thinking, signature) == ("<thinking>\nThe question is: Solve this step by step: 2+2\n</thinking>", "Signature: scripted-signature")
    assert "2+2" in answer
    quiet = call("bedrock:converse:us.amazon.nova-2-lite-v1:0", {**nova, "showThinking": False}, "Solve: 2+2", server)
    assert isinstance(quiet, Completion) and "<thinking>" not in quiet.text
    claude = call("bedrock:converse:us.anthropic.claude-sonnet-4-20250514-v1:0", {"thinking": {"type": "enabled", "budget_tokens": 1024}},
                  "Why?", server)
    assert isinstance(claude, Completion) and claude.text.startswith("<thinking>\nThe question is: Why?\n</thinking>")
    plain = call("bedrock:converse:us.amazon.nova-2-lite-v1:0", {"reasoningConfig": {"type": "disabled"}}, "Solve: 2+2", server)
    assert isinstance(plain, Completion) and "<thinking>" not in plain.text


def test_bedrock_completion_ids_name_the_model_after_the_sub_type():
    assert provider("bedrock:completion:amazon.nova-lite-v1:0", {}).model == "amazon.nova-lite-v1:0"


def test_mcp_servers_are_refused_with_the_reason_at_their_line():
    _, errors = load({"id": "bedrock:converse:amazon.nova-lite-v1:0", "config": {"mcp": {"enabled": True, "server": {"command": "npx"}}}})
    assert errors == [(5, "refused: mcp: MCP servers run tools for the model (programs or remote services the suite names); "
                          "prompt-review calls the model only")]


def test_every_converse_key_promptfoo_reads_loads():
    config = {"toolChoice": "auto", "tools": WEATHER, "reasoningConfig": {"type": "disabled"}, "performanceConfig": {"latency": "standard"},
              "serviceTier": {"type": "flex"}, "guardrailIdentifier": "g1", "guardrailVersion": "1", "trace": "enabled",
              "additionalModelResponseFieldPaths": ["/x"], "stopSequences": ["x"], "topP": 1, "top_p": 1, "temperature": 0,
              "maxTokens": 5, "max_tokens": 5, "stop": ["y"], "thinking": {"type": "enabled", "budget_tokens": 1024},
              "additionalModelRequestFields": {}, "showThinking": True, "region": "us-west-2"}
    _, errors = load({"id": "bedrock:converse:amazon.nova-lite-v1:0", "config": config})
    assert errors == []


def test_promptfoos_endpoint_key_is_the_suites_own_runtime_url():
    spec = provider("bedrock:converse:amazon.nova-lite-v1:0", {"endpoint": "https://bedrock.example.com"})
    assert spec.base_url == "https://bedrock.example.com"
    _, errors = load({"id": "bedrock:converse:amazon.nova-lite-v1:0", "config": {"endpoint": "bedrock.example.com"}})
    assert errors == [(5, "endpoint must be an http(s) URL")]


def test_a_tool_of_no_known_form_is_a_case_error_naming_it(server):
    openai_first = [{"type": "function", "function": {"name": "a"}}, {"toolSpec": {"name": "b"}}]
    for tools in ([{"description": "no name"}], openai_first):
        got = call("bedrock:converse:amazon.nova-lite-v1:0", {"tools": tools}, "hi", server)
        assert isinstance(got, ProviderError) and "Invalid tool configuration" in str(got), got
