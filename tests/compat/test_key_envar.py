"""`config.apiKeyEnvar` (bot/evals/key_envar.py): promptfoo's OpenAI-compatible providers read their key from the
variable a suite names. Here its value goes only where the rule for secrets lets it — a vendor's key variable to
that vendor's API, any other variable where the base branch (or the operator) grants it — over real HTTP to the
scripted model server and a recording server; anything else is refused before a request is sent."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from bench.compat_run import scripted_env
from bot.core.config import Budget, EvalsConfig
from bot.core.errors import CheckError
from bot.core.files import MemoryTree
from bot.evals import EvalRequest, NoCache, run_evals
from bot.evals.loader import load_suite
from bot.evals.providers import Caller, Completion, Meter, ProviderError
from bot.modelserver import create_app
from bot.serving import start_in_thread
from tests.compat.recording import recording

KEY = "scripted-key"
SECRET = "aws-secret-that-must-stay-home"


@pytest.fixture(scope="module")
def server():
    running = start_in_thread(create_app(api_key=KEY))
    yield running.url
    running.stop()


CHAT = {"choices": [{"message": {"role": "assistant", "content": "ok"}, "finish_reason": "stop"}]}
EMBEDDING = {"data": [{"object": "embedding", "index": 0, "embedding": [0.5, 0.25]}]}


@pytest.fixture
def recorder():
    """An allowlisted server that records every request it gets (and answers like chat completions)."""
    with recording(lambda path: EMBEDDING if path.endswith("/embeddings") else CHAT) as running:
        yield running


def load(entry: str):
    return load_suite(MemoryTree({"promptfooconfig.yaml": f"providers:\n  - {entry}\ntests:\n  - vars: {{q: hi}}\n"}),
                      "promptfooconfig.yaml")


def call(entry: str, env: dict[str, str], config: EvalsConfig) -> Completion | ProviderError:
    suite, errors = load(entry)
    assert errors == [], [str(e) for e in errors]

    async def go():
        async with httpx.AsyncClient() as client:
            caller = Caller.for_run(client, {"PROMPT_REVIEW_ALLOW_PRIVATE_MODEL_URLS": "1", **env}, config, Meter(Budget()))
            try:
                return await caller.complete(suite.providers[0], (("user", "hello"),))
            except ProviderError as exc:
                return exc

    return asyncio.run(go())


def flexai(url: str, name: str = "FLEXAI_API_KEY") -> str:
    return f"{{id: 'openai:chat:flexai-model', config: {{apiBaseUrl: '{url}/v1', apiKeyEnvar: {name}}}}}"


def test_a_granted_variable_is_the_key_sent_to_the_url_it_is_granted_for(server):
    config = EvalsConfig(allowed_base_urls=(server,), http_credentials={"FLEXAI_API_KEY": f"{server}/v1/"})
    outcome = call(flexai(server), {**scripted_env(server), "FLEXAI_API_KEY": KEY, "OPENAI_API_KEY": "not-this-one"}, config)
    assert isinstance(outcome, Completion) and outcome.text, outcome  # the scripted server answers only `Bearer KEY`


def test_the_operators_grant_works_like_the_base_branchs(server):
    env = {**scripted_env(server), "FLEXAI_API_KEY": KEY, "PROMPT_REVIEW_HTTP_CREDENTIALS": f"FLEXAI_API_KEY={server}/v1/"}
    outcome = call(flexai(server), env, EvalsConfig(allowed_base_urls=(server,)))
    assert isinstance(outcome, Completion), outcome


def test_a_pr_naming_an_ungranted_secret_at_an_allowlisted_url_gets_nothing_sent(recorder):
    url, got = recorder
    outcome = call(flexai(url, "AWS_SECRET_ACCESS_KEY"), {"AWS_SECRET_ACCESS_KEY": SECRET}, EvalsConfig(allowed_base_urls=(url,)))
    assert isinstance(outcome, ProviderError) and outcome.kind is CheckError.URL_REFUSED
    assert got == []  # refused before any request: not even one without the key
    assert SECRET not in str(outcome)
    assert str(outcome) == (
        f"provider openai:chat:flexai-model: refused: config.apiKeyEnvar names AWS_SECRET_ACCESS_KEY, which is not sent to "
        f"{url}/v1/chat/completions: a vendor's key goes only to that vendor's API, any other variable only where the base "
        f"branch grants it; to allow it, add `AWS_SECRET_ACCESS_KEY: {url}/v1/` to evals.http_credentials in the base "
        f"branch's .github/prompt-review.yml (or AWS_SECRET_ACCESS_KEY={url}/v1/ to the operator's PROMPT_REVIEW_HTTP_CREDENTIALS)")


def test_a_vendors_own_key_named_by_a_pr_does_not_go_to_a_url_the_pr_wrote(recorder):
    url, got = recorder
    outcome = call(flexai(url, "OPENAI_API_KEY"), {"OPENAI_API_KEY": SECRET}, EvalsConfig(allowed_base_urls=(url,)))
    assert isinstance(outcome, ProviderError) and outcome.kind is CheckError.URL_REFUSED and got == []


def test_a_grant_for_another_prefix_of_the_same_host_does_not_reach_this_path(recorder):
    url, got = recorder
    config = EvalsConfig(allowed_base_urls=(url,), http_credentials={"FLEXAI_API_KEY": f"{url}/v1-internal/"})
    outcome = call(flexai(url), {"FLEXAI_API_KEY": SECRET}, config)
    assert isinstance(outcome, ProviderError) and outcome.kind is CheckError.URL_REFUSED and got == []


def test_a_granted_variable_reaches_the_recording_server_as_the_bearer_key(recorder):
    url, got = recorder
    config = EvalsConfig(allowed_base_urls=(url,), http_credentials={"FLEXAI_API_KEY": f"{url}/v1/"})
    outcome = call(flexai(url), {"FLEXAI_API_KEY": "flex-123", "OPENAI_API_KEY": SECRET}, config)
    assert isinstance(outcome, Completion) and outcome.text == "ok", outcome
    assert [(r["path"], r["headers"]["authorization"]) for r in got] == [("/v1/chat/completions", "Bearer flex-123")]


def test_a_granted_variable_that_is_not_set_says_so_and_sends_nothing(recorder):
    url, got = recorder
    config = EvalsConfig(allowed_base_urls=(url,), http_credentials={"FLEXAI_API_KEY": f"{url}/v1/"})
    outcome = call(flexai(url), {"OPENAI_API_KEY": SECRET}, config)  # promptfoo would fall back to OPENAI_API_KEY: never here
    assert isinstance(outcome, ProviderError) and outcome.kind is CheckError.MISSING_CREDENTIALS and got == []
    assert str(outcome) == "provider openai:chat:flexai-model: FLEXAI_API_KEY is not set (config.apiKeyEnvar)"


def test_naming_the_vendors_own_variable_for_its_own_api_sends_that_key(server):
    env = {**scripted_env(server), "GROQ_API_KEY": KEY}
    # an openai: provider pointed at the operator's Groq base with Groq's key variable: Groq's key goes to Groq's API
    outcome = call(f"{{id: 'openai:chat:llama-3.3-70b', config: {{apiBaseUrl: '{env['GROQ_BASE_URL']}', apiKeyEnvar: GROQ_API_KEY}}}}",
                   env, EvalsConfig())
    assert isinstance(outcome, Completion), outcome


LOAD = [
    ("{id: 'deepseek:deepseek-chat', config: {apiKeyEnvar: MY_KEY}}", None),  # promptfoo's DeepSeek sets its own: no effect
    ("{id: 'openai:chat:m', config: {apiKeyEnvar: '$(cat /etc/passwd)'}}", "apiKeyEnvar must be the name of an environment variable"),
    ("{id: 'bedrock:anthropic.claude-3-haiku', config: {apiKeyEnvar: MY_KEY}}", "unsupported: apiKeyEnvar for bedrock"),
    ("{id: 'openai:realtime:gpt-4o-realtime-preview', config: {apiKeyEnvar: MY_KEY}}", "unsupported: apiKeyEnvar for a realtime connection"),
]


@pytest.mark.parametrize("entry, message", LOAD, ids=[e.split("'")[1] for e, _ in LOAD])
def test_apikeyenvar_is_read_where_promptfoo_reads_it(entry, message):
    suite, errors = load(entry)
    if message is None:
        assert errors == [] and suite.providers[0].option("apiKeyEnvar") is None
    else:
        assert len(errors) == 1 and message in str(errors[0]) and errors[0].line == 2, [str(e) for e in errors]


def test_the_variable_is_in_the_fingerprint_and_its_value_is_not(server):
    suite, errors = load(flexai(server))
    assert errors == [] and "FLEXAI_API_KEY" in repr(suite.providers[0].fingerprint())


def test_a_graders_embedding_model_reads_the_granted_variable_too(recorder):
    url, got = recorder
    suite = ("prompts: ['hi']\nproviders: [echo]\ndefaultTest:\n  options:\n    provider:\n      embedding:\n"
             "        id: openai:embedding:bge-m3\n"
             f"        config: {{apiBaseUrl: '{url}/v1', apiKeyEnvar: FLEXAI_API_KEY}}\n"
             "tests:\n  - assert: [{type: similar, value: hello, threshold: 0.5}]\n")
    config = EvalsConfig(allowed_base_urls=(url,), http_credentials={"FLEXAI_API_KEY": f"{url}/v1/"})
    request = EvalRequest(base=MemoryTree({}), head=MemoryTree({"evals/promptfooconfig.yaml": suite}), config=config,
                          suites=["evals/promptfooconfig.yaml"],
                          env={"PROMPT_REVIEW_ALLOW_PRIVATE_MODEL_URLS": "1", "FLEXAI_API_KEY": "flex-123", "OPENAI_API_KEY": SECRET})
    report = asyncio.run(run_evals(request, NoCache()))
    (case,) = report.cases()
    assert case.head.error is None and case.head.passed, case.head  # the same vector twice: similarity 1
    assert got and {(r["path"], r["headers"]["authorization"]) for r in got} == {("/v1/embeddings", "Bearer flex-123")}


# config.apiKey: '{{ env.NAME }}' names a variable as apiKeyEnvar does (promptfoo fills it in as the provider loads)

def named_in_api_key(url: str, written: str = "{{ env.FLEXAI_API_KEY }}", extra: str = "") -> str:
    return f"{{id: 'openai:chat:flexai-model', config: {{apiBaseUrl: '{url}/v1', apiKey: \"{written}\"{extra}}}}}"


@pytest.mark.parametrize("written", ["{{ env.FLEXAI_API_KEY }}", "{{env.FLEXAI_API_KEY}}", "{{ env['FLEXAI_API_KEY'] }}"])
def test_an_api_key_naming_a_granted_variable_sends_its_value_there(recorder, written):
    url, got = recorder
    config = EvalsConfig(allowed_base_urls=(url,), http_credentials={"FLEXAI_API_KEY": f"{url}/v1/"})
    outcome = call(named_in_api_key(url, written), {"FLEXAI_API_KEY": "flex-123", "OPENAI_API_KEY": SECRET}, config)
    assert isinstance(outcome, Completion) and outcome.text == "ok", outcome
    assert [(r["path"], r["headers"]["authorization"]) for r in got] == [("/v1/chat/completions", "Bearer flex-123")]


def test_an_api_key_naming_an_ungranted_variable_sends_nothing_and_says_which_key(recorder):
    url, got = recorder
    outcome = call(named_in_api_key(url, "{{ env.AWS_SECRET_ACCESS_KEY }}"), {"AWS_SECRET_ACCESS_KEY": SECRET},
                   EvalsConfig(allowed_base_urls=(url,)))
    assert isinstance(outcome, ProviderError) and outcome.kind is CheckError.URL_REFUSED and got == []
    assert SECRET not in str(outcome)
    assert "refused: config.apiKey names AWS_SECRET_ACCESS_KEY, which is not sent to" in str(outcome)


def test_an_api_key_is_taken_over_apikeyenvar_as_promptfoo_takes_it(recorder):
    url, got = recorder
    config = EvalsConfig(allowed_base_urls=(url,), http_credentials={"FLEXAI_API_KEY": f"{url}/v1/", "OTHER_KEY": f"{url}/v1/"})
    outcome = call(named_in_api_key(url, extra=", apiKeyEnvar: OTHER_KEY"), {"FLEXAI_API_KEY": "flex-123", "OTHER_KEY": "other"}, config)
    assert isinstance(outcome, Completion), outcome
    assert [r["headers"]["authorization"] for r in got] == ["Bearer flex-123"]


def test_an_api_key_naming_the_vendors_own_variable_sends_that_key_to_its_api(server):
    env = {**scripted_env(server), "GROQ_API_KEY": KEY}
    outcome = call("{id: 'groq:llama-3.3-70b-versatile', config: {apiKey: '{{ env.GROQ_API_KEY }}'}}", env, EvalsConfig())
    assert isinstance(outcome, Completion) and outcome.text, outcome


API_KEY_LOAD = [
    ("{id: 'groq:llama-3.3-70b-versatile', config: {apiKey: '${GROQ_API_KEY}'}}",
     "refused: apiKey: '${GROQ_API_KEY}' would be sent as the key itself: promptfoo fills in only {{ env.NAME }} in a "
     "provider's config; write apiKey: '{{ env.GROQ_API_KEY }}', or leave apiKey out and the operator's GROQ_API_KEY is used"),
    ("{id: 'openai:chat:m', config: {apiKey: '{{ OPENAI_API_KEY }}'}}", "write apiKey: '{{ env.OPENAI_API_KEY }}'"),
    ("{id: 'openai:chat:m', config: {apiKey: sk-live-123}}",
     "refused: apiKey: credentials come from the environment only, never from the repository: name the variable, "
     "apiKey: '{{ env.NAME }}'"),
    ("{id: 'openai:chat:m', config: {apiKey: '{{ env.K }}-suffix'}}", "refused: apiKey: credentials come from the environment only"),
    ("{id: 'bedrock:anthropic.claude-3-haiku', config: {apiKey: '{{ env.MY_KEY }}'}}",
     "unsupported: apiKey for bedrock: its credentials come from the operator's environment (AWS_BEARER_TOKEN_BEDROCK)"),
    ("{id: 'openai:realtime:gpt-4o-realtime-preview', config: {apiKey: '{{ env.MY_KEY }}'}}", "unsupported: apiKey for a realtime connection"),
]


@pytest.mark.parametrize("entry, message", API_KEY_LOAD, ids=[str(i) for i in range(len(API_KEY_LOAD))])
def test_an_api_key_written_out_or_templated_as_promptfoo_would_send_it_as_written_is_refused_with_what_to_write(entry, message):
    _, errors = load(entry)
    assert len(errors) == 1 and message in str(errors[0]) and errors[0].line == 2, [str(e) for e in errors]


def test_the_api_keys_variable_is_in_the_fingerprint_and_its_value_is_not(server):
    suite, errors = load(named_in_api_key(server))
    assert errors == [] and "FLEXAI_API_KEY" in repr(suite.providers[0].fingerprint())


@pytest.mark.parametrize("written", ["sk-live-8f3a9c", "$ecretPass1", "hunter2"])
def test_a_key_written_out_is_never_quoted_back_in_the_refusal(written):
    _, errors = load(f"{{id: 'openai:chat:m', config: {{apiKey: '{written}'}}}}")
    assert len(errors) == 1 and "refused: apiKey: credentials come from the environment only" in str(errors[0])
    assert written not in str(errors[0])
