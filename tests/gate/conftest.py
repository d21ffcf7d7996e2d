"""The gate's bypasses, reproduced as an attacker or a new user would: real git repositories,
`prompt-review review` as CI runs it, the scripted model server over real HTTP."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from bot.modelserver.app import create_app as create_model_app
from bot.serving import start_in_thread

RULE = "Refunds are only possible within 30 days of delivery."
WEAK = "Refunds are always possible."
QUESTIONS = ["Can I return my blender?", "My pan arrived late.", "Refund for the kettle?", "Return the toaster?",
             "Is my mixer refundable?"]


def prompt_text(rule: str = RULE) -> str:
    return f'{{{{ question }}}} Reply with "{rule}"\n'


def suite_text(tests: str | None = None, prompt_ref: str = "file://../prompts/support.txt", provider: str = "openai:chat:gpt-4o",
               default_test: str = "") -> str:
    if tests is None:
        tests = "".join(
            f"  - description: case {i}\n    vars: {{question: {json.dumps(q)}}}\n    assert: [{{type: icontains, value: 30 days}}]\n"
            for i, q in enumerate(QUESTIONS, 1)
        )
    return f"description: gate\nprompts: [{prompt_ref}]\nproviders: [{provider}]\n{default_test}tests:\n{tests}"


BASE_FILES = {
    "prompts/support.txt": prompt_text(),
    "evals/promptfooconfig.yaml": suite_text(),
}


def git(repo: Path, *args: str) -> str:
    env = {**os.environ, "GIT_AUTHOR_NAME": "mallory", "GIT_AUTHOR_EMAIL": "m@example.com",
           "GIT_COMMITTER_NAME": "mallory", "GIT_COMMITTER_EMAIL": "m@example.com"}
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, text=True, env=env).stdout


@dataclass
class Review:
    status: int
    data: dict
    stderr: str
    markdown: str = ""

    def cases(self, status: str | None = None) -> list[dict]:
        return [c for s in (self.data.get("evals") or {}).get("suites", []) for c in s["cases"] if status in (None, c["status"])]


class GateRepo:
    def __init__(self, root: Path, model_url: str, cache: Path):
        self.root, self.model_url, self.cache = root, model_url, cache
        root.mkdir(parents=True)
        git(root, "init", "-q", "-b", "main")

    def write(self, files: dict[str, str | None]) -> None:
        for path, text in files.items():
            target = self.root / path
            if text is None:
                target.unlink()
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text)

    def commit(self, files: dict[str, str | None], message: str = "change") -> None:
        self.write(files)
        git(self.root, "add", "-A")
        git(self.root, "commit", "-q", "-m", message)

    def rename(self, old: str, new: str) -> None:
        (self.root / new).parent.mkdir(parents=True, exist_ok=True)
        git(self.root, "mv", old, new)

    def review(self, *args: str, env: dict | None = None, markdown: bool = False) -> Review:
        base_env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "ANTHROPIC_"))}
        run_env = {**base_env, "OPENAI_BASE_URL": self.model_url + "/v1", "OPENAI_API_KEY": "sk-test-not-real",
                   "XDG_CACHE_HOME": str(self.cache)}
        if env is not None:
            run_env = {**base_env, "XDG_CACHE_HOME": str(self.cache), **env}
        cmd = [sys.executable, "-m", "bot", "review", "HEAD~1..HEAD", "--repo", str(self.root), "--quiet", *args]
        out = subprocess.run([*cmd, "--format", "json"], capture_output=True, text=True, env=run_env, timeout=300)
        data = json.loads(out.stdout) if out.stdout.strip().startswith("{") else {}
        md = ""
        if markdown:
            md = subprocess.run(cmd, capture_output=True, text=True, env=run_env, timeout=300).stdout
        return Review(out.returncode, data, out.stderr, md)


@pytest.fixture(scope="session")
def model_url():
    with start_in_thread(create_model_app()) as server:
        yield server.url


@pytest.fixture
def gate_repo(tmp_path, model_url) -> GateRepo:
    repo = GateRepo(tmp_path / "repo", model_url, tmp_path / "xdg-cache")
    repo.commit(BASE_FILES, "base")
    return repo
