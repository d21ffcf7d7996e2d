"""Stored reviews are versioned JSON: a field added or renamed in a deploy cannot break the approval
and accept-regression jobs of open PRs — a snapshot that does not load is reviewed again."""

from __future__ import annotations

import pickle

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from bot.core import snapshot
from bot.core.result import APPROVAL_CHECK, EVALS_CHECK
from bot.service.db import ReviewRecord
from tests.render import scenarios
from tests.service.test_end_to_end import overlay, running, runs_by_name  # noqa: F401 (running is a fixture)

REPO = "acme/support-bot"


def test_a_review_result_round_trips_through_its_json_snapshot():
    for result in (scenarios.friendlier_accepted(), scenarios.config_error(), scenarios.fork_waiting()):
        data = snapshot.dump(result)
        assert data.startswith(b'{"schema": "prompt-review/snapshot@1"')
        assert snapshot.load(data) == result


def test_a_snapshot_of_another_schema_or_a_pickle_does_not_load():
    assert snapshot.load(pickle.dumps({"old": "pickled ReviewResult"})) is None
    assert snapshot.load(b'{"schema": "prompt-review/snapshot@0", "result": {}}') is None
    assert snapshot.load(b'{"schema": "prompt-review/snapshot@1", "result": {"repo": 1}}') is None
    assert snapshot.load(None) is None


def test_an_approval_on_a_pr_reviewed_by_an_older_version_is_evaluated_on_a_fresh_review(running):
    sim = running.sim
    pr = sim.open_pull(REPO, "reflow", overlay("reflow"), "Reflow", "dave")
    running.wait_idle()
    with Session(running.service.engine) as session, session.begin():
        session.execute(update(ReviewRecord).values(snapshot=pickle.dumps({"stored": "by an older version"})))
    sim.submit_review(REPO, pr.number, "erin", "APPROVED")
    running.wait_idle()
    runs = runs_by_name(sim, pr.head_sha)
    assert runs[APPROVAL_CHECK].conclusion == "success"
    assert runs[EVALS_CHECK].conclusion == "success"
    with Session(running.service.engine) as session:
        stored = session.scalars(select(ReviewRecord.snapshot)).all()
    assert snapshot.load(stored[-1]) is not None  # the re-review stored a readable snapshot
