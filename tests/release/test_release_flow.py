"""The release half end to end over HTTP: merge → versions → deploy → manifest → gate → override →
rollback → audit, through the real service, the GitHub simulator and the scripted model server."""

from __future__ import annotations

from tests.release.conftest import REPO, SYSTEM, Api, manifest
from tests.service.test_end_to_end import overlay


def merged(running, branch: str, approve: bool) -> str:
    """Open the example PR `branch`, let it be reviewed (approved by an owner or not), merge it; its merge commit."""
    sim = running.sim
    pr = sim.open_pull(REPO, branch, overlay(branch), branch.title(), "dave")
    running.wait_idle()
    if approve:
        sim.submit_review(REPO, pr.number, "erin", "APPROVED")
        running.wait_idle()
    sim.merge_pull(REPO, pr.number, user="erin")
    running.wait_idle()
    return pr.head_sha


def test_merge_records_versions_and_deploy_moves_labels_gated_overridden_rolled_back_and_audited(running):
    sim, url = running.sim, running.web.url
    erin = Api(url, sim.user_token("erin"))
    good = merged(running, "reflow", approve=True)
    reviewed = erin.client.get(f"/repos/{REPO}/versions", params={"path": SYSTEM}).json()["versions"]
    assert [(v["commit"], v["pr"], v["evals"], v["approval"]) for v in reviewed] == [(good, 1, "success", "success")]
    good_version = reviewed[0]["version"]

    staged = erin.deploy("staging", ref=good)
    assert staged.status_code == 201, staged.text
    assert staged.json()["override"] is False
    read = erin.token("read")
    body = manifest(url, read, "staging").json()
    system = next(p for p in body["prompts"] if p["path"] == SYSTEM)
    assert (body["commit"], system["version"]) == (good, good_version)
    assert system["content"] == overlay("reflow")[SYSTEM].decode()
    assert [d.environment for d in sim.deployments(REPO)] == ["prompts/staging"]

    assert erin.deploy("production", ref=good, prompts=[SYSTEM]).status_code == 201

    bad = merged(running, "friendlier", approve=False)
    refused = erin.deploy("production", prompts=[SYSTEM])
    assert refused.status_code == 409 and "review of #2 did not pass" in refused.json()["error"]
    assert manifest(url, read, "production").json()["prompts"][0]["version"] == good_version  # nothing moved

    overridden = erin.deploy("production", prompts=[SYSTEM], reason="hotfix: tone complaints")
    assert overridden.status_code == 201, overridden.text
    assert overridden.json()["override"] is True and overridden.json()["commit"] == bad
    assert manifest(url, read, "production").json()["prompts"][0]["version"] != good_version

    back = erin.rollback("production")
    assert back.status_code == 201, back.text
    assert manifest(url, read, "production").json()["prompts"][0]["version"] == good_version

    moves = [(d["label"], d["kind"], d["actor"], d["override"], [m["path"] for m in d["moves"]]) for d in erin.history()]
    assert moves[0][:4] == ("staging", "deploy", "erin", False)
    assert moves[1:] == [
        ("production", "deploy", "erin", False, [SYSTEM]),
        ("production", "deploy", "erin", True, [SYSTEM]),
        ("production", "rollback", "erin", False, [SYSTEM]),
    ]
    assert erin.history()[2]["reason"] == "hotfix: tone complaints"
    assert [d.environment for d in sim.deployments(REPO)].count("prompts/production") == 3
