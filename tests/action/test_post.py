"""`prompt-review review --post` as the Action runs it: a real git checkout, the GitHub simulator over
loopback HTTP standing in for github.com, a workflow event file generated from the simulator's own
webhook, a workflow's GITHUB_TOKEN (an installation token of the `github-actions` App), and the
scripted model server. No real GitHub."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.core.result import APPROVAL_CHECK, COMMENT_MARKER, EVALS_CHECK
from bot.modelserver.app import create_app as create_model_app
from bot.serving import start_in_thread
from bot.simulator import Simulator, start
from bot.simulator.driver import files_of_dir

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "support-bot"
FRIENDLIER = "prompts/support/system.md"


@pytest.fixture(scope="module")
def model_url():
    with start_in_thread(create_model_app()) as server:
        yield server.url


@pytest.fixture
def world(tmp_path):
    """The example repo on the simulated GitHub."""
    sim = Simulator(webhook_url=None, app_id=1)
    server = start(sim)
    files = {p: v for p, v in files_of_dir(EXAMPLE).items() if not p.startswith("pulls/")}
    repo = sim.create_repo("acme", "support-bot", files)
    yield sim, repo, server.url
    server.stop()
    sim.close()


def event_file(sim: Simulator, tmp_path: Path, number: int, action: str) -> Path:
    """The event file Actions writes for the run: the `pull_request` webhook payload GitHub sent."""
    payload = [d.payload for d in sim.deliveries("pull_request")
               if d.action == action and d.payload["number"] == number][-1]
    path = tmp_path / f"event-{number}-{action}-{len(sim.deliveries())}.json"
    path.write_text(json.dumps(payload))
    return path


def run_action(sim: Simulator, repo, number: int, action: str, model_url: str, api_url: str, token: str,
               tmp_path: Path) -> subprocess.CompletedProcess:
    """One workflow run: check out the PR's head (the simulator's commits, same SHAs) and run the Action's command."""
    head = sim.pull(repo, number).head_sha
    checkout = sim.clone(repo, tmp_path / f"checkout-{head[:12]}-{len(sim.deliveries())}", head)
    env = {**os.environ, "OPENAI_BASE_URL": model_url + "/v1", "OPENAI_API_KEY": "sk-test-not-real",
           "GITHUB_ACTIONS": "true", "GITHUB_EVENT_NAME": "pull_request",
           "GITHUB_EVENT_PATH": str(event_file(sim, tmp_path, number, action)),
           "GITHUB_REPOSITORY": "acme/support-bot", "GITHUB_API_URL": api_url,
           "GITHUB_SERVER_URL": "https://github.com", "GITHUB_TOKEN": token,
           "GITHUB_STEP_SUMMARY": str(tmp_path / "summary.md")}
    return subprocess.run([sys.executable, "-m", "bot", "review", "--repo", str(checkout), "--post", "--no-cache",
                           "--quiet"], capture_output=True, text=True, env=env, timeout=300)


def friendlier() -> dict[str, str]:
    return {FRIENDLIER: (EXAMPLE / "pulls" / "friendlier" / FRIENDLIER).read_text()}


def test_the_action_upserts_one_comment_and_completes_both_checks_across_two_pushes(world, model_url, tmp_path):
    sim, repo, api_url = world
    pr = sim.open_pull(repo, "friendlier", friendlier(), "Friendlier prompt", "alice")
    token = sim.actions_token(repo)

    first = run_action(sim, repo, pr.number, "opened", model_url, api_url, token, tmp_path)
    assert first.returncode == 1, first.stderr  # the friendlier prompt regresses the refund cases
    comments = sim.comments(repo, pr.number)
    assert len(comments) == 1 and comments[0].body.startswith(COMMENT_MARKER), first.stderr[-3000:]
    assert comments[0].user == "github-actions[bot]"
    assert "41 of 300 cases regressed" in comments[0].body
    runs = {r.name: r for r in sim.check_runs(repo, pr.head_sha)}
    assert set(runs) == {EVALS_CHECK, APPROVAL_CHECK}
    assert all(r.status == "completed" for r in runs.values())
    assert runs[EVALS_CHECK].conclusion == "failure"
    assert runs[EVALS_CHECK].details_url.endswith(f"/acme/support-bot/pull/{pr.number}#issuecomment-{comments[0].id}")
    assert not (tmp_path / "summary.md").exists()  # posted: nothing to fall back to

    # A second push that puts the refund rule back: the same comment is edited, new checks on the new head.
    pushed = sim.push(repo, pr.number, {FRIENDLIER: (EXAMPLE / FRIENDLIER).read_text() + "\nBe warm.\n"})
    second = run_action(sim, repo, pr.number, "synchronize", model_url, api_url, token, tmp_path)
    again = sim.comments(repo, pr.number)
    assert [c.id for c in again] == [comments[0].id]
    assert again[0].body != comments[0].body and again[0].body.startswith(COMMENT_MARKER)
    new_runs = {r.name: r for r in sim.check_runs(repo, pushed.head_sha)}
    assert set(new_runs) == {EVALS_CHECK, APPROVAL_CHECK} and all(r.status == "completed" for r in new_runs.values())
    assert second.returncode == 0 and new_runs[EVALS_CHECK].conclusion == "success", second.stderr

    # Re-running the same job on the same head reuses its check runs instead of piling up new ones.
    run_action(sim, repo, pr.number, "synchronize", model_url, api_url, token, tmp_path)
    assert len(sim.check_runs(repo, pushed.head_sha)) == 2 and len(sim.comments(repo, pr.number)) == 1


