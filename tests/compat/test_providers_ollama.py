"""Ollama's generate and embeddings APIs as promptfoo 0.121's Ollama completion and embedding providers call them
(bot/evals/providers_ollama.py): the ids (`ollama:completion:MODEL`, a bare `ollama:MODEL`, `ollama:embeddings:MODEL`),
the config keys they read, the body and bearer key they send (pinned against promptfoo's own requests), and whole
reviews with Ollama as the suite's model, its grader and its embedding grader — over real HTTP to a recording server
and the scripted model server."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from bot.core.config import Budget, EvalsConfig
from bot.core.files import MemoryTree
from bot.evals import EvalRequest, NoCache, run_evals
from bot.evals.loader import chat_messages, load_suite
from bot.evals.providers import Caller, Completion, Meter, ProviderError
from bot.modelserver import create_app
from bot.serving import start_in_thread
from tests.compat.recording import recording

KEY = "ollama-key"
PATH = "evals/promptfooconfig.yaml"
GENERATED = {"model": "m", "response": "pong", "done": True, "done_reason": "stop", "prompt_eval_count": 3, "eval_count": 1}
CHATTED = {"model": "m", "message": {"role": "assistant", "content": "pong"}, "done": True, "done_reason": "stop",
           "prompt_eval_count": 3, "eval_count": 1}


@pytest.fixture(scope="module")
def recorder():
    """A loopback server standing in for an Ollama server: it records each request and answers by its path."""
    answers = {"/api/embeddings": {"embedding": [0.5, 0.25]}, "/api/chat": CHATTED}
    with recording(lambda path: answers.get(path, GENERATED)) as running:
        yield running


def load(entry: str):
    return load_suite(MemoryTree({PATH: f"providers:\n  - {entry}\ntests:\n  - vars: {{prompt: hi}}\n"}), PATH)


def provider(entry: str):
    suite, errors = load(entry)
    assert errors == [], [str(e) for e in errors]
    return suite.providers[0]


def grader(entry: str):
    """`entry` as a grader's embedding model (defaultTest's options.provider.embedding)."""
    suite, errors = load_suite(MemoryTree({PATH: (
        f"providers: [echo]\ndefaultTest:\n  options:\n    provider:\n      embedding: {entry}\n"
        "tests:\n  - vars: {prompt: hi}\n    assert: [{type: similar, value: hello}]\n")}), PATH)
    assert errors == [], [str(e) for e in errors]
    return suite.tests[0].asserts[0].grader


def problems(entry: str) -> list[str]:
    _, errors = load(entry)
    return [f"{e.file}:{e.line}: {e.message}" for e in errors]


def call(recorder, entry: str, env: dict[str, str], prompt: str = "hi", embedding: bool = False) -> tuple[Any, dict[str, Any] | None]:
    """The outcome and the one request made (None when none was)."""
    url, got = recorder
    got.clear()

    async def go():
        async with httpx.AsyncClient() as client:
            caller = Caller.for_run(client, {"OLLAMA_BASE_URL": url, **env}, EvalsConfig(timeout_s=10), Meter(Budget()))
            try:
                if embedding:
                    return await caller.embed(grader(entry), prompt)
                messages = chat_messages(PATH, json.loads(prompt)) if prompt.startswith("[") else (("user", prompt),)
                return await caller.complete(provider(entry), messages)
            except ProviderError as exc:
                return exc

    outcome = asyncio.run(go())
    assert len(got) <= 1
    return outcome, (got[0] if got else None)


# ---- pinned against promptfoo 0.121's own providers ----------------------------------------------------

PINNED = json.loads((Path(__file__).parent / "data" / "ollama_requests.json").read_text())


@pytest.mark.parametrize("case", PINNED, ids=[f"{c['id']}|{json.dumps(c.get('config'), sort_keys=True)[:60]}" for c in PINNED])
def test_the_request_is_the_one_promptfoo_makes(recorder, case):
    """Recorded from promptfoo 0.121.20's Ollama providers by bench/vendor_request_oracle.mjs: the path, the body
    (options, think, passthrough) and the bearer key when OLLAMA_API_KEY is set."""
    config = case.get("config") or {}
    entry = json.dumps({"id": case["id"], "config": config}) if config else json.dumps(case["id"])
    env = {k: (KEY if v == "k" else v) for k, v in case["env"].items() if k != "OLLAMA_BASE_URL"}
    outcome, request = call(recorder, entry, env, case.get("prompt", "hi"), case.get("embedding", False))
    theirs = case["sent"]
    assert request is not None and theirs["url"].endswith(request["path"]), (outcome, request)
    assert request["headers"].get("authorization") == (f"Bearer {KEY}" if "authorization" in theirs["headers"] else None)
    if theirs["url"].endswith("/api/chat"):  # promptfoo leaves stream out and joins the streamed lines: one answer is asked for
        assert request["body"].pop("stream") is False and "stream" not in theirs["body"]
    assert request["body"] == theirs["body"]
    if case.get("embedding"):
        assert outcome == [0.5, 0.25]
    else:
        assert isinstance(outcome, Completion) and (outcome.text, outcome.tokens_in, outcome.tokens_out) == ("pong", 3, 1), outcome


def test_a_chat_prompt_reaches_the_generate_api_as_its_json_text(recorder):
    chat = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "hi"}]
    outcome, request = call(recorder, "ollama:completion:qwen2.5", {}, json.dumps(chat))
    assert isinstance(outcome, Completion) and request is not None
    assert json.loads(request["body"]["prompt"]) == chat


@pytest.mark.parametrize("entry, api, model", [
    ("ollama:completion:qwen2.5", "completion", "qwen2.5"),
    ("ollama:llama3.2", "completion", "llama3.2"),  # a bare model is promptfoo's completion provider, not its chat
    ("'ollama:qwen3:8b'", "completion", "qwen3:8b"),
    ("'ollama:chat:qwen3:8b'", None, "qwen3:8b"),
])
def test_ids_choose_the_api_as_promptfoo_reads_them(entry, api, model):
    spec = provider(entry)
    assert (spec.kind, spec.option("api"), spec.model) == ("ollama", api, model)


def test_an_embedding_model_serves_graders_only():
    for entry in ("ollama:embeddings:nomic-embed-text", "ollama:embedding:mxbai-embed-large"):
        assert grader(entry).option("api") == "embedding"
        (problem,) = problems(entry)
        assert problem == (f"{PATH}:2: unsupported: provider {entry!r} is not a chat model (embedding); "
                           "it serves as a grader's embedding only")


@pytest.mark.parametrize("config, words", [
    ("{max_tokens: 64}", "unsupported provider config key 'max_tokens': promptfoo's Ollama completion provider does not send it"),
    ("{format: json}", "unsupported provider config key 'format'"),
    ("{tools: [{type: function, function: {name: f}}]}", "tools are not sent by promptfoo's Ollama completion provider"),
    ("{passthrough: json}", "passthrough must be a mapping"),
])
def test_keys_the_completion_provider_does_not_send_are_errors_with_file_and_line(config, words):
    (problem,) = problems(f"id: ollama:completion:qwen2.5\n    config: {config}")
    assert problem.startswith(f"{PATH}:") and words in problem, problem


def test_keys_promptfoo_reads_nowhere_change_nothing(recorder):
    """`options` (the option keys belong at the config's top level) and a suite's URL (promptfoo reads OLLAMA_BASE_URL
    only) are not sent, as in promptfoo; an embedding request is the model and the text whatever the config says."""
    _, request = call(recorder, "id: 'ollama:chat:qwen3:8b'\n    config: {options: {temperature: 0}}", {})
    assert request is not None and "temperature" not in json.dumps(request["body"])
    _, request = call(recorder, "id: ollama:completion:m\n    config: {options: {temperature: 0}, apiBaseUrl: 'http://elsewhere:1'}", {})
    assert request is not None and request["body"]["options"] == {}
    outcome, request = call(recorder, "{id: 'ollama:embeddings:m', config: {temperature: 0}}", {}, embedding=True)
    assert outcome == [0.5, 0.25] and request is not None and request["body"] == {"model": "m", "prompt": "hi"}


def test_a_chat_or_completion_model_gives_no_embeddings(recorder):
    outcome, request = call(recorder, "ollama:completion:qwen2.5", {}, embedding=True)
    assert isinstance(outcome, ProviderError) and "gives no embeddings" in str(outcome) and request is None


# ---- whole reviews against the scripted model server ----------------------------------------------------


@pytest.fixture(scope="module")
def server():
    running = start_in_thread(create_app(api_key=KEY))
    yield running.url
    running.stop()


SUITE = """\
prompts: ['Reply with exactly "{{message}}".']
providers: [ollama:completion:qwen2.5]
defaultTest:
  options:
    provider:
      text: {id: 'ollama:completion:qwen2.5', config: {temperature: 0}}
      embedding: {id: 'ollama:embeddings:nomic-embed-text'}
tests:
  - vars: {message: Mango season is here}
    assert:
      - {type: equals, value: Mango season is here}
      - {type: llm-rubric, value: Mentions the mango season}
      - {type: similar, value: Mango season is here, threshold: 0.9}
      - {type: similar, value: Quarterly tax filing deadlines, threshold: 0.9}
"""


def review(env: dict[str, str]):
    request = EvalRequest(base=MemoryTree({}), head=MemoryTree({PATH: SUITE}), suites=[PATH], env=env)
    (case,) = asyncio.run(run_evals(request, NoCache())).cases()
    return case.head


def test_a_review_runs_on_ollamas_generate_api_with_ollama_graders(server):
    httpx.post(f"{server}/_control/reset").raise_for_status()
    head = review({"OLLAMA_BASE_URL": server})
    by_endpoint = httpx.get(f"{server}/_control/stats").json()["by_endpoint"]
    # the answer and the rubric's grading; each similar embeds the output and its value
    assert (by_endpoint.get("ollama.generate"), by_endpoint.get("ollama.embeddings")) == (2, 4), by_endpoint
    assert head.output == "Mango season is here", head
    (failed,) = head.failed_assertions  # the rubric passes, and the similar text only (bag-of-words embeddings)
    assert "similar" in failed and "Quarterly" in failed, head


def test_the_api_key_is_sent_as_a_bearer_token_and_a_wrong_one_fails_the_call(server):
    assert review({"OLLAMA_BASE_URL": server, "OLLAMA_API_KEY": KEY}).output == "Mango season is here"
    head = review({"OLLAMA_BASE_URL": server, "OLLAMA_API_KEY": "wrong"})
    assert not head.passed and head.output != "Mango season is here"


@pytest.mark.parametrize("config, words", [
    ("{max_tokens: 64}", "unsupported provider config key 'max_tokens': promptfoo's Ollama chat provider does not send it (use num_predict)"),
    ("{format: json}", "unsupported provider config key 'format': promptfoo's Ollama chat provider does not send it (use passthrough: {format: …})"),
    ("{keep_alive: 5m}", "unsupported provider config key 'keep_alive'"),
    ("{passthrough: [format]}", "passthrough must be a mapping"),
])
def test_chat_keys_promptfoo_does_not_send_are_errors_with_the_key_to_use(config, words):
    (problem,) = problems(f"{{id: 'ollama:chat:llama3.2', config: {config}}}")
    assert problem.startswith(f"{PATH}:2: ") and words in problem
