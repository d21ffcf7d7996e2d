"""Records the GitHub simulator keeps in memory.

They are mutable and held by the one `SimState` (state.py), which guards them with one lock;
the driver hands out frozen snapshots (views.py) so tests never race the HTTP thread.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from bot.simulator.gitobjects import ObjectStore


@dataclass
class Account:
    login: str
    id: int
    type: str = "User"  # "User" | "Organization" | "Bot"


@dataclass
class Repo:
    id: int
    owner: Account
    name: str
    objects: ObjectStore
    default_branch: str = "main"
    branches: dict[str, str] = field(default_factory=dict)  # name → commit SHA
    private: bool = False
    fork_of: "Repo | None" = None
    permissions: dict[str, str] = field(default_factory=dict)  # login → admin|write|read
    created_at: str = ""

    @property
    def full_name(self) -> str:
        return f"{self.owner.login}/{self.name}"


@dataclass
class Label:
    id: int
    name: str
    color: str = "ededed"


@dataclass
class PullRequest:
    id: int
    number: int
    repo: Repo
    head_repo: Repo
    head_ref: str
    head_sha: str
    base_ref: str
    base_sha: str
    user: Account
    title: str
    body: str
    created_at: str
    updated_at: str
    state: str = "open"  # open | closed
    draft: bool = False
    merged: bool = False
    merged_at: str | None = None
    closed_at: str | None = None
    merge_commit_sha: str | None = None
    labels: list[Label] = field(default_factory=list)


@dataclass
class Review:
    id: int
    pull: PullRequest
    user: Account
    state: str  # APPROVED | CHANGES_REQUESTED | COMMENTED | DISMISSED
    commit_id: str
    submitted_at: str
    body: str = ""


@dataclass
class IssueComment:
    id: int
    repo: Repo
    issue_number: int
    user: Account
    body: str
    created_at: str
    updated_at: str
    via_app: bool = False


@dataclass
class CheckSuite:
    id: int
    repo: Repo
    head_sha: str
    head_branch: str | None
    app_id: int


@dataclass
class CheckRun:
    id: int
    repo: Repo
    suite: CheckSuite
    name: str
    head_sha: str
    app_id: int
    status: str = "queued"
    conclusion: str | None = None
    started_at: str | None = None
    completed_at: str | None = None
    title: str | None = None
    summary: str | None = None
    text: str | None = None
    annotations: list[dict[str, Any]] = field(default_factory=list)
    actions: list[dict[str, str]] = field(default_factory=list)
    external_id: str | None = None
    details_url: str | None = None


@dataclass
class Installation:
    id: int
    app_id: int
    account: Account
    repos: list[str] | None  # full names; None = all repositories of the account
    created_at: str = ""


@dataclass
class AppRecord:
    id: int
    slug: str
    name: str
    owner: Account
    public_key_pem: bytes
    webhook_secret: str
    client_id: str
    client_secret: str
    created_at: str
    private_key_pem: bytes | None = None
    permissions: dict[str, str] = field(default_factory=dict)
    events: list[str] = field(default_factory=list)
    description: str = ""
    external_url: str = ""


@dataclass
class Token:
    token: str
    installation_id: int
    expires_at: float  # unix seconds
    # What this token may do, when narrower than its App's permissions: a workflow's GITHUB_TOKEN
    # carries the job's `permissions:`, and a fork PR's token is read-only.
    permissions: dict[str, str] | None = None


@dataclass
class Delivery:
    """One attempt to deliver a webhook; a redelivery is a new record with redelivery=True."""

    id: int
    guid: str
    event: str
    action: str | None
    payload: dict[str, Any]
    body: bytes
    headers: dict[str, str]
    installation_id: int | None
    repository_id: int | None
    delivered_at: str
    redelivery: bool = False
    status_code: int = 0  # 0 when the connection failed
    status: str = "pending"
    duration: float = 0.0
    response_headers: dict[str, str] = field(default_factory=dict)
    response_body: str = ""

    @property
    def ok(self) -> bool:
        return 200 <= self.status_code < 300


@dataclass
class Issue:
    """An issue (not a pull request); issues and pull requests share one number sequence per repository."""

    id: int
    number: int
    repo: Repo
    user: Account
    title: str
    body: str
    labels: list[str]
    created_at: str
    updated_at: str
    state: str = "open"
    state_reason: str | None = None
    closed_at: str | None = None


@dataclass
class DeploymentStatus:
    id: int
    state: str
    creator: Account
    description: str
    environment: str
    created_at: str
    log_url: str = ""
    environment_url: str = ""


@dataclass
class SimDeployment:
    id: int
    repo: Repo
    sha: str
    ref: str
    environment: str
    creator: Account
    description: str
    payload: dict[str, Any]
    created_at: str
    production: bool = False
    statuses: list[DeploymentStatus] = field(default_factory=list)


@dataclass
class Reaction:
    id: int
    comment_id: int
    user: Account
    content: str
    created_at: str
