"""IBM watsonx.ai (`watsonx:MODEL`): the IAM token exchange (API key from the environment → bearer token,
cached until shortly before it expires) and the text generation API, over real loopback HTTP against the
scripted model server, which emulates both."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from bot.core.config import Budget, EvalsConfig
from bot.core.errors import CheckError
from bot.core.files import MemoryTree
from bot.evals.loader import load_suite
from bot.evals.providers import Caller, Completion, Meter, ProviderError
from bot.modelserver import create_app
from bot.serving import start_in_thread

KEY = "scripted-key"
PONG = (("user", 'Please reply with "pong"'),)


@pytest.fixture(scope="module")
def server():
    running = start_in_thread(create_app(api_key=KEY))
    yield running.url
    running.stop()


def env(url: str, **more: str) -> dict[str, str]:
    return {"WATSONX_BASE_URL": url, "WATSONX_IAM_URL": url, "WATSONX_AI_APIKEY": KEY, "WATSONX_AI_PROJECT_ID": "p-1", **more}


def load(entry: str):
    return load_suite(MemoryTree({"promptfooconfig.yaml": f"providers:\n  - {entry}\ntests:\n  - vars: {{q: hi}}\n"}),
                      "promptfooconfig.yaml")


def calls(environment: dict[str, str], entry: str, n: int = 1, messages=PONG) -> list[Completion | ProviderError]:
    """n calls through one Caller (one run), in order."""
    suite, errors = load(entry)
    assert errors == [], errors

    async def go():
        out: list[Completion | ProviderError] = []
        async with httpx.AsyncClient() as client:
            caller = Caller.for_run(client, environment, EvalsConfig(timeout_s=10), Meter(Budget()))
            for _ in range(n):
                try:
                    out.append(await caller.complete(suite.providers[0], messages))
                except ProviderError as exc:
                    out.append(exc)
        return out

    return asyncio.run(go())


def stats(url: str) -> dict:
    return httpx.get(f"{url}/_control/stats").json()


def test_watsonx_exchanges_the_api_key_once_and_generates_with_the_bearer_token(server):
    httpx.post(f"{server}/_control/reset").raise_for_status()
    outcomes = calls(env(server), "watsonx:ibm/granite-3-3-8b-instruct", n=3)
    assert all(isinstance(o, Completion) and o.text == "pong" for o in outcomes), outcomes
    assert outcomes[0].tokens_in > 0 and outcomes[0].finish_reason == "stop"
    by_endpoint = stats(server)["by_endpoint"]
    assert by_endpoint == {"iam.token": 1, "watsonx.generation": 3}


def test_a_token_about_to_expire_is_exchanged_again(server):
    httpx.post(f"{server}/_control/reset").raise_for_status()
    # the server issues tokens for 30 s: inside the refresh margin, so every call exchanges a new one
    short = {"x-scripted-token-ttl": "30"}

    async def go():
        async with httpx.AsyncClient(headers=short) as client:
            suite, _ = load("watsonx:ibm/granite-3-3-8b-instruct")
            caller = Caller.for_run(client, env(server), EvalsConfig(timeout_s=10), Meter(Budget()))
            return [await caller.complete(suite.providers[0], PONG) for _ in range(2)]

    outcomes = asyncio.run(go())
    assert [o.text for o in outcomes] == ["pong", "pong"]
    assert stats(server)["by_endpoint"]["iam.token"] == 2


def test_config_model_id_project_and_max_new_tokens_are_sent(server):
    outcome = calls(env(server, WATSONX_AI_PROJECT_ID=""),
                    "id: watsonx:ibm/granite\n    config: {projectId: p-2, modelId: meta-llama/llama-3-3-70b-instruct, maxNewTokens: 1}",
                    messages=(("user", "Tell me a long story about the sea"),))[0]
    assert isinstance(outcome, Completion) and outcome.finish_reason == "length"
    assert stats(server)["by_model"].get("meta-llama/llama-3-3-70b-instruct") == 1


def test_a_bearer_token_from_the_environment_is_sent_as_it_is(server):
    httpx.post(f"{server}/_control/reset").raise_for_status()
    outcome = calls({"WATSONX_BASE_URL": server, "WATSONX_AI_BEARER_TOKEN": KEY, "WATSONX_AI_PROJECT_ID": "p"}, "watsonx:ibm/granite")[0]
    assert isinstance(outcome, Completion) and outcome.text == "pong"
    assert "iam.token" not in stats(server)["by_endpoint"]


def test_a_wrong_api_key_is_a_credentials_error_naming_the_variable(server):
    outcome = calls(env(server, WATSONX_AI_APIKEY="wrong"), "watsonx:ibm/granite")[0]
    assert isinstance(outcome, ProviderError) and outcome.kind is CheckError.BAD_CREDENTIALS
    assert "WATSONX_AI_APIKEY" in str(outcome) and "wrong" not in str(outcome)


def test_missing_credentials_and_project_are_named_before_any_request(server):
    no_key = calls({"WATSONX_BASE_URL": server, "WATSONX_AI_PROJECT_ID": "p"}, "watsonx:ibm/granite")[0]
    assert isinstance(no_key, ProviderError) and "WATSONX_AI_APIKEY is not set" in str(no_key)
    no_project = calls(env(server, WATSONX_AI_PROJECT_ID=""), "watsonx:ibm/granite")[0]
    assert isinstance(no_project, ProviderError) and "WATSONX_AI_PROJECT_ID" in str(no_project)


def test_an_iam_server_that_never_answers_is_a_timeout(server):
    async def go():
        async def silent(reader, writer):
            await asyncio.sleep(30)

        listener = await asyncio.start_server(silent, "127.0.0.1", 0)
        port = listener.sockets[0].getsockname()[1]
        suite, _ = load("watsonx:ibm/granite")
        async with httpx.AsyncClient() as client:
            caller = Caller.for_run(client, env(server, WATSONX_IAM_URL=f"http://127.0.0.1:{port}"), EvalsConfig(timeout_s=0.5),
                                    Meter(Budget()))
            try:
                return await caller.complete(suite.providers[0], PONG)
            except ProviderError as exc:
                return exc
            finally:
                listener.close()

    outcome = asyncio.run(go())
    assert isinstance(outcome, ProviderError) and outcome.kind is CheckError.TIMEOUT and "IAM" in str(outcome)


@pytest.mark.parametrize("config, message", [
    ("{serviceUrl: 'https://models.example.com'}", "serviceUrl must be an IBM watsonx.ai host"),
    ("{apiKey: k}", "credentials come from the environment only"),
    ("{apiBearerToken: t}", "credentials come from the environment only"),
    ("{projectIdEnvar: MY_PROJECT}", "reading arbitrary environment variables is not allowed"),
    ("{maxNewTokens: many}", "maxNewTokens must be a positive whole number"),
])
def test_bad_watsonx_configs_are_errors_with_their_line(config, message):
    suite, errors = load(f"id: watsonx:ibm/granite\n    config: {config}")
    assert errors and message in str(errors[0]) and errors[0].line is not None
