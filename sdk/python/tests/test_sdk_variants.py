"""client.get(path, model=M): the per-model variant of a prompt for that model — from the manifest or, offline,
from the bundle — and the prompt itself for a model no variant is declared for."""

from __future__ import annotations

import json

from prompt_review_sdk import PromptClient
from manifest_server import PATH, REPO, manifest

CLAUDE_PATH = "prompts/support/system.claude.md"
GROUP = [{"path": PATH, "models": ["openai:chat:gpt-4o-mini", "gpt-4o-mini"]},
         {"path": CLAUDE_PATH, "models": ["anthropic:messages:claude-3-5-haiku-latest", "claude-3-5-haiku-latest", "claude"]}]


def with_variants() -> dict:
    data = manifest()
    data["prompts"][0]["variants"] = GROUP
    data["prompts"].append({"path": CLAUDE_PATH, "version": "cccccccccccc", "content": "You are helpful. Think first.",
                            "format": "markdown", "model": "claude-3-5-haiku-latest", "params": {}, "rollout": None,
                            "variants": GROUP})
    return data


def test_get_with_a_model_returns_the_variant_that_runs_on_it_and_names_it(server):
    server.manifests["production"] = with_variants()
    client = PromptClient(server.url, "prt_r", repo=REPO)
    claude = client.get(PATH, model="claude")
    assert (claude.path, claude.variant, claude.version, claude.content) == (
        PATH, CLAUDE_PATH, "cccccccccccc", "You are helpful. Think first.")
    assert claude.attributes()["prompt_review.prompt.variant"] == CLAUDE_PATH

    openai = client.get(PATH, model="gpt-4o-mini")
    assert (openai.variant, openai.version) == (PATH, "aaaaaaaaaaaa")
    unknown = client.get(PATH, model="mistral-large")  # no variant declared for it: the prompt itself
    assert (unknown.variant, unknown.version) == (PATH, "aaaaaaaaaaaa")
    plain = client.get(PATH)
    assert (plain.variant, plain.version) == (None, "aaaaaaaaaaaa")


def test_a_variant_missing_from_the_label_falls_back_to_the_prompt(server):
    data = with_variants()
    data["prompts"].pop()  # the label moved only the default file
    server.manifests["production"] = data
    client = PromptClient(server.url, "prt_r", repo=REPO)
    assert client.get(PATH, model="claude").version == "aaaaaaaaaaaa"


def test_the_bundle_chooses_the_variant_offline(tmp_path):
    bundle = tmp_path / "prompts.bundle.json"
    bundle.write_text(json.dumps({**with_variants(), "schema": "prompt-review/bundle@1", "built_at": "2026-01-01T00:00:00Z"}))
    client = PromptClient(None, repo=REPO, bundle=bundle)
    claude = client.get(PATH, model="claude-3-5-haiku-latest")
    assert (claude.variant, claude.version, claude.source) == (CLAUDE_PATH, "cccccccccccc", "bundle")
