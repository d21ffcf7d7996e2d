"""promptfoo's streaming chat providers over WebSocket — openai:realtime:MODEL (OpenAI's Realtime API) and
google:live:MODEL (Gemini's Live API) — from the suite line to the answer, over real loopback WebSocket
connections to the scripted model server, which speaks both protocols and checks the credentials."""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest

from bot.core.config import Budget, EvalsConfig
from bot.core.errors import CheckError
from bot.core.files import MemoryTree
from bot.evals.loader import load_suite
from bot.evals.providers import Caller, Completion, Meter, ProviderError
from bot.evals.providers_live_wire import realtime_path
from bot.modelserver import create_app
from bot.serving import start_in_thread

KEY = "scripted-key"
ASK = (("system", "You are a helpful assistant."), ("user", 'Please reply with "pong"'))
REALTIME = "openai:realtime:gpt-realtime"
LIVE = "google:live:gemini-2.0-flash-exp"
WEATHER = ("[{type: function, name: get_weather, description: Get the current weather for a location, "
           "parameters: {type: object, properties: {location: {type: string}}, required: [location]}}]")
GEMINI_WEATHER = ("[{functionDeclarations: [{name: get_weather, description: Get the current weather for a city, "
                  "parameters: {type: OBJECT, properties: {city: {type: STRING}}}}]}]")  # Gemini's schema types are upper case


@pytest.fixture(scope="module")
def server():
    running = start_in_thread(create_app(api_key=KEY))
    yield running.url
    running.stop()


def openai_env(url: str, key: str = KEY) -> dict[str, str]:
    return {"OPENAI_BASE_URL": f"{url}/v1", "OPENAI_API_KEY": key}


def gemini_env(url: str, key: str = KEY) -> dict[str, str]:
    return {"GEMINI_BASE_URL": url, "GEMINI_API_KEY": key}


def load(entry: str):
    return load_suite(MemoryTree({"promptfooconfig.yaml": f"providers:\n  - {entry}\ntests:\n  - vars: {{prompt: hi}}\n"}),
                      "promptfooconfig.yaml")


def call(env: dict[str, str], entry: str, messages=ASK, **config) -> Completion | ProviderError:
    suite, errors = load(entry)
    assert errors == [], [str(e) for e in errors]

    async def go():
        async with httpx.AsyncClient() as client:
            caller = Caller.for_run(client, env, EvalsConfig(**{"timeout_s": 10, **config}), Meter(Budget()))
            try:
                return await caller.complete(suite.providers[0], messages)
            except ProviderError as exc:
                return exc

    return asyncio.run(go())


def fault(url: str, **spec) -> None:
    assert httpx.post(f"{url}/_control/faults", json=spec).status_code == 200


def stats(url: str) -> dict:
    return httpx.get(f"{url}/_control/stats").json()


def test_realtime_streams_the_text_answer_with_its_usage(server):
    outcome = call(openai_env(server), REALTIME)
    assert isinstance(outcome, Completion), outcome
    assert outcome.text == "pong" and outcome.finish_reason == "stop" and not outcome.structured
    assert outcome.tokens_in > 0 and outcome.tokens_out == 1


def test_azure_realtime_calls_the_deployment_under_the_resources_openai_v1_with_an_api_key(server):
    env = {"AZURE_OPENAI_BASE_URL": server, "AZURE_OPENAI_API_KEY": KEY}
    outcome = call(env, "azure:realtime:my-realtime-deployment")
    assert isinstance(outcome, Completion) and outcome.text == "pong", outcome
    wrong = call({**env, "AZURE_OPENAI_API_KEY": "wrong"}, "azure:realtime:my-realtime-deployment")
    assert isinstance(wrong, ProviderError) and wrong.kind is CheckError.BAD_CREDENTIALS and str(wrong).endswith("check AZURE_OPENAI_API_KEY")


@pytest.mark.parametrize("base, path", [
    ("https://r.openai.azure.com", "/openai/v1/realtime?model=d%2F1"),
    ("https://r.openai.azure.com/openai", "/v1/realtime?model=d%2F1"),
    ("https://r.openai.azure.com/openai/v1/", "/realtime?model=d%2F1"),
])
def test_an_azure_base_is_completed_to_openai_v1_as_promptfoo_does(base, path):
    assert realtime_path("d/1", base) == path


def test_live_answers_promptfoos_json_of_text_and_tool_calls(server):
    outcome = call(gemini_env(server), LIVE)
    assert isinstance(outcome, Completion), outcome
    assert json.loads(outcome.text) == {"text": "pong", "toolCall": {"functionCalls": []}} and outcome.structured
    assert outcome.tokens_in > 0 and outcome.tokens_out == 1


