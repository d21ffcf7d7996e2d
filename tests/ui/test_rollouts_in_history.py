"""Rollouts on the history pages: each start, step and abort of a prompt's rollout is a timeline event with
the guard's reason, an open rollout is listed with its arms, step and the guard's last words, and the
repository page shows re-validation's baselines and runs. Real storage, the real rollout and guard code."""

from __future__ import annotations

import time
from datetime import timedelta

from bot.core.guard import GuardPolicy
from bot.core.release import Move, Plan
from bot.release import rollout, store, telemetry
from bot.revalidate.baseline import Baseline
from bot.revalidate.jobs import save_baseline
from bot.service.db import make_engine, utcnow
from bot.service.migrate import upgrade
from bot.ui import data
from bot.ui.timeline import EventKind, render_text

REPO = "acme/support-bot"
PATH = "prompts/support/system.md"
CONTROL, CANDIDATE = "a" * 40, "b" * 40
POLICY = GuardPolicy(min_per_arm=50)


def _traffic(engine, version: str, arm: str, calls: int, success: float) -> None:
    now = time.time_ns()
    spans = [telemetry.SpanFacts({telemetry.A_PATH: PATH, telemetry.A_VERSION: version[:12], telemetry.A_LABEL: "production",
                                  telemetry.A_ARM: arm}, [("task_success", success if i % 10 else 1.0 - success, "")],
                                 now - 20_000_000, now, False, (0, 0, i)) for i in range(calls)]
    telemetry.store_batch(engine, telemetry.aggregate_spans(REPO, spans))


def _engine(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'db.sqlite'}")
    upgrade(engine)
    return engine


def _start(engine):
    plan = Plan("production", "c" * 40, (Move(PATH, CONTROL, CANDIDATE),), override=False)
    return rollout.start(engine, REPO, plan, percent=10, steps=(10.0, 50.0, 100.0), interval=60, actor="erin", via="cli",
                         reason=None, pr=7)


def test_a_rollout_that_steps_then_is_aborted_by_the_guard_is_on_the_timeline_with_the_guards_reason(tmp_path):
    engine = _engine(tmp_path)
    _start(engine)
    _traffic(engine, CONTROL, "control", 300, 0.9)
    _traffic(engine, CANDIDATE, "candidate", 300, 0.9)
    [step] = rollout.tick(engine, now=utcnow() + timedelta(minutes=2), policy=POLICY)
    assert step.action.value == "advance"

    open_ = data.timeline(engine, REPO, PATH).rollouts
    assert [(r.id, r.label, r.percent, r.step, r.control, r.candidate) for r in open_] == \
        [(1, "production", 50.0, 2, CONTROL[:12], CANDIDATE[:12])]
    assert open_[0].last_decision.startswith("no metric significantly worse after 300 calls per arm")

    _traffic(engine, CANDIDATE, "candidate", 600, 0.1)
    [abort] = rollout.tick(engine, now=utcnow() + timedelta(minutes=3), policy=POLICY)
    assert abort.action.value == "abort"

    t = data.timeline(engine, REPO, PATH)
    steps = [e for e in t.events if e.kind is EventKind.ROLLOUT]
    assert [e.title for e in steps] == [
        f"{CANDIDATE[:12]} reached 10% of production (rollout #1 started; {CONTROL[:12]} keeps 90%)",
        f"{CANDIDATE[:12]} reached 50% of production (rollout #1)",
        f"rollout #1 of production aborted at 50%: {CONTROL[:12]} serves all of production again"]
    why = " ".join(steps[-1].details)
    assert "by @prompt-review[bot] via guard" in why
    assert "task_success 0.82 → 0.393, p = < 0.001 after 300 calls per arm" in why
    assert t.rollouts == ()  # aborted: no longer open
    assert "aborted at 50%" in render_text(t)


def test_the_repository_page_lists_open_rollouts_with_arms_step_and_the_guards_last_words(tmp_path):
    engine = _engine(tmp_path)
    _start(engine)
    rollout.tick(engine, now=utcnow() + timedelta(seconds=1), policy=POLICY)  # not due: the guard watches
    [r] = data.repo_view(engine, REPO).rollouts
    assert (r.label, r.state, r.percent, r.step, r.steps) == ("production", "running", 10.0, 1, (10.0, 50.0, 100.0))
    assert r.moves == ((PATH, CONTROL[:12], CANDIDATE[:12]),) and r.pr == 7
    assert r.last_decision == "watching: 0 calls per arm, no metric significantly worse"
    assert r.next_step_at is not None
    assert "rollout #1 of production (running): bbbbbbbbbbbb 10%, aaaaaaaaaaaa 90% — step 1 of 3" in \
        render_text(data.timeline(engine, REPO, PATH))


def test_the_repository_page_shows_the_blessed_baselines_of_revalidation(tmp_path):
    engine = _engine(tmp_path)
    save_baseline(engine, REPO, Baseline(sha="d" * 40), "erin", "first run (schedule)")
    save_baseline(engine, REPO, Baseline(sha="e" * 40), "erin", "blessed after the model upgrade")
    save_baseline(engine, REPO, Baseline(sha="f" * 40), "gina", "first run (schedule)", label="production")
    checks = data.repo_view(engine, REPO).revalidation
    assert [(b.ref, b.sha, b.actor, b.why) for b in checks.baselines] == [
        ("default branch", "e" * 40, "erin", "blessed after the model upgrade"),
        ("label production", "f" * 40, "gina", "first run (schedule)")]


def test_a_rollout_the_guard_completes_ends_with_the_candidate_at_100_percent_and_why(tmp_path):
    engine = _engine(tmp_path)
    store.apply(engine, REPO, Plan("production", "0" * 40, (Move(PATH, None, CONTROL),), override=False), kind="deploy",
                actor="erin", via="cli", reason=None)
    _start(engine)
    _traffic(engine, CONTROL, "control", 300, 0.9)
    _traffic(engine, CANDIDATE, "candidate", 300, 0.9)

    def complete(r, reason):
        return rollout.complete_locally(engine, r, reason)

    for minutes in (2, 4):
        [done] = rollout.tick(engine, now=utcnow() + timedelta(minutes=minutes), policy=POLICY, complete=complete)
        assert done.action.value == "advance"
    t = data.timeline(engine, REPO, PATH)
    last = [e for e in t.events if e.kind in (EventKind.DEPLOY, EventKind.ROLLOUT)][-1]
    assert last.kind is EventKind.DEPLOY and last.title == f"{CANDIDATE[:12]} reached 100% of production (the rollout completed)"
    assert any(d.startswith("rollout #1 completed: no metric significantly worse after 300 calls per arm") for d in last.details)
    assert [x.label for x in t.labels] == ["production"] and t.labels[0].version == CANDIDATE[:12] and t.rollouts == ()
