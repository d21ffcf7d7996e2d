"""`prompt-review demo`: the whole flow offline, on loopback, with no credentials.

Starts the GitHub simulator, the scripted model server (a test double) and the real service
(web + workers, SQLite in a temporary directory); creates the support-bot example repo,
installs the App, opens the "friendlier prompt" PR and a whitespace-only PR, delivers signed
webhooks over HTTP, waits for the reviews and prints what a reviewer would see.
"""

from __future__ import annotations

import html as _html
import json
import shutil
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import httpx
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot import logs
from bot.core import snapshot
from bot.core.render import html_page
from bot.core.render.causes import cause_views
from bot.core.render.html import markdown_to_html
from bot.core.render.text import cause_sentence, render_text
from bot.core.result import COMMENT_MARKER
from bot.modelserver.app import create_app as create_model_app
from bot.service import queue
from bot.service.db import ReviewRecord
from bot.service.run import build_service
from bot.serving import free_port, start_in_thread
from bot.settings import Settings
from bot.simulator import Simulator, start
from bot.simulator.driver import generate_private_key

SECRET = "demo-webhook-secret"


def example_dir() -> Path:
    here = Path(__file__).resolve().parent
    for candidate in (here / "_examples" / "support-bot", here.parent / "examples" / "support-bot"):
        if (candidate / ".github" / "prompt-review.yml").is_file():
            return candidate
    raise FileNotFoundError("the support-bot example is missing from this installation")


def _overlay(example: Path, name: str) -> tuple[dict[str, bytes], dict]:
    root = example / "pulls" / name
    files = {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file() and p.name != "pr.json"}
    return files, json.loads((root / "pr.json").read_text())


def _say(text: str = "") -> None:
    print(text, flush=True)


def _wait_idle(engine, progress=None, timeout: float = 120.0) -> None:
    started = time.monotonic()
    deadline = started + timeout
    while time.monotonic() < deadline:
        counts = queue.counts_by_state(engine)
        if not counts.get("queued") and not counts.get("running"):
            return
        if progress is not None:
            progress(time.monotonic() - started)
        time.sleep(0.05)
    raise TimeoutError(f"the review did not finish within {timeout:.0f}s")


class _Progress:
    """'reviewing… 3s, 120 model calls': rewritten in place on a terminal, a line every few seconds otherwise."""

    def __init__(self, model_url: str, calls_before: int):
        self.model_url, self.calls_before = model_url, calls_before
        self.tty = sys.stdout.isatty()
        self.last = -1.0
        self.shown = False

    def __call__(self, elapsed: float) -> None:
        if elapsed - self.last < (0.5 if self.tty else 3.0):
            return
        self.last = elapsed
        try:
            calls = httpx.get(self.model_url + "/_control/stats").json()["requests"] - self.calls_before
        except httpx.HTTPError:
            return
        line = f"  reviewing… {elapsed:.0f}s, {calls} model calls"
        if self.tty:
            sys.stdout.write("\r" + line)
            sys.stdout.flush()
        else:
            _say(line)
        self.shown = True

    def end(self) -> None:
        if self.shown and self.tty:
            sys.stdout.write("\r" + " " * 60 + "\r")
            sys.stdout.flush()


def _print_checks(sim, repo: str, sha: str) -> None:
    for run in sorted(sim.check_runs(repo, sha), key=lambda r: r.name):
        _say(f"  {run.name:<24} {run.status} · {run.conclusion} — {run.title}")


def _open_and_review(sim, repo: str, example: Path, name: str, engine, model_url: str):
    """Open the example PR `name`, wait for its review, and print its checks with the model calls it cost."""
    files, meta = _overlay(example, name)
    calls_before = httpx.get(model_url + "/_control/stats").json()["requests"]
    t0 = time.monotonic()
    pr = sim.open_pull(repo, meta["head_branch"], files, meta["title"], meta["author"], body=meta.get("body", ""))
    _say(f"\nPR #{pr.number} “{meta['title']}” by @{meta['author']} opened; the App is reviewing it")
    progress = _Progress(model_url, calls_before)
    _wait_idle(engine, progress)
    progress.end()
    calls = httpx.get(model_url + "/_control/stats").json()["requests"] - calls_before
    _say(f"PR #{pr.number} reviewed in {time.monotonic() - t0:.1f}s, {calls} model calls")
    _print_checks(sim, repo, pr.head_sha)
    return pr, meta["title"]


def _stored_review(engine, repo: str, number: int, head_sha: str):
    """The ReviewResult the service stored for this head (None when it stored none)."""
    with Session(engine) as session:
        row = session.scalar(
            select(ReviewRecord)
            .where(ReviewRecord.repo == repo, ReviewRecord.pr == number, ReviewRecord.head_sha == head_sha)
            .order_by(ReviewRecord.id.desc())
            .limit(1)
        )
    return None if row is None else snapshot.load(row.snapshot)


def _causes(result) -> list[str]:
    """Each cause in one sentence ('Removing “…” (file line 9 of the base) broke 41 … cases.')."""
    return [cause_sentence(c) for c in cause_views(result)] if result is not None else []


def demo_page(sim, repo: str, body: str, head_sha: str, web_url: str, title: str) -> str:
    """The comment as a web page that stands alone: its check-run links lead to the check runs'
    outputs further down the same page instead of to a simulator that has stopped."""
    runs = sorted(sim.check_runs(repo, head_sha), key=lambda r: r.name)
    sections = [f'<section id="run-{run.id}"><h2>{_html.escape(run.name)}: {_html.escape(str(run.conclusion))}'
                f"</h2>\n{markdown_to_html(run.summary or '')}{markdown_to_html(run.text or '')}</section>" for run in runs]
    page = html_page(body, title=title).replace("</body>", "<hr>\n" + "\n".join(sections) + "\n</body>")
    for run in runs:
        page = page.replace(f'href="{web_url}/{repo}/runs/{run.id}"', f'href="#run-{run.id}"')
    return page


