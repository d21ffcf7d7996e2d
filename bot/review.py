"""`prompt-review review BASE..HEAD`: the same review on a local git checkout, for any CI.

Exit status: 0 nothing blocks · 1 a blocking verdict (regressions, loosened checks, failing cases)
· 2 a configuration error (repo config or a suite) · 3 could not check (cases that could not run:
missing or refused credentials, provider down, timeouts; or a run cut short by the budget).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time

import platformdirs

from bot.core.compare import Block
from bot.core.config import CONFIG_PATH
from bot.core.render import render_comment, render_evals_check
from bot.core.render.conclusion import evals_outcome
from bot.core.render.text import render_text
from bot.core.result import ChangedFile, ReviewResult
from bot.evals import DiskCache, MemoryCache
from bot.evals.urls import ALLOW_PRIVATE_ENV
from bot.github.client import GitHubError
from bot.jsonable import to_jsonable
from bot.pipeline.stages import Context, ReviewInput, review
from bot.pipeline.trees import GitError, GitTree, git, git_changed_files
from bot.post import PostError, Publisher, target_from

JSON_SCHEMA_VERSION = "prompt-review/review@1"


class Progress:
    """A one-line progress bar on stderr, only when stderr is a terminal."""

    def __init__(self, enabled: bool):
        self.enabled = enabled
        self._last = 0.0

    def __call__(self, done: int, total: int) -> None:
        if not self.enabled or total <= 0:
            return
        now = time.monotonic()
        if done < total and now - self._last < 0.1:
            return
        self._last = now
        width = 30
        filled = int(width * done / total)
        sys.stderr.write(f"\r  evals [{'#' * filled}{'.' * (width - filled)}] {done}/{total}")
        if done >= total:
            sys.stderr.write("\n")
        sys.stderr.flush()


def explain_revision(repo: str, rev: str) -> str | None:
    """Why `rev` does not resolve in `repo`, and what to type instead; None when it resolves."""
    try:
        git(repo, "rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}")
        return None
    except GitError:
        pass
    try:
        git(repo, "rev-parse", "--git-dir")
    except GitError:
        return f"{os.path.abspath(repo)} is not a git repository: run it inside one or pass --repo PATH"
    remotes = str(git(repo, "remote")).split()
    remote, _, branch = rev.partition("/")
    if branch and remote not in remotes and not _is_local_ref(repo, rev):
        instead = str(git(repo, "rev-parse", "--abbrev-ref", "HEAD")).strip()
        default = next((b for b in ("main", "master") if _is_local_ref(repo, b) and b != instead), None)
        hint = (f"compare with a local branch instead (`prompt-review review {default}..HEAD`)" if default
                else "compare with a local commit instead (`prompt-review review HEAD~1..HEAD` for the last commit)")
        have = f"its remotes are {', '.join(remotes)}" if remotes else "it has no remotes"
        return (f"{rev!r} is not a revision here: this repository has no remote {remote!r} ({have}); {hint}, "
                f"or add the remote (`git remote add {remote} URL && git fetch {remote}`)")
    if branch and remote in remotes:
        return (f"{rev!r} is not fetched: run `git fetch {remote} {branch}` "
                "(in GitHub Actions, give actions/checkout `fetch-depth: 0`)")
    if len(rev) >= 7 and all(c in "0123456789abcdef" for c in rev.lower()):
        return (f"commit {rev[:12]} is not in this clone: fetch it (`git fetch origin {rev}`; in GitHub Actions, "
                "give actions/checkout `fetch-depth: 0`)")
    return f"{rev!r} is not a branch, tag or commit here (`git branch -a` lists the branches)"


def _is_local_ref(repo: str, ref: str) -> bool:
    try:
        git(repo, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}")
        return True
    except GitError:
        return False


def build_input(repo: str, spec: str) -> ReviewInput:
    if "..." in spec:
        base_rev, head_rev = spec.split("...", 1)
    elif ".." in spec:
        base_rev, head_rev = spec.split("..", 1)
    else:
        raise GitError(f"expected a range BASE..HEAD (e.g. main..HEAD), got {spec!r}")
    for rev in (base_rev or "HEAD", head_rev or "HEAD"):
        problem = explain_revision(repo, rev)
        if problem:
            raise GitError(problem)
    if "..." in spec:
        base_rev = str(git(repo, "merge-base", base_rev or "HEAD", head_rev or "HEAD")).strip()
    base, head = GitTree(repo, base_rev or "HEAD"), GitTree(repo, head_rev or "HEAD")
    changed = tuple(ChangedFile(p, s, prev) for p, s, prev in git_changed_files(repo, base.sha, head.sha))
    author = str(git(repo, "log", "-1", "--format=%an", head.sha)).strip()
    return ReviewInput(repo=os.path.basename(os.path.abspath(repo)), pr=None, base_sha=base.sha, head_sha=head.sha,
                       author=author, changed=changed, base=base, head=head)


EXIT_OK, EXIT_BLOCKED, EXIT_CONFIG, EXIT_COULD_NOT_CHECK = 0, 1, 2, 3


def exit_status(result: ReviewResult) -> int:
    report = result.evals
    if result.config_invalid or (report is not None and report.errors):
        return EXIT_CONFIG
    if evals_outcome(result).conclusion not in ("failure", "action_required"):
        return EXIT_OK
    blocks = set(report.verdict.blocks) if report is not None else set()
    if blocks - {Block.COULD_NOT_CHECK}:
        return EXIT_BLOCKED
    if Block.COULD_NOT_CHECK in blocks or (report is not None and (report.budget_exhausted or report.cancelled)):
        return EXIT_COULD_NOT_CHECK
    return EXIT_BLOCKED


def as_json(result: ReviewResult, status: int) -> dict:
    evals_check = render_evals_check(result)
    return {
        "schema": JSON_SCHEMA_VERSION,
        "exit_status": status,
        "conclusion": evals_check.conclusion,
        "title": evals_check.title,
        "base_sha": result.base_sha,
        "head_sha": result.head_sha,
        "files_changed": result.files_changed,
        "problems": to_jsonable(result.problems),
        "prompts": [
            {
                "path": p.path,
                "status": p.status,
                "previous_path": p.previous_path,
                "why": p.why,
                "base_hash": p.base_hash,
                "head_hash": p.head_hash,
                "lines_added": p.lines_added,
                "lines_removed": p.lines_removed,
                "semdiff": to_jsonable(p.semdiff),
            }
            for p in result.prompts
        ],
        "evals": to_jsonable(result.evals),
        "explanation": explanation_json(result),
        "evals_skipped_reason": result.evals_skipped_reason,
    }


def explanation_json(result: ReviewResult) -> dict | None:
    """Clusters with their cause change(s) spelled out (not only ids), for CI scripts."""
    ex = result.explanation
    if ex is None:
        return None
    data = to_jsonable(ex)
    for cause in data["causes"]:
        cause["cause_changes"] = [to_jsonable(ex.change(i)) for i in cause["changes"]]
    return data


def default_cache_dir() -> str:
    """The user's cache directory (platformdirs), outside any repository a review reads."""
    return os.path.join(platformdirs.user_cache_dir("prompt-review"), "results")


