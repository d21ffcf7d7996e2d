"""Reads what storage knows about a repository's prompts — versions, reviews, deployments, label
pointers — into the typed history of bot.ui.timeline. The pages and the JSON API share it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from bot.core import snapshot
from bot.core.release import short
from bot.core.result import ReviewResult
from bot.release import store
from bot.release.models import Deployment, LabelMove, PromptVersion
from bot.service.db import ReviewRecord
from bot.ui.metrics import MetricsSource, NoMetrics
from bot.ui.timeline import Event, EventKind, LabelState, Timeline, VersionScore, with_shifts

MAX_REVIEWS = 200  # newest reviews of a repository read for one page
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
class RepoView:
    repo: str
    prompts: tuple[PromptRow, ...]
    deployments: tuple[DeploymentRow, ...]


def _reviews(session: Session, repo: str, pr: int | None = None) -> list[ReviewRecord]:
    q = select(ReviewRecord).where(ReviewRecord.repo == repo)
    if pr is not None:
        q = q.where(ReviewRecord.pr == pr)
    return list(session.scalars(q.order_by(ReviewRecord.id.desc()).limit(MAX_REVIEWS)))


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
        versions = list(session.scalars(select(PromptVersion).where(PromptVersion.repo == repo).order_by(PromptVersion.id)))
        reviews = _reviews(session, repo)
    latest: dict[str, str] = {}
    for v in versions:
        latest[v.path] = v.version
    labels: dict[str, list[tuple[str, str]]] = {}
    for p in store.pointers(engine, repo):
        labels.setdefault(p.path, []).append((p.label, short(p.version) or ""))
    last: dict[str, ReviewRecord] = {}
    for r in reviews:  # newest first
        for path in r.prompt_hashes or {}:
            last.setdefault(path, r)
    paths = sorted(set(latest) | set(labels) | set(last))
    rows = tuple(PromptRow(p, short(latest.get(p)), tuple(labels.get(p, ())), last[p].pr if p in last else None,
                           last[p].conclusion if p in last else None) for p in paths)
    return RepoView(repo, rows, deployment_rows(engine, repo))


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
        reviews = [r for r in _reviews(session, repo) if path in (r.prompt_hashes or {})]
    events: list[Event] = []
    scores: list[VersionScore] = []
    by_pr: dict[int, ReviewRecord] = {}
    for r in reviews:  # newest first: the final review of each PR
        by_pr.setdefault(r.pr, r)
    seen: set[str] = set()
    for v in versions:
        if v.version in seen and v.pr is None:
            continue
        seen.add(v.version)
        review = by_pr.get(v.pr) if v.pr is not None else None
        events.append(Event(at=v.committed_at or v.recorded_at, kind=EventKind.VERSION,
                            title=f"version {short(v.version)}" + (f" merged from #{v.pr}" if v.pr else f" pushed at {v.commit_sha[:7]}"),
                            version=short(v.version), pr=v.pr, commit=v.commit_sha, verdict=v.evals or ("unreviewed" if v.pr is None else None),
                            details=_changes(snapshot.load(review.snapshot) if review else None, path)))
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
    for d, moves in store.history(engine, repo):
        for m in moves:
            if m.path != path:
                continue
            kind = EventKind.ROLLBACK if d.kind == "rollback" else EventKind.DEPLOY
            to = short(m.to_version) or "nothing"
            title = (f"{d.label} rolled back to {to}" if kind is EventKind.ROLLBACK else f"{d.label} → {to}")
            why = [f"by @{d.actor} via {d.via}", f"from {short(m.from_version) or 'nothing'}"]
            if d.override:
                why.append(f"override: {d.reason}")
            elif d.reason:
                why.append(d.reason)
            events.append(Event(at=d.created_at, kind=kind, title=title, version=short(m.to_version), pr=d.pr,
                                label=d.label, details=tuple(why)))
    labels = tuple(LabelState(label=p.label, version=short(p.version) or "") for p in store.pointers(engine, repo)
                   if p.path == path)
    now = now or datetime.now(timezone.utc)
    series = tuple((metrics or NoMetrics()).series(repo, path, now - METRICS_WINDOW, now, CHART_BUCKETS))
    events.sort(key=lambda e: (e.at is None, e.at or datetime(1970, 1, 1, tzinfo=timezone.utc)))
    return with_shifts(Timeline(repo=repo, path=path, labels=labels, events=tuple(events), scores=tuple(scores),
                                series=series))


def _pct(v) -> str:
    return "—" if v is None else f"{float(v) * 100:.0f}%"


def review(engine: Engine, repo: str, pr: int) -> tuple[ReviewRecord, ReviewResult | None] | None:
    """The newest review of a PR with its full result (every case, every output)."""
    with Session(engine) as session:
        rows = _reviews(session, repo, pr)
    if not rows:
        return None
    return rows[0], snapshot.load(rows[0].snapshot)
