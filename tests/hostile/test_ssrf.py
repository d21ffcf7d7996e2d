"""A pull request decides what its suites say, not where the reviewer sends requests: a suite's
`apiBaseUrl` must be allowed by the base branch or the operator, and private, loopback and
link-local addresses (cloud metadata included) need the operator's own allowance."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from bot.core.config import Budget, EvalsConfig
from bot.core.errors import CheckError
from bot.core.files import MemoryTree
from bot.evals import CaseStatus, EvalRequest, MemoryCache, run_evals
from bot.evals.providers import Caller, Meter, ProviderError
from bot.evals.suite import ProviderSpec
from bot.evals.urls import UrlPolicy, under
from bot.modelserver import create_app
from bot.serving import start_in_thread

ALLOW_URLS = "PROMPT_REVIEW_ALLOWED_MODEL_URLS"
ALLOW_PRIVATE = "PROMPT_REVIEW_ALLOW_PRIVATE_MODEL_URLS"


@pytest.fixture(scope="module")
def _server():
    with start_in_thread(create_app()) as server:
        yield server.url


@pytest.fixture
def server(_server):
    httpx.post(f"{_server}/_control/reset").raise_for_status()
    return _server


def requests_seen(url: str) -> int:
    return httpx.get(f"{url}/_control/stats").json()["requests"]


def suite(base_url: str) -> str:
    return f"""\
prompts: ["{{{{ q }}}}"]
providers:
  - id: openai:chat:gpt-4o
    config: {{apiBaseUrl: "{base_url}"}}
tests:
  - vars: {{q: hi}}
    assert: [{{type: contains, value: You said}}]
