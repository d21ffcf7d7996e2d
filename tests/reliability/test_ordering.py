"""Duplicate and out-of-order deliveries, force-pushes to an older SHA and PRs closed mid-review:
the final checks and comment always describe the PR's latest head, and no check run is left
`in_progress` on any SHA."""

from __future__ import annotations

import json
import time

import httpx

from tests.reliability.common import (APPROVAL_CHECK, BAD_PROMPT, EVALS_CHECK, GOOD_PROMPT, REPO,
                                      assert_nothing_left_in_progress, bot_comments, runs_by_name, tiny_stack)

COMMENT_CREATE = r"/issues/\d+/comments$"


def latest_runs(sim, sha):
    """The newest run of each check on `sha` (what GitHub shows on the PR)."""
    out = {}
    for run in sorted(sim.check_runs(REPO, sha), key=lambda r: r.id):
        out[run.name] = run
    return out


def test_synchronize_delivered_before_opened_ends_on_the_latest_head(tmp_path, model, database_url):
    with tiny_stack(tmp_path, model.url, db_url=database_url) as s:
        url, s.sim.webhook_url = s.sim.webhook_url, None  # hold the deliveries back
        pr = s.sim.open_pull(REPO, "p", {"prompts/greet.txt": BAD_PROMPT}, "P", "dave")
        pr2 = s.sim.push(REPO, pr.number, {"prompts/greet.txt": GOOD_PROMPT})
        opened, synchronize = s.sim.deliveries("pull_request")[-2:]
        assert (opened.action, synchronize.action) == ("opened", "synchronize")
        s.sim.webhook_url = url
        s.sim.deliver("pull_request", json.loads(synchronize.body))
        s.wait_idle()
        s.sim.deliver("pull_request", json.loads(opened.body))
        s.wait_idle()
        runs = latest_runs(s.sim, pr2.head_sha)
        assert runs[EVALS_CHECK].conclusion == "success"
        assert runs[APPROVAL_CHECK].status == "completed"
        (comment,) = bot_comments(s.sim, pr.number)
        assert pr2.head_sha[:7] in comment.body and "regressed" not in comment.body.lower()
        assert_nothing_left_in_progress(s.sim)


def test_duplicate_deliveries_with_the_same_id_review_once(tmp_path, model, database_url):
    with tiny_stack(tmp_path, model.url, db_url=database_url) as s:
        pr = s.sim.open_pull(REPO, "p", {"prompts/greet.txt": BAD_PROMPT}, "P", "dave")
        opened = s.sim.deliveries("pull_request")[-1]
        for _ in range(3):
            again = httpx.post(s.sim.webhook_url, content=opened.body, headers=opened.headers)
            assert again.status_code in (200, 202)
        s.wait_idle()
        s.sim.redeliver(opened.id)
        s.wait_idle()
        assert len(s.sim.calls_to("POST", r"/check-runs$")) == 2
        assert len(s.sim.calls_to("POST", COMMENT_CREATE)) == 1
        assert s.sim.calls_to("PATCH", r"/issues/comments/\d+$") == []  # nothing re-published either
        assert len(bot_comments(s.sim, pr.number)) == 1
        assert_nothing_left_in_progress(s.sim)


def test_force_push_back_to_an_older_sha_reviews_that_sha_again(tmp_path, model):
    with tiny_stack(tmp_path, model.url) as s:
        pr = s.sim.open_pull(REPO, "p", {"prompts/greet.txt": BAD_PROMPT}, "P", "dave")
        s.wait_idle()
        pr2 = s.sim.push(REPO, pr.number, {"prompts/greet.txt": GOOD_PROMPT})
        s.wait_idle()
        assert latest_runs(s.sim, pr2.head_sha)[EVALS_CHECK].conclusion == "success"
        pr3 = s.sim.push(REPO, pr.number, {}, force_to_sha=pr.head_sha)
        s.wait_idle()
        assert pr3.head_sha == pr.head_sha
        runs = latest_runs(s.sim, pr.head_sha)
        assert runs[EVALS_CHECK].status == "completed" and runs[EVALS_CHECK].conclusion == "failure"
        (comment,) = bot_comments(s.sim, pr.number)
        assert "regressed" in comment.body and pr.head_sha[:7] in comment.body
        assert_nothing_left_in_progress(s.sim)


def test_pr_closed_while_its_review_runs_leaves_no_check_in_progress(tmp_path, model):
    with tiny_stack(tmp_path, model.url) as s:
        httpx.post(model.url + "/_control/faults", json={"delay_ms": 300, "count": 40}).raise_for_status()
        pr = s.sim.open_pull(REPO, "p", {"prompts/greet.txt": BAD_PROMPT}, "P", "dave")
        for _ in range(250):  # until the worker has started the check runs
            if s.sim.check_runs(REPO, pr.head_sha):
                break
            time.sleep(0.02)
        assert s.sim.check_runs(REPO, pr.head_sha), "the review never started"
        s.sim.close_pull(REPO, pr.number)
        s.wait_idle()
        assert_nothing_left_in_progress(s.sim)
        assert len(s.sim.calls_to("POST", r"/check-runs$")) == 2
