"""Guarded rollouts end to end: the example SDK app (examples/sdk-app) against the real service, the GitHub
simulator and the scripted model server. A version that answers as well advances to 100% and becomes the
label's version; a worse one is aborted by the guard, with the reason on its PR; the service stopped mid-run
and the app keeps serving — from memory, then a snapshot, then the bundle — with the right attribution."""

from __future__ import annotations

import importlib.util
import json
import sys
from datetime import timedelta
from pathlib import Path

import pytest

from bot.cli import main as cli
from bot.core.guard import GuardPolicy
from bot.release import telemetry
from bot.release.service import Release
from bot.service.db import utcnow
from prompt_review_sdk import PromptClient, PromptUnavailable
from tests.release.conftest import REPO, SYSTEM, Api, manifest
from tests.release.test_release_flow import merged
from tests.service.test_end_to_end import EXAMPLE, overlay

APP = Path(__file__).resolve().parents[2] / "examples" / "sdk-app" / "app.py"
POLICY = GuardPolicy(alpha=0.01, min_per_arm=150)  # the default test, stricter alpha so A/A noise cannot flake this


def load_app():
    spec = importlib.util.spec_from_file_location("sdk_app", APP)
    module = importlib.util.module_from_spec(spec)
    sys.modules["sdk_app"] = module  # dataclasses look their module up while the file runs
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module


def test_rollouts_advance_a_good_version_abort_a_worse_one_and_the_app_survives_the_server(running, model_server, tmp_path, monkeypatch):
    app = load_app()
    sim, url = running.sim, running.web.url
    erin = Api(url, sim.user_token("erin"))
    release = Release(running.service.engine, running.service.github, running.service.settings.github_web_url)
    base = erin.deploy("production", reason="initial version, before prompt-review")
    assert base.status_code == 201, base.text
    v0 = next(m["to"] for m in base.json()["moves"] if m["path"] == SYSTEM)
    read, write = erin.token("read"), erin.token("write")
    client = PromptClient(url, read, repo=REPO, telemetry_token=write, cache_dir=tmp_path / "cache", ttl=0.2,
                          flush_interval=0.2)
    model_url = _model_url(model_server)

    # --- a version that answers as well (reflow): 50% → 100%, then it is production ----------------------
    good = merged(running, "reflow", approve=True)
    started = erin.deploy("production", ref=good, prompts=[SYSTEM], percent=50, steps="50,100", interval="1s")
    assert started.status_code == 201, started.text
    rollout = started.json()["rollout"]
    assert (rollout["state"], rollout["percent"]) == ("running", 50)
    v1 = rollout["moves"][0]["to"]
    split = next(p for p in manifest(url, read, "production").json()["prompts"] if p["path"] == SYSTEM)["rollout"]
    assert [(a["name"], a["version"], a["percent"]) for a in split["arms"]] == [("control", v0, 50), ("candidate", v1, 50)]

    summary = app.run(client, model_url, calls=500, seed=1)
    assert client.flush(timeout=60)
    by_arm = {arm: version for version, arm, _ in summary.served}
    assert by_arm == {"control": v0, "candidate": v1}
    original = (EXAMPLE / SYSTEM).read_text(encoding="utf-8")
    for p in summary.prompts:  # attribution: what was served is the version it claims
        assert p.content == (overlay("reflow")[SYSTEM].decode() if p.version == v1 else original)
    rows = telemetry.rollups(running.service.engine, REPO, SYSTEM)
    assert {(r.version, r.arm) for r in rows} == {(v0, "control"), (v1, "candidate")}
    assert sum(r.calls for r in rows) == 500 and {r.model for r in rows} == {"gpt-4o-mini"}
    [result] = release.guard_tick(now=utcnow() + timedelta(seconds=5), policy=POLICY)
    assert result.action.value == "advance", result.reason
    after = manifest(url, read, "production").json()
    assert next(p for p in after["prompts"] if p["path"] == SYSTEM)["version"] == v1
    assert next(p for p in after["prompts"] if p["path"] == SYSTEM)["rollout"] is None

    # --- a worse version (friendlier: refund answers go wrong): aborted, the PR told ------------------------
    bad = merged(running, "friendlier", approve=False)
    started = erin.deploy("production", ref=bad, prompts=[SYSTEM], percent=50, interval="1h",
                          reason="owner override: tone complaints")
    assert started.status_code == 201, started.text
    v2 = started.json()["rollout"]["moves"][0]["to"]
    summary = app.run(client, model_url, calls=500, seed=2)
    assert client.flush(timeout=60)
    assert {arm: version for version, arm, _ in summary.served} == {"control": v1, "candidate": v2}
    [result] = release.guard_tick(policy=POLICY)  # not due for a step: the abort does not wait for it
    assert result.action.value == "abort", result.reason
    assert result.reason.startswith("task_success ") and "calls per arm" in result.reason
    status = erin.client.get(f"/repos/{REPO}/rollouts", params={"label": "production"}).json()
    assert status["state"] == "aborted" and status["last_decision"] == result.reason
    served = next(p for p in manifest(url, read, "production").json()["prompts"] if p["path"] == SYSTEM)
    assert (served["version"], served["rollout"]) == (v1, None)
    [comment] = [c for c in sim.comments(REPO, 2) if "aborted" in c.body]
    assert result.reason in comment.body
    kinds = [(d["kind"], d["via"]) for d in erin.history() if d["label"] == "production"]
    assert kinds == [("deploy", "api"), ("rollout", "api"), ("deploy", "guard"), ("rollout", "api"), ("rollout-abort", "guard")]
    github = [(d.payload["kind"], d.statuses[0].state, d.statuses[0].description, d.payload["versions"][SYSTEM])
              for d in sim.deployments(REPO, "prompts/production")]
    assert [(kind, state, version) for kind, state, _, version in github] == [
        ("deploy", "success", v0), ("rollout", "in_progress", v1), ("deploy", "success", v1),
        ("rollout", "in_progress", v2), ("rollout-abort", "failure", v1)]  # the guard's abort: a failure, back on v1
    assert github[-1][2].startswith("rollout #2 aborted by the guard at 50%: task_success ")

    # --- the bundle a build would ship, then the service goes away mid-run ----------------------------------
    monkeypatch.setenv("PROMPT_REVIEW_TOKEN", read)
    bundle = tmp_path / "prompts.bundle.json"
    assert cli(["bundle", "--repo", REPO, "--label", "production", "--out", str(bundle), "--server", url]) == 0
    client.refresh("production")
    running.web.stop()
    summary = app.run(client, model_url, calls=50, seed=3)  # from memory, refreshes failing in the background
    assert set(summary.served) == {(v1, None, "server")}
    restarted = PromptClient(url, read, repo=REPO, cache_dir=tmp_path / "cache", timeout=1)
    assert {(p.version, p.source) for p in app.run(restarted, model_url, calls=20, seed=4).prompts} == {(v1, "snapshot")}
    fresh = PromptClient(url, read, repo=REPO, bundle=bundle, timeout=1)
    prompt = fresh.get(SYSTEM)
    assert (prompt.version, prompt.source, prompt.commit) == (v1, "bundle", json.loads(bundle.read_text())["commit"])
    with pytest.raises(PromptUnavailable):
        PromptClient(url, read, repo=REPO, timeout=1).get(SYSTEM)
    client.close()


def _model_url(model_server) -> str:
    return model_server.url + "/v1"
