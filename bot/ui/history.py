"""`prompt-review history PATH`: a prompt's timeline in the terminal — from the service (what reviews,
versions and deployments it recorded; the same data as the web page) or from a local checkout (what git
knows: each commit that changed the prompt, its semantic changes, model changes)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import httpx

from bot.core.release import describe, short
from bot.core.semdiff import diff_texts
from bot.evals.cache import DiskCache, ResultCache
from bot.pipeline.trees import GitTree
from bot.review import default_cache_dir
from bot.ui.cache_history import MAX_VERSIONS, cached_suites
from bot.ui.timeline import Event, EventKind, Timeline, VersionScore, render_text, with_shifts

DEFAULT_SERVER = "http://127.0.0.1:8000"
_PR = re.compile(r"(?:Merge pull request #(\d+)|\(#(\d+)\)\s*$)")


class HistoryError(Exception):
    """A problem the person can fix; str() says what to do."""


def add_history_verb(sub) -> None:
    p = sub.add_parser("history", help="a prompt's timeline: versions, reviews, deployments, model changes, shifts")
    p.add_argument("path", metavar="PATH", help="the prompt file, relative to the repository root")
    p.add_argument("--repo", default=None, metavar="OWNER/NAME", help="ask the service about this repository")
    p.add_argument("--server", default=None, help=f"the prompt-review service (default: $PROMPT_REVIEW_SERVER or {DEFAULT_SERVER}); "
                                                  "the person is the GitHub user token in GITHUB_TOKEN")
    p.add_argument("--repo-dir", default=None, metavar="DIR", help="read a local git checkout instead (default: .)")
    p.add_argument("--cache-dir", default=None, help="the review cache to read verdicts and scores from, with --repo-dir "
                                                     "(default: the one `prompt-review review` uses)")
    p.add_argument("--format", choices=["text", "json"], default="text")


def history_command(args) -> int:
    try:
        if args.repo and not args.repo_dir:
            t = from_server(args.server or os.environ.get("PROMPT_REVIEW_SERVER") or DEFAULT_SERVER, args.repo, args.path,
                            os.environ.get("GITHUB_TOKEN"))
        else:
            cache_dir = Path(args.cache_dir or default_cache_dir())
            t = from_git(Path(args.repo_dir or "."), args.path, DiskCache(cache_dir) if cache_dir.is_dir() else None)
    except HistoryError as exc:
        print(f"prompt-review history: {exc}", file=sys.stderr)
        return 2
    sys.stdout.write(t.model_dump_json(indent=2) + "\n" if args.format == "json" else render_text(t))
    return 0


def from_server(server: str, repo: str, path: str, token: str | None) -> Timeline:
    if not token:
        raise HistoryError("set GITHUB_TOKEN to a GitHub user token (e.g. `gh auth token`) to read history from the service")
    url = f"{server.rstrip('/')}/ui/api/repos/{repo}/history/{path.lstrip('/')}"
    try:
        r = httpx.get(url, headers={"Authorization": f"Bearer {token}"}, timeout=60)
    except httpx.HTTPError as exc:
        raise HistoryError(f"could not reach {server}: {exc.__class__.__name__}") from None
    if r.status_code != 200:
        try:
            message = r.json().get("error") or r.text
        except ValueError:
            message = r.text[:200]
        raise HistoryError(f"{server} answered {r.status_code}: {message}")
    return Timeline.model_validate_json(r.content)


def _git(repo: Path, *args: str) -> str:
    try:
        done = subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True, check=False)
    except FileNotFoundError:
        raise HistoryError("git is not installed") from None
    if done.returncode != 0:
        raise HistoryError(done.stderr.strip().splitlines()[-1] if done.stderr.strip() else f"git {args[0]} failed")
    return done.stdout


def from_git(repo: Path, path: str, cache: ResultCache | None = None) -> Timeline:
    """Each commit of HEAD's history that changed `path` becomes a version with its semantic changes, and
    with what the review cache knows of its cases (the newest MAX_VERSIONS versions) when `cache` is given."""
    if not (repo / ".git").exists() and _git(repo, "rev-parse", "--is-inside-work-tree").strip() != "true":
        raise HistoryError(f"{repo} is not a git checkout")
    log = _git(repo, "log", "--reverse", "--format=%H%x1f%an%x1f%aI%x1f%s", "--", path)
    if not log.strip():
        raise HistoryError(f"{path} has no history in {repo} (is the path relative to the repository root?)")
    events: list[Event] = []
    scores: list[VersionScore] = []
    before: str | None = None
    model: str | None = None
    lines = log.splitlines()
    for n, line in enumerate(lines):
        commit, author, when, subject = line.split("\x1f", 3)
        at = datetime.fromisoformat(when)
        try:
            blob = _git(repo, "rev-parse", f"{commit}:{path}").strip()
            text: str | None = _git(repo, "show", f"{commit}:{path}")
        except HistoryError:
            blob, text = None, None
        m = _PR.search(subject)
        pr = int(m.group(1) or m.group(2)) if m else None
        if text is None:
            events.append(Event(at=at, kind=EventKind.VERSION, title=f"removed at {commit[:7]} by {author}: {subject}", pr=pr,
                                commit=commit))
            before = None
            continue
        changes = tuple(c.summary for c in diff_texts(path, before, text).changes)
        found = cached_suites(GitTree(str(repo), commit), path, cache) if cache is not None and n >= len(lines) - MAX_VERSIONS else ()
        scores.extend(VersionScore(version=short(blob) or "", suite=s.suite, pass_rate=s.pass_rate, pr=pr)
                      for s in found if s.cached)
        events.append(Event(at=at, kind=EventKind.VERSION, version=short(blob), pr=pr, commit=commit,
                            title=f"version {short(blob)} at {commit[:7]} by {author}: {subject}",
                            details=changes + tuple(s.describe() for s in found)))
        _, now_model, _ = describe(path, text)
        if now_model != model and model is not None:
            events.append(Event(at=at, kind=EventKind.MODEL, title=f"model {model} → {now_model or 'none'} at {commit[:7]}"))
        model, before = now_model, text
    return with_shifts(Timeline(repo="", path=path, events=tuple(events), scores=tuple(scores), source="git"))
