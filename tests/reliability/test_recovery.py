"""Downtime: deliveries GitHub could not hand over while the service was down are found through
the App's delivery log and redelivered; a second pass redelivers nothing again."""

from __future__ import annotations

from collections import Counter

from bot.serving import free_port
from bot.service.recovery import redeliver_failed
from tests.reliability.common import (APPROVAL_CHECK, BAD_PROMPT, EVALS_CHECK, REPO,
                                      assert_nothing_left_in_progress, bot_comments, runs_by_name, tiny_stack)


def test_deliveries_missed_during_downtime_are_redelivered_once_and_the_pr_gets_reviewed(tmp_path, model, database_url):
    with tiny_stack(tmp_path, model.url, db_url=database_url) as s:
        url, s.sim.webhook_url = s.sim.webhook_url, f"http://127.0.0.1:{free_port()}/webhook"  # nobody listening
        pr = s.sim.open_pull(REPO, "p", {"prompts/greet.txt": BAD_PROMPT}, "P", "dave")
        missed = s.sim.deliveries("pull_request")[-1]
        assert not missed.ok
        s.wait_idle()
        assert runs_by_name(s.sim, pr.head_sha) == {}
        s.sim.webhook_url = url  # the service is back

        assert redeliver_failed(s.service.github, s.service.engine) == 1
        s.sim.wait_for_deliveries()
        s.wait_idle()
        runs = runs_by_name(s.sim, pr.head_sha)
        assert runs[EVALS_CHECK].conclusion == "failure" and runs[APPROVAL_CHECK].status == "completed"
        assert len(bot_comments(s.sim, pr.number)) == 1

        assert redeliver_failed(s.service.github, s.service.engine) == 0
        s.sim.wait_for_deliveries()
        s.wait_idle()
        sent = Counter(d.guid for d in s.sim.deliveries())
        assert sent[missed.guid] == 2  # the failed attempt and exactly one redelivery
        assert len(s.sim.calls_to("POST", r"/hook/deliveries/\d+/attempts$")) == 1
        assert len(s.sim.calls_to("POST", r"/check-runs$")) == 2
        assert_nothing_left_in_progress(s.sim)


def test_recovery_skips_failed_deliveries_that_were_stored_after_all(tmp_path, model):
    with tiny_stack(tmp_path, model.url) as s:
        url, s.sim.webhook_url = s.sim.webhook_url, f"http://127.0.0.1:{free_port()}/webhook"
        pr = s.sim.open_pull(REPO, "p", {"prompts/greet.txt": BAD_PROMPT}, "P", "dave")
        s.sim.webhook_url = url
        s.sim.redeliver(s.sim.deliveries("pull_request")[-1].id)  # GitHub's own retry got through
        s.wait_idle()
        assert redeliver_failed(s.service.github, s.service.engine) == 0
        assert s.sim.calls_to("POST", r"/hook/deliveries/\d+/attempts$") == []
        assert len(bot_comments(s.sim, pr.number)) == 1
