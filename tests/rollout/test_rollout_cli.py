"""The rollout verbs: `deploy … --percent N --steps … --interval …` and `rollout status|pause|resume|abort`,
through the CLI against the real service; steps advance on schedule, each move audited as a deployment."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from bot.cli import main as cli
from bot.core.guard import GuardPolicy
from bot.release.service import Release
from bot.service.db import utcnow
from prompt_review_sdk import PromptClient
from tests.release.conftest import REPO, SYSTEM, Api, manifest
from tests.release.test_release_flow import merged
from tests.service.harness import stack, wait_for
from tests.service.test_end_to_end import EXAMPLE, overlay

POLICY = GuardPolicy(min_per_arm=20)


@pytest.fixture
def as_erin(running, monkeypatch):
    monkeypatch.setenv("GITHUB_TOKEN", running.sim.user_token("erin"))
    return lambda *argv: cli([*argv, "--server", running.web.url])


def traffic(url: str, write: str, read: str, calls: int, success: float = 1.0) -> None:
    """Calls reported through the SDK, every one a success with the same latency: two arms alike."""
    client = PromptClient(url, read, repo=REPO, telemetry_token=write, flush_interval=0.05)
    for i in range(calls):
        client.record(client.get(SYSTEM, unit=f"user-{i}"), latency_ms=100, model="gpt-4o-mini",
                      scores={"task_success": success})
    assert client.flush(timeout=60)
    client.close()


def github_moves(sim, label: str) -> list[tuple[str, str, str]]:
    """What GitHub's Deployments API shows for the label's environment, oldest first: (kind, the state
    prompt-review gave the deployment, its description)."""
    return [(d.payload["kind"], d.statuses[0].state, d.statuses[0].description)
            for d in sim.deployments(REPO, f"prompts/{label}")]


def split_of(url: str, read: str) -> dict | None:
    return next(p for p in manifest(url, read, "production").json()["prompts"] if p["path"] == SYSTEM)["rollout"]


def test_deploy_percent_steps_interval_then_status_pause_resume_and_scheduled_steps(running, as_erin, capsys, tmp_path,
                                                                                   monkeypatch):
    erin = Api(running.web.url, running.sim.user_token("erin"))
    release = Release(running.service.engine, running.service.github)
    assert as_erin("deploy", "production", "--repo", REPO, "--reason", "first version") == 0
    good = merged(running, "reflow", approve=True)
    read, write = erin.token("read"), erin.token("write")
    capsys.readouterr()

    assert as_erin("deploy", "production", "--repo", REPO, "--ref", good, "--prompt", SYSTEM,
                   "--percent", "10", "--steps", "10,50,100", "--interval", "1s") == 0
    out = capsys.readouterr().out
    assert "rollout #1 started at 10% (steps 10%, 50%, 100%, every 1s)" in out and "running at 10%" in out
    assert [a["percent"] for a in split_of(running.web.url, read)["arms"]] == [90, 10]

    monkeypatch.setenv("PROMPT_REVIEW_TOKEN", read)  # a bundle written during the rollout carries the split
    bundle = tmp_path / "bundle.json"
    assert as_erin("bundle", "--repo", REPO, "--label", "production", "--out", str(bundle)) == 0
    offline = PromptClient(None, None, bundle=bundle)
    arms = {p.arm: p for p in (offline.get(SYSTEM, unit=f"u{i}") for i in range(200))}
    assert arms["candidate"].content == overlay("reflow")[SYSTEM].decode() and arms["candidate"].source == "bundle"
    assert arms["control"].version != arms["candidate"].version

    assert as_erin("rollout", "pause", "production", "--repo", REPO) == 0
    traffic(running.web.url, write, read, 400)
    assert release.guard_tick(now=utcnow() + timedelta(seconds=5), policy=POLICY) == []  # paused: not watched
    assert as_erin("rollout", "resume", "production", "--repo", REPO) == 0
    assert release.guard_tick(policy=POLICY)[0].action.value == "wait"  # the interval starts again on resume

    [step] = release.guard_tick(now=utcnow() + timedelta(seconds=5), policy=POLICY)
    assert step.action.value == "advance"
    assert [a["percent"] for a in split_of(running.web.url, read)["arms"]] == [50, 50]
    capsys.readouterr()
    assert as_erin("rollout", "status", "production", "--repo", REPO) == 0
    out = capsys.readouterr().out
    assert "running at 50%" in out and "task_success" in out and "guard: no metric significantly worse" in out

    traffic(running.web.url, write, read, 100)
    [done] = release.guard_tick(now=utcnow() + timedelta(seconds=15), policy=POLICY)  # a step after the last one
    assert done.action.value == "advance" and done.deployment_id is not None
    after = next(p for p in manifest(running.web.url, read, "production").json()["prompts"] if p["path"] == SYSTEM)
    assert after["rollout"] is None and after["version"] == erin.client.get(
        f"/repos/{REPO}/rollouts", params={"label": "production"}).json()["moves"][0]["to"]
    history = [(d["kind"], d["via"]) for d in erin.history() if d["label"] == "production"]
    assert history == [("deploy", "cli"), ("rollout", "cli"), ("rollout-pause", "cli"), ("rollout-resume", "cli"),
                       ("rollout-step", "guard"), ("deploy", "guard")]
    assert as_erin("rollback", "production", "--repo", REPO) == 0  # the completed rollout rolls back like a deploy
    assert split_of(running.web.url, read) is None
    # every move is on GitHub too, each with a state that says what it did to the environment
    moves = github_moves(running.sim, "production")
    assert [(kind, state) for kind, state, _ in moves] == [
        ("deploy", "success"), ("rollout", "in_progress"), ("rollout-pause", "pending"),
        ("rollout-resume", "in_progress"), ("rollout-step", "in_progress"), ("deploy", "success"), ("rollback", "success")]
    assert moves[4][2].startswith("rollout #1 advanced 10% → 50%: no metric significantly worse")
    assert moves[2][2] == "rollout #1 paused at 10%"
    candidate = running.sim.deployments(REPO, "prompts/production")[1].payload["versions"][SYSTEM]
    assert all(d.payload["versions"][SYSTEM] == candidate for d in running.sim.deployments(REPO, "prompts/production")[1:6])


def test_abort_by_hand_rollback_during_a_rollout_and_refusals(running, as_erin, capsys):
    erin = Api(running.web.url, running.sim.user_token("erin"))
    assert as_erin("deploy", "staging", "--repo", REPO) == 0
    good = merged(running, "reflow", approve=True)
    read = erin.token("read")
    before = manifest(running.web.url, read, "staging").json()
    assert as_erin("deploy", "staging", "--repo", REPO, "--ref", good, "--percent", "25") == 0
    capsys.readouterr()
    assert as_erin("deploy", "staging", "--repo", REPO, "--ref", good, "--percent", "30") == 1
    assert "is still active: abort it first" in capsys.readouterr().err
    assert as_erin("deploy", "staging", "--repo", REPO, "--ref", good) == 1
    assert "has an active rollout" in capsys.readouterr().err

    assert as_erin("rollout", "abort", "staging", "--repo", REPO, "--reason", "not today") == 0
    assert "aborted at 25%" in capsys.readouterr().out
    assert manifest(running.web.url, read, "staging").json()["prompts"] == before["prompts"]
    assert as_erin("rollout", "pause", "staging", "--repo", REPO) == 1
    assert "no active rollout" in capsys.readouterr().err

    assert as_erin("deploy", "staging", "--repo", REPO, "--ref", good, "--percent", "25") == 0
    assert as_erin("rollback", "staging", "--repo", REPO) == 0  # rolling back a split aborts it
    assert [d["kind"] for d in erin.history() if d["label"] == "staging"][-1] == "rollout-abort"
    # on GitHub: an abort by hand takes the candidate out of the environment, which serves the control again
    moves = github_moves(running.sim, "staging")
    assert [(kind, state) for kind, state, _ in moves] == [
        ("deploy", "success"), ("rollout", "in_progress"), ("rollout-abort", "inactive"), ("rollout", "in_progress"),
        ("rollout-abort", "inactive")]
    assert moves[2][2].startswith("rollout #1 aborted at 25%") and moves[2][2].endswith("not today")
    deployed = running.sim.deployments(REPO, "prompts/staging")
    control = deployed[0].payload["versions"][SYSTEM]
    assert deployed[1].payload["versions"][SYSTEM] != control
    assert deployed[2].payload["versions"][SYSTEM] == deployed[4].payload["versions"][SYSTEM] == control

    assert as_erin("deploy", "canary", "--repo", REPO, "--percent", "10") == 1  # nothing to split against
    assert "has no version of" in capsys.readouterr().err
    assert as_erin("deploy", "staging", "--repo", REPO, "--steps", "10,100") == 1
    assert "--steps and --interval need --percent" in capsys.readouterr().err
    assert as_erin("deploy", "staging", "--repo", REPO, "--ref", good, "--percent", "10", "--steps", "50,20") == 1
    assert "increasing percentages" in capsys.readouterr().err


def test_the_service_guard_advances_on_its_own_schedule(tmp_path, model_server, monkeypatch):
    env = {"OPENAI_BASE_URL": model_server.url + "/v1", "OPENAI_API_KEY": "sk-test-not-real"}
    with stack(tmp_path, env=env, rollout_guard_interval_seconds=0.2) as s:
        s.sim.create_org("acme")
        s.sim.create_repo_from_dir("acme", "support-bot", EXAMPLE)
        s.sim.add_team("acme", "support-prompts", ["erin", "frank"])
        s.sim.install("acme")
        s.sim.set_permission(REPO, "erin", "write")
        erin = Api(s.web.url, s.sim.user_token("erin"))
        assert erin.deploy("production", reason="first").status_code == 201
        good = merged(s, "reflow", approve=True)
        read, write = erin.token("read"), erin.token("write")
        assert erin.deploy("production", ref=good, prompts=[SYSTEM], percent=50, interval="1s").status_code == 201
        traffic(s.web.url, write, read, 600)
        wait_for(lambda: split_of(s.web.url, read) is None, 60, "the guard completing the rollout")
        assert [d["kind"] for d in erin.history()][-1] == "deploy"
        assert erin.history()[-1]["via"] == "guard"


def test_a_score_the_repo_config_calls_lower_is_better_aborts_the_rollout_that_raises_it(running, as_erin):
    """`rollout.scores: {hallucinated: lower}` on the default branch: the rollout keeps that direction, and
    a candidate that hallucinates more is aborted (by default a higher score is better, and would advance)."""
    url = running.web.url
    erin = Api(url, running.sim.user_token("erin"))
    release = Release(running.service.engine, running.service.github)
    assert as_erin("deploy", "production", "--repo", REPO, "--reason", "first version") == 0
    good = merged(running, "reflow", approve=True)
    config = running.sim.file(REPO, "main", ".github/prompt-review.yml")
    running.sim.push_branch(REPO, "main", {".github/prompt-review.yml": config + b"rollout:\n  scores: {hallucinated: lower}\n"})
    assert as_erin("deploy", "production", "--repo", REPO, "--ref", good, "--prompt", SYSTEM, "--percent", "50",
                   "--interval", "1h") == 0
    read, write = erin.token("read"), erin.token("write")
    client = PromptClient(url, read, repo=REPO, telemetry_token=write, flush_interval=0.05)
    for i in range(400):
        prompt = client.get(SYSTEM, unit=f"user-{i}")
        hallucinated = i % 10 < (4 if prompt.arm == "candidate" else 1)  # 40% against 10%
        client.record(prompt, latency_ms=100, model="gpt-4o-mini", scores={"hallucinated": float(hallucinated)})
    assert client.flush(timeout=60)
    client.close()
    [result] = release.guard_tick(policy=POLICY)
    assert result.action.value == "abort", result.reason
    said = re.fullmatch(r"hallucinated (0\.\d+) → (0\.\d+) \(lower is better\), p = [<\d. ]+ after \d+ calls per arm",
                        result.reason)
    assert said is not None, result.reason
    assert float(said[2]) - float(said[1]) > 0.15  # the candidate's rate rose: a regression for this score
    status = erin.client.get(f"/repos/{REPO}/rollouts", params={"label": "production"}).json()
    assert status["state"] == "aborted"
    assert {m["name"]: m["better"] for m in status["metrics"]} == {"error_rate": "lower", "latency_ms": "lower",
                                                                   "hallucinated": "lower"}
