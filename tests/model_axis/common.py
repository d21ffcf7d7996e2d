"""A tiny repository whose suite runs on two models, in a real git repo or on the simulated GitHub under the
running service, and the model-server switch."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from tests.service.harness import stack

SUITE = """\
description: greetings
prompts:
  - file://../prompts/greet.txt
providers:
  - id: openai:chat:gpt-4o-mini
  - id: anthropic:messages:claude-3-5-haiku-latest
tests:
  - description: greet Ann
    vars: {name: Ann}
    assert: [{type: icontains, value: hello}]
  - description: greet Bob
    vars: {name: Bob}
    assert: [{type: icontains, value: hello}]
  - description: greet Cy
    vars: {name: Cy}
    assert: [{type: icontains, value: hello}]
"""

CONFIG = """\
suites:
  - evals/promptfooconfig.yaml
revalidate:
  schedule: "0 3 * * 1"
  repeats: 3
"""

FILES = {
    ".github/prompt-review.yml": CONFIG,
    "prompts/greet.txt": 'Reply with "hello". The user is {{name}}.\n',
    "evals/promptfooconfig.yaml": SUITE,
}

MINI = "openai:chat:gpt-4o-mini"
CLAUDE = "anthropic:messages:claude-3-5-haiku-latest"


def git_repo(path: Path, files: dict[str, str] = FILES) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    run = lambda *a: subprocess.run(["git", *a], cwd=path, check=True, capture_output=True)  # noqa: E731
    run("init", "-q", "-b", "main")
    for name, text in files.items():
        (path / name).parent.mkdir(parents=True, exist_ok=True)
        (path / name).write_text(text)
    run("add", "-A")
    run("-c", "user.name=t", "-c", "user.email=t@example.invalid", "commit", "-qm", "suite")
    return path


def model_env(url: str) -> dict[str, str]:
    return {"OPENAI_BASE_URL": url + "/v1", "OPENAI_API_KEY": "sk-test-not-real",
            "ANTHROPIC_BASE_URL": url, "ANTHROPIC_API_KEY": "sk-ant-test-not-real"}


def drift(url: str, model: str, *, fingerprint: str | None = None, reported: str | None = None,
          names: tuple[str, ...] = (), old: str = "hello", new: str = "goodbye") -> None:
    """Change `model`'s behaviour (for prompts naming one of `names`) and fingerprint, same name."""
    body = {"model": model, "system_fingerprint": fingerprint, "reported_model": reported,
            "rewrites": [{"old": old, "new": new, "when": f"The user is {n}."} for n in names]}
    httpx.post(url + "/_control/drift", json=body, timeout=10).raise_for_status()


@contextmanager
def installed(tmp_path: Path, env: dict[str, str], files: dict[str, str]) -> Iterator[tuple]:
    """The service running (re-validation triggered by hand) with acme/greet holding `files`, installed:
    (the running stack, an installation client), once the install's work is done."""
    with stack(tmp_path, env=env, revalidate_interval_seconds=0) as running:
        running.sim.create_org("acme")
        running.sim.create_repo("acme", "greet", files)
        client = running.service.github.installation(running.sim.install("acme"))
        running.wait_idle()
        yield running, client
