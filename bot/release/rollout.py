"""Guarded percentage rollouts: a label split between its current version (control) and a new one
(candidate) of some prompts. Started by `deploy --percent`, advanced on a schedule by the guard, aborted by
it on a significant regression, paused/resumed/aborted by hand. Every move is a row in `deployments`
(kind rollout, rollout-step, rollout-pause, rollout-resume, rollout-abort; the final move of the label
pointer is an ordinary deploy via guard), so the audit and the manifest's cache stamp see each one; each
is mirrored to GitHub's Deployments API too (`github_status` says with which state)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from bot.core.guard import Action, ArmStats, Direction, GuardDecision, GuardPolicy, Moments, evaluate, next_percent
from bot.core.release import Move, Plan, ReleaseError, short
from bot.release import store, telemetry
from bot.release.models import Deployment
from bot.release.tables import Rollout
from bot.service.db import utcnow

log = logging.getLogger("prompt_review.rollout")
ACTIVE = ("running", "paused")
CONTROL, CANDIDATE = "control", "candidate"
DEFAULT_INTERVAL_SECONDS = 3600.0


class RolloutError(Exception):
    """A rollout request that cannot be done (status: the HTTP status the API answers)."""

    def __init__(self, status: int, message: str):
        self.status, self.message = status, message
        super().__init__(message)


@dataclass(frozen=True)
class Split:
    """What the manifest says about one prompt under a rollout."""

    rollout_id: int
    control: str
    candidate: str
    percent: float
    state: str
    commit: str  # where the candidate comes from


def active(engine: Engine, repo: str, label: str) -> Rollout | None:
    with Session(engine) as session:
        return session.scalar(select(Rollout).where(Rollout.repo == repo, Rollout.label == label,
                                                    Rollout.state.in_(ACTIVE)).order_by(Rollout.id.desc()).limit(1))


def latest(engine: Engine, repo: str, label: str) -> Rollout | None:
    with Session(engine) as session:
        return session.scalar(select(Rollout).where(Rollout.repo == repo, Rollout.label == label)
                              .order_by(Rollout.id.desc()).limit(1))


def splits(engine: Engine, repo: str, label: str) -> dict[str, Split]:
    r = active(engine, repo, label)
    if r is None:
        return {}
    return {m["path"]: Split(r.id, m["from"], m["to"], r.percent, r.state, r.commit_sha) for m in r.moves}


def _audit(session: Session, r: Rollout, kind: str, actor: str, via: str, reason: str) -> Deployment:
    d = Deployment(repo=r.repo, label=r.label, commit_sha=r.commit_sha, kind=kind, actor=actor, via=via, reason=reason,
                   override=False, blocked=[], pr=r.pr)
    session.add(d)
    session.flush()
    return d


def _moves_text(r: Rollout) -> str:
    return ", ".join(f"{m['path']} {short(m['from'])}→{short(m['to'])}" for m in r.moves)


def start(engine: Engine, repo: str, plan: Plan, *, percent: float, steps: tuple[float, ...], interval: float,
          actor: str, via: str, reason: str | None, pr: int | None,
          directions: Mapping[str, Direction] | None = None) -> tuple[Rollout, Deployment]:
    """Begin a rollout of the plan's moves at `percent`; refused when the label already has one running.
    `directions`: the repo config's `rollout.scores` (kept with the rollout, so the guard judges it by the
    rules it started under)."""
    new = [m for m in plan.moves if m.from_version is None]
    if new:
        raise RolloutError(409, f"{plan.label} has no version of {', '.join(m.path for m in new)} yet: a rollout splits "
                                "traffic with the current version; deploy it without --percent first")
    if not 0 < percent < 100:
        raise RolloutError(422, f"--percent must be between 0 and 100 (exclusive), not {percent:g}")
    steps = tuple(s for s in steps if s > percent) or (100.0,)
    with Session(engine, expire_on_commit=False) as session, session.begin():
        telemetry.lock_for_write(session)
        running = session.scalar(select(Rollout.id).where(Rollout.repo == repo, Rollout.label == plan.label,
                                                          Rollout.state.in_(ACTIVE)))
        if running is not None:
            raise RolloutError(409, f"rollout #{running} of {plan.label} is still active: abort it first "
                                    f"(prompt-review rollout abort {plan.label} --repo {repo})")
        now = utcnow()
        r = Rollout(repo=repo, label=plan.label, commit_sha=plan.commit, state="running", percent=float(percent),
                    steps=[float(percent), *steps], interval_seconds=float(interval), actor=actor, pr=pr, p_values={},
                    directions={name: Direction(d).value for name, d in (directions or {}).items()},
                    moves=[{"path": m.path, "from": m.from_version, "to": m.to_version} for m in plan.moves],
                    started_at=now, step_started_at=now, updated_at=now)
        session.add(r)
        session.flush()
        steps_text = ", ".join(f"{s:g}%" for s in r.steps)
        d = _audit(session, r, "rollout", actor, via,
                   f"rollout #{r.id} started at {percent:g}% (steps {steps_text}, every {_duration(interval)}): "
                   f"{_moves_text(r)}" + (f". {reason}" if reason else ""))
    return r, d


def set_state(engine: Engine, repo: str, label: str, verb: str, actor: str, via: str, reason: str | None = None) -> tuple[Rollout, Deployment]:
    """pause | resume | abort, by hand."""
    with Session(engine, expire_on_commit=False) as session, session.begin():
        telemetry.lock_for_write(session)
        r = session.scalar(select(Rollout).where(Rollout.repo == repo, Rollout.label == label, Rollout.state.in_(ACTIVE))
                           .order_by(Rollout.id.desc()).limit(1).with_for_update())
        if r is None:
            raise RolloutError(404, f"{label} has no active rollout in {repo}")
        now = utcnow()
        if verb == "pause":
            if r.state == "paused":
                raise RolloutError(409, f"rollout #{r.id} is already paused")
            r.state = "paused"
        elif verb == "resume":
            if r.state == "running":
                raise RolloutError(409, f"rollout #{r.id} is not paused")
            r.state, r.step_started_at = "running", now  # the interval starts again
        elif verb == "abort":
            r.state, r.ended_at = "aborted", now
        else:
            raise RolloutError(422, f"unknown rollout action {verb!r}")
        r.updated_at = now
        words = {"pause": f"paused at {r.percent:g}%", "resume": f"resumed at {r.percent:g}%",
                 "abort": f"aborted at {r.percent:g}%: {r.label} back to 100% of the current version"}[verb]
        d = _audit(session, r, f"rollout-{verb}", actor, via, f"rollout #{r.id} {words}" + (f". {reason}" if reason else ""))
    return r, d


def directions_of(r: Rollout) -> dict[str, Direction]:
    return {name: Direction(d) for name, d in (r.directions or {}).items()}


# what each move of a rollout says on GitHub's Deployments API (environment prompts/<label>): the rollout is
# under way while it splits traffic; a pause waits; the guard's abort is a failure of the candidate, an abort
# by hand takes it out of the environment; the final deploy (and any other) is a success
GITHUB_STATES = {"rollout": "in_progress", "rollout-step": "in_progress", "rollout-resume": "in_progress",
                 "rollout-pause": "pending"}


def github_status(d: Deployment, moved: int) -> tuple[str, str]:
    """(state, description) of the deployment status that mirrors `d`."""
    if d.kind == "rollout-abort":
        state = "failure" if d.via == "guard" else "inactive"
    else:
        state = GITHUB_STATES.get(d.kind, "success")
    if d.kind.startswith("rollout") and d.reason:
        return state, d.reason[:140]
    return state, f"{moved} prompt(s) moved"


def mirror_plan(r: Rollout, d: Deployment) -> Plan:
    """The versions a rollout move leaves the label's environment on: the candidate's while it rolls out,
    the control's after an abort."""
    if d.kind == "rollout-abort":
        return Plan(r.label, r.commit_sha, tuple(Move(m["path"], m["to"], m["from"]) for m in r.moves), override=False)
    return completion_plan(r)


