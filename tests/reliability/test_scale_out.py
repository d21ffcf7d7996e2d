"""Two service instances (each with its own workers) on one database, PRs opened and pushed to
while reviews run: every PR ends with one comment and one completed run per check on its latest
head — never two workers publishing the same PR head."""

from __future__ import annotations

from collections import Counter

from bot.service.run import build_service
from tests.reliability.common import (BAD_PROMPT, EVALS_CHECK, GOOD_PROMPT, REPO, assert_nothing_left_in_progress,
                                      bot_comments, tiny_stack)
from tests.reliability.common import model_env


def test_two_instances_on_one_database_review_each_head_once(tmp_path, model, database_url):
    with tiny_stack(tmp_path, model.url, db_url=database_url, workers=3) as s:
        other = build_service(s.service.settings, env=model_env(model.url))  # a second replica
        other.start_workers(3)
        try:
            prs = [s.sim.open_pull(REPO, f"p{i}", {"prompts/greet.txt": BAD_PROMPT.replace("goodbye", f"bye {i}")},
                                   f"P{i}", "dave") for i in range(6)]
            latest = {pr.number: pr for pr in prs}
            for pr in prs[::2]:
                latest[pr.number] = s.sim.push(REPO, pr.number, {"prompts/greet.txt": GOOD_PROMPT})
            s.wait_idle(timeout=60)
        finally:
            other.stop()
            other.engine.dispose()
        for number, pr in latest.items():
            runs = s.sim.check_runs(REPO, pr.head_sha)
            assert Counter(r.name for r in runs) == {EVALS_CHECK: 1, "prompt-review/approval": 1}, number
            expected = "success" if pr.head_sha != prs[number - 1].head_sha else "failure"
            assert {r.name: r.conclusion for r in runs}[EVALS_CHECK] == expected
            assert len(bot_comments(s.sim, number)) == 1
        assert len(s.sim.calls_to("POST", r"/issues/\d+/comments$")) == 6
        assert_nothing_left_in_progress(s.sim)
