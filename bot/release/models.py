"""Tables of the release half (created by migration 0003). A version is immutable; a label pointer
only ever moves through a deployment, and every move is kept (label_moves) — nothing is overwritten."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, BigInteger, Boolean, Index, Integer, LargeBinary, String, Text, UniqueConstraint, event
from sqlalchemy.orm import Mapped, Session, mapped_column, object_session

from bot.service.db import Base, UTCDateTime, utcnow


class PromptVersion(Base):
    """A prompt file's content as committed on the default branch (one row per commit it appeared at)."""

    __tablename__ = "prompt_versions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    repo: Mapped[str] = mapped_column(String(300))
    path: Mapped[str] = mapped_column(String(1000))
    version: Mapped[str] = mapped_column(String(64))  # the git blob sha
    commit_sha: Mapped[str] = mapped_column(String(64))
    author: Mapped[str | None] = mapped_column(String(200), nullable=True)
    committed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    pr: Mapped[int | None] = mapped_column(Integer, nullable=True)
    pr_head_sha: Mapped[str | None] = mapped_column(String(64), nullable=True)
    evals: Mapped[str | None] = mapped_column(String(40), nullable=True)  # the PR's final evals conclusion
    approval: Mapped[str | None] = mapped_column(String(40), nullable=True)  # … and approval conclusion
    scores: Mapped[dict] = mapped_column(JSON, default=dict)  # suite → [base, head] pass rates
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    __table_args__ = (
        UniqueConstraint("repo", "path", "commit_sha", name="uq_prompt_versions_repo_path_commit"),
        Index("ix_prompt_versions_repo_version", "repo", "version"),
    )


class LabelPointer(Base):
    __tablename__ = "label_pointers"
    repo: Mapped[str] = mapped_column(String(300), primary_key=True)
    label: Mapped[str] = mapped_column(String(63), primary_key=True)
    path: Mapped[str] = mapped_column(String(1000), primary_key=True)
    version: Mapped[str] = mapped_column(String(64))
    deployment_id: Mapped[int] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Deployment(Base):
    """One audited move of a label (kind deploy or rollback), mirrored to GitHub's Deployments API."""

    __tablename__ = "deployments"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    repo: Mapped[str] = mapped_column(String(300))
    label: Mapped[str] = mapped_column(String(63))
    commit_sha: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(20))  # deploy | rollback
    actor: Mapped[str] = mapped_column(String(200))
    via: Mapped[str] = mapped_column(String(20))  # cli | api | comment | button | guard
    reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    override: Mapped[bool] = mapped_column(Boolean, default=False)
    blocked: Mapped[list] = mapped_column(JSON, default=list)  # what the override went past
    reverts: Mapped[int | None] = mapped_column(Integer, nullable=True)
    rolled_back_by: Mapped[int | None] = mapped_column(Integer, nullable=True)
    pr: Mapped[int | None] = mapped_column(Integer, nullable=True)
    github_deployment_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    __table_args__ = (Index("ix_deployments_repo_label", "repo", "label", "id"),)


class LabelMove(Base):
    __tablename__ = "label_moves"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    deployment_id: Mapped[int] = mapped_column(Integer)
    repo: Mapped[str] = mapped_column(String(300))
    label: Mapped[str] = mapped_column(String(63))
    path: Mapped[str] = mapped_column(String(1000))
    from_version: Mapped[str | None] = mapped_column(String(64), nullable=True)
    to_version: Mapped[str | None] = mapped_column(String(64), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    __table_args__ = (Index("ix_label_moves_repo_label", "repo", "label"),)


class RepoToken(Base):
    """`prt_…` tokens: only a SHA-256 of the secret is stored; the token is shown once."""

    __tablename__ = "repo_tokens"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    repo: Mapped[str] = mapped_column(String(300))
    scope: Mapped[str] = mapped_column(String(10))  # read | write
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    hint: Mapped[str] = mapped_column(String(20))  # prt_ and the first characters, to tell tokens apart
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    revoked_by: Mapped[str | None] = mapped_column(String(200), nullable=True)


class BlobContent(Base):
    """A version's bytes, read from GitHub once (a blob never changes)."""

    __tablename__ = "blob_contents"
    repo: Mapped[str] = mapped_column(String(300), primary_key=True)
    sha: Mapped[str] = mapped_column(String(64), primary_key=True)
    content: Mapped[bytes] = mapped_column(LargeBinary)


class CommitVariants(Base):
    """The per-model variant groups of the suites at a commit (JSON, as the manifest serves them): fixed
    once the commit exists, like a blob; recorded when a deployment reaches that commit (migration 0007)."""

    __tablename__ = "commit_variants"
    repo: Mapped[str] = mapped_column(String(300), primary_key=True)
    commit: Mapped[str] = mapped_column(String(64), primary_key=True)
    groups: Mapped[bytes] = mapped_column(LargeBinary)


class Changes:
    """In-process generations of what the manifest's caches depend on: bumped after a commit that
    inserted a deployment (every label move, rollback and rollout step writes one) or changed a repo
    token (a revocation). A cache in this process sees the change at once; other processes see it
    through the database stamp they re-read every few seconds (bot/release/manifest_api.py)."""

    labels = 0
    tokens = 0


_PENDING = "prompt_review.release_changes"


@event.listens_for(Deployment, "after_insert")
def _deployment_inserted(_mapper, _connection, target: Deployment) -> None:
    session = object_session(target)
    if session is not None:
        session.info.setdefault(_PENDING, set()).add("labels")


@event.listens_for(RepoToken, "after_update")
def _token_updated(_mapper, _connection, target: RepoToken) -> None:
    session = object_session(target)
    if session is not None:
        session.info.setdefault(_PENDING, set()).add("tokens")


@event.listens_for(Session, "after_commit")
def _committed(session: Session) -> None:
    pending = session.info.pop(_PENDING, set())
    if "labels" in pending:
        Changes.labels += 1
    if "tokens" in pending:
        Changes.tokens += 1


@event.listens_for(Session, "after_rollback")
def _rolled_back(session: Session) -> None:
    session.info.pop(_PENDING, None)