def arms(engine: Engine, r: Rollout) -> tuple[ArmStats, ArmStats]:
    """Both arms' traffic since the rollout started, summed over its prompts (and models)."""
    control = [telemetry.arm_stats(engine, r.repo, r.label, m["path"], m["from"], CONTROL, r.started_at) for m in r.moves]
    candidate = [telemetry.arm_stats(engine, r.repo, r.label, m["path"], m["to"], CANDIDATE, r.started_at) for m in r.moves]
    return _total(control), _total(candidate)


def _total(stats: list[ArmStats]) -> ArmStats:
    scores: dict[str, Moments] = {}
    latency = Moments()
    for s in stats:
        latency = latency + s.latency
        for name, m in s.scores.items():
            scores[name] = scores.get(name, Moments()) + m
    return ArmStats(sum(s.calls for s in stats), sum(s.errors for s in stats), latency, scores)


@dataclass(frozen=True)
class TickResult:
    rollout_id: int
    action: Action
    reason: str
    deployment_id: int | None = None


def guard_one(engine: Engine, r: Rollout, now: datetime, policy: GuardPolicy) -> tuple[GuardDecision, float | None]:
    control, candidate = arms(engine, r)
    due = _aware(now) - _aware(r.step_started_at) >= timedelta(seconds=r.interval_seconds)
    decision = evaluate(control, candidate, policy, r.p_values, step_due=due, directions=directions_of(r))
    return decision, next_percent(r.steps, r.percent) if decision.action is Action.ADVANCE else None


