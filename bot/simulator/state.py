"""The one object that holds everything the simulated GitHub knows, and the lookups over it.

The driver (driver.py), the webhook sender (events.py) and every group of HTTP routes
(routes_*.py) are given this object; none of them holds state of its own. One re-entrant lock
guards it all: a route may call a helper that takes the lock again.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Mapping
from typing import Any

from bot.simulator.diffs import FileDiff, diff_commits
from bot.simulator.records import (Account, AppRecord, CheckRun, CheckSuite, Delivery, Installation, Issue,
                                   IssueComment, PullRequest, Reaction, Repo, Review, SimDeployment, Token)
from bot.simulator.shapes import iso
from bot.simulator.views import SimRepo

TOKEN_TTL = 3600.0  # an installation token lives an hour, as on GitHub


class SimState:
    """Accounts, repositories, pull requests, checks, installations, tokens, deliveries and the
    release half's records of one simulated GitHub, for one App (`app_id`)."""

    def __init__(self, *, webhook_url: str | None, webhook_secret: str, sync_webhooks: bool, api_url: str) -> None:
        self.lock = threading.RLock()
        self.webhook_url = webhook_url
        self.webhook_secret = webhook_secret
        self.sync_webhooks = sync_webhooks
        self.api_url = api_url  # rewritten by `start()` to the loopback URL
        self.clock_offset = 0.0
        # GitHub cuts a recursive tree listing at 100,000 entries (or 7 MB) and sets `truncated`;
        # tests lower this to reach the cut with small repositories.
        self.tree_entry_limit = 100_000
        self._ids = 1000
        self.app_id = 0  # the App under test; set by the driver once its record exists
        self.accounts: dict[str, Account] = {}
        self.repos: dict[str, Repo] = {}
        self.pulls: dict[tuple[str, int], PullRequest] = {}
        self.issues: dict[tuple[str, int], Issue] = {}
        self.issue_numbers: dict[str, int] = {}  # repository → last number given to an issue or pull request
        self.reviews: list[Review] = []
        self.comments: list[IssueComment] = []
        self.check_runs: dict[int, CheckRun] = {}
        self.check_suites: dict[tuple[str, str, int], CheckSuite] = {}
        self.installations: dict[int, Installation] = {}
        self.tokens: dict[str, Token] = {}
        self.teams: dict[tuple[str, str], list[str]] = {}
        self.manifest_codes: dict[str, dict[str, Any]] = {}
        self.apps: dict[int, AppRecord] = {}
        self.deliveries: list[Delivery] = []
        self.user_tokens: dict[str, str] = {}  # token → login
        self.oauth_codes: dict[str, tuple[str, str]] = {}  # code → (client_id, login)
        self.deployments: list[SimDeployment] = []
        self.reactions: list[Reaction] = []

    # -- clock and ids ------------------------------------------------------------------------
    def now(self) -> float:
        return time.time() + self.clock_offset

    def now_iso(self) -> str:
        return iso(self.now())

    def next_id(self) -> int:
        with self.lock:
            self._ids += 1
            return self._ids

    def next_number(self, r: Repo) -> int:
        """The number of a new issue or pull request of `r` (one sequence for both, as on GitHub)."""
        with self.lock:
            number = self.issue_numbers[r.full_name] = self.issue_numbers.get(r.full_name, 0) + 1
            return number

    # -- accounts and credentials ----------------------------------------------------------------
    def account(self, login: str, type_: str = "User") -> Account:
        with self.lock:
            if login not in self.accounts:
                self.accounts[login] = Account(login, self.next_id(), type_)
            return self.accounts[login]

    def bot_account(self, app_id: int | None = None) -> Account:
        app = self.apps[app_id or self.app_id]
        return self.account(f"{app.slug}[bot]", "Bot")

    def mint_token(self, installation_id: int, permissions: Mapping[str, str] | None = None) -> Token:
        """A new installation token (narrowed to `permissions` when given, as a workflow's GITHUB_TOKEN is)."""
        with self.lock:
            tok = Token("ghs_" + secrets.token_urlsafe(27)[:36], installation_id, self.now() + TOKEN_TTL,
                        dict(permissions) if permissions is not None else None)
            self.tokens[tok.token] = tok
            return tok

    def mint_user_token(self, login: str) -> str:
        """A user access token for `login` (what the OAuth flow gives and the CLI's `GITHUB_TOKEN` holds)."""
        with self.lock:
            self.account(login)
            token = "ghu_" + secrets.token_urlsafe(27)[:36]
            self.user_tokens[token] = login
            return token

    # -- repositories ----------------------------------------------------------------------------
    def repo(self, repo: str | SimRepo) -> Repo:
        name = repo.full_name if isinstance(repo, SimRepo) else repo
        try:
            return self.repos[name]
        except KeyError:
            raise KeyError(f"no repository {name!r} in the simulator") from None

    def pull(self, repo: str | SimRepo, number: int) -> PullRequest:
        key = (self.repo(repo).full_name, number)
        if key not in self.pulls:
            raise KeyError(f"no pull request {key[0]}#{number} in the simulator")
        return self.pulls[key]

    def resolve_ref(self, r: Repo, ref: str) -> str | None:
        """A commit SHA for a branch name, `refs/heads/x`, full SHA or unique SHA prefix."""
        ref = ref.removeprefix("refs/heads/")
        if ref in r.branches:
            return r.branches[ref]
        if ref in r.objects.commits:
            return ref
        if len(ref) >= 7:
            hits = [s for s in r.objects.commits if s.startswith(ref)]
            if len(hits) == 1:
                return hits[0]
        return None

    # -- installations -----------------------------------------------------------------------------
    def installation_for(self, r: Repo, app_id: int | None = None) -> Installation | None:
        for inst in self.installations.values():
            if inst.app_id == (app_id or self.app_id) and inst.account.login == r.owner.login and (
                    inst.repos is None or r.full_name in inst.repos):
                return inst
        return None

    def installed_repo_names(self, inst: Installation) -> list[str]:
        if inst.repos is not None:
            return list(inst.repos)
        return [n for n, r in self.repos.items() if r.owner.login == inst.account.login and r.fork_of is None]

    def route(self, r: Repo) -> tuple[int | None, int]:
        """(installation id, repository id) a webhook about `r` is recorded under."""
        inst = self.installation_for(r)
        return (inst.id if inst else None), r.id

    # -- pull requests and checks ------------------------------------------------------------------
    def pull_files(self, p: PullRequest) -> list[FileDiff]:
        base = p.repo.objects.merge_base(p.repo.branches.get(p.base_ref, p.base_sha), p.head_sha) or p.base_sha
        key = (base, p.head_sha)  # commits never change, so a diff between two SHAs never does
        cache = p.repo.objects.diff_cache
        if key not in cache:
            cache[key] = diff_commits(p.repo.objects, base, p.head_sha)
        return cache[key]

    def pull_commits(self, p: PullRequest) -> list[str]:
        """Commits on the head not on the base, oldest first (what GitHub lists for a PR)."""
        objs = p.repo.objects
        on_base = set(objs.ancestors(p.repo.branches.get(p.base_ref, p.base_sha)))
        return [c for c in reversed(objs.ancestors(p.head_sha)) if c not in on_base]

    def pull_stats(self, p: PullRequest) -> dict[str, int]:
        files = self.pull_files(p)
        return {"commits": len(self.pull_commits(p)), "additions": sum(f.additions for f in files),
                "deletions": sum(f.deletions for f in files), "changed_files": len(files)}

    def open_pulls_at(self, r: Repo, head_sha: str) -> list[PullRequest]:
        """The open pull requests of `r` whose head is `head_sha` (GitHub lists them on a check run)."""
        return [p for p in self.pulls.values() if p.repo is r and p.head_sha == head_sha and p.state == "open"]

    def check_suite_for(self, r: Repo, head_sha: str, app_id: int) -> CheckSuite:
        key = (r.full_name, head_sha, app_id)
        if key not in self.check_suites:
            branch = next((b for b, s in r.branches.items() if s == head_sha), None)
            self.check_suites[key] = CheckSuite(self.next_id(), r, head_sha, branch, app_id)
        return self.check_suites[key]

    def comments_on(self, r: Repo, number: int) -> list[IssueComment]:
        return [c for c in self.comments if c.repo is r and c.issue_number == number]
