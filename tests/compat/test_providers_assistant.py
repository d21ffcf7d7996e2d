"""promptfoo's Assistants API providers — openai:assistant:ID and azure:assistant:ID — from the suite line to
the answer, over real loopback HTTP to the scripted model server, which speaks both vendors' Assistants API
(threads, runs looked at until they end, steps and messages) and checks their credentials and headers."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from fastapi import FastAPI

from bot.core.config import Budget, EvalsConfig
from bot.evals import providers_assistant_wire
from bot.core.errors import CheckError
from bot.core.files import MemoryTree
from bot.evals.loader import load_suite
from bot.evals.providers import BudgetExhausted, Caller, Completion, Meter, ProviderError
from bot.modelserver import create_app
from bot.serving import start_in_thread

KEY = "scripted-key"
ASK = (("user", 'Please reply with "pong"'),)
OPENAI = "openai:assistant:asst_scripted"
AZURE = "azure:assistant:asst_scripted"
POLICY = "You are the support agent of a shop. Refunds are only possible within 30 days of delivery."
WEATHER = ("[{type: function, function: {name: get_weather, description: Get the current weather for a location, "
           "parameters: {type: object, properties: {location: {type: string}}, required: [location]}}}]")


@pytest.fixture(autouse=True)
def quick_polls(monkeypatch):
    """The scripted runs answer at once: look at them every 20 ms instead of promptfoo's second (the bounds and
    the order of the looks are what these tests check, not the pace)."""
    monkeypatch.setattr(providers_assistant_wire, "POLL_INTERVAL_S", 0.02)


@pytest.fixture(scope="module")
def server():
    running = start_in_thread(create_app(api_key=KEY))
    yield running.url
    running.stop()


def openai_env(url: str, key: str = KEY) -> dict[str, str]:
    return {"OPENAI_BASE_URL": f"{url}/v1", "OPENAI_API_KEY": key}


def azure_env(url: str, key: str = KEY) -> dict[str, str]:
    return {"AZURE_OPENAI_BASE_URL": url, "AZURE_OPENAI_API_KEY": key}


def env_for(entry: str, url: str, key: str = KEY) -> dict[str, str]:
    return azure_env(url, key) if "azure:" in entry else openai_env(url, key)


def load(entry: str, files: dict[str, str] | None = None):
    return load_suite(MemoryTree({"promptfooconfig.yaml": f"providers:\n  - {entry}\ntests:\n  - vars: {{prompt: hi}}\n", **(files or {})}),
                      "promptfooconfig.yaml")


def call(env: dict[str, str], entry: str, messages=ASK, meter: Meter | None = None, **config) -> Completion | ProviderError:
    suite, errors = load(entry)
    assert errors == [], [str(e) for e in errors]

    async def go():
        async with httpx.AsyncClient() as client:
            caller = Caller.for_run(client, env, EvalsConfig(**{"timeout_s": 10, **config}), meter or Meter(Budget()))
            try:
                return await caller.complete(suite.providers[0], messages)
            except ProviderError as exc:
                return exc

    return asyncio.run(go())


def stats(url: str) -> dict:
    return httpx.get(f"{url}/_control/stats").json()["by_endpoint"]


def grew(before: dict, after: dict) -> dict:
    return {k: after[k] - before.get(k, 0) for k in after if after[k] != before.get(k, 0)}


def test_openai_assistant_answers_with_the_run_steps_messages_polling_until_completed(server):
    before = stats(server)
    meter = Meter(Budget())
    outcome = call(openai_env(server), OPENAI, meter=meter)
    assert isinstance(outcome, Completion), outcome
    assert outcome.text == "[Assistant] pong" and outcome.tokens_in > 0 and outcome.tokens_out == 1
    # thread and run created together, looked at twice (queued → in_progress → completed), steps, the message
    assert grew(before, stats(server)) == {"openai.assistants.runs": 1, "openai.assistants.runs.get": 2,
                                           "openai.assistants.steps": 1, "openai.assistants.messages.get": 1}
    assert meter.calls == 5  # every request is counted against the budget


def test_azure_assistant_creates_thread_message_and_run_and_answers_user_then_assistant(server):
    before = stats(server)
    outcome = call(azure_env(server), AZURE)
    assert isinstance(outcome, Completion), outcome
    assert outcome.text == '[User] Please reply with "pong"\n\n[Assistant] pong'
    assert grew(before, stats(server)) == {"azure.assistants.threads": 1, "azure.assistants.messages": 1, "azure.assistants.runs": 1,
                                           "azure.assistants.runs.get": 2, "azure.assistants.messages.list": 1, "azure.assistants.steps": 1}


def test_run_settings_reach_the_run_instructions_answer_the_system_part(server):
    ask = (("user", "Can I get a refund? My order was delivered 45 days ago."),)
    outcome = call(openai_env(server), f"id: {OPENAI}\n    config: {{instructions: '{POLICY}', temperature: 0}}", ask)
    plain = call(openai_env(server), OPENAI, ask)
    assert isinstance(outcome, Completion) and isinstance(plain, Completion), (outcome, plain)
    assert outcome.text.startswith("[Assistant] ") and "not eligible" in outcome.text and "not eligible" not in plain.text


@pytest.mark.parametrize("entry", [OPENAI, AZURE])
def test_without_callbacks_a_function_call_is_answered_as_promptfoo_does_openai_with_its_pending_output_azure_as_an_error(server, entry):
    outcome = call(env_for(entry, server), f"id: {entry}\n    config: {{tools: {WEATHER}}}",
                   (("user", "Use get_weather for San Francisco."),))
    if entry == OPENAI:
        assert isinstance(outcome, Completion), outcome
        assert outcome.text == '[Call function get_weather with arguments {"location":"San Francisco"}]\n\n[Function output: null]'
    else:
        assert isinstance(outcome, ProviderError) and outcome.kind is CheckError.OTHER, outcome
        assert "thread run failed with status: requires_action" in str(outcome) and "functionToolCallbacks" in str(outcome)


def test_tools_from_a_file_are_sent_as_the_files_data(server):
    files = {"tools.json": '[{"type": "function", "function": {"name": "get_weather", "description": "weather", '
                           '"parameters": {"type": "object", "properties": {"location": {"type": "string"}}}}}]'}
    suite, errors = load(f"id: {OPENAI}\n    config: {{tools: file://tools.json}}", files)
    assert errors == []
    assert dict(suite.providers[0].params)["tools"][0]["function"]["name"] == "get_weather"


@pytest.mark.parametrize("entry, var", [(OPENAI, "OPENAI_API_KEY"), (AZURE, "AZURE_OPENAI_API_KEY")])
def test_a_wrong_key_is_a_credentials_error_naming_the_variable(server, entry, var):
    outcome = call(env_for(entry, server, "wrong"), entry)
    assert isinstance(outcome, ProviderError) and outcome.kind is CheckError.BAD_CREDENTIALS, outcome
    assert str(outcome).endswith(f"check {var}")


def test_without_the_beta_header_the_openai_assistants_api_refuses(server):
    answer = httpx.post(f"{server}/v1/threads/runs", json={"assistant_id": "asst_x", "thread": {"messages": []}},
                        headers={"Authorization": f"Bearer {KEY}"})
    assert answer.status_code == 400 and "OpenAI-Beta" in answer.json()["error"]["message"]


@pytest.mark.parametrize("entry", [OPENAI, AZURE])
def test_an_unknown_assistant_is_a_case_error_with_the_apis_message(server, entry):
    outcome = call(env_for(entry, server), entry.replace("asst_scripted", "asst_missing"))
    assert isinstance(outcome, ProviderError), outcome
    assert "HTTP 404" in str(outcome) and "No assistant found" in str(outcome)


@pytest.mark.parametrize("entry", [OPENAI, AZURE])
def test_a_failed_run_is_a_case_error_with_its_last_error(server, entry):
    outcome = call(env_for(entry, server), entry.replace("asst_scripted", "asst_failing"))
    assert isinstance(outcome, ProviderError) and outcome.kind is CheckError.PROVIDER_DOWN, outcome
    assert "thread run failed" in str(outcome) and "Sorry, something went wrong." in str(outcome)


def test_azure_content_filter_is_promptfoos_filtered_answer(server):
    outcome = call(azure_env(server), AZURE.replace("asst_scripted", "asst_filtered"))
    assert isinstance(outcome, Completion) and outcome.finish_reason == "content_filter", outcome
    assert "content filtering system" in outcome.text


def test_a_look_that_fails_with_a_server_error_is_retried(server):
    assert httpx.post(f"{server}/_control/faults", json={"status": 500, "model": "asst_retried"}).status_code == 200
    outcome = call(openai_env(server), OPENAI.replace("asst_scripted", "asst_retried"))
    assert isinstance(outcome, Completion) and outcome.text == "[Assistant] pong", outcome


def test_polling_is_bounded_by_the_call_deadline(server, monkeypatch):
    monkeypatch.setattr(providers_assistant_wire, "POLL_INTERVAL_S", 1.0)  # promptfoo's pace: the first look is past 1 s
    outcome = call(openai_env(server), OPENAI, timeout_s=1, call_timeout_s=1)
    assert isinstance(outcome, ProviderError) and outcome.kind is CheckError.TIMEOUT, outcome
    assert "did not finish within 1 s (evals.call_timeout_s)" in str(outcome)


def test_the_budget_stops_the_polling(server):
    before = stats(server)
    with pytest.raises(BudgetExhausted, match="2 model calls"):
        call(openai_env(server), OPENAI, meter=Meter(Budget(max_calls=2)))
    assert grew(before, stats(server)) == {"openai.assistants.runs": 1, "openai.assistants.runs.get": 1}


def test_a_suite_url_gets_no_key(server):
    outcome = call({"OPENAI_API_KEY": KEY, "PROMPT_REVIEW_ALLOWED_MODEL_URLS": server, "PROMPT_REVIEW_ALLOW_PRIVATE_MODEL_URLS": "1"},
                   f"id: {OPENAI}\n    config: {{apiBaseUrl: '{server}/v1'}}")
    assert isinstance(outcome, ProviderError) and outcome.kind is CheckError.MISSING_CREDENTIALS, outcome


def test_a_system_message_is_refused_before_any_request_naming_instructions(server):
    before = stats(server)
    outcome = call(openai_env(server), OPENAI, (("system", "Be brief."), ("user", "hi")))
    assert isinstance(outcome, ProviderError) and "config.instructions" in str(outcome), outcome
    assert grew(before, stats(server)) == {}


@pytest.mark.parametrize("config, problem", [
    ("{functionToolCallbacks: {get_weather: 'file://cb.rb'}}", "unsupported: the tool callback for 'get_weather' is cb.rb"),
    ("{temperature: hot}", "temperature must be a number"),
    ("{tools: get_weather}", "tools must be a list of tool definitions"),
    ("{max_poll: 3}", "unsupported provider config key 'max_poll' for openai:assistant (supported: apiBaseUrl, apiHost, attachments"),
    ("{maxPollTimeMs: 1000}", "unsupported provider config key 'maxPollTimeMs' for openai:assistant"),
    ("{apiKey: sk-x}", "refused: apiKey: credentials come from the environment only"),
])
def test_config_problems_are_named_with_the_suite_line(config, problem):
    _, errors = load(f"id: {OPENAI}\n    config: {config}")
    assert [str(e) for e in errors if problem in str(e)], [str(e) for e in errors]
    assert all(str(e).startswith("promptfooconfig.yaml:3 ") for e in errors), [str(e) for e in errors]


def test_an_assistant_without_an_id_is_refused():
    _, errors = load("openai:assistant")
    assert any("needs the assistant's id (openai:assistant:ASSISTANT_ID)" in str(e) for e in errors), [str(e) for e in errors]


def test_the_fingerprint_covers_the_sent_config_not_pacing():
    def spec(config: str):
        suite, errors = load(f"id: {AZURE}\n    config: {config}")
        assert errors == [], [str(e) for e in errors]
        return suite.providers[0].fingerprint()

    assert spec("{instructions: A}") != spec("{instructions: B}")
    assert spec("{tool_resources: {file_search: {vector_store_ids: [vs_1]}}}") != spec("{tool_resources: {file_search: {vector_store_ids: [vs_2]}}}")
    assert spec("{temperature: 0.2, timeoutMs: 1000}") == spec("{temperature: 0.2, timeoutMs: 9000}")


HOSTED = "{tools: [{type: code_interpreter}, {type: file_search}], tool_resources: {file_search: {vector_store_ids: [vs_1]}}}"


def test_openai_answer_lists_hosted_tool_steps_before_the_message_in_step_order(server):
    outcome = call(openai_env(server), f"id: {OPENAI}\n    config: {HOSTED}")
    assert isinstance(outcome, Completion), outcome
    assert outcome.text == ("[Code interpreter input]\n\nprint('checked')\n\n[Code interpreter output]\n\nchecked\n\n"
                            "[Ran file search]\n\n[Assistant] pong")


def test_azure_answer_puts_the_tool_calls_newest_first_between_the_user_and_the_assistant(server):
    # promptfoo lists Azure's run steps without an order: the API's default, newest first
    outcome = call(azure_env(server), f"id: {AZURE}\n    config: {HOSTED}")
    assert isinstance(outcome, Completion), outcome
    assert outcome.text == ('[User] Please reply with "pong"\n\n'
                            '[Ran file search]\n\n[File search details: {"ranking_options":{"ranker":"default_2024_08_21","score_threshold":0},'
                            '"results":[]}]\n\n'
                            "[Code interpreter input]\n\nprint('checked')\n\n[Code interpreter output]\n\nchecked\n\n[Assistant] pong")


def hostile_assistants(thread_id: str = "thread_1", steps: int = 50, text: str = "hi") -> FastAPI:
    """An OpenAI-compatible server that answers the Assistants API the way an attacker would: odd ids, a run with
    many steps, long messages."""
    app = FastAPI()
    seen: list[str] = []
    app.state.seen = seen

    @app.post("/v1/threads/runs")
    async def create() -> dict:
        return {"id": "run_1", "thread_id": thread_id, "status": "queued"}

    @app.get("/v1/threads/{thread}/runs/{run}")
    async def look(thread: str, run: str) -> dict:
        return {"id": run, "thread_id": thread, "status": "completed"}

    @app.get("/v1/threads/{thread}/runs/{run}/steps")
    async def list_steps(thread: str, run: str) -> dict:
        return {"data": [{"step_details": {"type": "message_creation", "message_creation": {"message_id": f"msg_{i}"}}}
                         for i in range(steps)]}

    @app.get("/v1/threads/{thread}/messages/{message}")
    async def message(thread: str, message: str) -> dict:
        seen.append(message)
        return {"role": "assistant", "content": [{"type": "text", "text": {"value": text}}]}

    return app


def test_an_id_from_the_answer_that_is_not_a_plain_name_never_reaches_a_path():
    with start_in_thread(hostile_assistants(thread_id="../../admin")) as running:
        outcome = call(openai_env(running.url), OPENAI)
    assert isinstance(outcome, ProviderError) and outcome.kind is CheckError.BAD_RESPONSE, outcome
    assert "the answer's thread_id is not an id" in str(outcome)


def test_a_run_with_many_steps_is_read_up_to_the_first_page_and_the_size_limit():
    app = hostile_assistants()
    with start_in_thread(app) as running:
        outcome = call(openai_env(running.url), OPENAI)
    assert isinstance(outcome, Completion), outcome
    assert outcome.text == "\n\n".join(["[Assistant] hi"] * 20) and len(app.state.seen) == 20
    app = hostile_assistants(text="x" * 300_000)
    with start_in_thread(app) as running:
        outcome = call(openai_env(running.url), OPENAI, max_response_bytes=1_000_000)
    assert isinstance(outcome, ProviderError) and outcome.kind is CheckError.RESPONSE_TOO_LARGE, outcome
    assert len(app.state.seen) == 4  # stopped at the message that went past the limit
