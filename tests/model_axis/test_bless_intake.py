"""Which deliveries queue a bless (pure: the payload GitHub sends in, the job out)."""

from __future__ import annotations

from bot.revalidate.intake import ISSUE_LABEL, parse_bless
from bot.service.intake import decide

REPO = {"full_name": "acme/greet", "default_branch": "main"}
INSTALLATION = {"id": 7}


def _closed(merged: bool, base: str = "main") -> dict:
    return {"action": "closed", "repository": REPO, "installation": INSTALLATION, "sender": {"login": "dave"},
            "pull_request": {"number": 4, "merged": merged, "merge_commit_sha": "c" * 40, "head": {"sha": "a" * 40},
                             "base": {"ref": base, "sha": "b" * 40}, "merged_by": {"login": "erin"}}}


def _comment(body: str, labels=(ISSUE_LABEL,), pull: bool = False, user_type: str = "User") -> dict:
    issue = {"number": 9, "labels": [{"name": n} for n in labels]}
    if pull:
        issue["pull_request"] = {"url": "x"}
    return {"action": "created", "repository": REPO, "installation": INSTALLATION, "sender": {"login": "erin"},
            "issue": issue, "comment": {"id": 2**40, "body": body, "user": {"login": "erin", "type": user_type}}}


def test_a_pr_merged_into_the_default_branch_queues_a_bless_and_still_cancels_its_review_work():
    d = decide("pull_request", _closed(merged=True))
    (job,) = d.jobs
    assert job.kind == "revalidate" and job.key == "acme/greet#0" and d.cancel_key == "acme/greet#4" and d.pr == 4
    assert job.payload == {"trigger": "merge", "pr": 4, "pr_head": "a" * 40, "commit": "c" * 40, "by": "erin"}


def test_a_pr_closed_unmerged_or_merged_elsewhere_blesses_nothing():
    for payload in (_closed(merged=False), _closed(merged=True, base="release-1")):
        d = decide("pull_request", payload)
        assert d.jobs == [] and d.outcome == "recorded" and d.cancel_key == "acme/greet#4"


def test_bless_on_a_revalidation_issue_queues_a_bless_with_the_commenter_as_the_actor():
    (job,) = decide("issue_comment", _comment("/prompt-review bless  \"new snapshot\"\nthanks")).jobs
    assert job.payload == {"trigger": "bless", "issue": 9, "sender": "erin", "reason": "new snapshot", "comment_id": 2**40}


def test_bless_elsewhere_or_by_a_bot_or_in_other_words_is_ignored():
    for payload in (_comment("/prompt-review bless", labels=()), _comment("/prompt-review bless", pull=True),
                    _comment("/prompt-review bless", user_type="Bot"), _comment("please /prompt-review bless"),
                    _comment("/prompt-review blessing")):
        assert decide("issue_comment", payload).jobs == []


def test_the_bless_command_is_the_first_line_of_the_comment():
    assert parse_bless("/prompt-review bless") == (True, None)
    assert parse_bless("  /prompt-review   bless because v2\nmore") == (True, "because v2")
    assert parse_bless("/prompt-review deploy production") == (False, None)


def test_payloads_of_the_wrong_shape_are_ignored_not_a_server_error():
    odd = [_comment("/prompt-review bless"), _comment("/prompt-review bless"), _comment("/prompt-review bless"), _closed(True)]
    odd[0]["issue"]["labels"] = 5
    odd[1]["issue"]["labels"] = [ISSUE_LABEL]  # names, not label objects
    odd[2]["comment"]["body"] = None
    odd[3]["pull_request"]["merge_commit_sha"] = {"sha": "c" * 40}
    for event, payload in zip(["issue_comment"] * 3 + ["pull_request"], odd):
        assert decide(event, payload).jobs == []
