"""The simulator's OAuth web flow and the "what can this person see" endpoints (sign-in on /ui/): the
flow gives a user token only for a valid code and client secret, and the two REST endpoints answer as
GitHub's pinned OpenAPI description says, listing only repositories the person has access to."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from bot.simulator import Simulator, start

from conftest import conforms

SECRET = "oauth-contract-secret"


@pytest.fixture(scope="module")
def world(app_key):
    sim = Simulator(webhook_url=None, webhook_secret=SECRET, app_id=78, private_key_pem=app_key)
    server = start(sim)
    sim.create_org("acme")
    sim.create_repo("acme", "support-bot", {"README.md": "hi\n"})
    sim.create_repo("acme", "secret-bot", {"README.md": "hi\n"})
    inst = sim.install("acme")
    sim.set_permission("acme/support-bot", "olivia", "write")
    client = httpx.Client(base_url=server.url, timeout=10)
    yield {"sim": sim, "client": client, "inst": inst}
    client.close()
    server.stop()
    sim.close()


def _token(world, login: str, secret: str | None = None) -> dict:
    c, app = world["client"], world["sim"].apps[78]
    back = c.get("/login/oauth/authorize", params={"client_id": app.client_id, "redirect_uri": "http://app.example/cb",
                                                   "state": "s1", "login": login})
    assert back.status_code == 302
    query = parse_qs(urlsplit(back.headers["location"]).query)
    assert query["state"] == ["s1"]
    return c.post("/login/oauth/access_token", headers={"Accept": "application/json"},
                  data={"client_id": app.client_id, "client_secret": secret or app.client_secret,
                        "code": query["code"][0]}).json()


def test_a_code_and_the_client_secret_give_a_user_token_once(world):
    answer = _token(world, "olivia")
    assert answer["token_type"] == "bearer" and answer["access_token"].startswith("ghu_")
    me = world["client"].get("/user", headers={"Authorization": f"Bearer {answer['access_token']}"})
    assert me.json()["login"] == "olivia"
    assert _token(world, "olivia", secret="wrong")["error"] == "incorrect_client_credentials"


def test_the_authorize_page_asks_who_signs_in(world):
    app = world["sim"].apps[78]
    page = world["client"].get("/login/oauth/authorize", params={"client_id": app.client_id, "redirect_uri": "http://x/cb"})
    assert page.status_code == 200 and 'label for="login"' in page.text
    assert world["client"].get("/login/oauth/authorize", params={"client_id": "nope", "redirect_uri": "http://x/cb"}).status_code == 404


def test_user_installation_endpoints_match_the_description_and_list_only_accessible_repos(world, github_spec):
    token = _token(world, "olivia")["access_token"]
    c = world["client"]
    auth = {"Authorization": f"Bearer {token}"}
    body = conforms(github_spec, c.get("/user/installations", headers=auth), "get", "/user/installations", 200)
    assert [i["id"] for i in body["installations"]] == [world["inst"]]
    repos = conforms(github_spec, c.get(f"/user/installations/{world['inst']}/repositories", headers=auth),
                     "get", "/user/installations/{installation_id}/repositories", 200)
    assert [r["full_name"] for r in repos["repositories"]] == ["acme/support-bot"]
    assert repos["repositories"][0]["permissions"]["push"] is True
    stranger = {"Authorization": f"Bearer {_token(world, 'mallory')['access_token']}"}
    assert c.get("/user/installations", headers=stranger).json()["installations"] == []
    assert c.get("/user/installations", headers={"Authorization": "Bearer nope"}).status_code == 401
