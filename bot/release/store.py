"""The release half's storage: versions, label pointers, deployments with their moves, repo tokens,
blob contents. Every label move happens here, in one transaction with its audit rows."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.core.release import Move, PastDeployment, Plan, Refusal, ReleaseError, ReviewFacts, UNREVIEWED, short
from bot.release.models import BlobContent, CommitVariants, Deployment, LabelMove, LabelPointer, PromptVersion, RepoToken
from bot.service.db import utcnow

TOKEN_PREFIX = "prt_"
SCOPES = ("read", "write")


@dataclass(frozen=True)
class NewVersion:
    repo: str
    path: str
    version: str
    commit_sha: str
    author: str | None
    committed_at: datetime | None
    review: ReviewFacts
    scores: dict


def record_versions(engine: Engine, versions: list[NewVersion]) -> int:
    """Store versions not stored yet (a redelivered push records nothing twice); how many were new."""
    added = 0
    with Session(engine) as session, session.begin():
        for v in versions:
            exists = session.scalar(select(PromptVersion.id).where(
                PromptVersion.repo == v.repo, PromptVersion.path == v.path, PromptVersion.commit_sha == v.commit_sha))
            if exists is not None:
                continue
            session.add(PromptVersion(
                repo=v.repo, path=v.path, version=v.version, commit_sha=v.commit_sha, author=v.author,
                committed_at=v.committed_at, pr=v.review.pr, pr_head_sha=v.review.head_sha, evals=v.review.evals,
                approval=v.review.approval, scores=v.scores))
            added += 1
    return added


def review_of(engine: Engine, repo: str, path: str, version: str) -> ReviewFacts:
    """The review a version came through: the latest reviewed appearance of that content at that path."""
    with Session(engine) as session:
        row = session.scalars(
            select(PromptVersion)
            .where(PromptVersion.repo == repo, PromptVersion.version == version, PromptVersion.path == path)
            .order_by(PromptVersion.pr.is_(None), PromptVersion.id.desc())
            .limit(1)
        ).first()
    if row is None or row.pr is None:
        return UNREVIEWED
    return ReviewFacts(row.pr, row.pr_head_sha, row.evals, row.approval)


def versions_of(engine: Engine, repo: str, path: str | None = None) -> list[PromptVersion]:
    with Session(engine) as session:
        q = select(PromptVersion).where(PromptVersion.repo == repo)
        if path:
            q = q.where(PromptVersion.path == path)
        return list(session.scalars(q.order_by(PromptVersion.id)))


def pointers(engine: Engine, repo: str, label: str | None = None) -> list[LabelPointer]:
    with Session(engine) as session:
        q = select(LabelPointer).where(LabelPointer.repo == repo)
        if label is not None:
            q = q.where(LabelPointer.label == label)
        return list(session.scalars(q.order_by(LabelPointer.label, LabelPointer.path)))


def label_names(engine: Engine, repo: str) -> list[str]:
    with Session(engine) as session:
        return sorted(set(session.scalars(select(LabelPointer.label).where(LabelPointer.repo == repo))))


def apply(engine: Engine, repo: str, plan: Plan, *, kind: str, actor: str, via: str, reason: str | None,
          pr: int | None = None, reverts: int | None = None) -> Deployment:
    """Move the pointers as planned — only if they still are where the plan found them — and write the
    deployment and one move row per pointer, all in one transaction."""
    with Session(engine, expire_on_commit=False) as session, session.begin():
        current = {p.path: p for p in session.scalars(
            select(LabelPointer).where(LabelPointer.repo == repo, LabelPointer.label == plan.label))}
        stale = [m.path for m in plan.moves if (current[m.path].version if m.path in current else None) != m.from_version]
        if stale:
            raise ReleaseError(Refusal.NOTHING_TO_MOVE, f"{plan.label} moved meanwhile ({', '.join(stale)}); try again")
        d = Deployment(repo=repo, label=plan.label, commit_sha=plan.commit, kind=kind, actor=actor, via=via,
                       reason=reason, override=plan.override, blocked=list(plan.blocked), reverts=reverts, pr=pr)
        session.add(d)
        session.flush()
        now = utcnow()
        for m in plan.moves:
            session.add(LabelMove(deployment_id=d.id, repo=repo, label=plan.label, path=m.path,
                                  from_version=m.from_version, to_version=m.to_version, created_at=now))
            if m.to_version is None:
                session.delete(current[m.path])
            elif m.path in current:
                current[m.path].version, current[m.path].deployment_id, current[m.path].updated_at = m.to_version, d.id, now
            else:
                session.add(LabelPointer(repo=repo, label=plan.label, path=m.path, version=m.to_version,
                                         deployment_id=d.id, updated_at=now))
        if reverts is not None:
            session.execute(update(Deployment).where(Deployment.id == reverts).values(rolled_back_by=d.id))
        return d


def labels_deployed_from(engine: Engine, repo: str, pr: int) -> set[str]:
    """The labels a deployment moved to a version merged by `pr` (or that was asked for from `pr`)."""
    with Session(engine) as session:
        versions = select(PromptVersion.version).where(PromptVersion.repo == repo, PromptVersion.pr == pr)
        moved = select(LabelMove.label).where(LabelMove.repo == repo, LabelMove.to_version.in_(versions))
        asked = select(Deployment.label).where(Deployment.repo == repo, Deployment.pr == pr, Deployment.kind == "deploy")
        return set(session.scalars(moved)) | set(session.scalars(asked))


def pr_heads(engine: Engine, repo: str, prs: list[int]) -> dict[int, str]:
    """The reviewed head commit of each merged PR that brought a version (its check runs live there)."""
    with Session(engine) as session:
        rows = session.execute(select(PromptVersion.pr, PromptVersion.pr_head_sha).where(
            PromptVersion.repo == repo, PromptVersion.pr.in_(prs), PromptVersion.pr_head_sha.is_not(None)))
        return {pr: str(sha) for pr, sha in rows if pr is not None}


def set_github_deployment(engine: Engine, deployment_id: int, github_id: int) -> None:
    with Session(engine) as session, session.begin():
        session.execute(update(Deployment).where(Deployment.id == deployment_id).values(github_deployment_id=github_id))


def history(engine: Engine, repo: str, label: str | None = None) -> list[tuple[Deployment, list[LabelMove]]]:
    with Session(engine) as session:
        q = select(Deployment).where(Deployment.repo == repo)
        if label is not None:
            q = q.where(Deployment.label == label)
        deployments = list(session.scalars(q.order_by(Deployment.id)))
        moves: dict[int, list[LabelMove]] = {}
        if deployments:
            for m in session.scalars(select(LabelMove).where(LabelMove.deployment_id.in_([d.id for d in deployments]))
                                     .order_by(LabelMove.id)):
                moves.setdefault(m.deployment_id, []).append(m)
    return [(d, moves.get(d.id, [])) for d in deployments]


def past_deployments(engine: Engine, repo: str, label: str) -> list[PastDeployment]:
    return [
        PastDeployment(d.id, d.label, d.commit_sha, tuple(Move(m.path, m.from_version, m.to_version) for m in moves),
                       rolled_back=d.rolled_back_by is not None, is_rollback=d.kind == "rollback")
        for d, moves in history(engine, repo, label)
    ]


def manifest_stamp(engine: Engine, repo: str, label: str) -> int | None:
    """The latest deployment of the label: a manifest built at this stamp is still current."""
    with Session(engine) as session:
        return session.scalar(select(func.max(Deployment.id)).where(Deployment.repo == repo, Deployment.label == label))


def freshness(engine: Engine) -> tuple[int | None, int]:
    """(latest deployment id, revoked tokens): when neither changed, no manifest and no token changed.
    Both are cheap on an index or a small table, so the manifest's caches can re-read them every second."""
    with Session(engine) as session:
        latest = session.scalar(select(func.max(Deployment.id)))
        revoked = session.scalar(select(func.count()).select_from(RepoToken).where(RepoToken.revoked_at.is_not(None)))
    return latest, int(revoked or 0)


