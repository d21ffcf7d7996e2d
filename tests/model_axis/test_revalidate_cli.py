"""`prompt-review revalidate` on a real git repository against the scripted model server."""

from __future__ import annotations

import json
import subprocess
import os
from pathlib import Path

import pytest

from bot.cli import main
from bot.modelserver.app import create_app
from bot.serving import start_in_thread
from tests.model_axis.common import CLAUDE, FILES, MINI, drift, git_repo, model_env


@pytest.fixture()
def server():
    with start_in_thread(create_app()) as s:
        yield s


@pytest.fixture()
def env(server, monkeypatch):
    for k, v in model_env(server.url).items():
        monkeypatch.setenv(k, v)


def test_a_model_that_changes_behind_its_name_fails_revalidate_naming_exactly_the_regressed_cases(tmp_path, server, env, capsys):
    repo = git_repo(tmp_path / "repo")
    baseline = tmp_path / "baseline.json"
    args = ["revalidate", "--repo", str(repo), "--baseline", str(baseline)]
    assert main(args) == 0  # no baseline yet: written
    written = json.loads(baseline.read_text())
    assert written["repeats"] == 3 and len(written["cases"]) == 6
    assert written["models"][MINI] == {"model": "gpt-4o-mini", "system_fingerprint": "fp_scripted"}
    assert main(args) == 0  # same model, same answers: nothing regressed
    capsys.readouterr()

    drift(server.url, "gpt-4o-mini", fingerprint="fp_2025_new", reported="gpt-4o-mini-2025-06-01", names=("Ann", "Bob"))
    assert main(args + ["--format", "json"]) == 1
    out = json.loads(capsys.readouterr().out)
    assert sorted(out["regressed"]) == sorted(
        key for key, case in written["cases"].items() if case["model"] == MINI and case["description"] in ("greet Ann", "greet Bob")
    )
    assert len(out["regressed"]) == 2
    (change,) = out["model_changes"]
    assert change["model"] == MINI
    assert change["before"]["system_fingerprint"] == "fp_scripted" and change["now"]["system_fingerprint"] == "fp_2025_new"
    assert change["now"]["model"] == "gpt-4o-mini-2025-06-01"

    assert main(args) == 1
    text = capsys.readouterr().out
    assert "model changed: openai:chat:gpt-4o-mini: model gpt-4o-mini → gpt-4o-mini-2025-06-01; system_fingerprint fp_scripted → fp_2025_new" in text
    assert text.count("REGRESSED") == 2 and CLAUDE not in text.split("\n", 1)[1]
    assert "greet Ann" in text and "greet Bob" in text and "greet Cy" not in text

    assert main(args + ["--bless"]) == 0  # an owner accepts the new behaviour
    assert main(args) == 0


def test_a_fingerprint_change_alone_is_reported_but_does_not_fail(tmp_path, server, env, capsys):
    repo = git_repo(tmp_path / "repo")
    args = ["revalidate", "--repo", str(repo), "--baseline", str(tmp_path / "b.json"), "--repeats", "1"]
    assert main(args) == 0
    drift(server.url, "gpt-4o-mini", fingerprint="fp_other")
    capsys.readouterr()
    assert main(args) == 0
    assert "system_fingerprint fp_scripted → fp_other" in capsys.readouterr().out


def test_an_unusable_baseline_file_is_a_configuration_error_naming_the_file(tmp_path, env, capsys):
    repo = git_repo(tmp_path / "repo")
    bad = tmp_path / "b.json"
    bad.write_text('{"schema": "something-else"}')
    assert main(["revalidate", "--repo", str(repo), "--baseline", str(bad)]) == 2
    assert f"{bad}: not a prompt-review baseline" in capsys.readouterr().err