def review_command(args: argparse.Namespace) -> int:
    publisher = None
    target = None
    if args.post:
        try:
            target = target_from(os.environ, args.github_repo, args.pr, args.token_env)
        except PostError as exc:
            print(f"prompt-review review --post: {exc}", file=sys.stderr)
            return EXIT_CONFIG
    spec = args.range or (target.default_range if target else None)
    if not spec:
        print("prompt-review review: name the commits to compare, e.g. `prompt-review review main..HEAD` "
              "(see `prompt-review review --help`)", file=sys.stderr)
        return EXIT_CONFIG
    try:
        inp = build_input(args.repo, spec)
    except GitError as exc:
        print(f"prompt-review review: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    if target is not None:
        publisher = Publisher.open(target)
        try:
            publisher.start(target.head_sha or inp.head_sha)
        except GitHubError as exc:
            publisher.close()
            print(f"prompt-review review --post: cannot start the check runs on {target.repo}: {exc}", file=sys.stderr)
            return EXIT_CONFIG
    try:
        return _review_and_report(args, inp, publisher)
    except Exception as exc:
        if publisher is not None:
            publisher.abandon(f"{type(exc).__name__}: {exc}")
        raise
    finally:
        if publisher is not None:
            publisher.close()


def _review_and_report(args: argparse.Namespace, inp: ReviewInput, publisher) -> int:
    # Never inside the reviewed tree: a PR could commit entries that make its own cases "pass".
    cache_dir = args.cache_dir or default_cache_dir()
    ctx = Context(
        env={**os.environ, **({ALLOW_PRIVATE_ENV: "1"} if getattr(args, "allow_private_urls", False) else {})},
        cache=MemoryCache() if args.no_cache else DiskCache(cache_dir, max_bytes=args.cache_max_mb * 1024 * 1024),
        suites_override=args.suite,
        config_path=getattr(args, "config", None) or CONFIG_PATH,
        progress=Progress(enabled=not args.quiet and sys.stderr.isatty()),
        with_approval=False,
    )
    result = review(inp, ctx)
    status = exit_status(result)
    if publisher is not None:
        try:
            result = publisher.publish(result)
        except GitHubError as exc:
            print(f"prompt-review review --post: could not post the review to {publisher.target.repo}"
                  f"#{publisher.target.pr}: {exc}", file=sys.stderr)
            status = EXIT_CONFIG
        if publisher.refused and not publisher.target.summary_path:
            status = status or EXIT_CONFIG  # nowhere a reader would find it: the job must not look green
    for problem in result.problems:
        print(f"prompt-review: {problem.title}: {problem.detail}", file=sys.stderr)
        for error in problem.errors:
            print(f"  {error}", file=sys.stderr)
    for error in result.evals.errors if result.evals is not None else ():
        print(f"prompt-review: {error}", file=sys.stderr)
    for warning in result.evals.warnings if result.evals is not None else ():
        print(f"prompt-review: warning: {warning}", file=sys.stderr)
    if result.evals is not None and result.evals.verdict.could_not_check:
        print(f"prompt-review: could not check: {result.evals.verdict.could_not_check}", file=sys.stderr)
    fmt = args.format or ("text" if sys.stdout.isatty() else "markdown")
    if fmt == "json":
        json.dump(as_json(result, status), sys.stdout, indent=2)
        sys.stdout.write("\n")
    elif fmt == "text":
        sys.stdout.write(render_text(result, width=shutil.get_terminal_size((100, 24)).columns, color=sys.stdout.isatty()))
    else:
        sys.stdout.write(render_comment(result))
        sys.stdout.write("\n")
    return status
