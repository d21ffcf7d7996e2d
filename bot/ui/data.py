"""Reads what storage knows about a repository's prompts — versions, reviews, deployments, label
pointers — into the typed history of bot.ui.timeline. The pages and the JSON API share it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, defer

from bot.core import snapshot
from bot.core.release import Via, short
from bot.core.result import ReviewResult
from bot.release.models import Deployment, LabelMove, LabelPointer, PromptVersion
from bot.release.rollout import ACTIVE
from bot.release.tables import Rollout
from bot.revalidate.jobs import BASELINE_ACTION
from bot.revalidate.triggers import KIND as REVALIDATE_KIND
from bot.service.db import AuditEntry, Job, ReviewRecord
from bot.ui.metrics import MetricsSource, NoMetrics
from bot.ui.timeline import Event, EventKind, LabelState, RolloutState, Timeline, VersionScore, with_shifts

MAX_REVIEWS = 200  # newest reviews of a repository read for one page
MAX_DEPLOYMENTS = 500  # newest deployments of a prompt on its page
MAX_ROLLOUTS = 200  # newest rollouts of a repository looked at for one prompt
RECENT_RUNS = 5  # re-validation runs on the repository page
ROLLOUT_KINDS = ("rollout", "rollout-step", "rollout-pause", "rollout-resume", "rollout-abort")
CHART_BUCKETS = 360
METRICS_WINDOW = timedelta(days=365)


@dataclass(frozen=True)
class PromptRow:
    path: str
    version: str | None
    labels: tuple[tuple[str, str], ...]  # (label, version)
    last_pr: int | None
    last_conclusion: str | None


@dataclass(frozen=True)
class DeploymentRow:
    id: int
    label: str
    kind: str
    actor: str
    via: str
    at: datetime
    reason: str | None
    override: bool
    moves: tuple[tuple[str, str | None, str | None], ...]  # (path, from, to)


@dataclass(frozen=True)
class OpenRollout:
    id: int
    label: str
    state: str  # running | paused
    percent: float  # the candidate arm's share
    steps: tuple[float, ...]
    step: int  # 1-based
    moves: tuple[tuple[str, str | None, str | None], ...]  # (path, control, candidate)
    pr: int | None
    started_at: datetime
    next_step_at: datetime | None
    last_decision: str | None


@dataclass(frozen=True)
class BaselineRow:
    ref: str  # "default branch" or "label NAME"
    sha: str
    actor: str
    why: str
    at: datetime


@dataclass(frozen=True)
class RevalidationRun:
    trigger: str
    state: str  # queued | running | done | dead …
    at: datetime
    error: str | None


@dataclass(frozen=True)
class Revalidation:
    baselines: tuple[BaselineRow, ...]
    runs: tuple[RevalidationRun, ...]


@dataclass(frozen=True)
class RepoView:
    repo: str
    prompts: tuple[PromptRow, ...]
    deployments: tuple[DeploymentRow, ...]
    rollouts: tuple[OpenRollout, ...] = ()
    revalidation: Revalidation = Revalidation((), ())


def _reviews(session: Session, repo: str, path: str | None = None) -> list[ReviewRecord]:
    """Newest first, without their snapshots (a whole review result each: read only where one is shown)."""
    q = select(ReviewRecord).where(ReviewRecord.repo == repo).options(defer(ReviewRecord.snapshot))
    rows = list(session.scalars(q.order_by(ReviewRecord.id.desc()).limit(MAX_REVIEWS)))
    return [r for r in rows if path in (r.prompt_hashes or {})] if path is not None else rows


def _step_due(r: Rollout) -> datetime | None:
    return r.step_started_at + timedelta(seconds=r.interval_seconds) if r.state == "running" else None


def open_rollouts(session: Session, repo: str) -> list[Rollout]:
    return list(session.scalars(select(Rollout).where(Rollout.repo == repo, Rollout.state.in_(ACTIVE))
                                .order_by(Rollout.label, Rollout.id)))


def revalidation(session: Session, repo: str) -> Revalidation:
    """What re-validation knows: the blessed baselines (newest per ref) and the last runs of the job."""
    baselines: dict[str, BaselineRow] = {}
    for a in session.scalars(select(AuditEntry).where(AuditEntry.repo == repo, AuditEntry.action == BASELINE_ACTION)
                             .order_by(AuditEntry.id.desc()).limit(MAX_REVIEWS)):
        label = (a.details or {}).get("label")
        ref = f"label {label}" if isinstance(label, str) else "default branch"
        baselines.setdefault(ref, BaselineRow(ref, a.head_sha, a.actor, str((a.details or {}).get("why") or ""), a.created_at))
    runs = tuple(RevalidationRun(str((j.payload or {}).get("trigger") or "schedule"), j.state,
                                 j.finished_at or j.started_at or j.created_at, j.last_error)
                 for j in session.scalars(select(Job).where(Job.repo == repo, Job.kind == REVALIDATE_KIND)
                                          .order_by(Job.id.desc()).limit(RECENT_RUNS)))
    return Revalidation(tuple(sorted(baselines.values(), key=lambda b: b.ref)), runs)


def deployment_rows(engine: Engine, repo: str, limit: int = 20) -> tuple[DeploymentRow, ...]:
    with Session(engine) as session:
        ds = list(session.scalars(select(Deployment).where(Deployment.repo == repo).order_by(Deployment.id.desc()).limit(limit)))
        moves: dict[int, list[LabelMove]] = {}
        if ds:
            for m in session.scalars(select(LabelMove).where(LabelMove.deployment_id.in_([d.id for d in ds])).order_by(LabelMove.id)):
                moves.setdefault(m.deployment_id, []).append(m)
    return tuple(DeploymentRow(d.id, d.label, d.kind, d.actor, d.via, d.created_at, d.reason, d.override,
                               tuple((m.path, short(m.from_version), short(m.to_version)) for m in moves.get(d.id, [])))
                 for d in ds)


def repo_view(engine: Engine, repo: str) -> RepoView:
    with Session(engine) as session:
        latest = dict(session.execute(select(PromptVersion.path, PromptVersion.version)
                                      .where(PromptVersion.repo == repo).order_by(PromptVersion.id)).all())
        reviews = _reviews(session, repo)
        pointers = list(session.execute(select(LabelPointer.path, LabelPointer.label, LabelPointer.version)
                                        .where(LabelPointer.repo == repo).order_by(LabelPointer.label, LabelPointer.path)))
        rollouts = tuple(OpenRollout(r.id, r.label, r.state, r.percent, tuple(r.steps), sum(1 for x in r.steps if x <= r.percent),
                                     tuple((m["path"], short(m["from"]), short(m["to"])) for m in r.moves), r.pr, r.started_at,
                                     _step_due(r), r.last_decision)
                         for r in open_rollouts(session, repo))
        checks = revalidation(session, repo)
    labels: dict[str, list[tuple[str, str]]] = {}
    for path, label, version in pointers:
        labels.setdefault(path, []).append((label, short(version) or ""))
    last: dict[str, ReviewRecord] = {}
    for r in reviews:  # newest first
        for path in r.prompt_hashes or {}:
            last.setdefault(path, r)
    paths = sorted(set(latest) | set(labels) | set(last))
    rows = tuple(PromptRow(p, short(latest.get(p)), tuple(labels.get(p, ())), last[p].pr if p in last else None,
                           last[p].conclusion if p in last else None) for p in paths)
    return RepoView(repo, rows, deployment_rows(engine, repo), rollouts, checks)


def _changes(result: ReviewResult | None, path: str) -> tuple[str, ...]:
    if result is None:
        return ()
    for p in result.prompts:
        if p.path == path and p.semdiff is not None:
            return tuple(c.summary for c in p.semdiff.changes)
    return ()


def timeline(engine: Engine, repo: str, path: str, metrics: MetricsSource | None = None,
             now: datetime | None = None) -> Timeline:
    with Session(engine) as session:
        versions = list(session.scalars(select(PromptVersion).where(PromptVersion.repo == repo, PromptVersion.path == path)
                                        .order_by(PromptVersion.id)))
        reviews = _reviews(session, repo, path=path)
        by_pr: dict[int, ReviewRecord] = {}
        for r in reviews:  # newest first: the final review of each PR
            by_pr.setdefault(r.pr, r)
        wanted = [by_pr[v.pr].id for v in versions if v.pr is not None and v.pr in by_pr]
        results = {rid: snapshot.load(blob) for rid, blob in session.execute(  # only the reviews a version shows
            select(ReviewRecord.id, ReviewRecord.snapshot).where(ReviewRecord.id.in_(wanted)))} if wanted else {}
        moved = list(session.execute(select(Deployment, LabelMove).join(LabelMove, LabelMove.deployment_id == Deployment.id)
                                     .where(LabelMove.repo == repo, LabelMove.path == path)
                                     .order_by(Deployment.id.desc()).limit(MAX_DEPLOYMENTS)))
        rollouts = [r for r in session.scalars(select(Rollout).where(Rollout.repo == repo).order_by(Rollout.id.desc())
                                               .limit(MAX_ROLLOUTS)) if any(m["path"] == path for m in r.moves)]
        steps = list(session.scalars(select(Deployment).where(  # the moves of those rollouts, from the first one's start
            Deployment.repo == repo, Deployment.kind.in_(ROLLOUT_KINDS), Deployment.label.in_({r.label for r in rollouts}),
            Deployment.created_at >= min(r.started_at for r in rollouts)).order_by(Deployment.id))) if rollouts else []
        pointers = list(session.execute(select(LabelPointer.label, LabelPointer.version)
                                        .where(LabelPointer.repo == repo, LabelPointer.path == path)
                                        .order_by(LabelPointer.label)))
    events: list[Event] = []
    scores: list[VersionScore] = []
    seen: set[str] = set()
    for v in versions:
        if v.version in seen and v.pr is None:
            continue
        seen.add(v.version)
        review = by_pr.get(v.pr) if v.pr is not None else None
        events.append(Event(at=v.committed_at or v.recorded_at, kind=EventKind.VERSION,
                            title=f"version {short(v.version)}" + (f" merged from #{v.pr}" if v.pr else f" pushed at {v.commit_sha[:7]}"),
                            version=short(v.version), pr=v.pr, commit=v.commit_sha, verdict=v.evals or ("unreviewed" if v.pr is None else None),
                            details=_changes(results.get(review.id) if review else None, path)))
        for suite, rates in sorted((v.scores or {}).items()):
            head = rates[1] if isinstance(rates, list) and len(rates) == 2 else None
            scores.append(VersionScore(version=short(v.version) or "", suite=suite, pass_rate=head, pr=v.pr))
    previous_models: tuple[str, ...] | None = None
    for r in sorted(reviews, key=lambda r: r.id):
        models = tuple(r.models or ())
        if previous_models is not None and models and models != previous_models:
            events.append(Event(at=r.created_at, kind=EventKind.MODEL, pr=r.pr,
                                title=f"models {', '.join(previous_models) or 'none'} → {', '.join(models)} (#{r.pr})"))
        if models:
            previous_models = models
        rates = "; ".join(f"{s}: {_pct(b)} → {_pct(h)}" for s, (b, h) in sorted((r.pass_rates or {}).items()))
        events.append(Event(at=r.created_at, kind=EventKind.REVIEW, pr=r.pr, verdict=r.conclusion,
                            title=f"review of #{r.pr} at {r.head_sha[:7]}" + (f" — {rates}" if rates else ""),
                            version=None))
    for d, m in reversed(moved):
        kind = EventKind.ROLLBACK if d.kind == "rollback" else EventKind.DEPLOY
        to = short(m.to_version) or "nothing"
        if kind is EventKind.ROLLBACK:
            title = f"{d.label} rolled back to {to}"
        elif d.via == Via.GUARD.value:
            title = f"{to} reached 100% of {d.label} (the rollout completed)"
        else:
            title = f"{d.label} → {to}"
        why = [f"by @{d.actor} via {d.via}", f"from {short(m.from_version) or 'nothing'}"]
        if d.override:
            why.append(f"override: {d.reason}")
        elif d.reason:
            why.append(d.reason)
        events.append(Event(at=d.created_at, kind=kind, title=title, version=short(m.to_version), pr=d.pr,
                            label=d.label, details=tuple(why)))
    events.extend(rollout_events(rollouts, steps, path))
    labels = tuple(LabelState(label=label, version=short(version) or "") for label, version in pointers)
    now = now or datetime.now(timezone.utc)
    series = tuple((metrics or NoMetrics()).series(repo, path, now - METRICS_WINDOW, now, CHART_BUCKETS))
    events.sort(key=lambda e: (e.at is None, e.at or datetime(1970, 1, 1, tzinfo=timezone.utc)))
    open_ = tuple(_rollout_state(r, path) for r in sorted(rollouts, key=lambda r: r.id) if r.state in ACTIVE)
    return with_shifts(Timeline(repo=repo, path=path, labels=labels, rollouts=open_, events=tuple(events),
                                scores=tuple(scores), series=series))


def _rollout_state(r: Rollout, path: str) -> RolloutState:
    move = next(m for m in r.moves if m["path"] == path)
    return RolloutState(id=r.id, label=r.label, state=r.state, percent=r.percent, steps=tuple(r.steps),
                        control=short(move["from"]) or "", candidate=short(move["to"]) or "", pr=r.pr,
                        started_at=r.started_at, next_step_at=_step_due(r), last_decision=r.last_decision)


def _aware(at: datetime) -> datetime:
    return at if at.tzinfo is not None else at.replace(tzinfo=timezone.utc)


def rollout_events(rollouts: list[Rollout], deployments: list[Deployment], path: str) -> list[Event]:
    """The audited moves of the prompt's rollouts (start, steps, pause, resume, abort) as events. A rollout
    move belongs to the latest rollout of its label and commit started at or before it: a label has one
    active rollout at a time. Its percentage is counted from the rollout's steps."""
    out = []
    percent: dict[int, int] = {}  # rollout id → index into its steps
    by_label: dict[str, list[Rollout]] = {}
    for r in sorted(rollouts, key=lambda r: _aware(r.started_at)):
        by_label.setdefault(r.label, []).append(r)
    for d in deployments:
        found = next((r for r in reversed(by_label.get(d.label, [])) if r.commit_sha == d.commit_sha
                      and _aware(r.started_at) <= _aware(d.created_at)), None)
        if found is None:
            continue
        r = found
        move = next(m for m in r.moves if m["path"] == path)
        control, candidate = short(move["from"]) or "nothing", short(move["to"]) or "nothing"
        steps = list(r.steps) or [r.percent]
        if d.kind == "rollout":
            percent[r.id] = 0
        elif d.kind == "rollout-step":
            percent[r.id] = min(percent.get(r.id, 0) + 1, len(steps) - 1)
        now = steps[percent.get(r.id, 0)]
        title = {
            "rollout": f"{candidate} reached {now:g}% of {r.label} (rollout #{r.id} started; {control} keeps {100 - now:g}%)",
            "rollout-step": f"{candidate} reached {now:g}% of {r.label} (rollout #{r.id})",
            "rollout-pause": f"rollout #{r.id} of {r.label} paused at {now:g}%",
            "rollout-resume": f"rollout #{r.id} of {r.label} resumed at {now:g}%",
            "rollout-abort": f"rollout #{r.id} of {r.label} aborted at {now:g}%: {control} serves all of {r.label} again",
        }[d.kind]
        details = (f"by @{d.actor} via {d.via}", *((d.reason,) if d.reason else ()))
        out.append(Event(at=d.created_at, kind=EventKind.ROLLOUT, title=title, pr=d.pr, label=r.label,
                         version=candidate if d.kind in ("rollout", "rollout-step") else None, details=details))
    return out


def _pct(v) -> str:
    return "—" if v is None else f"{float(v) * 100:.0f}%"


def review(engine: Engine, repo: str, pr: int) -> tuple[ReviewRecord, ReviewResult | None] | None:
    """The newest review of a PR with its full result (every case, every output)."""
    with Session(engine) as session:
        newest = session.scalar(select(ReviewRecord).where(ReviewRecord.repo == repo, ReviewRecord.pr == pr)
                                .order_by(ReviewRecord.id.desc()).limit(1))
    if newest is None:
        return None
    return newest, snapshot.load(newest.snapshot)
