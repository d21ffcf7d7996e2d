"""Fixtures: the support-bot example as files and trees, and one scripted server per session."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
import yaml

from bot.core.files import MemoryTree
from bot.modelserver import create_app
from bot.serving import start_in_thread

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "support-bot"
SYSTEM = "prompts/support/system.md"


def example_files(pull: str | None = None) -> dict[str, bytes]:
    """The example repo at its base, or with a pull request's overlay applied (pr.json is metadata)."""
    files = {
        p.relative_to(EXAMPLE).as_posix(): p.read_bytes()
        for p in EXAMPLE.rglob("*")
        if p.is_file() and p.relative_to(EXAMPLE).parts[0] != "pulls" and "__pycache__" not in p.parts
    }
    if pull:
        overlay = EXAMPLE / "pulls" / pull
        files.update(
            {p.relative_to(overlay).as_posix(): p.read_bytes() for p in overlay.rglob("*") if p.is_file() and p.name != "pr.json"}
        )
    return files


def example_tree(pull: str | None = None) -> MemoryTree:
    return MemoryTree(example_files(pull))


def system_prompt(pull: str | None = None) -> str:
    return example_files(pull)[SYSTEM].decode()


def load_cases() -> list[dict]:
    return yaml.safe_load((EXAMPLE / "evals" / "support" / "cases.yaml").read_text(encoding="utf-8"))


@pytest.fixture(scope="session")
def cases() -> list[dict]:
    return load_cases()


@pytest.fixture(scope="session")
def _scripted():
    server = start_in_thread(create_app())
    yield server
    server.stop()


@pytest.fixture
def server(_scripted):
    """Base URL of a running scripted server, with faults and counters reset for this test."""
    with httpx.Client() as client:
        client.post(f"{_scripted.url}/_control/reset").raise_for_status()
    return _scripted.url


def failed_assertions(case: dict, output: str) -> list[str]:
    """The case's assertions (deterministic types only) that `output` fails, scored by the eval engine."""
    from bot.evals.assertions import check_deterministic

    failed = []
    for a in case["assert"]:
        kind, negated = a["type"].removeprefix("not-"), a["type"].startswith("not-")
        ok, _ = check_deterministic(kind, a.get("value"), a.get("threshold"), output)
        if ok == negated:
            failed.append(f"{a['type']} {a.get('value')!r}")
    return failed


def chat(system: str, question: str) -> list[dict]:
    return [{"role": "system", "content": system}, {"role": "user", "content": question}]