VARIANT_SUITE = """\
description: greetings
prompts:
  - file://../prompts/greet.txt
  - file://../prompts/greet.claude.txt
providers:
  - id: openai:chat:gpt-4o-mini
    prompts: [prompts/greet.txt]
  - id: anthropic:messages:claude-3-5-haiku-latest
    prompts: [prompts/greet.claude.txt]
tests:
  - description: greet Ann
    vars: {name: Ann}
    assert: [{type: icontains, value: hello}]
  - description: greet Bob
    vars: {name: Bob}
    assert: [{type: icontains, value: hello}]
"""
GOLDEN = Path(__file__).resolve().parent / "golden"


def assert_golden(name: str, text: str) -> None:
    """Compare with tests/model_axis/golden/<name>; UPDATE_GOLDEN=1 rewrites it (review the diff)."""
    path = GOLDEN / name
    if os.environ.get("UPDATE_GOLDEN") == "1":
        GOLDEN.mkdir(exist_ok=True)
        path.write_text(text, encoding="utf-8")
    assert path.exists(), f"missing golden file {path.name}: run once with UPDATE_GOLDEN=1 and review it"
    assert text == path.read_text(encoding="utf-8"), f"{path.name} differs: review, then rerun with UPDATE_GOLDEN=1"


@pytest.mark.parametrize("fmt,suffix", [("text", "txt"), ("markdown", "md")])
def test_revalidate_shows_a_prompt_with_its_per_model_variants_as_the_review_does(tmp_path, server, env, capsys, monkeypatch, fmt, suffix):
    for var in ("GIT_AUTHOR_DATE", "GIT_COMMITTER_DATE"):  # the same commit, so the same SHA, on every run
        monkeypatch.setenv(var, "2026-06-01T03:00:00Z")
    repo = git_repo(tmp_path / "repo", {**FILES, "evals/promptfooconfig.yaml": VARIANT_SUITE,
                                         "prompts/greet.claude.txt": 'Reply with "hello", briefly. The user is {{name}}.\n'})
    args = ["revalidate", "--repo", str(repo), "--baseline", str(tmp_path / "b.json"), "--repeats", "1"]
    assert main(args) == 0
    drift(server.url, "gpt-4o-mini", names=("Ann",))
    drift(server.url, "claude-3-5-haiku-latest", reported="claude-3-5-haiku-20260601", names=("Bob",))
    capsys.readouterr()
    assert main(args + ["--format", fmt]) == 1
    out = capsys.readouterr().out
    assert out.count("one prompt, a variant per model") == 1 and "claude-3-5-haiku-20260601" in out
    assert_golden(f"revalidate_variants.{suffix}", out)


def test_ref_runs_an_older_revision_and_suite_limits_the_run_to_the_suites_named(tmp_path, server, env, capsys):
    repo = git_repo(tmp_path / "repo", {**FILES, "evals/other.yaml": VARIANT_SUITE.replace("greetings", "other"),
                                         "prompts/greet.claude.txt": 'Reply with "hello", briefly. The user is {{name}}.\n'})
    subprocess.run(["git", "tag", "v1"], cwd=repo, check=True)
    (repo / "prompts/greet.txt").write_text('Reply with "bye". The user is {{name}}.\n')
    subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@example.invalid", "commit", "-qam", "bye"], cwd=repo, check=True)
    baseline = tmp_path / "b.json"
    base = ["revalidate", "--repo", str(repo), "--baseline", str(baseline), "--repeats", "1", "--suite", "evals/promptfooconfig.yaml"]
    assert main(base + ["--ref", "v1"]) == 0
    written = json.loads(baseline.read_text())
    assert {c["suite"] for c in written["cases"].values()} == {"evals/promptfooconfig.yaml"} and len(written["cases"]) == 6
    assert written["ref"] == "v1"
    capsys.readouterr()
    assert main(base + ["--ref", "v1"]) == 0  # the tagged revision still greets
    assert main(base) == 1  # HEAD says bye: every case regressed, on both models
    assert capsys.readouterr().out.count("REGRESSED") == 6
