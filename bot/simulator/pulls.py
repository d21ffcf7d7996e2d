"""What people do to pull requests in the simulated GitHub, and the webhooks each act sends: open,
push, label, close, merge, reopen, review, comment, click a check run's buttons, push to the
default branch. Given the state and the webhook sender; the `Simulator` exposes these acts."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from bot.simulator import shapes
from bot.simulator.events import Webhooks
from bot.simulator.gitobjects import Symlink
from bot.simulator.records import IssueComment, Label, PullRequest, Repo, Review
from bot.simulator.state import SimState
from bot.simulator.views import SimComment, SimPull, SimRepo, SimReview

Changes = Mapping[str, "bytes | str | Symlink | None"]
REVIEW_STATES = {"approve": "APPROVED", "approved": "APPROVED", "request_changes": "CHANGES_REQUESTED",
                 "changes_requested": "CHANGES_REQUESTED", "comment": "COMMENTED", "commented": "COMMENTED"}


def as_stored(v: bytes | str | Symlink) -> bytes | Symlink:
    """File content as stored: text is encoded; bytes and Symlinks are kept."""
    return v.encode() if isinstance(v, str) else v


class PullDriver:
    def __init__(self, state: SimState, webhooks: Webhooks) -> None:
        self.state = state
        self.webhooks = webhooks

    def _commit_changes(self, r: Repo, parent: str, changes: Changes, author: str, message: str) -> str:
        files = r.objects.read_files(parent)
        for path, content in changes.items():
            if content is None:
                files.pop(path, None)
            else:
                files[path] = as_stored(content)
        return r.objects.commit(files, (parent,), message, author, int(self.state.now()))

    def open_pull(self, repo: str | SimRepo, head_branch: str, changes: Changes, title: str, author: str,
                  body: str = "", base: str = "main", draft: bool = False, fork: bool = False,
                  labels: Iterable[str] = ()) -> SimPull:
        """Commit `changes` (None deletes a file) on a new branch and open a PR; sends `opened`."""
        s = self.state
        with s.lock:
            r = s.repo(repo)
            acct = s.account(author)
            head_repo = r
            if fork:
                fork_name = f"{author}/{r.name}"
                head_repo = s.repos.get(fork_name) or Repo(s.next_id(), acct, r.name, r.objects, r.default_branch,
                                                           dict(r.branches), fork_of=r, created_at=s.now_iso())
                head_repo.permissions[author] = "admin"
                s.repos[fork_name] = head_repo
            base_sha = r.branches[base]
            parent = head_repo.branches.get(head_branch, base_sha)
            head_sha = self._commit_changes(r, parent, changes, author, title) if changes else parent
            head_repo.branches[head_branch] = head_sha
            now = s.now_iso()
            p = PullRequest(s.next_id(), s.next_number(r), r, head_repo, head_branch, head_sha, base, base_sha, acct,
                            title, body, now, now, draft=draft, labels=[Label(s.next_id(), n) for n in labels])
            s.pulls[(r.full_name, p.number)] = p
            payload = self.webhooks.pull_payload(p, "opened", author)
        self.webhooks.about("pull_request", r, payload)
        return SimPull.of(p)

    def push(self, repo: str | SimRepo, pr_number: int, changes: Changes, force_to_sha: str | None = None,
             author: str | None = None, message: str = "Update") -> SimPull:
        """Add a commit to the PR's head branch (or force it to an existing SHA); sends `synchronize`."""
        s = self.state
        with s.lock:
            p = s.pull(repo, pr_number)
            before = p.head_sha
            if force_to_sha is not None:
                if force_to_sha not in p.repo.objects.commits:
                    raise KeyError(f"no commit {force_to_sha}")
                p.head_sha = force_to_sha
            else:
                p.head_sha = self._commit_changes(p.repo, before, changes, author or p.user.login, message)
            p.head_repo.branches[p.head_ref] = p.head_sha
            p.updated_at = s.now_iso()
            payload = self.webhooks.pull_payload(p, "synchronize", author or p.user.login, before=before, after=p.head_sha)
        self.webhooks.about("pull_request", p.repo, payload)
        return SimPull.of(p)

    def push_branch(self, repo: str | SimRepo, branch: str, changes: Changes, author: str = "maintainer",
                    message: str = "Update") -> str:
        """Commit straight to a branch (e.g. move the base on); no webhook. Returns the new SHA."""
        with self.state.lock:
            r = self.state.repo(repo)
            r.branches[branch] = self._commit_changes(r, r.branches[branch], changes, author, message)
            return r.branches[branch]

    def push_default(self, repo: str | SimRepo, changes: Changes, author: str = "maintainer",
                     message: str = "Update") -> str:
        """Commit straight to the default branch and send its `push`."""
        with self.state.lock:
            r = self.state.repo(repo)
            before = r.branches[r.default_branch]
        after = self.push_branch(repo, r.default_branch, changes, author, message)
        self._push_event(r, r.default_branch, before, after, author)
        return after

    def _push_event(self, r: Repo, branch: str, before: str, after: str, pusher: str) -> None:
        with self.state.lock:
            payload = self.webhooks.push_payload(r, branch, before, after, pusher)
        self.webhooks.about("push", r, payload)

    def _pull_event(self, repo: str | SimRepo, n: int, action: str, sender: str | None,
                    mutate: Callable[[PullRequest], None] | None = None, **extra: Any) -> SimPull:
        with self.state.lock:
            p = self.state.pull(repo, n)
            if mutate:
                mutate(p)
            p.updated_at = self.state.now_iso()
            payload = self.webhooks.pull_payload(p, action, sender or p.user.login, **extra)
        self.webhooks.about("pull_request", p.repo, payload)
        return SimPull.of(p)

    def add_label(self, repo: str | SimRepo, pr_number: int, label: str, user: str | None = None) -> SimPull:
        lb = Label(self.state.next_id(), label)
        r = self.state.repo(repo)
        return self._pull_event(repo, pr_number, "labeled", user, lambda p: p.labels.append(lb),
                                label=shapes.label(self.state.api_url, r, lb))

    def remove_label(self, repo: str | SimRepo, pr_number: int, label: str, user: str | None = None) -> SimPull:
        with self.state.lock:
            gone = next((lb for lb in self.state.pull(repo, pr_number).labels if lb.name == label), Label(0, label))
            r = self.state.repo(repo)

        def unlabel(p: PullRequest) -> None:
            p.labels[:] = [x for x in p.labels if x.name != label]
        return self._pull_event(repo, pr_number, "unlabeled", user, unlabel, label=shapes.label(self.state.api_url, r, gone))

    def close_pull(self, repo: str | SimRepo, pr_number: int, merged: bool = False, user: str | None = None) -> SimPull:
        def close(p: PullRequest) -> None:
            p.state, p.closed_at = "closed", self.state.now_iso()
            if merged:
                p.merged, p.merged_at = True, p.closed_at
                p.merge_commit_sha = p.head_sha
                p.repo.branches[p.base_ref] = p.head_sha
        return self._pull_event(repo, pr_number, "closed", user, close)

    def merge_pull(self, repo: str | SimRepo, pr_number: int, user: str | None = None) -> SimPull:
        """Merge the PR (fast-forward its base to the head), send `closed` and the base branch's `push`."""
        with self.state.lock:
            p = self.state.pull(repo, pr_number)
            before = p.repo.branches[p.base_ref]
        pull = self.close_pull(repo, pr_number, merged=True, user=user)
        self._push_event(p.repo, p.base_ref, before, p.head_sha, user or p.user.login)
        return pull

    def reopen_pull(self, repo: str | SimRepo, pr_number: int, user: str | None = None) -> SimPull:
        with self.state.lock:
            if self.state.pull(repo, pr_number).merged:
                raise ValueError(f"pull request #{pr_number} is merged: GitHub cannot reopen it")

        def reopen(p: PullRequest) -> None:
            p.state, p.closed_at = "open", None
        return self._pull_event(repo, pr_number, "reopened", user, reopen)

    def ready_for_review(self, repo: str | SimRepo, pr_number: int, user: str | None = None) -> SimPull:
        def ready(p: PullRequest) -> None:
            p.draft = False
        return self._pull_event(repo, pr_number, "ready_for_review", user, ready)

    def change_base(self, repo: str | SimRepo, pr_number: int, base: str, user: str | None = None) -> SimPull:
        """Retarget the PR to another base branch; sends `edited` with `changes.base`."""
        with self.state.lock:
            p0 = self.state.pull(repo, pr_number)
            old = {"ref": {"from": p0.base_ref}, "sha": {"from": p0.base_sha}}

        def retarget(p: PullRequest) -> None:
            p.base_ref, p.base_sha = base, p.repo.branches[base]
        return self._pull_event(repo, pr_number, "edited", user, retarget, changes={"base": old})

    # -- reviews and comments ------------------------------------------------------------------
    def submit_review(self, repo: str | SimRepo, pr_number: int, user: str, state: str, body: str = "",
                      commit_id: str | None = None) -> SimReview:
        """state: approve | request_changes | comment (or GitHub's APPROVED / CHANGES_REQUESTED / COMMENTED)."""
        st = REVIEW_STATES.get(state.lower())
        if st is None:
            raise ValueError(f"unknown review state {state!r}")
        s = self.state
        with s.lock:
            p = s.pull(repo, pr_number)
            rv = Review(s.next_id(), p, s.account(user), st, commit_id or p.head_sha, s.now_iso(), body)
            s.reviews.append(rv)
            payload = self.webhooks.review_payload(rv, "submitted", user)
        self.webhooks.about("pull_request_review", p.repo, payload)
        return SimReview.of(rv)

    def dismiss_review(self, repo: str | SimRepo, pr_number: int, review_id: int, user: str | None = None,
                       message: str = "") -> SimReview:
        with self.state.lock:
            rv = next(r for r in self.state.reviews if r.id == review_id and r.pull.number == pr_number)
            rv.state = "DISMISSED"
            payload = self.webhooks.review_payload(rv, "dismissed", user or rv.pull.repo.owner.login)
        self.webhooks.about("pull_request_review", rv.pull.repo, payload)
        return SimReview.of(rv)

    def _new_comment(self, repo: str | SimRepo, issue_number: int, user: str, body: str) -> IssueComment:
        s = self.state
        now = s.now_iso()
        c = IssueComment(s.next_id(), s.repo(repo), issue_number, s.account(user), body, now, now)
        s.comments.append(c)
        return c

    def comment(self, repo: str | SimRepo, issue_number: int, user: str, body: str) -> SimComment:
        """A human's PR comment that sends no webhook (see `comment_event` for one that does)."""
        with self.state.lock:
            return SimComment.of(self._new_comment(repo, issue_number, user, body))

    def comment_event(self, repo: str | SimRepo, issue_number: int, user: str, body: str) -> SimComment:
        """A human's comment on a pull request or an issue that sends `issue_comment.created` (e.g.
        `/prompt-review deploy staging` on a PR, `/prompt-review bless` on a re-validation issue)."""
        with self.state.lock:
            c = self._new_comment(repo, issue_number, user, body)
            payload = self.webhooks.comment_payload(c, "created")
        self.webhooks.about("issue_comment", c.repo, payload)
        return SimComment.of(c)

    # -- check-run buttons ---------------------------------------------------------------------
    def request_check_run_action(self, repo: str | SimRepo, check_run_id: int, identifier: str, user: str) -> None:
        """A user clicked a check-run button; sends `check_run.requested_action`."""
        with self.state.lock:
            run = self.state.check_runs[check_run_id]
            payload = self.webhooks.check_run_payload(run, "requested_action", user,
                                                      requested_action={"identifier": identifier})
        self.webhooks.about("check_run", run.repo, payload)

    def rerequest_check_run(self, repo: str | SimRepo, check_run_id: int, user: str) -> None:
        """A user clicked "Re-run" on a completed check run; sends `check_run.rerequested`."""
        with self.state.lock:
            run = self.state.check_runs[check_run_id]
            if run.status != "completed":  # GitHub offers the button on completed runs only
                raise ValueError(f"check run {check_run_id} is {run.status}, not completed: it cannot be re-run")
            payload = self.webhooks.check_run_payload(run, "rerequested", user)
        self.webhooks.about("check_run", run.repo, payload)

    def rerequest_check_suite(self, repo: str | SimRepo, head_sha: str, user: str) -> None:
        """A user asked to re-run every check of a commit; sends `check_suite.rerequested`."""
        with self.state.lock:
            r = self.state.repo(repo)
            payload = self.webhooks.check_suite_payload(r, head_sha, "rerequested", user)
        self.webhooks.about("check_suite", r, payload)