def test_live_sends_each_user_message_as_a_turn_and_joins_the_model_turns(server):
    outcome = call(gemini_env(server), LIVE, (("user", 'Please reply with "ping"'), ("user", 'Please reply with "pong"')))
    assert isinstance(outcome, Completion), outcome
    assert json.loads(outcome.text)["text"] == "pingpong"


def test_realtime_settings_reach_the_response_max_output_tokens_cuts_the_answer(server):
    outcome = call(openai_env(server), f"id: {REALTIME}\n    config: {{max_response_output_tokens: 2}}",
                   (("user", "tell me about the sea"),))
    assert isinstance(outcome, Completion), outcome
    assert outcome.text == "You said" and outcome.finish_reason == "length"


def test_live_generation_config_reaches_the_setup(server):
    outcome = call(gemini_env(server), f"id: {LIVE}\n    config: {{generationConfig: {{response_modalities: [text], maxOutputTokens: 2}}}}",
                   (("user", "tell me about the sea"),))
    assert isinstance(outcome, Completion), outcome
    assert json.loads(outcome.text)["text"] == "You said"


def test_a_realtime_function_call_without_text_is_a_case_error_naming_the_function(server):
    outcome = call(openai_env(server), f"id: {REALTIME}\n    config: {{tools: {WEATHER}, tool_choice: auto}}",
                   (("user", "What's the weather in San Francisco?"),))
    assert isinstance(outcome, ProviderError) and outcome.kind is CheckError.BAD_RESPONSE
    assert "called get_weather and answered no text" in str(outcome) and "functionCallHandler" in str(outcome)


def test_a_live_function_call_is_in_the_output_and_answered_with_an_empty_response(server):
    outcome = call(gemini_env(server), f"id: {LIVE}\n    config: {{tools: {GEMINI_WEATHER}}}",
                   (("user", "What is the weather in San Francisco?"),))
    assert isinstance(outcome, Completion), outcome
    output = json.loads(outcome.text)
    assert [(c["name"], c["args"]) for c in output["toolCall"]["functionCalls"]] == [("get_weather", {"city": "San Francisco"})]
    assert output["text"]  # the turn went on after the tool response and completed in text


@pytest.mark.parametrize("entry, env, var", [(REALTIME, openai_env, "OPENAI_API_KEY"), (LIVE, gemini_env, "GEMINI_API_KEY")])
def test_a_wrong_key_is_a_credentials_error_naming_the_variable(server, entry, env, var):
    outcome = call(env(server, "wrong"), entry)
    assert isinstance(outcome, ProviderError) and outcome.kind is CheckError.BAD_CREDENTIALS, outcome
    assert str(outcome).startswith(f"{entry}: the provider refused the credentials") and str(outcome).endswith(f"check {var}")


@pytest.mark.parametrize("entry, var", [(REALTIME, "OPENAI_API_KEY"), (LIVE, "GEMINI_API_KEY")])
def test_a_missing_key_is_named_before_any_connection(server, entry, var):
    before = stats(server)
    outcome = call({}, entry)
    assert isinstance(outcome, ProviderError) and outcome.kind is CheckError.MISSING_CREDENTIALS
    assert str(outcome) == f"{entry}: {var} is not set"
    assert stats(server) == before


@pytest.mark.parametrize("entry, env", [(REALTIME, openai_env), (LIVE, gemini_env)])
@pytest.mark.parametrize("status, kind", [(429, CheckError.RATE_LIMITED), (503, CheckError.PROVIDER_DOWN),
                                          (401, CheckError.BAD_CREDENTIALS)])
def test_a_vendor_error_in_the_conversation_is_classified_like_the_other_providers(server, entry, env, status, kind):
    fault(server, status=status, model=entry.rsplit(":", 1)[1])
    outcome = call(env(server), entry)
    assert isinstance(outcome, ProviderError) and outcome.kind is kind, outcome


@pytest.mark.parametrize("entry, env, key", [(REALTIME, openai_env, "websocketTimeout"), (LIVE, gemini_env, "timeoutMs")])
def test_the_configured_timeout_bounds_the_whole_call(server, entry, env, key):
    fault(server, delay_ms=5000, model=entry.rsplit(":", 1)[1])
    outcome = call(env(server), f"id: {entry}\n    config: {{{key}: 300}}")
    assert isinstance(outcome, ProviderError) and outcome.kind is CheckError.TIMEOUT
    assert str(outcome) == f"{entry}: no complete answer within 0.3 s (config.{key})"


def test_an_answer_that_never_ends_is_cut_at_the_size_limit(server):
    outcome = call(openai_env(server), "openai:realtime:scripted-endless", max_response_bytes=50_000)
    assert isinstance(outcome, ProviderError) and outcome.kind is CheckError.RESPONSE_TOO_LARGE
    assert "larger than 50000 bytes" in str(outcome)


@pytest.mark.parametrize("model, message", [("scripted-garbage", "an event is not JSON"),
                                            ("scripted-nested", "an event is JSON nested deeper than")])