def demo_command(keep: bool = False, out: str = "prompt-review-demo.html") -> int:
    logs.configure("text", "WARNING")
    started = time.monotonic()
    example = example_dir()
    workdir = Path(tempfile.mkdtemp(prefix="prompt-review-demo-"))
    servers = []
    service = None
    try:
        model = start_in_thread(create_model_app())
        servers.append(model)
        port = free_port()
        key = generate_private_key()  # the App's key, shared by the simulator and the service
        sim = Simulator(webhook_url=f"http://127.0.0.1:{port}/webhook", webhook_secret=SECRET, app_id=1,
                        private_key_pem=key)
        sim_server = start(sim)
        servers.append(sim_server)
        settings = Settings(
            app_id=1,
            private_key=key.decode(),
            webhook_secret=SECRET,
            github_api_url=sim_server.url,
            database_url=f"sqlite:///{workdir / 'prompt-review.db'}",
            poll_interval_seconds=0.05,
            redeliver_interval_seconds=0,
            worker_concurrency=2,
            # No public_url: it would put a link to this service's review page (gone when the demo ends,
            # and without sign-in set up while it runs) into the comment and the standalone page.
        )
        env = {"OPENAI_BASE_URL": model.url + "/v1", "OPENAI_API_KEY": "scripted-model-server-needs-no-key"}
        service = build_service(settings, env=env)
        web = start_in_thread(service.web_app(with_workers=False), port=port)
        servers.append(web)
        service.start_workers()

        _say("prompt-review demo — everything on loopback, nothing leaves this machine")
        _say(f"  GitHub simulator   {sim_server.url}")
        _say(f"  scripted model     {model.url}/v1 (a test double answering by rules)")
        _say(f"  prompt-review      {web.url}  (/webhook /healthz /readyz /metrics)")
        _say()
        repo = "acme/support-bot"
        sim.create_org("acme")
        sim.create_repo_from_dir("acme", "support-bot", example)
        sim.add_team("acme", "support-prompts", ["erin", "frank"])
        sim.add_team("acme", "prompt-eng", ["gina"])
        sim.set_permission(repo, "alice", "admin")
        sim.install("acme")
        _say(f"created {repo} from the example and installed the App")

        pr, title = _open_and_review(sim, repo, example, "friendlier", service.engine, model.url)
        comments = [c for c in sim.comments(repo, pr.number) if c.body.startswith(COMMENT_MARKER)]
        if not comments:
            _say("error: the review posted no comment")
            return 1
        body = comments[0].body
        result = _stored_review(service.engine, repo, pr.number, pr.head_sha)
        if result is None:
            _say("error: the service stored no review")
            return 1
        width = shutil.get_terminal_size((100, 24)).columns
        # The terminal gets the text form; the comment as GitHub shows it goes to the web page below.
        _say("\n" + "─" * min(width, 100))
        _say(render_text(result, width=min(width, 100), color=sys.stdout.isatty()).rstrip())
        _say("─" * min(width, 100))
        Path(out).write_text(demo_page(sim, repo, body, pr.head_sha, settings.github_web_url,
                                       f"{repo}#{pr.number} — prompt-review"), encoding="utf-8")

        pr2, title2 = _open_and_review(sim, repo, example, "reflow", service.engine, model.url)
        result2 = _stored_review(service.engine, repo, pr2.number, pr2.head_sha)

        verdicts = {n: {r.name: r for r in sim.check_runs(repo, p.head_sha)} for n, p in ((1, pr), (2, pr2))}
        ok = (getattr(verdicts[1].get("prompt-review/evals"), "conclusion", None) == "failure"
              and getattr(verdicts[2].get("prompt-review/evals"), "conclusion", None) == "success")
        # The last screen: each PR's verdict and where to look, not scrolled away by the comment above.
        _say("\n" + "═" * 78)
        _say(f"summary — done in {time.monotonic() - started:.1f}s")
        for (n, p), t, r in zip(((1, pr), (2, pr2)), (title, title2), (result, result2)):
            _say(f"  PR #{p.number} “{t}”")
            for name, run in sorted(verdicts[n].items()):
                _say(f"    {name:<24} {run.conclusion} — {run.title}")
            for sentence in _causes(r)[:2]:
                _say(textwrap.fill(sentence, width=min(width, 100), initial_indent="    cause: ",
                                   subsequent_indent="      "))
        _say(f"  the friendlier PR's comment as a web page, with its checks: {Path(out).resolve()}")
        if keep:
            _say(f"  the PRs on the simulator: {sim_server.url}/{repo}/pull/{pr.number} and /pull/{pr2.number}")
        else:
            _say("  (the links in the comment open the simulator's pages while it runs: `prompt-review demo --keep`)")
        _say("═" * 78)
        if keep:
            _say("\n--keep: everything stays up; press Ctrl-C to stop.")
            _say(f"  try: curl -s {web.url}/metrics | grep prompt_review_")
            _say(f"       open {sim_server.url}/{repo}/pull/{pr.number}")
            try:
                while True:
                    time.sleep(3600)
            except KeyboardInterrupt:
                pass
        return 0 if ok else 1
    finally:
        if service is not None:
            service.stop()
        for server in reversed(servers):
            server.stop()
        if service is not None:
            service.engine.dispose()
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(demo_command())
