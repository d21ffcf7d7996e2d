"""`review --post`: publish a CLI review to its pull request as the App does, from GitHub Actions or any CI.

Same renderers, same sticky comment (one per PR, edited in place), same two check runs; the
create-once and upsert logic is bot.pipeline.github's. Inside Actions the pull request, its SHAs
and the API come from the workflow's environment; elsewhere from `--repo OWNER/NAME --pr N` and a
token. A token that may not write (a `pull_request` run from a fork gets a read-only one) makes
the review go to the job summary instead, and says so.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field, replace

from bot.core.render import render_approval_check, render_comment, render_evals_check
from bot.core.result import APPROVAL_CHECK, EVALS_CHECK, ReviewResult
from bot.github.client import GitHubError
from bot.github.token import TokenClient
from bot.pipeline import github as gh

PR_EVENTS = ("pull_request", "pull_request_target")
READ_ONLY_NOTE = (
    "> **prompt-review could not post to this pull request**: the workflow's token may not {what} "
    "({why}). The review is below; the job's exit status carries its verdict."
)


class PostError(Exception):
    """`--post` cannot start: what is missing and what to do, in plain words (exit status 2)."""


@dataclass(frozen=True)
class Target:
    """Where the review goes."""

    repo: str  # OWNER/NAME
    pr: int
    token: str
    api_url: str
    web_url: str
    base_sha: str | None = None  # from the event, inside Actions
    head_sha: str | None = None
    fork: bool = False  # the head is in another repository: Actions gives such runs a read-only token
    summary_path: str | None = None  # GITHUB_STEP_SUMMARY
    in_actions: bool = False

    @property
    def default_range(self) -> str | None:
        return f"{self.base_sha}..{self.head_sha}" if self.base_sha and self.head_sha else None


def web_url_for(api_url: str) -> str:
    api_url = api_url.rstrip("/")
    return "https://github.com" if api_url == "https://api.github.com" else api_url.removesuffix("/api/v3")


def target_from(env: Mapping[str, str], repo: str | None, pr: int | None, token_env: str) -> Target:
    """The pull request to post to: the workflow's event inside Actions, `--repo`/`--pr` elsewhere
    (which also override the event)."""
    in_actions = env.get("GITHUB_ACTIONS") == "true"
    api_url = (env.get("GITHUB_API_URL") or "https://api.github.com").rstrip("/")
    web_url = (env.get("GITHUB_SERVER_URL") or web_url_for(api_url)).rstrip("/")
    base_sha = head_sha = None
    fork = False
    event_path = env.get("GITHUB_EVENT_PATH")
    if in_actions and event_path and pr is None:
        event_name = env.get("GITHUB_EVENT_NAME", "")
        try:
            with open(event_path, encoding="utf-8") as f:
                event = json.load(f)
        except (OSError, ValueError) as exc:
            raise PostError(f"cannot read the workflow's event file GITHUB_EVENT_PATH={event_path}: {exc}") from None
        pull = event.get("pull_request") if isinstance(event, dict) else None
        if not isinstance(pull, dict):
            raise PostError(
                f"--post reviews a pull request, but this workflow run is for a {event_name or 'non-PR'!r} event. "
                "Run it `on: pull_request`, or pass --repo OWNER/NAME --pr N."
            )
        pr = int(pull["number"])
        base_sha, head_sha = pull["base"]["sha"], pull["head"]["sha"]
        base_repo = (pull["base"].get("repo") or {}).get("full_name")
        head_repo = (pull["head"].get("repo") or {}).get("full_name")
        fork = head_repo != base_repo
        repo = repo or base_repo
    repo = repo or (env.get("GITHUB_REPOSITORY") if in_actions else None)
    if not repo or repo.count("/") != 1:
        raise PostError("--post needs the repository: pass --repo OWNER/NAME (set by GitHub Actions as GITHUB_REPOSITORY)")
    if pr is None:
        raise PostError("--post needs the pull request: pass --pr N (inside GitHub Actions it comes from the "
                        "`pull_request` event)")
    token = env.get(token_env, "")
    if not token:
        raise PostError(
            f"--post needs a token in the environment variable {token_env} "
            "(in a workflow: `env: GITHUB_TOKEN: ${{ github.token }}` with permissions pull-requests: write and "
            "checks: write; elsewhere a token that may write to the repository, or name its variable with --token-env)"
        )
    return Target(repo=repo, pr=pr, token=token, api_url=api_url, web_url=web_url, base_sha=base_sha,
                  head_sha=head_sha, fork=fork, summary_path=env.get("GITHUB_STEP_SUMMARY") or None,
                  in_actions=in_actions)


@dataclass
class Publisher:
    """Starts the check runs before the review and publishes the result after it."""

    target: Target
    client: TokenClient
    check_ids: dict[str, int] = field(default_factory=dict)
    refused: list[str] = field(default_factory=list)  # what the token may not do, in words

    @classmethod
    def open(cls, target: Target) -> "Publisher":
        return cls(target, TokenClient(target.token, target.api_url))

    def close(self) -> None:
        self.client.close()

    def start(self, head_sha: str) -> None:
        """Both check runs in_progress on the head (ours from an earlier attempt of this job are reused)."""
        try:
            details = gh.pull_url(self.target.web_url, self.target.repo, self.target.pr)
            # `rerun` gives our runs their own external_id: runs of the App or of other workflows
            # with the same names are never taken over.
            self.check_ids = gh.start_checks(self.client, self.target.repo, head_sha, details_url=details, rerun="action")
        except GitHubError as exc:
            if exc.status != 403:
                raise
            self.refused.append("create check runs")

    def publish(self, result: ReviewResult) -> ReviewResult:
        t = self.target
        result = replace(result, repo=t.repo, pr=t.pr,
                         links=gh.check_links(self.client, t.repo, self.check_ids, t.web_url))
        body = render_comment(result)
        comment_id = None
        try:
            comment_id = gh.upsert_comment(self.client, t.repo, t.pr, body)
        except GitHubError as exc:
            if exc.status != 403:
                raise
            self.refused.append("comment")
        details = gh.comment_url(t.web_url, t.repo, t.pr, comment_id) if comment_id else gh.pull_url(t.web_url, t.repo, t.pr)
        if self.check_ids:
            gh.complete_check(self.client, t.repo, self.check_ids[EVALS_CHECK], render_evals_check(result), details_url=details)
            gh.complete_check(self.client, t.repo, self.check_ids[APPROVAL_CHECK], render_approval_check(result),
                              details_url=details)
        if self.refused:
            self._fall_back(body)
        return result

    def abandon(self, reason: str) -> None:
        """The review stopped with an error: complete the started checks as failure rather than leave
        them in progress for ever (a required check would wait silently)."""
        for run_id in self.check_ids.values():
            gh.close_check(self.client, self.target.repo, run_id, "failure", "prompt-review stopped with an error",
                           f"The review did not finish: {reason}. See the job's log.")

    def _fall_back(self, body: str) -> None:
        what = " or ".join(dict.fromkeys(self.refused))
        why = ("a pull request from a fork gets a read-only token" if self.target.fork
               else "grant `pull-requests: write` and `checks: write` in the workflow's `permissions:`")
        note = READ_ONLY_NOTE.format(what=what, why=why)
        if self.target.summary_path:
            with open(self.target.summary_path, "a", encoding="utf-8") as f:
                f.write(f"{note}\n\n{body}\n")
            where = "the review is in the job summary"
        else:
            where = "the review is on standard output only"
        # In Actions a `::warning::` line becomes an annotation on the run, where the user looks.
        prefix = "::warning title=prompt-review::" if self.target.in_actions else "prompt-review: "
        print(f"{prefix}the token may not {what} ({why}); {where}", file=sys.stderr)

    @property
    def posted(self) -> bool:
        return not self.refused