"""


def review(base_url: str, env: dict[str, str], config: EvalsConfig | None = None):
    head = MemoryTree({"promptfooconfig.yaml": suite(base_url)})
    request = EvalRequest(MemoryTree({}), head, config or EvalsConfig(timeout_s=0.5), env=env)
    (case,) = asyncio.run(run_evals(request, MemoryCache())).cases()
    return case


def call(base_url: str, env: dict[str, str], config: EvalsConfig) -> ProviderError | None:
    async def go():
        async with httpx.AsyncClient() as client:
            caller = Caller.for_run(client, env, config, Meter(Budget()))
            try:
                await caller.complete(ProviderSpec("openai:chat:gpt-4o", "openai", "gpt-4o", base_url=base_url, line=3), (("user", "hi"),))
            except ProviderError as exc:
                return exc
        return None

    return asyncio.run(go())


def test_a_suite_pointing_at_a_loopback_server_is_refused_without_sending_anything(server):
    case = review(f"{server}/v1", env={})
    assert case.status is CaseStatus.ERROR
    assert case.head.error == (
        f"provider openai:chat:gpt-4o config.apiBaseUrl (suite line 3) '{server}/v1' is not an allowed model URL: "
        "add its prefix to evals.allowed_base_urls in .github/prompt-review.yml on the base branch, "
        f"or to the service setting {ALLOW_URLS}"
    )
    assert requests_seen(server) == 0


def test_an_allowed_loopback_url_still_needs_the_operator_to_allow_private_addresses(server):
    case = review(f"{server}/v1", env={}, config=EvalsConfig(allowed_base_urls=(server,)))
    assert case.status is CaseStatus.ERROR
    assert "reaches 127.0.0.1, a private, loopback or link-local address" in case.head.error
    assert f"{ALLOW_PRIVATE}=1" in case.head.error and "--allow-private-urls" in case.head.error
    assert requests_seen(server) == 0


@pytest.mark.parametrize("base_url", [
    "http://169.254.169.254/latest",  # cloud metadata
    "http://10.0.0.7:8000/v1",
    "http://192.168.1.1/v1",
    "http://100.64.0.1/v1",  # carrier-grade NAT
    "http://[::1]:8000/v1",
    "http://[::ffff:127.0.0.1]:8000/v1",  # loopback dressed as IPv6
    "http://0.0.0.0:8000/v1",
    "http://localhost:8000/v1",  # a name resolving to loopback
])
def test_private_loopback_and_link_local_targets_are_refused_even_when_allowlisted(base_url):
    error = call(base_url, {}, EvalsConfig(timeout_s=0.5, allowed_base_urls=(base_url,)))
    assert isinstance(error, ProviderError) and error.kind is CheckError.URL_REFUSED
    assert "a private, loopback or link-local address" in str(error) and ALLOW_PRIVATE in str(error)


def test_a_url_outside_the_allowlist_is_refused_whatever_it_resolves_to():
    error = call("http://10.0.0.7:8000/v1", {ALLOW_PRIVATE: "1"}, EvalsConfig(timeout_s=0.5, allowed_base_urls=("http://10.0.0.7:9000",)))
    assert isinstance(error, ProviderError) and error.kind is CheckError.URL_REFUSED
    assert "is not an allowed model URL" in str(error)


def test_the_operator_can_let_suites_reach_a_loopback_server(server):
    assert review(f"{server}/v1", env={ALLOW_URLS: server}).status is CaseStatus.ERROR  # one of the two is not enough
    assert review(f"{server}/v1", env={ALLOW_PRIVATE: "1"}).status is CaseStatus.ERROR
    assert requests_seen(server) == 0
    case = review(f"{server}/v1", env={ALLOW_URLS: f"http://example.invalid, {server}", ALLOW_PRIVATE: "1"})
    assert case.status is CaseStatus.NEW and case.head.passed
    assert requests_seen(server) == 1


def test_the_base_branch_allowlist_with_the_operator_private_allowance_reaches_the_server(server):
    assert review(f"{server}/v1", env={ALLOW_PRIVATE: "1"}).status is CaseStatus.ERROR  # not allowlisted
    case = review(f"{server}/v1", env={ALLOW_PRIVATE: "1"}, config=EvalsConfig(allowed_base_urls=(f"{server}/v1",)))
    assert case.head.passed and requests_seen(server) == 1


def test_the_operators_own_base_url_is_trusted_as_it_is_and_gets_no_pr_written_neighbours(server):
    env = {"OPENAI_BASE_URL": f"{server}/v1"}
    assert review(f"{server}/v1", env).head.passed  # the operator's server, written in the suite
    refused = review(server.replace("127.0.0.1", "localhost") + "/v1", env)  # same machine, another name
    assert refused.status is CaseStatus.ERROR and "is not an allowed model URL" in refused.head.error


@pytest.mark.parametrize(("url", "prefix", "allowed"), [
    ("https://models.example.com/v1", "https://models.example.com", True),
    ("https://models.example.com/v1/", "https://models.example.com/v1", True),
    ("https://models.example.com/v10", "https://models.example.com/v1", False),
    ("https://models.example.com.evil.net/v1", "https://models.example.com", False),
    ("https://models.example.com@evil.net/v1", "https://models.example.com", False),
    ("http://models.example.com/v1", "https://models.example.com", False),
    ("https://models.example.com:8443/v1", "https://models.example.com", False),
    ("https://MODELS.example.com:443/v1", "https://models.example.com/", True),
])
def test_allowlist_prefixes_match_on_scheme_host_port_and_whole_path_segments(url, prefix, allowed):
    assert under(url, prefix) is allowed


def test_an_allowed_public_host_is_pinned_to_the_address_that_was_checked():
    policy = UrlPolicy(allowed=("https://93.184.215.14",))
    target = asyncio.run(policy.target("https://93.184.215.14/v1", "/chat/completions", "apiBaseUrl"))
    assert target.url == "https://93.184.215.14/v1/chat/completions" and target.headers == {"Host": "93.184.215.14"}
    assert target.extensions == {"sni_hostname": "93.184.215.14"}


def test_cli_review_reaches_a_loopback_model_only_with_allow_private_urls(server, tmp_path):
    repo = tmp_path / "repo"
    (repo / ".github").mkdir(parents=True)
    (repo / ".github" / "prompt-review.yml").write_text(f"evals:\n  allowed_base_urls: ['{server}']\n")
    (repo / "promptfooconfig.yaml").write_text(suite(f"{server}/v1").replace('"{{ q }}"', "file://prompts/ask.txt"))
    (repo / "prompts").mkdir()
    (repo / "prompts" / "ask.txt").write_text("{{ q }}\n")
    env = {**os.environ, "GIT_AUTHOR_NAME": "a", "GIT_AUTHOR_EMAIL": "a@example.com",
           "GIT_COMMITTER_NAME": "a", "GIT_COMMITTER_EMAIL": "a@example.com"}
    for args in (["init", "-q", "-b", "main"], ["add", "-A"], ["commit", "-qm", "base"]):
        subprocess.run(["git", "-C", str(repo), *args], check=True, env=env)
    (repo / "prompts" / "ask.txt").write_text("Please answer: {{ q }}\n")
    subprocess.run(["git", "-C", str(repo), "commit", "-qam", "head"], check=True, env=env)

    def run(*flags: str) -> dict:
        cmd = [sys.executable, "-m", "bot", "review", "HEAD~1..HEAD", "--repo", str(repo), "--format", "json", "--no-cache", *flags]
        out = subprocess.run(cmd, capture_output=True, text=True, env={k: v for k, v in os.environ.items() if not k.startswith(("OPENAI", "PROMPT_REVIEW"))},
                             timeout=120, cwd=Path(__file__).resolve().parents[2])
        return json.loads(out.stdout)

    refused = run()
    errors = [c["head"]["error"] for s in refused["evals"]["suites"] for c in s["cases"]]
    assert errors and all("--allow-private-urls" in e for e in errors) and requests_seen(server) == 0
    allowed = run("--allow-private-urls")
    cases = [c for s in allowed["evals"]["suites"] for c in s["cases"]]
    assert cases and all(c["head"]["error"] is None for c in cases) and requests_seen(server) > 0


@pytest.mark.parametrize("base_url", ["http://[::1", "http://models.example.com:99999/v1", "http://"])
def test_a_malformed_api_base_url_is_a_refused_case_not_a_crash(base_url):
    error = call(base_url, {}, EvalsConfig(timeout_s=0.5))
    assert isinstance(error, ProviderError) and error.kind is CheckError.URL_REFUSED
