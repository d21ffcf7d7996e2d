"""The real service + GitHub simulator (with its OAuth endpoints) + scripted model server, the example
support-bot repo with two merged PRs and a staging deployment, and people with different rights:
erin (write, owner of the support prompts), dave (read only, owns nothing), mallory (no access). The
`canary` label has a rollout of the second PR's version running at 10%."""

from __future__ import annotations

import re
from contextlib import contextmanager
from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from bot.serving import free_port, start_in_thread
from bot.service.run import build_service
from bot.simulator import Simulator, start
from tests.service.harness import SECRET, Stack, settings_for
from tests.service.test_end_to_end import EXAMPLE, overlay

REPO = "acme/support-bot"
SYSTEM = "prompts/support/system.md"


@contextmanager
def ui_stack(db_path, env: dict):
    """Like tests.service.harness.stack, with the service given the simulated App's OAuth client."""
    port = free_port()
    sim = Simulator(webhook_url=f"http://127.0.0.1:{port}/webhook", webhook_secret=SECRET, app_id=1)
    sim_server = start(sim)
    app = sim.apps[1]
    settings = settings_for(f"sqlite:///{db_path}", sim_server.url, sim.private_key_pem.decode(),
                            oauth_client_id=app.client_id, oauth_client_secret=app.client_secret,
                            public_url=f"http://127.0.0.1:{port}")
    service = build_service(settings, env=env)
    web = start_in_thread(service.web_app(with_workers=False), port=port)
    service.start_workers(2)
    try:
        yield Stack(sim, sim_server, service, web)
    finally:
        service.stop()
        web.stop()
        sim_server.stop()
        service.engine.dispose()


@dataclass
class History:
    stack: Stack
    good: str  # merge commit of the approved "reflow" PR (#1)
    bad: str  # merge commit of the unapproved "friendlier" PR (#2)

    @property
    def url(self) -> str:
        return self.stack.web.url


def merged(s: Stack, branch: str, approve: bool) -> str:
    pr = s.sim.open_pull(REPO, branch, overlay(branch), branch.title(), "dave")
    s.wait_idle(timeout=300)
    if approve:
        s.sim.submit_review(REPO, pr.number, "erin", "APPROVED")
        s.wait_idle(timeout=300)
    s.sim.merge_pull(REPO, pr.number, user="erin")
    s.wait_idle(timeout=300)
    return pr.head_sha  # the simulator fast-forwards the base to the head


@pytest.fixture(scope="module")
def history(tmp_path_factory, model_server):
    env = {"OPENAI_BASE_URL": model_server.url + "/v1", "OPENAI_API_KEY": "sk-test-not-real"}
    with ui_stack(tmp_path_factory.mktemp("ui") / "service.db", env) as s:
        s.sim.create_org("acme")
        s.sim.create_repo_from_dir("acme", "support-bot", EXAMPLE)
        s.sim.add_team("acme", "support-prompts", ["erin", "frank"])
        s.sim.add_team("acme", "prompt-eng", ["gina"])
        s.sim.install("acme")
        s.sim.set_permission(REPO, "erin", "write")
        s.sim.set_permission(REPO, "dave", "read")
        s.sim._account("mallory")
        good = merged(s, "reflow", approve=True)
        api = httpx.Client(base_url=s.web.url + "/v1", headers={"Authorization": f"Bearer {s.sim.user_token('erin')}"}, timeout=60)
        assert api.post(f"/repos/{REPO}/deployments", json={"label": "staging", "ref": good}).status_code == 201
        bad = merged(s, "friendlier", approve=False)
        assert api.post(f"/repos/{REPO}/deployments", json={"label": "canary", "ref": good}).status_code == 201
        rollout = api.post(f"/repos/{REPO}/deployments", json={  # erin may move canary past the failed review
            "label": "canary", "ref": bad, "prompts": [SYSTEM], "percent": 10, "steps": "10,50,100", "interval": "1h",
            "reason": "trying the friendlier tone on a tenth of canary"})
        assert rollout.status_code == 201, rollout.text
        yield History(s, good, bad)


def sign_in(url: str, login: str, next_path: str = "/ui/") -> httpx.Client:
    """A browser-like client that signed in through the OAuth flow as `login`."""
    client = httpx.Client(timeout=60)
    first = client.get(url + next_path)
    assert first.status_code == 303 and first.headers["location"].startswith("/ui/login"), first.text
    to_github = client.get(url + first.headers["location"])
    assert to_github.status_code == 303
    authorize = to_github.headers["location"]
    assert parse_qs(urlsplit(authorize).query)["state"]
    back = client.get(authorize + "&login=" + login)  # GitHub: the person signs in and authorizes
    assert back.status_code == 302
    done = client.get(back.headers["location"])
    assert done.status_code == 303 and done.headers["location"] == next_path, done.text
    return client


def csrf_of(html: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', html).group(1)
