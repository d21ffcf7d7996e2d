"""Installing the App on a repo records its recent history as prompt versions, as `versions sync` does:
bounded by the `backfill_commits` setting, once per repo (a redelivered installation records nothing twice),
for an installation on all repos and for repos added to a selected-repos one."""

from __future__ import annotations

import pytest

from tests.release.conftest import REPO, SYSTEM, Api
from tests.service.harness import stack
from tests.service.test_end_to_end import EXAMPLE

CHAT = "prompts/support/chat.json"


@pytest.fixture
def backfilling(tmp_path):
    with stack(tmp_path, backfill_commits=2) as s:
        s.sim.create_org("acme")
        s.sim.create_repo_from_dir("acme", "support-bot", EXAMPLE)
        yield s


def versions(running, repo: str = REPO) -> list[tuple[str, str]]:
    erin = Api(running.web.url, running.sim.user_token("erin"))
    response = erin.client.get(f"/repos/{repo}/versions")
    assert response.status_code == 200, response.text
    return [(v["path"], v["commit"]) for v in response.json()["versions"]]


def test_installing_the_app_records_the_last_commits_versions_once(backfilling):
    sim = backfilling.sim
    first = sim.push_branch(REPO, "main", {SYSTEM: "v2\n"}, author="erin")  # history from before the App
    second = sim.push_branch(REPO, "main", {SYSTEM: "v3\n"})
    third = sim.push_branch(REPO, "main", {SYSTEM: "v4\n", CHAT: '[{"role": "system", "content": "hi"}]'})
    assert versions(backfilling) == []

    sim.install("acme")
    backfilling.wait_idle()
    # backfill_commits=2: the last two commits, each against its parent; nothing from `first` or before
    assert versions(backfilling) == [(SYSTEM, second), (CHAT, third), (SYSTEM, third)]
    assert first not in {commit for _path, commit in versions(backfilling)}

    sim.redeliver(sim.deliveries("installation")[-1].id)
    backfilling.wait_idle()
    assert len(versions(backfilling)) == 3


def test_repos_added_to_an_installation_are_backfilled_and_others_are_not(backfilling):
    sim = backfilling.sim
    sim.create_repo_from_dir("acme", "other-bot", EXAMPLE)
    pushed = sim.push_branch("acme/other-bot", "main", {SYSTEM: "v2\n"})
    installation = sim.install("acme", repos=["support-bot"])
    backfilling.wait_idle()
    assert {path for path, _commit in versions(backfilling)} == {SYSTEM, CHAT}  # its first commit, all new
    assert versions(backfilling, "acme/other-bot") == []

    sim.add_installation_repos(installation, ["other-bot"])
    backfilling.wait_idle()
    assert (SYSTEM, pushed) in versions(backfilling, "acme/other-bot")