def deployment(engine: Engine, deployment_id: int) -> Deployment | None:
    with Session(engine) as session:
        return session.get(Deployment, deployment_id)


# --- blob contents ------------------------------------------------------------------------------

def blobs(engine: Engine, repo: str, shas: list[str]) -> dict[str, bytes]:
    with Session(engine) as session:
        return {b.sha: b.content for b in session.scalars(
            select(BlobContent).where(BlobContent.repo == repo, BlobContent.sha.in_(shas)))}


def _keep_once(engine: Engine, row: BlobContent | CommitVariants, key: tuple[str, str]) -> None:
    """Store an immutable row unless it is there: a second writer of the same key has nothing to add."""
    try:
        with Session(engine) as session, session.begin():
            if session.get(type(row), key) is None:
                session.add(row)
    except IntegrityError:
        pass  # another process stored the same row first


def store_blob(engine: Engine, repo: str, sha: str, content: bytes) -> None:
    _keep_once(engine, BlobContent(repo=repo, sha=sha, content=content), (repo, sha))


def store_variants(engine: Engine, repo: str, commit: str, data: bytes) -> None:
    """A commit's variant groups (they never change: a commit's suites are fixed)."""
    _keep_once(engine, CommitVariants(repo=repo, commit=commit, groups=data), (repo, commit))


def variants_at(engine: Engine, repo: str, commit: str | None) -> bytes | None:
    if commit is None:
        return None
    with Session(engine) as session:
        row = session.get(CommitVariants, (repo, commit))
        return row.groups if row is not None else None


# --- repo tokens ---------------------------------------------------------------------------------

def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(engine: Engine, repo: str, scope: str, created_by: str) -> tuple[RepoToken, str]:
    """A new token (its secret is returned here only; the database keeps its SHA-256)."""
    if scope not in SCOPES:
        raise ValueError(f"scope must be one of {', '.join(SCOPES)}")
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    with Session(engine, expire_on_commit=False) as session, session.begin():
        row = RepoToken(repo=repo, scope=scope, token_hash=token_hash(secret), hint=secret[:10], created_by=created_by)
        session.add(row)
    return row, secret


def token_for(engine: Engine, secret: str) -> RepoToken | None:
    """The live token with this secret, or None (unknown or revoked)."""
    if not secret.startswith(TOKEN_PREFIX):
        return None
    with Session(engine) as session:
        row = session.scalar(select(RepoToken).where(RepoToken.token_hash == token_hash(secret)))
    return row if row is not None and row.revoked_at is None else None


def tokens(engine: Engine, repo: str) -> list[RepoToken]:
    with Session(engine) as session:
        return list(session.scalars(select(RepoToken).where(RepoToken.repo == repo).order_by(RepoToken.id)))


def revoke_token(engine: Engine, repo: str, token_id: int, by: str) -> RepoToken | None:
    with Session(engine, expire_on_commit=False) as session, session.begin():
        row = session.get(RepoToken, token_id)
        if row is None or row.repo != repo:
            return None
        if row.revoked_at is None:
            row.revoked_at, row.revoked_by = utcnow(), by
        return row


def version_name(version: str | None) -> str | None:
    return short(version)
