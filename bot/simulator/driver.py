"""The GitHub simulator's driver API: build repos, open and update PRs, review, install, deploy.

`Simulator` is composed: one `SimState` holds everything; `Webhooks` builds and sends the
events, `PullDriver` acts on pull requests, `Faults` injects errors into the REST API, and
`app()` serves the REST routes over the same state. Every action that GitHub would announce
sends the matching webhook, outside the state's lock so the bot can call back into the
simulator while a synchronous delivery is in flight.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import time
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import jwt
from fastapi import FastAPI

from bot.simulator.app import build_app
from bot.simulator.events import Webhooks
from bot.simulator.faults import Call, Fault, Faults
from bot.simulator.gitobjects import ObjectStore, Symlink
from bot.simulator.keys import generate_private_key, public_key_of
from bot.simulator.pulls import PullDriver, as_stored
from bot.simulator.records import Account, AppRecord, CheckRun, Installation, Repo, SimDeployment, Token
from bot.simulator.state import SimState
from bot.simulator.views import SimCheckRun, SimComment, SimPull, SimRepo, SimReview

PERMISSIONS = ("admin", "maintain", "write", "triage", "read")
ACTIONS_APP_ID = 15368  # the `github-actions` App on github.com, whose installation tokens are GITHUB_TOKENs
ACTION_PERMISSIONS = {"checks": "write", "contents": "read", "pull_requests": "write", "metadata": "read"}

__all__ = ["Simulator", "files_of_dir", "generate_private_key", "public_key_of"]


def _pem(v: bytes | str) -> bytes:
    return v.encode() if isinstance(v, str) else v


def files_of_dir(directory: str | Path) -> dict[str, bytes | Symlink]:
    """A directory's files as a repository holds them: a symlink stays a symlink (its target is
    recorded, never read through, so a link to /etc/passwd cannot pull that file into a repo)."""
    root = Path(directory)
    files: dict[str, bytes | Symlink] = {}
    for dirpath, dirnames, filenames in os.walk(root):  # symlinked directories are not entered
        dirnames[:] = [d for d in dirnames if d != ".git"]
        for name in filenames + [d for d in dirnames if (Path(dirpath) / d).is_symlink()]:
            path = Path(dirpath) / name
            rel = path.relative_to(root).as_posix()
            if path.is_symlink():
                files[rel] = Symlink(os.readlink(path))
            elif path.is_file():
                files[rel] = path.read_bytes()
    return dict(sorted(files.items()))


class Simulator:
    """In-memory GitHub for one App. Without keys it generates one (`private_key_pem`)."""

    def __init__(self, webhook_url: str | None = None, webhook_secret: str = "", app_id: int = 1,
                 private_key_pem: bytes | str | None = None, public_key_pem: bytes | str | None = None, *,
                 app_slug: str = "prompt-review", sync_webhooks: bool = True,
                 api_url: str = "https://api.github.com") -> None:
        self.state = s = SimState(webhook_url=webhook_url, webhook_secret=webhook_secret,
                                  sync_webhooks=sync_webhooks, api_url=api_url)
        if public_key_pem is not None:
            public = _pem(public_key_pem)
        else:  # derived from the private key, generated when none was given
            if private_key_pem is None:
                private_key_pem = generate_private_key()
            public = public_key_of(_pem(private_key_pem))
        self.private_key_pem = _pem(private_key_pem) if private_key_pem is not None else None
        s.app_id = app_id
        s.apps[app_id] = AppRecord(app_id, app_slug, app_slug, s.account("prompt-review-owner"), public, webhook_secret,
                                   f"Iv1.{secrets.token_hex(8)}", secrets.token_hex(20), s.now_iso(),
                                   self.private_key_pem,
                                   {"checks": "write", "pull_requests": "write", "contents": "read",
                                    "members": "read", "metadata": "read"},
                                   ["pull_request", "pull_request_review", "check_run", "check_suite"])
        self.webhooks = Webhooks(s)
        self.fault_injection = Faults()
        self.pull_requests = PullDriver(s, self.webhooks)
        # The driver API is the union of the components' acts (bound methods keep their signatures for mypy).
        p = self.pull_requests
        self.open_pull, self.push, self.push_branch, self.push_default = p.open_pull, p.push, p.push_branch, p.push_default
        self.add_label, self.remove_label, self.ready_for_review, self.change_base = (
            p.add_label, p.remove_label, p.ready_for_review, p.change_base)
        self.close_pull, self.reopen_pull, self.merge_pull = p.close_pull, p.reopen_pull, p.merge_pull
        self.submit_review, self.dismiss_review, self.comment, self.comment_event = (
            p.submit_review, p.dismiss_review, p.comment, p.comment_event)
        self.request_check_run_action, self.rerequest_check_run, self.rerequest_check_suite = (
            p.request_check_run_action, p.rerequest_check_run, p.rerequest_check_suite)
        w = self.webhooks
        self.deliver, self.deliveries, self.redeliver, self.wait_for_deliveries = (
            w.deliver, w.deliveries, w.redeliver, w.wait_for_deliveries)
        f = self.fault_injection
        self.add_fault, self.clear_faults, self.wait_for_delayed, self.calls_to = (
            f.add_fault, f.clear_faults, f.wait_for_delayed, f.calls_to)

    def app(self) -> FastAPI:
        """The REST API over this simulator's state (serve it with `start()`)."""
        return build_app(self.state, self.webhooks, self.fault_injection)

    def close(self) -> None:
        self.webhooks.close()

    # -- the state, as tests read and set it ----------------------------------------------------
    @property
    def api_url(self) -> str:
        return self.state.api_url

    @api_url.setter
    def api_url(self, url: str) -> None:
        self.state.api_url = url

    @property
    def webhook_url(self) -> str | None:
        return self.state.webhook_url

    @webhook_url.setter
    def webhook_url(self, url: str | None) -> None:
        self.state.webhook_url = url

    @property
    def tree_entry_limit(self) -> int:
        return self.state.tree_entry_limit

    @tree_entry_limit.setter
    def tree_entry_limit(self, limit: int) -> None:
        self.state.tree_entry_limit = limit

    @property
    def app_id(self) -> int:
        return self.state.app_id

    @property
    def lock(self) -> Any:
        return self.state.lock

    @property
    def apps(self) -> dict[int, AppRecord]:
        return self.state.apps

    @property
    def tokens(self) -> dict[str, Token]:
        return self.state.tokens

    @property
    def check_runs_(self) -> dict[int, CheckRun]:
        return self.state.check_runs

    @property
    def manifest_codes(self) -> dict[str, dict[str, Any]]:
        return self.state.manifest_codes

    @property
    def faults(self) -> list[Fault]:
        return self.fault_injection.faults

    @property
    def calls(self) -> list[Call]:
        return self.fault_injection.calls

    def now(self) -> float:
        return self.state.now()

    def advance(self, seconds: float) -> None:
        """Move the simulator's clock (token expiry, timestamps) forward."""
        self.state.clock_offset += seconds

    def repo(self, repo: str | SimRepo) -> Repo:
        return self.state.repo(repo)

    def installation_for(self, r: Repo, app_id: int | None = None) -> Installation | None:
        return self.state.installation_for(r, app_id)

    def _account(self, login: str, type_: str = "User") -> Account:
        return self.state.account(login, type_)

    # -- accounts, repos, installs -------------------------------------------------------
    def create_org(self, login: str) -> None:
        with self.lock:
            self.state.account(login, "Organization").type = "Organization"

    def create_repo(self, owner: str, name: str, files: Mapping[str, bytes | str | Symlink], default_branch: str = "main",
                    private: bool = False) -> SimRepo:
        s = self.state
        with s.lock:
            acct = s.account(owner)
            r = Repo(s.next_id(), acct, name, ObjectStore(), default_branch, private=private, created_at=s.now_iso())
            if acct.type != "Organization":
                r.permissions[owner] = "admin"
            sha = r.objects.commit({p: as_stored(v) for p, v in files.items()}, (), "Initial commit", owner, int(s.now()))
            r.branches[default_branch] = sha
            s.repos[r.full_name] = r
            return SimRepo.of(r)

    def create_repo_from_dir(self, owner: str, name: str, directory: str | Path, default_branch: str = "main") -> SimRepo:
        return self.create_repo(owner, name, files_of_dir(directory), default_branch)

    def install(self, owner: str, repos: Iterable[str] | None = None, sender: str | None = None) -> int:
        """Install the App on `owner` (all repos when `repos` is None); sends `installation.created`."""
        s = self.state
        with s.lock:
            names = None if repos is None else [r if "/" in r else f"{owner}/{r}" for r in repos]
            inst = Installation(s.next_id(), s.app_id, s.account(owner), names, s.now_iso())
            s.installations[inst.id] = inst
            payload = self.webhooks.installation_payload(inst, "created", sender or owner)
        self.webhooks.emit("installation", payload, inst.id, None)
        return inst.id

    def add_installation_repos(self, installation_id: int, repos: list[str], sender: str | None = None) -> None:
        """Add repositories to a selected-repos installation; sends `installation_repositories.added`."""
        with self.lock:
            inst = self.state.installations[installation_id]
            names = [r if "/" in r else f"{inst.account.login}/{r}" for r in repos]
            if inst.repos is not None:  # an "all repositories" installation already covers them
                inst.repos += [n for n in names if n not in inst.repos]
            payload = self.webhooks.repositories_added_payload(inst, names, sender or inst.account.login)
        self.webhooks.emit("installation_repositories", payload, installation_id, None)

    def installation_token(self, installation_id: int) -> str:
        """Mint a token directly (what `POST .../access_tokens` returns), for tests and the demo."""
        with self.lock:
            if installation_id not in self.state.installations:
                raise KeyError(f"no installation {installation_id}")
            return self.state.mint_token(installation_id).token

    def actions_token(self, repo: str | SimRepo, permissions: Mapping[str, str] | None = None) -> str:
        """A workflow run's GITHUB_TOKEN for `repo`: an installation token of the `github-actions` App
        limited to the job's `permissions:` (default: what prompt-review's Action documents). A PR
        from a fork gets `read_only_permissions()`; its writes answer 403 as on GitHub."""
        s = self.state
        with s.lock:
            r = s.repo(repo)
            if ACTIONS_APP_ID not in s.apps:
                s.apps[ACTIONS_APP_ID] = AppRecord(
                    ACTIONS_APP_ID, "github-actions", "GitHub Actions", s.account("github", "Organization"), b"", "",
                    "Iv1.actions", "", s.now_iso(),
                    permissions={"checks": "write", "contents": "write", "issues": "write", "metadata": "read",
                                 "pull_requests": "write"})
            inst = s.installation_for(r, ACTIONS_APP_ID)
            if inst is None:
                inst = Installation(s.next_id(), ACTIONS_APP_ID, r.owner, [r.full_name], s.now_iso())
                s.installations[inst.id] = inst
            return s.mint_token(inst.id, permissions if permissions is not None else ACTION_PERMISSIONS).token

    @staticmethod
    def read_only_permissions() -> dict[str, str]:
        """The GITHUB_TOKEN of a `pull_request` run from a fork: read access only, whatever the workflow asks."""
        return {k: "read" for k in ACTION_PERMISSIONS}

    def user_token(self, login: str) -> str:
        """A user access token for `login` (what `GITHUB_TOKEN` holds for the CLI)."""
        return self.state.mint_user_token(login)

    def revoke_user_token(self, token: str) -> None:
        with self.lock:
            self.state.user_tokens.pop(token, None)

    def app_jwt(self, app_id: int | None = None) -> str:
        """An App JWT signed with the app's private key (only when the simulator knows it)."""
        app = self.state.apps[app_id or self.app_id]
        if app.private_key_pem is None:
            raise ValueError("the simulator only has the app's public key")
        now = int(time.time())
        return jwt.encode({"iat": now - 60, "exp": now + 540, "iss": str(app.id)}, app.private_key_pem, "RS256")

    def add_team(self, org: str, slug: str, members: Iterable[str]) -> None:
        with self.lock:
            self.create_org(org)
            members = list(members)
            for m in members:
                self.state.account(m)
            self.state.teams[(org, slug)] = members

    def set_permission(self, repo: str | SimRepo, user: str, permission: str) -> None:
        if permission not in PERMISSIONS:
            raise ValueError(f"permission must be one of {PERMISSIONS}")
        with self.lock:
            self.state.account(user)
            self.state.repo(repo).permissions[user] = permission

    def register_manifest_code(self, manifest: Mapping[str, Any] | None = None) -> str:
        """A one-time code for `POST /app-manifests/{code}/conversions`, as GitHub's redirect gives."""
        code = secrets.token_hex(10)
        with self.lock:
            self.state.manifest_codes[code] = dict(manifest or {})
        return code

    def clone(self, repo: str | SimRepo, dest: str | Path, ref: str | None = None) -> Path:
        """A local git clone of `repo` (its branches, and every PR head as `refs/pull/N/head`) with
        `ref` checked out, as actions/checkout gives a workflow; the SHAs are the simulator's."""
        dest = Path(dest)
        subprocess.run(["git", "init", "-q", str(dest)], check=True, capture_output=True)
        with self.lock:
            r = self.state.repo(repo)
            r.objects.write_loose(str(dest / ".git"))
            refs = {f"refs/remotes/origin/{b}": sha for b, sha in r.branches.items()}
            refs.update({f"refs/pull/{p.number}/head": p.head_sha for p in self.state.pulls.values() if p.repo is r})
            sha = self.state.resolve_ref(r, ref or r.default_branch)
        if sha is None:
            raise ValueError(f"no branch or commit {ref!r} in {r.full_name}")
        for name, target in refs.items():
            subprocess.run(["git", "-C", str(dest), "update-ref", name, target], check=True, capture_output=True)
        subprocess.run(["git", "-C", str(dest), "checkout", "-q", "--detach", sha], check=True, capture_output=True)
        return dest

    # -- getters (frozen snapshots) ------------------------------------------------------------
    def pull(self, repo: str | SimRepo, number: int) -> SimPull:
        with self.lock:
            return SimPull.of(self.state.pull(repo, number))

    def reviews_of(self, repo: str | SimRepo, number: int) -> list[SimReview]:
        with self.lock:
            p = self.state.pull(repo, number)
            return [SimReview.of(r) for r in self.state.reviews if r.pull is p]

    def comments(self, repo: str | SimRepo, number: int) -> list[SimComment]:
        with self.lock:
            return [SimComment.of(c) for c in self.state.comments_on(self.state.repo(repo), number)]

    def check_runs(self, repo: str | SimRepo, sha: str) -> list[SimCheckRun]:
        with self.lock:
            r = self.state.repo(repo)
            return [SimCheckRun.of(c) for c in self.state.check_runs.values() if c.repo is r and c.head_sha == sha]

    def file(self, repo: str | SimRepo, ref: str, path: str) -> bytes | None:
        with self.lock:
            r = self.state.repo(repo)
            sha = self.state.resolve_ref(r, ref)
            blob = r.objects.files(sha).get(path) if sha else None
            return r.objects.blobs[blob] if blob else None

    def get_repo(self, repo: str) -> SimRepo:
        with self.lock:
            return SimRepo.of(self.state.repo(repo))

    def reactions_of(self, comment_id: int) -> list[str]:
        with self.lock:
            return [x.content for x in self.state.reactions if x.comment_id == comment_id]

    def deployments(self, repo: str | SimRepo, environment: str | None = None) -> list[SimDeployment]:
        with self.lock:
            r = self.state.repo(repo)
            return [d for d in self.state.deployments
                    if d.repo is r and (environment is None or d.environment == environment)]

