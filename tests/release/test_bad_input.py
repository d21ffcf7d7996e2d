"""Bad input gets a clear error and changes nothing: unknown label, prompt or ref, a non-owner, a token
of another repo, a revoked token."""

from __future__ import annotations

from tests.release.conftest import REPO, SYSTEM, Api, manifest
from tests.release.test_release_flow import merged


def test_refused_requests_name_the_problem_and_move_no_label(running):
    sim, url = running.sim, running.web.url
    erin, mallory = Api(url, sim.user_token("erin")), Api(url, sim.user_token("mallory"))
    good = merged(running, "reflow", approve=True)
    assert erin.deploy("staging", ref=good).status_code == 201
    before = erin.history()

    unknown_prompt = erin.deploy("staging", ref=good, prompts=["prompts/nope.md"])
    assert unknown_prompt.status_code == 404 and "prompts/nope.md" in unknown_prompt.json()["error"]
    unknown_ref = erin.deploy("staging", ref="feedfacefeedface")
    assert unknown_ref.status_code == 404 and "not a commit" in unknown_ref.json()["error"]
    bad_label = erin.deploy("Prod!")
    assert bad_label.status_code == 422 and "lowercase" in bad_label.json()["error"]
    not_owner = mallory.deploy("canary", ref=good)
    assert not_owner.status_code == 403 and "mallory" in not_owner.json()["error"] and SYSTEM in not_owner.json()["error"]
    not_json = erin.client.post(f"/repos/{REPO}/deployments", content=b"label: staging")
    assert not_json.status_code == 400 and "JSON object" in not_json.json()["error"]
    bad_limit = erin.client.post(f"/repos/{REPO}/versions/sync", params={"limit": "many"})
    assert bad_limit.status_code == 422 and "limit" in bad_limit.json()["error"]
    nothing_before = erin.rollback("staging")
    assert nothing_before.status_code == 409 and "nothing precedes" in nothing_before.json()["error"]
    assert erin.history() == before

    read = erin.token("read")
    missing = manifest(url, read, "production")
    assert missing.status_code == 404 and "staging" in missing.json()["error"]
    assert manifest(url, "prt_not-a-token", "staging").status_code == 401
    other = Api(url, sim.user_token("erin")).client.post(f"/repos/{REPO}/tokens", json={"scope": "write"}).json()
    assert manifest(url, other["token"], "staging").status_code == 403  # a write (telemetry) token reads nothing

    listed = erin.client.get(f"/repos/{REPO}/tokens").json()["tokens"]
    read_id = next(t["id"] for t in listed if t["scope"] == "read")
    assert all("token" not in t for t in listed)  # shown once, never listed
    assert erin.client.delete(f"/repos/{REPO}/tokens/{read_id}").status_code == 200
    revoked = manifest(url, read, "staging")
    assert revoked.status_code == 401 and "revoked" in revoked.json()["error"]


def test_manifest_etag_answers_304_until_the_label_moves(running):
    sim, url = running.sim, running.web.url
    erin = Api(url, sim.user_token("erin"))
    good = merged(running, "reflow", approve=True)
    assert erin.deploy("staging", ref=good, prompts=[SYSTEM]).status_code == 201
    read = erin.token("read")
    first = manifest(url, read, "staging")
    tag = first.headers["etag"]
    assert first.json()["etag"] == tag
    assert manifest(url, read, "staging", **{"If-None-Match": tag}).status_code == 304
    one = __import__("httpx").get(f"{url}/v1/repos/{REPO}/prompts/{SYSTEM}", params={"label": "staging"},
                                  headers={"Authorization": f"Bearer {read}"})
    assert one.status_code == 200 and one.json()["path"] == SYSTEM and one.json()["version"] == first.json()["prompts"][0]["version"]
    assert erin.deploy("staging", ref=good).status_code == 201  # now chat.json too
    moved = manifest(url, read, "staging", **{"If-None-Match": tag})
    assert moved.status_code == 200 and moved.headers["etag"] != tag and len(moved.json()["prompts"]) == 2