Mirror = Callable[[Rollout, Deployment], None]


def tick(engine: Engine, now: datetime | None = None, policy: GuardPolicy = GuardPolicy(), notify=None,
         complete=None, mirror: Mirror | None = None) -> list[TickResult]:
    """One guard pass over every running rollout. `complete(rollout)` moves the label pointer when the last
    step is reached (a deploy via guard, returning its Deployment); `notify(rollout, text)` tells the PR;
    `mirror(rollout, deployment)` shows a step or an abort on GitHub."""
    now = now or utcnow()
    with Session(engine) as session:
        ids = list(session.scalars(select(Rollout.id).where(Rollout.state == "running")))
    results = []
    for rid in ids:
        try:
            results.append(_tick_one(engine, rid, now, policy, notify, complete, mirror))
        except Exception as exc:  # one broken rollout must not stop the guard watching the others
            log.warning("rollout #%s: guard pass failed: %s", rid, exc, exc_info=True)
    return results


def _tick_one(engine: Engine, rid: int, now: datetime, policy: GuardPolicy, notify, complete,
              mirror: Mirror | None = None) -> TickResult:
    with Session(engine, expire_on_commit=False) as session:
        r = session.get(Rollout, rid)
    if r is None or r.state != "running":
        return TickResult(rid, Action.WAIT, "no longer running")
    decision, target = guard_one(engine, r, now, policy)
    d: Deployment | None
    with Session(engine, expire_on_commit=False) as session, session.begin():
        telemetry.lock_for_write(session)
        row = session.scalar(select(Rollout).where(Rollout.id == rid).with_for_update())
        if row is None or row.state != "running" or row.percent != r.percent:
            return TickResult(rid, Action.WAIT, "changed meanwhile")
        row.p_values = {**(row.p_values or {}), **decision.p_values()}
        row.last_decision, row.updated_at = decision.reason, now
        if decision.action is Action.ABORT:
            row.state, row.ended_at = "aborted", now
            d = _audit(session, row, "rollout-abort", "prompt-review[bot]", "guard",
                       f"rollout #{row.id} aborted by the guard at {row.percent:g}%: {decision.reason}")
            result = TickResult(rid, Action.ABORT, decision.reason, d.id)
        elif decision.action is Action.ADVANCE and target is not None and target < 100:
            before, row.percent, row.step_started_at = row.percent, target, now
            d = _audit(session, row, "rollout-step", "prompt-review[bot]", "guard",
                       f"rollout #{row.id} advanced {before:g}% → {target:g}%: {decision.reason}")
            result = TickResult(rid, Action.ADVANCE, decision.reason, d.id)
        elif decision.action is Action.ADVANCE:
            row.state, row.percent, row.ended_at = "completed", 100.0, now
            d = None  # the final move is the deploy `complete` makes (mirrored there)
            result = TickResult(rid, Action.ADVANCE, decision.reason)
        else:
            return TickResult(rid, Action.WAIT, decision.reason)
    if d is not None and mirror is not None:
        mirror(r, d)
    if result.action is Action.ABORT and notify is not None:
        notify(r, f"The rollout of {_moves_text(r)} to `{r.label}` was **aborted** by prompt-review's guard at "
                  f"{r.percent:g}%: {decision.reason}. `{r.label}` serves the previous version to everyone again.")
    if result.action is Action.ADVANCE and target in (None, 100.0) and complete is not None:
        try:
            d2 = complete(r, f"rollout #{r.id} completed: {decision.reason}")
            result = TickResult(rid, Action.ADVANCE, decision.reason, d2.id if d2 is not None else None)
        except ReleaseError as exc:
            aborted = _reopen_as_aborted(engine, rid, f"the label moved meanwhile ({exc.message}); nothing more was moved")
            if aborted is not None and mirror is not None:
                mirror(r, aborted)
    return result


