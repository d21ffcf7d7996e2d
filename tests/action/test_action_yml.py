"""action.yml's own steps, run as a runner runs a composite action: each `run:` step in bash with its
`${{ }}` expressions evaluated, its `env:` and `if:`, GITHUB_OUTPUT between steps. The `uses:` steps
(setup-python, cache) are GitHub's and the install step is pip's; everything else is the Action's
code and runs here against the simulator."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from bot.core.result import COMMENT_MARKER, EVALS_CHECK
from bot.modelserver.app import create_app as create_model_app
from bot.serving import start_in_thread
from bot.simulator import Simulator, start
from bot.simulator.driver import files_of_dir

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "support-bot"
FRIENDLIER = "prompts/support/system.md"
ACTION = yaml.safe_load((ROOT / "action.yml").read_text())
EXPR = re.compile(r"\$\{\{\s*(.+?)\s*\}\}")


def evaluate(expr: str, ctx: dict):
    """The expressions action.yml uses: dotted look-ups and `a == 'b'`."""
    if "==" in expr:
        left, right = (part.strip() for part in expr.split("=="))
        return str(evaluate(left, ctx)) == right.strip("'")
    value = ctx
    for part in expr.split("."):
        value = value.get(part, "") if isinstance(value, dict) else ""
    return value


def substitute(text: str, ctx: dict) -> str:
    return EXPR.sub(lambda m: str(evaluate(m.group(1), ctx)), text)


def run_composite(inputs: dict[str, str], github: dict, env: dict[str, str], work: Path) -> tuple[int, dict]:
    defaults = {name: spec.get("default", "") for name, spec in ACTION["inputs"].items()}
    ctx = {"github": github, "runner": {"os": "Linux", "temp": str(work)}, "steps": {}, "inputs": {}}
    ctx["inputs"] = {name: substitute(str(inputs.get(name, default)), ctx) for name, default in defaults.items()}
    status = 0
    for step in ACTION["runs"]["steps"]:
        condition = step.get("if")
        if condition and not evaluate(condition, ctx):
            continue
        if "uses" in step or step.get("id") == "install":
            continue
        output = work / f"output-{step.get('id', 'step')}"
        output.write_text("")
        step_env = {**env, "GITHUB_OUTPUT": str(output), "RUNNER_TEMP": str(work),
                    **{k: substitute(str(v), ctx) for k, v in step.get("env", {}).items()}}
        done = subprocess.run(["bash", "-e", "-c", substitute(step["run"], ctx)], cwd=env["CHECKOUT"], env=step_env,
                              capture_output=True, text=True, timeout=300)
        outputs = dict(line.split("=", 1) for line in output.read_text().splitlines() if "=" in line)
        if "id" in step:
            ctx["steps"][step["id"]] = {"outputs": outputs}
        if done.returncode != 0:
            status = done.returncode
            break
    return status, ctx["steps"]


@pytest.fixture(scope="module")
def model_url():
    with start_in_thread(create_model_app()) as server:
        yield server.url


@pytest.fixture
def workflow(tmp_path):
    """A `pull_request` run of the friendlier prompt: simulator, checkout, event file, a `prompt-review` on PATH."""
    sim = Simulator(webhook_url=None, app_id=1)
    server = start(sim)
    files = {p: v for p, v in files_of_dir(EXAMPLE).items() if not p.startswith("pulls/")}
    repo = sim.create_repo("acme", "support-bot", files)
    pr = sim.open_pull(repo, "friendlier", {FRIENDLIER: (EXAMPLE / "pulls" / "friendlier" / FRIENDLIER).read_text()},
                       "Friendlier prompt", "alice")
    checkout = sim.clone(repo, tmp_path / "checkout", pr.head_sha)
    payload = next(d.payload for d in sim.deliveries("pull_request") if d.action == "opened")
    (tmp_path / "event.json").write_text(json.dumps(payload))
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "prompt-review").write_text(f'#!/bin/sh\nexec "{sys.executable}" -m bot "$@"\n')
    (bin_dir / "prompt-review").chmod(0o755)
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}", "CHECKOUT": str(checkout),
           "OPENAI_BASE_URL": "", "OPENAI_API_KEY": "sk-test-not-real", "GITHUB_ACTIONS": "true",
           "GITHUB_EVENT_NAME": "pull_request", "GITHUB_EVENT_PATH": str(tmp_path / "event.json"),
           "GITHUB_REPOSITORY": "acme/support-bot", "GITHUB_API_URL": server.url,
           "GITHUB_SERVER_URL": "https://github.com", "GITHUB_STEP_SUMMARY": str(tmp_path / "summary.md")}
    github = {"action_path": str(ROOT), "token": sim.actions_token(repo), "run_id": "7", "run_attempt": "1",
              "event": {"pull_request": payload["pull_request"]}}
    yield sim, repo, pr, env, github
    server.stop()
    sim.close()


def test_the_composite_action_posts_the_review_fails_the_job_on_a_regression_and_fills_the_cache(
        workflow, model_url, tmp_path):
    sim, repo, pr, env, github = workflow
    env["OPENAI_BASE_URL"] = model_url + "/v1"
    suites = "\n  evals/support/promptfooconfig.yaml  \n\n"  # as a YAML block scalar gives it, padded
    status, steps = run_composite({"suites": suites}, github, env, tmp_path)
    assert status == 1 and steps["review"]["outputs"]["exit-status"] == "1"
    comments = sim.comments(repo, pr.number)
    assert len(comments) == 1 and comments[0].body.startswith(COMMENT_MARKER)
    assert {r.name: r.conclusion for r in sim.check_runs(repo, pr.head_sha)}[EVALS_CHECK] == "failure"
    cache_dir = Path(steps["cache-key"]["outputs"]["dir"])
    assert cache_dir.is_dir() and any(p.is_file() for p in cache_dir.rglob("*"))  # what actions/cache saves


def test_fail_mode_report_keeps_the_job_green_and_still_reports_the_verdict(workflow, model_url, tmp_path):
    sim, repo, pr, env, github = workflow
    env["OPENAI_BASE_URL"] = model_url + "/v1"
    status, steps = run_composite({"fail-mode": "report", "cache": "false"}, github, env, tmp_path)
    assert status == 0 and steps["review"]["outputs"]["exit-status"] == "1"
    assert "cache-key" not in steps
    assert {r.name: r.conclusion for r in sim.check_runs(repo, pr.head_sha)}[EVALS_CHECK] == "failure"


def test_the_action_declares_the_inputs_its_documentation_names():
    doc = (ROOT / "docs" / "action.md").read_text()
    for name in ACTION["inputs"]:
        assert f"`{name}`" in doc, f"docs/action.md does not describe the input {name}"
    assert ACTION["runs"]["using"] == "composite"
    uses = [s["uses"].split("@")[0] for s in ACTION["runs"]["steps"] if "uses" in s]
    assert uses == ["actions/setup-python", "actions/cache"]
