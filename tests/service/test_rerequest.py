"""Re-runs: "Re-run" on a check or "Re-run all checks" gets NEW check runs (GitHub's contract for
`rerequested`), each re-request exactly once; ordinary jobs keep reusing the runs of their head.
Both runs link to the sticky comment (`details_url`; the PR page while the review runs)."""

from __future__ import annotations

import pytest

from bot.core.result import APPROVAL_CHECK, COMMENT_MARKER, EVALS_CHECK
from bot.pipeline import github as gh
from bot.service.intake import decide
from tests.reliability.common import BAD_PROMPT, FILES, model_env
from tests.service.harness import stack

REPO = "acme/tiny"


@pytest.fixture
def running(tmp_path, model_server):
    with stack(tmp_path, env=model_env(model_server.url)) as s:
        s.sim.create_org("acme")
        s.sim.create_repo("acme", "tiny", FILES)
        s.sim.set_permission(REPO, "erin", "write")
        s.installation = s.sim.install("acme")
        yield s


def opened_and_reviewed(s):
    pr = s.sim.open_pull(REPO, "bad", {"prompts/greet.txt": BAD_PROMPT}, "Say goodbye", "dave")
    s.wait_idle()
    return pr


def runs(s, sha):
    return sorted(s.sim.check_runs(REPO, sha), key=lambda r: r.id)


def bot_comments(s, number):
    return [c for c in s.sim.comments(REPO, number) if c.body.startswith(COMMENT_MARKER)]


@pytest.mark.parametrize("how", ["check_suite", "check_run"])
def test_rerequest_leaves_the_old_runs_completed_and_creates_two_new_runs_that_complete(running, how):
    s = running
    pr = opened_and_reviewed(s)
    old = runs(s, pr.head_sha)
    assert [r.name for r in old] == [EVALS_CHECK, APPROVAL_CHECK]
    if how == "check_suite":
        s.sim.rerequest_check_suite(REPO, pr.head_sha, "erin")
    else:
        s.sim.rerequest_check_run(REPO, old[0].id, "erin")
    s.wait_idle()
    after = runs(s, pr.head_sha)
    assert after[:2] == old  # untouched: same status, conclusion, output and completion time
    new = after[2:]
    assert sorted(r.name for r in new) == sorted([EVALS_CHECK, APPROVAL_CHECK])
    assert {r.status for r in new} == {"completed"}
    by_name = {r.name: r for r in new}
    assert by_name[EVALS_CHECK].conclusion == "failure" and by_name[EVALS_CHECK].title.startswith("8 of 8 cases regressed")
    assert by_name[APPROVAL_CHECK].conclusion != "success"
    assert len(bot_comments(s, pr.number)) == 1


def test_a_review_after_a_rerun_updates_the_new_runs_and_creates_none(running):
    s = running
    pr = opened_and_reviewed(s)
    s.sim.rerequest_check_suite(REPO, pr.head_sha, "erin")
    s.wait_idle()
    before = runs(s, pr.head_sha)
    s.sim.submit_review(REPO, pr.number, "erin", "APPROVED")
    s.wait_idle()
    after = runs(s, pr.head_sha)
    assert [r.id for r in after] == [r.id for r in before]
    assert after[:3] == before[:3]  # the old runs and the new evals run are left alone
    approval = after[3]
    assert approval.name == APPROVAL_CHECK and approval.summary != before[3].summary


def test_completed_check_runs_link_to_the_sticky_comment(running):
    s = running
    pr = opened_and_reviewed(s)
    web = s.service.settings.github_web_url
    (comment,) = bot_comments(s, pr.number)
    assert {r.details_url for r in runs(s, pr.head_sha)} == {f"{web}/{REPO}/pull/{pr.number}#issuecomment-{comment.id}"}


def test_start_checks_creates_runs_once_per_rerun_and_reuses_them_on_retries(running):
    s = running
    pr = s.sim.open_pull(REPO, "docs", {"README.md": "# tiny, again\n"}, "Docs", "dave")
    s.wait_idle()
    client = s.service.github.installation(s.installation)
    first = gh.start_checks(client, REPO, pr.head_sha)
    assert gh.start_checks(client, REPO, pr.head_sha) == first  # an ordinary retry reuses the runs
    rerun = gh.start_checks(client, REPO, pr.head_sha, rerun=gh.rerun_key({"action": "rerequested"}, 7))
    assert set(rerun.values()).isdisjoint(first.values())
    assert gh.start_checks(client, REPO, pr.head_sha, rerun=gh.rerun_key({"action": "rerequested"}, 7)) == rerun
    again = gh.start_checks(client, REPO, pr.head_sha, rerun=gh.rerun_key({"action": "rerequested"}, 8))
    assert set(again.values()).isdisjoint(set(rerun.values()) | set(first.values()))
    assert len(runs(s, pr.head_sha)) == 6
    assert gh.rerun_key({"action": "synchronize"}, 7) is None


def _suite_rerequest(head_repo_id: int, base_repo_id: int) -> dict:
    pull = {"number": 5, "head": {"sha": "a" * 40, "repo": {"id": head_repo_id}}, "base": {"repo": {"id": base_repo_id}}}
    return {
        "action": "rerequested",
        "repository": {"full_name": REPO},
        "installation": {"id": 1},
        "sender": {"login": "erin"},
        "check_suite": {"head_sha": "a" * 40, "pull_requests": [pull]},
    }


def test_a_rerun_of_a_fork_pr_keeps_the_fork_label_gate():
    (job,) = decide("check_suite", _suite_rerequest(head_repo_id=2, base_repo_id=1)).jobs
    assert job.payload["action"] == "rerequested" and job.payload["fork"] is True
    (job,) = decide("check_suite", _suite_rerequest(head_repo_id=1, base_repo_id=1)).jobs
    assert job.payload["fork"] is False