def _reopen_as_aborted(engine: Engine, rid: int, why: str) -> Deployment | None:
    with Session(engine, expire_on_commit=False) as session, session.begin():
        row = session.get(Rollout, rid)
        if row is None:
            return None
        row.state, row.last_decision = "aborted", why
        return _audit(session, row, "rollout-abort", "prompt-review[bot]", "guard", f"rollout #{row.id}: {why}")


def completion_plan(r: Rollout) -> Plan:
    return Plan(r.label, r.commit_sha, tuple(Move(m["path"], m["from"], m["to"]) for m in r.moves), override=False)


def complete_locally(engine: Engine, r: Rollout, reason: str) -> Deployment:
    """Move the label pointer to the candidate versions (without GitHub: the service mirrors when it can)."""
    return store.apply(engine, r.repo, completion_plan(r), kind="deploy", actor="prompt-review[bot]", via="guard",
                       reason=reason, pr=r.pr)


def status_json(engine: Engine, r: Rollout, policy: GuardPolicy = GuardPolicy()) -> dict:
    control, candidate = arms(engine, r)
    decision = evaluate(control, candidate, policy, r.p_values, step_due=False, directions=directions_of(r))
    due = _aware(r.step_started_at) + timedelta(seconds=r.interval_seconds)
    return {
        "id": r.id, "repo": r.repo, "label": r.label, "state": r.state, "percent": r.percent, "steps": r.steps,
        "interval_seconds": r.interval_seconds, "commit": r.commit_sha, "pr": r.pr, "actor": r.actor,
        "moves": [{"path": m["path"], "from": short(m["from"]), "to": short(m["to"])} for m in r.moves],
        "started_at": r.started_at.isoformat(), "next_step_at": due.isoformat() if r.state == "running" else None,
        "ended_at": r.ended_at.isoformat() if r.ended_at else None, "last_decision": r.last_decision,
        "arms": {CONTROL: {"calls": control.calls, "errors": control.errors},
                 CANDIDATE: {"calls": candidate.calls, "errors": candidate.errors}},
        "metrics": [{"name": m.name, "control": m.control, "candidate": m.candidate, "n_control": m.n_control,
                     "n_candidate": m.n_candidate, "p_value": m.p_value, "better": m.direction.value}
                    for m in decision.metrics],
    }


def _aware(t: datetime) -> datetime:
    return t if t.tzinfo is not None else t.replace(tzinfo=timezone.utc)


def _duration(seconds: float) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{seconds / size:g}{unit}"
    return f"{seconds:g}s"