def test_a_hostile_event_is_a_bad_response_not_a_crash(server, model, message):
    outcome = call(openai_env(server), f"openai:realtime:{model}")
    assert isinstance(outcome, ProviderError) and outcome.kind is CheckError.BAD_RESPONSE
    assert str(outcome).startswith(f"openai:realtime:{model}: {message}")


def test_a_suite_base_url_must_pass_the_url_policy_and_never_gets_the_key(server):
    entry = f"id: {REALTIME}\n    config: {{apiBaseUrl: '{server}/v1'}}"
    refused = call({"OPENAI_API_KEY": KEY}, entry)
    assert isinstance(refused, ProviderError) and refused.kind is CheckError.URL_REFUSED
    allowed = {"OPENAI_API_KEY": KEY, "PROMPT_REVIEW_ALLOWED_MODEL_URLS": server, "PROMPT_REVIEW_ALLOW_PRIVATE_MODEL_URLS": "1"}
    outcome = call(allowed, entry)  # the server wants the key, which only goes to OPENAI_BASE_URL or the public API
    assert isinstance(outcome, ProviderError) and outcome.kind is CheckError.MISSING_CREDENTIALS, outcome
    assert "no key is sent to this server" in str(outcome)


def test_a_live_prompt_with_a_model_turn_is_refused_as_promptfoo_does(server):
    outcome = call(gemini_env(server), LIVE, (("user", "hi"), ("assistant", "hello"), ("user", "again")))
    assert isinstance(outcome, ProviderError) and outcome.kind is CheckError.RENDER
    assert "user messages only" in str(outcome)


@pytest.mark.parametrize("config, message", [
    (f"id: {REALTIME}\n    config: {{modalities: [audio]}}", "config.modalities): unsupported: an audio-only answer (modalities ['audio']): prompt-review reviews text answers"),
    (f"id: {REALTIME}\n    config: {{max_response_output_tokens: 5000}}", "max_response_output_tokens must be a whole number from 1 to 4096, or 'inf'"),
    (f"id: {REALTIME}\n    config: {{websocketTimeout: -1}}", "config.websocketTimeout): websocketTimeout must be a positive number of milliseconds"),
    (f"id: {REALTIME}\n    config: {{functionCallHandler: 'file://handler.js'}}", "refused: functionCallHandler: executes code from the PR"),
    (f"id: {REALTIME}\n    config: {{tool_choice: sometimes}}", "tool_choice must be none, auto, required or {type: function, name: NAME}"),
    (f"id: {REALTIME}\n    config: {{top_p: 1}}", "unsupported provider config key 'top_p' for a Realtime provider (supported: apiBaseUrl, apiHost,"),
    (f"id: {LIVE}\n    config: {{generationConfig: {{response_modalities: [audio]}}}}",
     "config.generationConfig): unsupported: an audio-only answer (generationConfig.response_modalities ['audio'])"),
    (f"id: {LIVE}\n    config: {{timeoutMs: fast}}", "config.timeoutMs): timeoutMs must be a positive number of milliseconds"),
    (f"id: {LIVE}\n    config: {{functionToolStatefulApi: {{file: api.py, url: 'http://127.0.0.1:8765'}}}}",
     "refused: functionToolStatefulApi: executes code from the PR"),
    (f"id: {LIVE}\n    config: {{functionToolCallbacks: {{f: x}}}}", "refused: functionToolCallbacks: executes code from the PR"),
    (f"id: {LIVE}\n    config: {{websocketTimeout: 100}}", "unsupported provider config key 'websocketTimeout' for google:live"),
    ("'openai:realtime:'", "the Realtime API needs a model (openai:realtime:MODEL)"),
])
def test_bad_live_configs_are_errors_with_their_line(config, message):
    _, errors = load(config)
    assert len(errors) == 1 and str(errors[0]).startswith("promptfooconfig.yaml:") and message in str(errors[0]), [str(e) for e in errors]


def test_the_fingerprint_covers_the_config():
    def fingerprint(config: str):
        suite, errors = load(f"id: {REALTIME}\n    config: {config}")
        assert errors == []
        return suite.providers[0].fingerprint()

    base = fingerprint("{instructions: Be brief., websocketTimeout: 1000}")
    assert base != fingerprint("{instructions: Be long., websocketTimeout: 1000}")
    assert base != fingerprint("{instructions: Be brief., websocketTimeout: 2000}")
    assert base != fingerprint(f"{{instructions: Be brief., websocketTimeout: 1000, tools: {WEATHER}}}")
    live, errors = load(f"id: {LIVE}\n    config: {{systemInstruction: Be brief.}}")
    other, _ = load(f"id: {LIVE}\n    config: {{systemInstruction: Be long.}}")
    assert errors == [] and live.providers[0].fingerprint() != other.providers[0].fingerprint()
