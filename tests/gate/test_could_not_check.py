"""Bypass 4: "could not check" used to pass (neutral, exit 0). Errored cases never count as passing;
past evals.max_error_rate (default 0) the check fails with the cause once, in plain words."""

from __future__ import annotations

import socket

import httpx

from tests.gate.conftest import WEAK, prompt_text, suite_text

EXIT_COULD_NOT_CHECK = 3


def _closed_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def test_an_unreachable_provider_fails_the_check_and_exits_could_not_check(gate_repo):
    gate_repo.commit({"prompts/support.txt": prompt_text(WEAK)})
    r = gate_repo.review(env={"OPENAI_BASE_URL": f"http://127.0.0.1:{_closed_port()}/v1", "OPENAI_API_KEY": "sk-x"})
    assert r.status == EXIT_COULD_NOT_CHECK, r.stderr
    assert r.data["conclusion"] == "failure" and r.data["title"].startswith("could not check")
    assert "5 of 5 cases could not run" in r.data["title"]
    assert "could not check" in r.stderr


def test_errors_below_the_configured_rate_do_not_block_on_their_own(gate_repo):
    gate_repo.commit({".github/prompt-review.yml": "evals:\n  max_error_rate: 1.0\n"}, "tolerate errors")
    gate_repo.commit({"prompts/support.txt": prompt_text().replace("Reply", "Please reply")})
    r = gate_repo.review(env={"OPENAI_BASE_URL": f"http://127.0.0.1:{_closed_port()}/v1", "OPENAI_API_KEY": "sk-x"})
    assert r.status == 0 and r.data["conclusion"] == "neutral", r.stderr


def test_a_provider_refusing_the_credentials_is_named_as_a_credential_problem(gate_repo, model_url):
    httpx.post(model_url + "/_control/faults", json={"status": 401, "count": 100, "message": "Incorrect API key provided: sk-x***"})
    try:
        gate_repo.commit({"prompts/support.txt": prompt_text(WEAK)})
        r = gate_repo.review()
    finally:
        httpx.post(model_url + "/_control/reset")
    assert r.status == EXIT_COULD_NOT_CHECK, r.stderr
    title = r.data["title"]
    assert "401" in title and "OPENAI_API_KEY" in title and "5 of 5 cases could not run" in title
    assert "{" not in title  # the provider's body is not echoed as escaped JSON


def test_a_missing_api_key_is_named_with_the_fix(gate_repo):
    gate_repo.commit({"prompts/support.txt": prompt_text(WEAK)})
    r = gate_repo.review(env={})  # no OPENAI_API_KEY, no OPENAI_BASE_URL: the public API would be called
    assert r.status == EXIT_COULD_NOT_CHECK, r.stderr
    assert "OPENAI_API_KEY is not set: 5 of 5 cases could not run" in r.data["title"]
    assert "Set it in the service environment, or in CI" in r.data["title"]


def test_a_decoy_suite_of_slow_regexes_cannot_starve_another_suite(gate_repo):
    decoy = suite_text(
        "".join(
            f"  - description: decoy {i}\n    vars: {{question: 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa{i}'}}\n"
            f"    assert: [{{type: regex, value: '(a|aa)+$'}}]\n"
            for i in range(6)
        )
    )
    real = suite_text().replace("{type: icontains, value: 30 days}", "{type: regex, value: '30 days'}")
    config = ("suites: [evals/decoy/promptfooconfig.yaml, evals/promptfooconfig.yaml]\n"
              "evals:\n  regex_timeout_s: 0.2\n  regex_budget_s: 0.5\n  max_error_rate: 1.0\n")
    gate_repo.commit({".github/prompt-review.yml": config, "evals/promptfooconfig.yaml": real,
                      "evals/decoy/promptfooconfig.yaml": decoy.replace("../prompts", "../../prompts")}, "suites")
    gate_repo.commit({"prompts/support.txt": prompt_text(WEAK)})
    r = gate_repo.review()
    assert r.status == 1, r.stderr
    real_cases = [c for s in r.data["evals"]["suites"] if s["path"] == "evals/promptfooconfig.yaml" for c in s["cases"]]
    assert [c["status"] for c in real_cases] == ["regressed"] * 5


def test_a_decoy_suite_of_slow_model_calls_cannot_starve_another_suite(gate_repo, model_url):
    # The decoy's provider never answers in time: it may spend its own share of the call slots and
    # time out, but the real suite still runs within the review's deadline and its regressions block.
    decoy = suite_text(provider="openai:chat:slowpoke-1").replace("../prompts", "../../prompts")
    config = ("suites: [evals/decoy/promptfooconfig.yaml, evals/promptfooconfig.yaml]\n"
              "evals:\n  concurrency: 2\n  timeout_s: 30\n  total_timeout_s: 8\n")
    gate_repo.commit({".github/prompt-review.yml": config, "evals/decoy/promptfooconfig.yaml": decoy}, "suites")
    httpx.post(model_url + "/_control/faults", json={"delay_ms": 60000, "count": 1000, "model": "slowpoke"})
    try:
        gate_repo.commit({"prompts/support.txt": prompt_text(WEAK)})
        r = gate_repo.review()
    finally:
        httpx.post(model_url + "/_control/reset")
    real = [c for s in r.data["evals"]["suites"] if s["path"] == "evals/promptfooconfig.yaml" for c in s["cases"]]
    assert [c["status"] for c in real] == ["regressed"] * 5, r.stderr
    assert r.status == 1 and r.data["conclusion"] == "failure"
