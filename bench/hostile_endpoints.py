"""Hostile model endpoints and SSRF attempts, for bench/hostile.py: each case runs one review of a
one-case suite through run_evals against a real server on loopback (the scripted model server, or
a raw socket server) and returns the error the PR would show for that case.
"""

from __future__ import annotations

import asyncio
import socket
import threading

import httpx

from bot.core.config import EvalsConfig
from bot.core.files import MemoryTree
from bot.evals import EvalRequest, MemoryCache, run_evals
from bot.modelserver import create_app
from bot.serving import start_in_thread

SUITE = """\
prompts: ["{{ q }}"]
providers:
  - id: openai:chat:gpt-4o
    config: CONFIG
tests:
  - vars: {q: hi}
    assert: [{type: contains, value: said}]
"""


def review(env: dict[str, str], config: EvalsConfig | None = None, base_url: str | None = None) -> str | None:
    suite = SUITE.replace("CONFIG", f"{{apiBaseUrl: '{base_url}'}}" if base_url else "{}")
    request = EvalRequest(MemoryTree({}), MemoryTree({"promptfooconfig.yaml": suite}), config or EvalsConfig(), env=env)
    (case,) = asyncio.run(run_evals(request, MemoryCache())).cases()
    return case.head.error if case.head else None


def scripted(config: EvalsConfig | None = None, **fault) -> str | None:
    """One review against the scripted model server, which serves `fault` to the first call(s)."""
    with start_in_thread(create_app()) as server:
        httpx.post(f"{server.url}/_control/faults", json={"count": 10, **fault}).raise_for_status()
        env = {"OPENAI_BASE_URL": f"{server.url}/v1", "OPENAI_API_KEY": "sk-live-abc123"}
        return review(env, config)


def raw(reply: bytes, config: EvalsConfig | None = None) -> str | None:
    """One review against a bare socket server that answers every connection with `reply`."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()

    def serve() -> None:
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            with conn:
                conn.recv(65536)
                conn.sendall(reply)

    threading.Thread(target=serve, daemon=True).start()
    try:
        port = listener.getsockname()[1]
        return review({"OPENAI_BASE_URL": f"http://127.0.0.1:{port}/v1", "OPENAI_API_KEY": "k"}, config)
    finally:
        listener.close()


def dripping() -> str | None:
    # Not the default: see NOTES. timeout_s 1 s shows that the deadline covers the whole body.
    return scripted(EvalsConfig(timeout_s=1), drip_ms=50, pad_bytes=100_000)


def dripping_review(cases: int = 12) -> str | None:
    """Many dripping cases cannot add up: one deadline for every model call of the review."""
    tests = "".join(f"  - vars: {{q: q{i}}}\n    assert: [{{type: contains, value: said}}]\n" for i in range(cases))
    suite = 'prompts: ["{{ q }}"]\nproviders: [openai:chat:gpt-4o]\ntests:\n' + tests
    with start_in_thread(create_app()) as server:
        httpx.post(f"{server.url}/_control/faults", json={"count": 1000, "drip_ms": 50, "pad_bytes": 100_000}).raise_for_status()
        env = {"OPENAI_BASE_URL": f"{server.url}/v1", "OPENAI_API_KEY": "sk-live-abc123"}
        config = EvalsConfig(timeout_s=30, concurrency=2, total_timeout_s=3)
        request = EvalRequest(MemoryTree({}), MemoryTree({"promptfooconfig.yaml": suite}), config, env=env)
        report = asyncio.run(run_evals(request, MemoryCache()))
    skipped = sum(1 for c in report.cases() if c.status.value == "skipped")
    return f"{skipped} of {cases} cases not checked: {report.budget_exhausted}" if report.budget_exhausted else None


def huge() -> str | None:
    return scripted(pad_bytes=300_000_000)


def deep() -> str | None:
    return scripted(nest=1_000_000)


def unauthorized() -> str | None:
    return scripted(status=401, pad_bytes=10_000, message="Incorrect API key provided: sk-live-abc123")


def not_json() -> str | None:
    body = b"<html>" + b"A" * 10_000 + b"</html>"
    return raw(b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s" % (len(body), body))


def suite_url(url: str, allowlisted: bool) -> str | None:
    config = EvalsConfig(timeout_s=2, allowed_base_urls=(url,) if allowlisted else ())
    return review({}, config, base_url=url)


CASES = [
    ("endpoint drips 1 B/50 ms (timeout_s: 1)", dripping),
    ("12 dripping cases (total_timeout_s: 3)", dripping_review),
    ("endpoint answers 300 MB", huge),
    ("endpoint answers JSON 1M levels deep", deep),
    ("endpoint 401, 10 KB body echoing the key", unauthorized),
    ("endpoint answers 10 KB of HTML", not_json),
    ("apiBaseUrl http://127.0.0.1 (not allowlisted)", lambda: suite_url("http://127.0.0.1:9/v1", False)),
    ("apiBaseUrl 169.254.169.254 (allowlisted)", lambda: suite_url("http://169.254.169.254/latest", True)),
    ("apiBaseUrl 10.0.0.7 (allowlisted)", lambda: suite_url("http://10.0.0.7:8000/v1", True)),
]

NOTES = [
    "The drip cases lower evals.timeout_s / evals.total_timeout_s to show that the bounds act. With the defaults a "
    "dripping endpoint holds one case up to 3 x 60 s (evals.timeout_s, evals.call_timeout_s), a review's model "
    "calls stop together at evals.total_timeout_s (600 s), and the service stops a job at "
    "PROMPT_REVIEW_JOB_TIMEOUT_SECONDS (900 s): bounded, but not within the 10 s target, by design — real "
    "models may take a minute to answer.",
]
