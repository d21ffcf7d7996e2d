"""A model endpoint is hostile: it drips bytes, answers 300 MB, nests JSON without end, or hides
secrets in long error bodies. Every call ends within its deadline with a typed kind and a short,
clean message — over real HTTP against the scripted model server on loopback."""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest

from bot.core.config import Budget, EvalsConfig
from bot.core.errors import CheckError
from bot.core.files import MemoryTree
from bot.evals import CaseStatus, EvalRequest, MemoryCache, run_evals
from bot.evals.providers import Caller, Completion, Meter, ProviderError
from bot.evals.suite import ProviderSpec
from bot.modelserver import create_app
from bot.serving import free_port, start_in_thread

GPT = ProviderSpec("openai:chat:gpt-4o", "openai", "gpt-4o")
CLAUDE = ProviderSpec("anthropic:messages:claude-sonnet-4-0", "anthropic", "claude-sonnet-4-0")
HI = (("user", "hi"),)


@pytest.fixture(scope="module")
def _server():
    with start_in_thread(create_app()) as server:
        yield server.url


@pytest.fixture
def server(_server):
    httpx.post(f"{_server}/_control/reset").raise_for_status()
    return _server


def fault(url: str, **spec) -> None:
    httpx.post(f"{url}/_control/faults", json=spec).raise_for_status()


def operator(url: str, **extra: str) -> dict[str, str]:
    """The operator's environment: the scripted server as the OpenAI base URL (trusted as it is)."""
    return {"OPENAI_BASE_URL": f"{url}/v1", "ANTHROPIC_BASE_URL": url, **extra}


def call(env: dict[str, str], config: EvalsConfig, spec: ProviderSpec = GPT) -> tuple[Completion | ProviderError, float, Meter]:
    async def go():
        meter = Meter(Budget())
        async with httpx.AsyncClient() as client:
            caller = Caller.for_run(client, env, config, meter)
            try:
                return await caller.complete(spec, HI), meter
            except ProviderError as exc:
                return exc, meter

    started = time.monotonic()
    outcome, meter = asyncio.run(go())
    return outcome, time.monotonic() - started, meter


def test_an_endpoint_dripping_bytes_is_cut_at_the_total_deadline_not_per_read(server):
    fault(server, drip_ms=20, pad_bytes=5000, count=10)  # ~100 s per answer, never 0.5 s without a byte
    error, elapsed, _ = call(operator(server), EvalsConfig(timeout_s=0.5))
    assert isinstance(error, ProviderError) and error.kind is CheckError.TIMEOUT
    assert "no complete answer within 0.5 s (evals.timeout_s; 1.5 s with retries, evals.call_timeout_s)" in str(error)
    assert elapsed < 5  # timeout_s 0.5, call_timeout_s 1.5: 10x slack


def test_a_dripping_endpoint_makes_the_case_an_error_in_the_report_within_the_deadline(server):
    fault(server, drip_ms=20, pad_bytes=5000, count=10)
    suite = 'prompts: ["{{ q }}"]\nproviders: [openai:chat:gpt-4o]\ntests:\n  - vars: {q: hi}\n    assert: [{type: contains, value: Hello}]\n'
    request = EvalRequest(MemoryTree({}), MemoryTree({"promptfooconfig.yaml": suite}),
                          EvalsConfig(timeout_s=0.5, call_timeout_s=1.0), env=operator(server, OPENAI_API_KEY="sk-test"))
    started = time.monotonic()
    report = asyncio.run(run_evals(request, MemoryCache()))
    (case,) = report.cases()
    assert case.status is CaseStatus.ERROR and time.monotonic() - started < 10
    assert "openai:chat:gpt-4o: no complete answer within 0.5 s (evals.timeout_s; 1 s with retries" in case.head.error


def test_a_300_mb_answer_is_refused_after_the_size_limit_without_reading_the_rest(server):
    fault(server, pad_bytes=300_000_000)
    error, elapsed, _ = call(operator(server), EvalsConfig(timeout_s=30))
    assert isinstance(error, ProviderError) and error.kind is CheckError.RESPONSE_TOO_LARGE
    assert str(error) == "openai:chat:gpt-4o: the answer is larger than 4000000 bytes (evals.max_response_bytes)"
    assert httpx.get(f"{server}/_control/stats").json()["faults_served"] == 1  # not retried


def test_the_response_size_limit_is_the_configured_one(server):
    fault(server, pad_bytes=20_000)
    error, _, _ = call(operator(server), EvalsConfig(max_response_bytes=10_000))
    assert isinstance(error, ProviderError) and error.kind is CheckError.RESPONSE_TOO_LARGE
    assert "larger than 10000 bytes" in str(error)
    fault(server, pad_bytes=9_000)
    answer, _, _ = call(operator(server), EvalsConfig(max_response_bytes=10_000))
    assert isinstance(answer, Completion) and len(answer.text) > 8_000


