"""Per-model variants in the manifest (a provider's `prompts:` selects the prompt file it runs): `?model=M`
serves, for a prompt, the variant for M and names it; no variant for M: the prompt itself. The manifest and
the bundle carry the groups, so the SDK chooses the same way offline."""

from __future__ import annotations

import json

import httpx
import pytest

from bot.release.bundle import bundle_from_checkout
from prompt_review_sdk import PromptClient
from tests.model_axis.common import FILES, git_repo
from tests.release.conftest import Api
from tests.service.harness import stack

REPO = "acme/greeter"
GREET, CLAUDE_GREET = "prompts/greet.txt", "prompts/greet.claude.txt"
CLAUDE = "anthropic:messages:claude-3-5-haiku-latest"
SUITE = """\
prompts:
  - file://../prompts/greet.txt
  - file://../prompts/greet.claude.txt
providers:
  - id: openai:chat:gpt-4o-mini
    prompts: [prompts/greet.txt]
  - id: anthropic:messages:claude-3-5-haiku-latest
    label: claude
    prompts: [prompts/greet.claude.txt]
tests:
  - vars: {name: Ann}
    assert: [{type: icontains, value: hello}]
"""
CLAUDE_TEXT = "Think, then reply with \"hello\" to {{name}}.\n"
VARIANT_FILES = {**FILES, CLAUDE_GREET: CLAUDE_TEXT, "evals/promptfooconfig.yaml": SUITE}


@pytest.fixture
def deployed(tmp_path):
    with stack(tmp_path) as s:
        s.sim.create_org("acme")
        s.sim.create_repo("acme", "greeter", VARIANT_FILES)
        s.sim.install("acme")
        s.sim.set_permission(REPO, "erin", "write")
        erin = Api(s.web.url, s.sim.user_token("erin"))
        response = erin.client.post(f"/repos/{REPO}/deployments", json={"label": "staging"})
        assert response.status_code == 201, response.text
        token = erin.client.post(f"/repos/{REPO}/tokens", json={"scope": "read"}).json()["token"]
        yield s, token


def get(url: str, token: str, route: str, **params) -> httpx.Response:
    return httpx.get(f"{url}/v1/repos/{REPO}/{route}", params={"label": "staging", **params},
                     headers={"Authorization": f"Bearer {token}"}, timeout=30)


def greet(body: dict) -> dict:
    return next(p for p in body["prompts"] if p["path"] == GREET)


def test_the_manifest_serves_the_variant_for_the_model_asked_and_names_it(deployed):
    s, token = deployed
    plain = get(s.web.url, token, "manifest").json()
    assert plain["model"] is None and greet(plain)["variant"] is None
    assert [v["path"] for v in greet(plain)["variants"]] == [GREET, CLAUDE_GREET]
    assert greet(plain)["content"] == FILES[GREET]

    claude_version = next(p for p in plain["prompts"] if p["path"] == CLAUDE_GREET)["version"]
    for name in (CLAUDE, "claude", "claude-3-5-haiku-latest"):  # the provider's id, label or model
        body = get(s.web.url, token, "manifest", model=name).json()
        assert body["model"] == name
        assert (greet(body)["content"], greet(body)["version"]) == (CLAUDE_TEXT, claude_version)
        assert greet(body)["variant"] == {"path": CLAUDE_GREET, "version": claude_version, "for_model": True}

    openai = greet(get(s.web.url, token, "manifest", model="gpt-4o-mini").json())
    assert (openai["content"], openai["variant"]["path"], openai["variant"]["for_model"]) == (FILES[GREET], GREET, True)
    other = greet(get(s.web.url, token, "manifest", model="mistral-large").json())
    assert (other["content"], other["variant"]["path"], other["variant"]["for_model"]) == (FILES[GREET], GREET, False)

    one = get(s.web.url, token, f"prompts/{GREET}", model="claude")
    assert one.status_code == 200 and one.json()["content"] == CLAUDE_TEXT and one.json()["path"] == GREET
    tagged = get(s.web.url, token, "manifest", model="claude")
    assert tagged.headers["etag"] != get(s.web.url, token, "manifest").headers["etag"]  # another body, another tag
    too_long = get(s.web.url, token, "manifest", model="m" * 201)
    assert too_long.status_code == 422 and "model" in too_long.json()["error"]


def test_the_sdk_picks_the_variant_from_the_manifest_and_from_a_bundle(deployed, tmp_path):
    s, token = deployed
    client = PromptClient(s.web.url, token, repo=REPO)
    chosen = client.get(GREET, label="staging", model="claude")
    assert (chosen.path, chosen.variant, chosen.content) == (GREET, CLAUDE_GREET, CLAUDE_TEXT)
    assert client.get(GREET, label="staging", model="gpt-4o-mini").content == FILES[GREET]
    client.close()

    checkout = git_repo(tmp_path / "greeter", VARIANT_FILES)
    bundle = {**bundle_from_checkout(str(checkout), "HEAD", "production"), "schema": "prompt-review/bundle@1"}
    assert [v["path"] for v in greet(bundle)["variants"]] == [GREET, CLAUDE_GREET]
    path = tmp_path / "bundle.json"
    path.write_text(json.dumps(bundle))
    offline = PromptClient(None, repo=REPO, bundle=path)
    assert offline.get(GREET, model=CLAUDE).content == CLAUDE_TEXT
