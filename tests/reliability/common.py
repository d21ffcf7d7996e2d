"""Shared setup for the reliability tests: a tiny repository whose evals take a fraction of a
second against the scripted model, and helpers that read what a user would see on the PR."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from bot.core.result import APPROVAL_CHECK, COMMENT_MARKER, EVALS_CHECK
from tests.service.harness import Stack, stack

REPO = "acme/tiny"
LABEL = "prompt-review:run-evals"

CONFIG = """\
prompts:
  include: ["prompts/**"]
suites:
  - evals/promptfooconfig.yaml
evals:
  fail_on: regression
  max_regressions: 0
  repeats: 1
  concurrency: 4
approval:
  owners_file: .github/PROMPTOWNERS
  required_approvals: 1
"""

SUITE = """\
description: tiny
prompts:
  - file://../prompts/greet.txt
providers:
  - id: openai:chat:gpt-4o-mini
tests:
  - vars: {name: Ann}
    assert: [{type: icontains, value: hello}]
  - vars: {name: Bob}
    assert: [{type: icontains, value: hello}]
  - vars: {name: Cy}
    assert: [{type: icontains, value: hello}]
  - vars: {name: Di}
    assert: [{type: icontains, value: hello}]
  - vars: {name: Ed}
    assert: [{type: icontains, value: hello}]
  - vars: {name: Flo}
    assert: [{type: icontains, value: hello}]
  - vars: {name: Gus}
    assert: [{type: icontains, value: hello}]
  - vars: {name: Hal}
    assert: [{type: icontains, value: hello}]
"""

BASE_PROMPT = 'Reply with "hello". The user is {{name}}.\n'
GOOD_PROMPT = 'Reply with "hello there". The user is {{name}}.\n'
BAD_PROMPT = 'Reply with "goodbye". The user is {{name}}.\n'

FILES = {
    ".github/prompt-review.yml": CONFIG,
    ".github/PROMPTOWNERS": "prompts/** @erin\n",
    "prompts/greet.txt": BASE_PROMPT,
    "evals/promptfooconfig.yaml": SUITE,
    "README.md": "# tiny\n",
}


def model_env(model_url: str) -> dict[str, str]:
    return {"OPENAI_BASE_URL": model_url + "/v1", "OPENAI_API_KEY": "sk-test-not-real"}


@contextmanager
def tiny_stack(tmp_path: Path, model_url: str, db_url: str | None = None, **overrides) -> Iterator[Stack]:
    with stack(tmp_path, db_url=db_url, env=model_env(model_url), **overrides) as s:
        s.sim.create_org("acme")
        s.sim.create_repo("acme", "tiny", FILES)
        s.sim.set_permission(REPO, "erin", "write")
        s.sim.install("acme")
        yield s


def runs_by_name(sim, sha: str) -> dict:
    return {r.name: r for r in sim.check_runs(REPO, sha)}


def bot_comments(sim, number: int) -> list:
    return [c for c in sim.comments(REPO, number) if c.body.startswith(COMMENT_MARKER)]


def all_runs(sim) -> list:
    with sim.lock:
        shas = {c.head_sha for c in sim.check_runs_.values()}
    return [r for sha in shas for r in sim.check_runs(REPO, sha)]


def assert_nothing_left_in_progress(sim) -> None:
    hanging = [(r.head_sha[:7], r.name, r.status) for r in all_runs(sim) if r.status != "completed"]
    assert hanging == [], f"check runs left hanging: {hanging}"


__all__ = ["APPROVAL_CHECK", "EVALS_CHECK", "REPO", "LABEL", "tiny_stack", "runs_by_name", "bot_comments",
           "assert_nothing_left_in_progress", "all_runs", "BAD_PROMPT", "GOOD_PROMPT", "BASE_PROMPT"]