def test_an_answer_nested_100_000_levels_deep_is_a_bad_response_not_a_crash(server):
    fault(server, nest=100_000)
    error, _, _ = call(operator(server), EvalsConfig())
    assert isinstance(error, ProviderError) and error.kind is CheckError.BAD_RESPONSE
    assert str(error) == "openai:chat:gpt-4o: the answer is JSON nested deeper than 64 levels"


def test_a_401_with_a_10_kb_body_says_to_check_the_key_and_echoes_none_of_the_body(server):
    fault(server, status=401, pad_bytes=10_000, message="Incorrect API key provided: sk-live-abc123. You can find your key at …")
    error, _, _ = call(operator(server, OPENAI_API_KEY="sk-live-abc123"), EvalsConfig())
    assert isinstance(error, ProviderError) and error.kind is CheckError.BAD_CREDENTIALS
    assert str(error) == "openai:chat:gpt-4o: the provider refused the credentials (HTTP 401): check OPENAI_API_KEY"


def test_a_403_from_anthropic_names_the_anthropic_key(server):
    fault(server, status=403)
    error, _, _ = call(operator(server, ANTHROPIC_API_KEY="k"), EvalsConfig(), CLAUDE)
    assert isinstance(error, ProviderError) and error.kind is CheckError.BAD_CREDENTIALS
    assert str(error).endswith("(HTTP 403): check ANTHROPIC_API_KEY")


def test_a_401_when_no_key_is_set_names_the_missing_variable(server):
    fault(server, status=401)
    error, _, _ = call(operator(server), EvalsConfig())
    assert isinstance(error, ProviderError) and error.kind is CheckError.MISSING_CREDENTIALS
    assert "OPENAI_API_KEY is not set" in str(error) and "HTTP 401" in str(error)


@pytest.mark.parametrize(("spec", "variable"), [(GPT, "OPENAI_API_KEY"), (CLAUDE, "ANTHROPIC_API_KEY")])
def test_the_public_api_without_a_key_fails_at_once_without_a_request(spec, variable):
    error, elapsed, meter = call({}, EvalsConfig(timeout_s=0.5), spec)
    assert isinstance(error, ProviderError) and error.kind is CheckError.MISSING_CREDENTIALS
    assert str(error) == f"{spec.id}: {variable} is not set"
    assert meter.calls == 0 and elapsed < 5


def test_an_error_message_is_shown_as_one_short_clean_line_and_nothing_else_of_the_body(server):
    message = "bad\nrequest \x1b[31mred\x07 " + "A" * 500
    fault(server, status=400, pad_bytes=10_000, message=message)
    error, _, _ = call(operator(server), EvalsConfig())
    assert isinstance(error, ProviderError) and error.kind is CheckError.OTHER
    text = str(error)
    assert text.startswith("openai:chat:gpt-4o: HTTP 400: bad request [31mred AAAA")
    detail = text.split("HTTP 400: ", 1)[1]
    assert len(detail) <= 120 and detail.endswith("…")
    assert text.isprintable()  # no newline, escape or bell
    assert "xxxx" not in text and "invalid_request_error" not in text  # other fields never shown


def test_rate_limiting_after_every_retry_is_rate_limited(server):
    fault(server, status=429, retry_after=0, count=10)
    error, _, _ = call(operator(server), EvalsConfig())
    assert isinstance(error, ProviderError) and error.kind is CheckError.RATE_LIMITED
    assert str(error) == "openai:chat:gpt-4o: rate limited (HTTP 429) (gave up after 4 attempts)"


def test_a_retry_after_longer_than_the_call_deadline_gives_up_instead_of_waiting(server):
    fault(server, status=429, retry_after=50, count=10)
    error, elapsed, _ = call(operator(server), EvalsConfig(timeout_s=0.5))
    assert isinstance(error, ProviderError) and error.kind is CheckError.RATE_LIMITED
    assert "gave up after 1 attempt)" in str(error) and elapsed < 5


@pytest.mark.parametrize("status", [500, 503])
def test_server_errors_after_every_retry_mean_the_provider_is_down(server, status):
    fault(server, status=status, retry_after=0, count=10)
    error, _, _ = call(operator(server), EvalsConfig())
    assert isinstance(error, ProviderError) and error.kind is CheckError.PROVIDER_DOWN
    assert f"(HTTP {status})" in str(error) and "gave up after 4 attempts" in str(error)


def test_a_server_that_refuses_connections_is_down():
    closed = f"http://127.0.0.1:{free_port()}"
    error, elapsed, _ = call(operator(closed), EvalsConfig(timeout_s=0.5, call_timeout_s=1))
    assert isinstance(error, ProviderError) and error.kind is CheckError.PROVIDER_DOWN
    assert "connection failed (ConnectError)" in str(error) and elapsed < 10
