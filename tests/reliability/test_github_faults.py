"""GitHub answering 500/502, secondary rate limits (403/429 with Retry-After) on the write
endpoints (and a 502 on a read): the review still completes, with exactly one comment and two check runs created."""

from __future__ import annotations

import pytest

from tests.reliability.common import (APPROVAL_CHECK, BAD_PROMPT, EVALS_CHECK, REPO, assert_nothing_left_in_progress,
                                      bot_comments, runs_by_name, tiny_stack)

CHECK_CREATE = r"/check-runs$"
CHECK_UPDATE = r"/check-runs/\d+$"
COMMENT_CREATE = r"/issues/\d+/comments$"

FAULTS = {
    "500/502 on every write endpoint": [
        ("POST", CHECK_CREATE, dict(status=500, times=2)),
        ("POST", COMMENT_CREATE, dict(status=502, times=1)),
        ("PATCH", CHECK_UPDATE, dict(status=502, times=2)),
        ("GET", r"/pulls/\d+/files$", dict(status=502, times=1)),
    ],
    "403 secondary limit and 429 with Retry-After on every write endpoint": [
        ("POST", CHECK_CREATE, dict(status=403, retry_after=1, times=1)),
        ("POST", COMMENT_CREATE, dict(status=429, retry_after=1, times=1)),
        ("PATCH", CHECK_UPDATE, dict(status=403, retry_after=0, times=1)),
    ],
}


@pytest.mark.parametrize("faults", list(FAULTS.values()), ids=list(FAULTS))
def test_github_errors_on_writes_still_end_in_one_comment_and_two_completed_check_runs(tmp_path, model, faults):
    with tiny_stack(tmp_path, model.url) as s:
        for method, path, kw in faults:
            s.sim.add_fault(path, method=method, **kw)
        pr = s.sim.open_pull(REPO, "bad", {"prompts/greet.txt": BAD_PROMPT}, "Bad", "dave")
        s.wait_idle()
        for fault in s.sim.faults:
            assert fault.hits == fault.times, "the fault was never triggered, so this test proves nothing"
        runs = runs_by_name(s.sim, pr.head_sha)
        assert set(runs) == {EVALS_CHECK, APPROVAL_CHECK}
        assert runs[EVALS_CHECK].conclusion == "failure"  # the regression is still reported
        created_ok = [c for c in s.sim.calls_to("POST", CHECK_CREATE) if c.status < 300]
        assert len(created_ok) == 2
        assert len([c for c in s.sim.calls_to("POST", COMMENT_CREATE) if c.status < 300]) == 1
        assert len(bot_comments(s.sim, pr.number)) == 1
        assert_nothing_left_in_progress(s.sim)
