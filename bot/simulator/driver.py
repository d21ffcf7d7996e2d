"""The GitHub simulator's driver API: build repos, open and update PRs, review, install.

Every action that GitHub would announce sends the matching webhook (see `events.py`).
One re-entrant lock guards all state; webhooks are sent outside it so the bot can call
back into the simulator while a synchronous delivery is in flight.
"""

from __future__ import annotations

import os
import secrets
import threading
import time
from collections.abc import Iterable, Mapping
from pathlib import Path

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from bot.simulator.events import EventsMixin
from bot.simulator.faults import FaultsMixin
from bot.simulator.release import ReleaseMixin
from bot.simulator.gitobjects import ObjectStore, Symlink
from bot.simulator.shapes import iso
from bot.simulator.state import (Account, AppRecord, CheckRun, CheckSuite, Installation, IssueComment, Label,
                                 PullRequest, Repo, Review, Token)
from bot.simulator.views import SimCheckRun, SimComment, SimPull, SimRepo, SimReview

Changes = Mapping[str, "bytes | str | None"]
REVIEW_STATES = {"approve": "APPROVED", "approved": "APPROVED", "request_changes": "CHANGES_REQUESTED",
                 "changes_requested": "CHANGES_REQUESTED", "comment": "COMMENTED", "commented": "COMMENTED"}
PERMISSIONS = ("admin", "maintain", "write", "triage", "read")
TOKEN_TTL = 3600.0
ACTIONS_APP_ID = 15368  # the `github-actions` App on github.com, whose installation tokens are GITHUB_TOKENs
ACTION_PERMISSIONS = {"checks": "write", "contents": "read", "pull_requests": "write", "metadata": "read"}


def generate_private_key() -> bytes:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                             serialization.NoEncryption())


def public_key_of(private_pem: bytes) -> bytes:
    key = serialization.load_pem_private_key(private_pem, password=None)
    return key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


def _bytes(v):
    """File content as stored: text is encoded; bytes and Symlinks are kept."""
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


