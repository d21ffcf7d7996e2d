"""Check-run annotations are appended by GitHub, never replaced: a PATCH carrying them is not
idempotent. One that timed out after it was sent (GitHub still applies it, as the simulator does
after its delay) is looked for in the run's annotation count, not sent again; a run completed a
second time (re-published after an accept) is not given the same annotations twice."""

from __future__ import annotations

from collections import Counter

import pytest

from bot.core.render.checks import CheckOutput
from bot.core.result import EVALS_CHECK
from bot.github.client import GitHubApp
from bot.pipeline import github as gh
from bot.simulator import Simulator, start

TIMEOUT = 1.0
DELAY = 4.0  # four times the client's timeout: the client gives up, the simulator still applies the call
CHECK_UPDATE = r"/check-runs/\d+$"
OUTPUT = CheckOutput(
    conclusion="failure", title="2 regressions", summary="summary", text=None,
    annotations=tuple(
        {"path": "prompts/greet.txt", "start_line": n, "end_line": n, "annotation_level": "failure", "message": f"change {n}"}
        for n in range(1, 61)  # more than one request's 50
    ),
)


@pytest.fixture
def github():
    sim = Simulator(webhook_url=None, webhook_secret="s", app_id=1)
    server = start(sim)
    app = GitHubApp(1, sim.private_key_pem.decode(), server.url, timeout=TIMEOUT)
    setup = GitHubApp(1, sim.private_key_pem.decode(), server.url)  # the run is made with the usual timeout: only the writes under test are short
    try:
        sim.create_org("acme")
        repo = sim.create_repo("acme", "tiny", {"prompts/greet.txt": "Say hello.\n"})
        installation = sim.install("acme")
        run = setup.installation(installation).create_check_run(
            repo.full_name, {"name": EVALS_CHECK, "head_sha": repo.branches["main"], "status": "in_progress"})
        yield sim, app.installation(installation), repo.full_name, run["id"]
    finally:
        setup.close()
        app.close()
        server.stop()


def _messages(sim: Simulator, run_id: int) -> Counter:
    with sim.lock:
        return Counter(a["message"] for a in sim.check_runs_[run_id].annotations)


def test_an_annotation_write_that_timed_out_is_not_sent_again_when_github_applied_it(github):
    sim, client, repo, run_id = github
    sim.add_fault(CHECK_UPDATE, method="PATCH", times=1)  # the first update answers normally
    slow = sim.add_fault(CHECK_UPDATE, method="PATCH", delay=DELAY, times=1)  # the next one carries annotations
    gh.complete_check(client, repo, run_id, OUTPUT)
    sim.wait_for_delayed()  # the slow call has landed too, as it would on GitHub
    assert slow.hits == 1, "the slow call was never made, so this test proves nothing"
    messages = _messages(sim, run_id)
    assert sorted(messages) == sorted(a["message"] for a in OUTPUT.annotations)
    assert [m for m, n in messages.items() if n > 1] == []


def test_completing_a_run_again_does_not_repeat_its_annotations(github):
    sim, client, repo, run_id = github
    gh.complete_check(client, repo, run_id, OUTPUT)
    refused = CheckOutput(OUTPUT.conclusion, OUTPUT.title, "**Accept regression refused**\n\nsummary", None,
                          OUTPUT.annotations)
    gh.complete_check(client, repo, run_id, refused)
    messages = _messages(sim, run_id)
    assert len(messages) == 60 and set(messages.values()) == {1}
    with sim.lock:
        assert sim.check_runs_[run_id].summary.startswith("**Accept regression refused**")