def test_a_fork_pull_request_falls_back_to_the_job_summary_and_says_so(world, model_url, tmp_path):
    sim, repo, api_url = world
    pr = sim.open_pull(repo, "friendlier", friendlier(), "Friendlier prompt", "mallory", fork=True)
    read_only = sim.actions_token(repo, sim.read_only_permissions())

    result = run_action(sim, repo, pr.number, "opened", model_url, api_url, read_only, tmp_path)
    assert result.returncode == 1, result.stderr  # the verdict still sets the job's status
    assert sim.comments(repo, pr.number) == [] and sim.check_runs(repo, pr.head_sha) == []
    text = (tmp_path / "summary.md").read_text()
    assert "could not post to this pull request" in text and "fork" in text
    assert COMMENT_MARKER in text and "41 of 300 cases regressed" in text
    assert "::warning" in result.stderr and "job summary" in result.stderr


def test_post_outside_actions_takes_the_repository_pull_request_and_token_from_flags(world, model_url, tmp_path):
    sim, repo, api_url = world
    pr = sim.open_pull(repo, "friendlier", friendlier(), "Friendlier prompt", "alice")
    checkout = sim.clone(repo, tmp_path / "checkout", pr.head_sha)
    env = {k: v for k, v in os.environ.items() if not k.startswith("GITHUB_")}
    env.update({"OPENAI_BASE_URL": model_url + "/v1", "OPENAI_API_KEY": "sk-test-not-real",
                "GITHUB_API_URL": api_url, "CI_TOKEN": sim.actions_token(repo)})
    args = [sys.executable, "-m", "bot", "review", "origin/main..HEAD", "--repo", str(checkout), "--post", "--no-cache",
            "--quiet", "--github-repo", "acme/support-bot", "--pr", str(pr.number)]
    missing = subprocess.run(args, capture_output=True, text=True, env=env, timeout=300)
    assert missing.returncode == 2 and "GITHUB_TOKEN" in missing.stderr and sim.comments(repo, pr.number) == []

    posted = subprocess.run([*args, "--token-env", "CI_TOKEN"], capture_output=True, text=True, env=env, timeout=300)
    assert posted.returncode == 1, posted.stderr
    assert len(sim.comments(repo, pr.number)) == 1
    runs = sim.check_runs(repo, pr.head_sha)
    assert sorted(r.name for r in runs) == [APPROVAL_CHECK, EVALS_CHECK] and all(r.status == "completed" for r in runs)


def test_post_on_an_event_that_is_not_a_pull_request_says_how_to_run_it(tmp_path):
    event = tmp_path / "push.json"
    event.write_text(json.dumps({"ref": "refs/heads/main", "after": "0" * 40}))
    env = {**os.environ, "GITHUB_ACTIONS": "true", "GITHUB_EVENT_NAME": "push", "GITHUB_EVENT_PATH": str(event),
           "GITHUB_REPOSITORY": "acme/support-bot", "GITHUB_TOKEN": "ghs_notused"}
    result = subprocess.run([sys.executable, "-m", "bot", "review", "--post"], capture_output=True, text=True, env=env,
                            timeout=120)
    assert result.returncode == 2
    assert "'push'" in result.stderr and "on: pull_request" in result.stderr
