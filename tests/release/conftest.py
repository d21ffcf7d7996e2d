"""The real service + simulator + scripted model server, with the example support-bot repo installed."""

from __future__ import annotations

import httpx
import pytest

from tests.service.harness import stack
from tests.service.test_end_to_end import EXAMPLE

REPO = "acme/support-bot"
SYSTEM = "prompts/support/system.md"


@pytest.fixture
def running(tmp_path, model_server):
    env = {"OPENAI_BASE_URL": model_server.url + "/v1", "OPENAI_API_KEY": "sk-test-not-real"}
    with stack(tmp_path, env=env) as s:
        s.sim.create_org("acme")
        s.sim.create_repo_from_dir("acme", "support-bot", EXAMPLE)
        s.sim.add_team("acme", "support-prompts", ["erin", "frank"])
        s.sim.add_team("acme", "prompt-eng", ["gina"])
        s.sim.install("acme")
        s.sim.set_permission(REPO, "erin", "write")  # manages the repo's tokens
        yield s


class Api:
    """The service's /v1 API as one person (their GitHub user token) sees it."""

    def __init__(self, url: str, token: str):
        self.client = httpx.Client(base_url=url + "/v1", headers={"Authorization": f"Bearer {token}"}, timeout=60)

    def deploy(self, label: str, **body) -> httpx.Response:
        return self.client.post(f"/repos/{REPO}/deployments", json={"label": label, **body})

    def rollback(self, label: str, **body) -> httpx.Response:
        return self.client.post(f"/repos/{REPO}/rollbacks", json={"label": label, **body})

    def history(self) -> list[dict]:
        response = self.client.get(f"/repos/{REPO}/labels", params={"history": "true"})
        assert response.status_code == 200, response.text
        return response.json()["history"]

    def token(self, scope: str = "read") -> str:
        response = self.client.post(f"/repos/{REPO}/tokens", json={"scope": scope})
        assert response.status_code == 201, response.text
        return response.json()["token"]


def manifest(url: str, token: str, label: str, **headers) -> httpx.Response:
    return httpx.get(f"{url}/v1/repos/{REPO}/manifest", params={"label": label},
                     headers={"Authorization": f"Bearer {token}", **headers}, timeout=30)
