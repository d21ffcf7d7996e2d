"""`prompt-review demo`: the whole flow offline, on loopback, with no credentials.

Starts the GitHub simulator, the scripted model server (a test double) and the real service
(web + workers, SQLite in a temporary directory); creates the support-bot example repo,
installs the App, opens the "friendlier prompt" PR and a whitespace-only PR, delivers signed
webhooks over HTTP, waits for the reviews and prints what a reviewer would see.
"""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

import httpx

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


def _wait_idle(engine, timeout: float = 120.0) -> None:
    from bot.service import queue

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        counts = queue.counts_by_state(engine)
        if not counts.get("queued") and not counts.get("running"):
            return
        time.sleep(0.05)
    raise TimeoutError(f"the review did not finish within {timeout:.0f}s")


def _print_checks(sim, repo: str, sha: str) -> None:
    for run in sorted(sim.check_runs(repo, sha), key=lambda r: r.name):
        _say(f"  {run.name:<24} {run.status} · {run.conclusion} — {run.title}")


def _open_and_review(sim, repo: str, example: Path, name: str, engine, model_url: str):
    """Open the example PR `name`, wait for its review, and print its checks with the model calls it cost."""
    files, meta = _overlay(example, name)
    calls_before = httpx.get(model_url + "/_control/stats").json()["requests"]
    t0 = time.monotonic()
    pr = sim.open_pull(repo, meta["head_branch"], files, meta["title"], meta["author"], body=meta.get("body", ""))
    _wait_idle(engine)
    calls = httpx.get(model_url + "/_control/stats").json()["requests"] - calls_before
    _say(f"\nPR #{pr.number} “{meta['title']}” by @{meta['author']} — reviewed in {time.monotonic() - t0:.1f}s, {calls} model calls")
    _print_checks(sim, repo, pr.head_sha)
    return pr


def demo_command(keep: bool = False, out: str = "prompt-review-demo.html") -> int:
    from bot import logs
    from bot.core.render import html_page
    from bot.core.result import COMMENT_MARKER
    from bot.modelserver.app import create_app as create_model_app
    from bot.serving import free_port, start_in_thread
    from bot.service.run import build_service
    from bot.settings import Settings
    from bot.simulator import Simulator, start

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
        sim = Simulator(webhook_url=f"http://127.0.0.1:{port}/webhook", webhook_secret=SECRET, app_id=1)
        sim_server = start(sim)
        servers.append(sim_server)
        settings = Settings(
            app_id=1,
            private_key=sim.private_key_pem.decode(),
            webhook_secret=SECRET,
            github_api_url=sim_server.url,
            database_url=f"sqlite:///{workdir / 'prompt-review.db'}",
            poll_interval_seconds=0.05,
            redeliver_interval_seconds=0,
            worker_concurrency=2,
            public_url=f"http://127.0.0.1:{port}",
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

        pr = _open_and_review(sim, repo, example, "friendlier", service.engine, model.url)
        comments = [c for c in sim.comments(repo, pr.number) if c.body.startswith(COMMENT_MARKER)]
        if not comments:
            _say("error: the review posted no comment")
            return 1
        body = comments[0].body
        _say("\n" + "─" * 78)
        _say(body.replace(COMMENT_MARKER, "").strip())
        _say("─" * 78)
        Path(out).write_text(html_page(body, title=f"{repo}#{pr.number} — prompt-review"), encoding="utf-8")
        _say(f"\nthe comment as a web page: {Path(out).resolve()}")

        pr2 = _open_and_review(sim, repo, example, "reflow", service.engine, model.url)

        ok = {r.name: r.conclusion for r in sim.check_runs(repo, pr.head_sha)}.get("prompt-review/evals") == "failure" and {
            r.name: r.conclusion for r in sim.check_runs(repo, pr2.head_sha)
        }.get("prompt-review/evals") == "success"
        _say(f"\ndone in {time.monotonic() - started:.1f}s")
        if keep:
            _say("\n--keep: everything stays up; press Ctrl-C to stop.")
            _say(f"  try: curl -s {web.url}/metrics | grep prompt_review_")
            _say(f"       curl -s {sim_server.url}/repos/{repo}/pulls/{pr.number}")
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
