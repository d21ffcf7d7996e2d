"""Frozen snapshots the simulator's driver API returns to tests and the demo.

Snapshots, not the live records, so a test can hold one while the HTTP thread changes state.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from bot.simulator.records import CheckRun, Delivery, IssueComment, PullRequest, Repo, Review


@dataclass(frozen=True)
class SimRepo:
    id: int
    owner: str
    name: str
    full_name: str
    default_branch: str
    branches: dict[str, str]  # name → head commit SHA

    @classmethod
    def of(cls, r: Repo) -> "SimRepo":
        return cls(r.id, r.owner.login, r.name, r.full_name, r.default_branch, dict(r.branches))


@dataclass(frozen=True)
class SimPull:
    id: int
    number: int
    repo: str  # base repository full name
    head_repo: str
    head_ref: str
    head_sha: str
    base_ref: str
    base_sha: str
    user: str
    title: str
    body: str
    state: str
    draft: bool
    merged: bool
    labels: tuple[str, ...]

    @classmethod
    def of(cls, p: PullRequest) -> "SimPull":
        return cls(p.id, p.number, p.repo.full_name, p.head_repo.full_name, p.head_ref, p.head_sha, p.base_ref,
                   p.base_sha, p.user.login, p.title, p.body, p.state, p.draft, p.merged,
                   tuple(lb.name for lb in p.labels))


@dataclass(frozen=True)
class SimReview:
    id: int
    pull_number: int
    user: str
    state: str
    commit_id: str
    submitted_at: str
    body: str

    @classmethod
    def of(cls, r: Review) -> "SimReview":
        return cls(r.id, r.pull.number, r.user.login, r.state, r.commit_id, r.submitted_at, r.body)


@dataclass(frozen=True)
class SimComment:
    id: int
    issue_number: int
    user: str
    body: str
    created_at: str
    updated_at: str

    @classmethod
    def of(cls, c: IssueComment) -> "SimComment":
        return cls(c.id, c.issue_number, c.user.login, c.body, c.created_at, c.updated_at)


@dataclass(frozen=True)
class SimCheckRun:
    id: int
    name: str
    head_sha: str
    status: str
    conclusion: str | None
    started_at: str | None
    completed_at: str | None
    title: str | None
    summary: str | None
    text: str | None
    annotations_count: int
    actions: tuple[dict[str, str], ...]
    external_id: str | None
    details_url: str | None
    app_id: int

    @classmethod
    def of(cls, c: CheckRun) -> "SimCheckRun":
        return cls(c.id, c.name, c.head_sha, c.status, c.conclusion, c.started_at, c.completed_at, c.title,
                   c.summary, c.text, len(c.annotations), tuple(dict(a) for a in c.actions), c.external_id,
                   c.details_url, c.app_id)


@dataclass(frozen=True)
class SimDelivery:
    id: int
    guid: str
    event: str
    action: str | None
    status_code: int  # 0 when the connection failed or no URL is configured
    status: str
    delivered_at: str
    redelivery: bool
    installation_id: int | None
    repository_id: int | None
    headers: dict[str, str]
    body: bytes  # the exact bytes sent (and signed)

    @property
    def ok(self) -> bool:
        return 200 <= self.status_code < 300

    @property
    def payload(self) -> dict[str, Any]:
        return json.loads(self.body)

    @classmethod
    def of(cls, d: Delivery) -> "SimDelivery":
        return cls(d.id, d.guid, d.event, d.action, d.status_code, d.status, d.delivered_at, d.redelivery,
                   d.installation_id, d.repository_id, dict(d.headers), d.body)