class Simulator(EventsMixin, FaultsMixin, ReleaseMixin):
    """In-memory GitHub for one App. Without keys it generates one (`private_key_pem`)."""

    def __init__(self, webhook_url: str | None = None, webhook_secret: str = "", app_id: int = 1,
                 private_key_pem: bytes | str | None = None, public_key_pem: bytes | str | None = None, *,
                 app_slug: str = "prompt-review", sync_webhooks: bool = True,
                 api_url: str = "https://api.github.com") -> None:
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
        self.accounts: dict[str, Account] = {}
        self.repos: dict[str, Repo] = {}
        self.pulls: dict[tuple[str, int], PullRequest] = {}
        self.issue_numbers: dict[str, int] = {}
        self.reviews: list[Review] = []
        self.comments_: list[IssueComment] = []
        self.check_runs_: dict[int, CheckRun] = {}
        self.check_suites: dict[tuple[str, str, int], CheckSuite] = {}
        self.installations: dict[int, Installation] = {}
        self.tokens: dict[str, Token] = {}
        self.teams: dict[tuple[str, str], list[str]] = {}
        self.manifest_codes: dict[str, dict] = {}
        self.apps: dict[int, AppRecord] = {}
        if public_key_pem is not None:
            public = _bytes(public_key_pem)
        else:  # derived from the private key, generated when none was given
            if private_key_pem is None:
                private_key_pem = generate_private_key()
            public = public_key_of(_bytes(private_key_pem))
        self.private_key_pem = _bytes(private_key_pem) if private_key_pem is not None else None
        self.app_id = app_id
        owner = self._account("prompt-review-owner")
        self.apps[app_id] = AppRecord(app_id, app_slug, app_slug, owner, public, webhook_secret,
                                      f"Iv1.{secrets.token_hex(8)}", secrets.token_hex(20), self.now_iso(),
                                      self.private_key_pem,
                                      {"checks": "write", "pull_requests": "write", "contents": "read",
                                       "members": "read", "metadata": "read"},
                                      ["pull_request", "pull_request_review", "check_run", "check_suite"])
        EventsMixin.__init__(self)
        FaultsMixin.__init__(self)

    # -- clock, ids, lookups -------------------------------------------------------------
    def now(self) -> float:
        return time.time() + self.clock_offset

    def now_iso(self) -> str:
        return iso(self.now())

    def advance(self, seconds: float) -> None:
        """Move the simulator's clock (token expiry, timestamps) forward."""
        self.clock_offset += seconds

    def next_id(self) -> int:
        with self.lock:
            self._ids += 1
            return self._ids

    def _account(self, login: str, type_: str = "User") -> Account:
        with self.lock:
            if login not in self.accounts:
                self.accounts[login] = Account(login, self.next_id(), type_)
            return self.accounts[login]

    def bot_account(self, app_id: int | None = None) -> Account:
        app = self.apps[app_id or self.app_id]
        return self._account(f"{app.slug}[bot]", "Bot")

    def repo(self, repo: str | SimRepo) -> Repo:
        name = repo.full_name if isinstance(repo, SimRepo) else repo
        try:
            return self.repos[name]
        except KeyError:
            raise KeyError(f"no repository {name!r} in the simulator") from None

    def _pull(self, repo: str | SimRepo, number: int) -> PullRequest:
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

    # -- accounts, repos, installs -------------------------------------------------------
    def create_org(self, login: str) -> None:
        with self.lock:
            self._account(login, "Organization").type = "Organization"

    def create_repo(self, owner: str, name: str, files: Mapping[str, bytes | str | Symlink], default_branch: str = "main",
                    private: bool = False) -> SimRepo:
        with self.lock:
            acct = self._account(owner)
            r = Repo(self.next_id(), acct, name, ObjectStore(), default_branch, private=private,
                     created_at=self.now_iso())
            if acct.type != "Organization":
                r.permissions[owner] = "admin"
            sha = r.objects.commit({p: _bytes(v) for p, v in files.items()}, (), "Initial commit", owner,
                                   int(self.now()))
            r.branches[default_branch] = sha
            self.repos[r.full_name] = r
            return SimRepo.of(r)

    def create_repo_from_dir(self, owner: str, name: str, directory: str | Path, default_branch: str = "main") -> SimRepo:
        return self.create_repo(owner, name, files_of_dir(directory), default_branch)

    def install(self, owner: str, repos: Iterable[str] | None = None, sender: str | None = None) -> int:
        """Install the App on `owner` (all repos when `repos` is None); sends `installation.created`."""
        with self.lock:
            acct = self._account(owner)
            names = None if repos is None else [r if "/" in r else f"{owner}/{r}" for r in repos]
            inst = Installation(self.next_id(), self.app_id, acct, names, self.now_iso())
            self.installations[inst.id] = inst
            payload = self.installation_payload(inst, "created", sender or owner)
        self.emit("installation", payload, inst.id, None)
        return inst.id

    def installation_for(self, r: Repo, app_id: int | None = None) -> Installation | None:
        for inst in self.installations.values():
            if inst.app_id == (app_id or self.app_id) and inst.account.login == r.owner.login and (
                    inst.repos is None or r.full_name in inst.repos):
                return inst
        return None

    def installation_token(self, installation_id: int) -> str:
        """Mint a token directly (what `POST .../access_tokens` returns), for tests and the demo."""
        with self.lock:
            if installation_id not in self.installations:
                raise KeyError(f"no installation {installation_id}")
            tok = Token("ghs_" + secrets.token_urlsafe(27)[:36], installation_id, self.now() + TOKEN_TTL)
            self.tokens[tok.token] = tok
            return tok.token

    def actions_token(self, repo: str | SimRepo, permissions: Mapping[str, str] | None = None) -> str:
        """A workflow run's GITHUB_TOKEN for `repo`: an installation token of the `github-actions` App
        limited to the job's `permissions:` (default: what prompt-review's Action documents). A PR
        from a fork gets `read_only_permissions()`; its writes answer 403 as on GitHub."""
        with self.lock:
            r = self.repo(repo)
            if ACTIONS_APP_ID not in self.apps:
                owner = self._account("github", "Organization")
                self.apps[ACTIONS_APP_ID] = AppRecord(
                    ACTIONS_APP_ID, "github-actions", "GitHub Actions", owner, b"", "", "Iv1.actions", "", self.now_iso(),
                    permissions={"checks": "write", "contents": "write", "issues": "write", "metadata": "read",
                                 "pull_requests": "write"})
            inst = self.installation_for(r, ACTIONS_APP_ID)
            if inst is None:
                inst = Installation(self.next_id(), ACTIONS_APP_ID, r.owner, [r.full_name], self.now_iso())
                self.installations[inst.id] = inst
            tok = Token("ghs_" + secrets.token_urlsafe(27)[:36], inst.id, self.now() + TOKEN_TTL,
                        dict(permissions if permissions is not None else ACTION_PERMISSIONS))
            self.tokens[tok.token] = tok
            return tok.token

    def clone(self, repo: str | SimRepo, dest: str | Path, ref: str | None = None) -> Path:
        """A local git clone of `repo` (its branches, and every PR head as `refs/pull/N/head`) with
        `ref` checked out, as actions/checkout gives a workflow; the SHAs are the simulator's."""
        import subprocess

        dest = Path(dest)
        subprocess.run(["git", "init", "-q", str(dest)], check=True, capture_output=True)
        with self.lock:
            r = self.repo(repo)
            r.objects.write_loose(str(dest / ".git"))
            refs = {f"refs/remotes/origin/{b}": sha for b, sha in r.branches.items()}
            refs.update({f"refs/pull/{p.number}/head": p.head_sha for p in self.pulls.values() if p.repo is r})
            sha = self.resolve_ref(r, ref or r.default_branch)
        if sha is None:
            raise ValueError(f"no branch or commit {ref!r} in {r.full_name}")
        for name, target in refs.items():
            subprocess.run(["git", "-C", str(dest), "update-ref", name, target], check=True, capture_output=True)
        subprocess.run(["git", "-C", str(dest), "checkout", "-q", "--detach", sha], check=True, capture_output=True)
        return dest

    @staticmethod
    def read_only_permissions() -> dict[str, str]:
        """The GITHUB_TOKEN of a `pull_request` run from a fork: read access only, whatever the workflow asks."""
        return {k: "read" for k in ACTION_PERMISSIONS}

    def app_jwt(self, app_id: int | None = None) -> str:
        """An App JWT signed with the app's private key (only when the simulator knows it)."""
        app = self.apps[app_id or self.app_id]
        if app.private_key_pem is None:
            raise ValueError("the simulator only has the app's public key")
        now = int(time.time())
        return jwt.encode({"iat": now - 60, "exp": now + 540, "iss": str(app.id)}, app.private_key_pem, "RS256")

    def add_team(self, org: str, slug: str, members: Iterable[str]) -> None:
        with self.lock:
            self.create_org(org)
            for m in members:
                self._account(m)
            self.teams[(org, slug)] = list(members)

    def set_permission(self, repo: str | SimRepo, user: str, permission: str) -> None:
        if permission not in PERMISSIONS:
            raise ValueError(f"permission must be one of {PERMISSIONS}")
        with self.lock:
            self._account(user)
            self.repo(repo).permissions[user] = permission

    def register_manifest_code(self, manifest: Mapping | None = None) -> str:
        """A one-time code for `POST /app-manifests/{code}/conversions`, as GitHub's redirect gives."""
        code = secrets.token_hex(10)
        with self.lock:
            self.manifest_codes[code] = dict(manifest or {})
        return code

    # -- pull requests -------------------------------------------------------------------
    def _commit_changes(self, r: Repo, parent: str, changes: Changes, author: str, message: str) -> str:
        files = r.objects.read_files(parent)
        for path, content in changes.items():
            if content is None:
                files.pop(path, None)
            else:
                files[path] = _bytes(content)
        return r.objects.commit(files, (parent,), message, author, int(self.now()))

    def open_pull(self, repo: str | SimRepo, head_branch: str, changes: Changes, title: str, author: str,
                  body: str = "", base: str = "main", draft: bool = False, fork: bool = False,
                  labels: Iterable[str] = ()) -> SimPull:
        """Commit `changes` (None deletes a file) on a new branch and open a PR; sends `opened`."""
        with self.lock:
            r = self.repo(repo)
            acct = self._account(author)
            head_repo = r
            if fork:
                fork_name = f"{author}/{r.name}"
                head_repo = self.repos.get(fork_name) or Repo(self.next_id(), acct, r.name, r.objects, r.default_branch,
                                                              dict(r.branches), fork_of=r, created_at=self.now_iso())
                head_repo.permissions[author] = "admin"
                self.repos[fork_name] = head_repo
            base_sha = r.branches[base]
            parent = head_repo.branches.get(head_branch, base_sha)
            head_sha = self._commit_changes(r, parent, changes, author, title) if changes else parent
            head_repo.branches[head_branch] = head_sha
            number = self.issue_numbers[r.full_name] = self.issue_numbers.get(r.full_name, 0) + 1
            now = self.now_iso()
            p = PullRequest(self.next_id(), number, r, head_repo, head_branch, head_sha, base, base_sha, acct, title,
                            body, now, now, draft=draft, labels=[Label(self.next_id(), n) for n in labels])
            self.pulls[(r.full_name, number)] = p
            payload = self.pull_payload(p, "opened", author)
        self.emit("pull_request", payload, *self._route(r))
        return SimPull.of(p)

    def push(self, repo: str | SimRepo, pr_number: int, changes: Changes, force_to_sha: str | None = None,
             author: str | None = None, message: str = "Update") -> SimPull:
        """Add a commit to the PR's head branch (or force it to an existing SHA); sends `synchronize`."""
        with self.lock:
            p = self._pull(repo, pr_number)
            before = p.head_sha
            if force_to_sha is not None:
                if force_to_sha not in p.repo.objects.commits:
                    raise KeyError(f"no commit {force_to_sha}")
                p.head_sha = force_to_sha
            else:
                p.head_sha = self._commit_changes(p.repo, before, changes, author or p.user.login, message)
            p.head_repo.branches[p.head_ref] = p.head_sha
            p.updated_at = self.now_iso()
            payload = self.pull_payload(p, "synchronize", author or p.user.login, before=before, after=p.head_sha)
        self.emit("pull_request", payload, *self._route(p.repo))
        return SimPull.of(p)

    def push_branch(self, repo: str | SimRepo, branch: str, changes: Changes, author: str = "maintainer",
                    message: str = "Update") -> str:
        """Commit straight to a branch (e.g. move the base on); no webhook. Returns the new SHA."""
        with self.lock:
            r = self.repo(repo)
            r.branches[branch] = self._commit_changes(r, r.branches[branch], changes, author, message)
            return r.branches[branch]

    def _pull_event(self, repo, n: int, action: str, sender: str | None, mutate=None, **extra) -> SimPull:
        with self.lock:
            p = self._pull(repo, n)
            if mutate:
                mutate(p)
            p.updated_at = self.now_iso()
            payload = self.pull_payload(p, action, sender or p.user.login, **extra)
        self.emit("pull_request", payload, *self._route(p.repo))
        return SimPull.of(p)

    def add_label(self, repo: str | SimRepo, pr_number: int, label: str, user: str | None = None) -> SimPull:
        lb = Label(self.next_id(), label)
        return self._pull_event(repo, pr_number, "labeled", user, lambda p: p.labels.append(lb),
                                label=lambda api, p: self.label_json(p, lb))

    def remove_label(self, repo: str | SimRepo, pr_number: int, label: str, user: str | None = None) -> SimPull:
        gone = [lb for lb in self._pull(repo, pr_number).labels if lb.name == label]
        return self._pull_event(repo, pr_number, "unlabeled", user,
                                lambda p: p.labels.__setitem__(slice(None), [x for x in p.labels if x.name != label]),
                                label=lambda api, p: self.label_json(p, gone[0] if gone else Label(0, label)))

    def close_pull(self, repo: str | SimRepo, pr_number: int, merged: bool = False, user: str | None = None) -> SimPull:
        def close(p: PullRequest) -> None:
            p.state, p.closed_at = "closed", self.now_iso()
            if merged:
                p.merged, p.merged_at = True, p.closed_at
                p.merge_commit_sha = p.head_sha
                p.repo.branches[p.base_ref] = p.head_sha
        return self._pull_event(repo, pr_number, "closed", user, close)

    def reopen_pull(self, repo: str | SimRepo, pr_number: int, user: str | None = None) -> SimPull:
        if self.pull(repo, pr_number).merged:
            raise ValueError(f"pull request #{pr_number} is merged: GitHub cannot reopen it")

        def reopen(p: PullRequest) -> None:
            p.state, p.closed_at = "open", None
        return self._pull_event(repo, pr_number, "reopened", user, reopen)

    def ready_for_review(self, repo: str | SimRepo, pr_number: int, user: str | None = None) -> SimPull:
        return self._pull_event(repo, pr_number, "ready_for_review", user, lambda p: setattr(p, "draft", False))

    def change_base(self, repo: str | SimRepo, pr_number: int, base: str, user: str | None = None) -> SimPull:
        """Retarget the PR to another base branch; sends `edited` with `changes.base`."""
        p0 = self._pull(repo, pr_number)
        old = {"ref": {"from": p0.base_ref}, "sha": {"from": p0.base_sha}}

        def retarget(p: PullRequest) -> None:
            p.base_ref, p.base_sha = base, p.repo.branches[base]
        return self._pull_event(repo, pr_number, "edited", user, retarget, changes=lambda api, p: {"base": old})

    # -- reviews -------------------------------------------------------------------------
    def submit_review(self, repo: str | SimRepo, pr_number: int, user: str, state: str, body: str = "",
                      commit_id: str | None = None) -> SimReview:
        """state: approve | request_changes | comment (or GitHub's APPROVED / CHANGES_REQUESTED / COMMENTED)."""
        st = REVIEW_STATES.get(state.lower())
        if st is None:
            raise ValueError(f"unknown review state {state!r}")
        with self.lock:
            p = self._pull(repo, pr_number)
            rv = Review(self.next_id(), p, self._account(user), st, commit_id or p.head_sha, self.now_iso(), body)
            self.reviews.append(rv)
            payload = self.review_payload(rv, "submitted", user)
        self.emit("pull_request_review", payload, *self._route(p.repo))
        return SimReview.of(rv)

    def dismiss_review(self, repo: str | SimRepo, pr_number: int, review_id: int, user: str | None = None,
                       message: str = "") -> SimReview:
        with self.lock:
            rv = next(r for r in self.reviews if r.id == review_id and r.pull.number == pr_number)
            rv.state = "DISMISSED"
            payload = self.review_payload(rv, "dismissed", user or rv.pull.repo.owner.login)
        self.emit("pull_request_review", payload, *self._route(rv.pull.repo))
        return SimReview.of(rv)

    def comment(self, repo: str | SimRepo, issue_number: int, user: str, body: str) -> SimComment:
        """A human's PR comment (no webhook: the bot does not act on issue_comment)."""
        with self.lock:
            now = self.now_iso()
            c = IssueComment(self.next_id(), self.repo(repo), issue_number, self._account(user), body, now, now)
            self.comments_.append(c)
            return SimComment.of(c)

    # -- getters -------------------------------------------------------------------------
    def pull(self, repo: str | SimRepo, number: int) -> SimPull:
        with self.lock:
            return SimPull.of(self._pull(repo, number))

    def reviews_of(self, repo: str | SimRepo, number: int) -> list[SimReview]:
        with self.lock:
            p = self._pull(repo, number)
            return [SimReview.of(r) for r in self.reviews if r.pull is p]

    def comments(self, repo: str | SimRepo, number: int) -> list[SimComment]:
        with self.lock:
            r = self.repo(repo)
            return [SimComment.of(c) for c in self.comments_ if c.repo is r and c.issue_number == number]

    def check_runs(self, repo: str | SimRepo, sha: str) -> list[SimCheckRun]:
        with self.lock:
            r = self.repo(repo)
            return [SimCheckRun.of(c) for c in self.check_runs_.values() if c.repo is r and c.head_sha == sha]

    def file(self, repo: str | SimRepo, ref: str, path: str) -> bytes | None:
        with self.lock:
            r = self.repo(repo)
            sha = self.resolve_ref(r, ref)
            blob = r.objects.files(sha).get(path) if sha else None
            return r.objects.blobs[blob] if blob else None

    def get_repo(self, repo: str) -> SimRepo:
        with self.lock:
            return SimRepo.of(self.repo(repo))

    def check_suite_for(self, r: Repo, head_sha: str, app_id: int) -> CheckSuite:
        key = (r.full_name, head_sha, app_id)
        if key not in self.check_suites:
            branch = next((b for b, s in r.branches.items() if s == head_sha), None)
            self.check_suites[key] = CheckSuite(self.next_id(), r, head_sha, branch, app_id)
        return self.check_suites[key]
