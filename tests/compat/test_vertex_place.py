"""A Vertex provider's project and region come from the suite, else from the operator's environment under
the names promptfoo reads; with neither, the case says what to set instead of sending a malformed URL."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from bot.core.config import Budget, EvalsConfig
from bot.core.errors import CheckError
from bot.core.files import MemoryTree
from bot.evals.loader import load_suite
from bot.evals.providers import Caller, Meter, ProviderError
from tests.compat.test_providers import ASK, KEY, call, provider, server  # noqa: F401 - the server fixture

ENTRY = "vertex:gemini-2.5-pro"


def caller(env: dict[str, str]) -> Caller:
    return Caller.for_run(None, env, EvalsConfig(timeout_s=10), Meter(Budget()))  # type: ignore[arg-type]


def test_the_project_comes_from_the_environment_when_the_suite_names_none(server):  # noqa: F811
    env = {"VERTEX_BASE_URL": server, "VERTEX_ACCESS_TOKEN": KEY, "GOOGLE_CLOUD_PROJECT": "my-project"}
    answer = call(env, ENTRY, ASK)
    assert not isinstance(answer, ProviderError), answer
    assert "pong" in answer.text


@pytest.mark.parametrize("env, project", [
    ({"VERTEX_PROJECT_ID": "a", "GOOGLE_PROJECT_ID": "b", "GOOGLE_CLOUD_PROJECT": "c"}, "a"),
    ({"GOOGLE_PROJECT_ID": "b", "GOOGLE_CLOUD_PROJECT": "c"}, "b"),
    ({"GOOGLE_CLOUD_PROJECT": "c"}, "c"),
])
def test_the_environment_is_read_in_promptfoos_order(env, project):
    placed = caller(env)._placed(provider(ENTRY))
    assert placed.option("projectId") == project


def test_the_suite_wins_over_the_environment_and_the_region_is_read_too():
    spec = provider("id: vertex:gemini-2.5-pro\n    config: {projectId: mine}")
    placed = caller({"VERTEX_PROJECT_ID": "theirs", "VERTEX_REGION": "europe-west4"})._placed(spec)
    assert placed.option("projectId") == "mine"
    assert placed.option("region") == "europe-west4"
    assert caller({"GOOGLE_CLOUD_LOCATION": "asia-east1", "VERTEX_PROJECT_ID": "p"})._placed(provider(ENTRY)).option("region") == "asia-east1"
    other = provider("openai:chat:gpt-4.1-mini")
    assert caller({"VERTEX_PROJECT_ID": "p"})._placed(other) == other


def test_without_a_project_the_case_says_what_to_set(server):  # noqa: F811
    answer = call({"VERTEX_BASE_URL": server, "VERTEX_ACCESS_TOKEN": KEY}, ENTRY, ASK)
    assert isinstance(answer, ProviderError)
    assert answer.kind is CheckError.MISSING_CREDENTIALS
    assert "config.projectId" in str(answer) and "VERTEX_PROJECT_ID" in str(answer) and "GOOGLE_CLOUD_PROJECT" in str(answer)


@pytest.mark.parametrize("embedder, env", [
    ("google:embedding:text-embedding-004", {"GEMINI_BASE_URL": "{url}", "GEMINI_API_KEY": KEY}),
    ("vertex:embedding:text-embedding-005", {"VERTEX_BASE_URL": "{url}", "VERTEX_ACCESS_TOKEN": KEY, "VERTEX_PROJECT_ID": "p"}),
])
def test_gemini_and_vertex_embeddings_grade_similar_against_the_scripted_server(server, embedder, env):  # noqa: F811
    """Gemini's embedContent and Vertex's predict (promptfoo's calls for google:/vertex:embedding graders)."""
    env = {k: v.replace("{url}", server) for k, v in env.items()}
    loaded, errors = load_suite(MemoryTree({"promptfooconfig.yaml": (
        "providers: [openai:chat:gpt-4.1-mini]\ndefaultTest:\n  options:\n    provider:\n"
        f"      embedding: {embedder}\n  assert: [{{type: similar, value: isaac newton}}]\ntests:\n  - vars: {{q: a}}\n")}),
        "promptfooconfig.yaml")
    assert errors == []
    spec = loaded.tests[0].asserts[0].grader

    async def embed(text: str, environment: dict[str, str]):
        async with httpx.AsyncClient() as client:
            try:
                return await Caller.for_run(client, environment, EvalsConfig(timeout_s=10), Meter(Budget())).embed(spec, text)
            except ProviderError as exc:
                return exc

    a, b = asyncio.run(embed("isaac newton", env)), asyncio.run(embed("Isaac Newton discovered gravity", env))
    assert isinstance(a, list) and len(a) == 64 and sum(x * y for x, y in zip(a, b)) > 0
    first_key = next(k for k in env if k.endswith(("_KEY", "_TOKEN")))
    wrong = asyncio.run(embed("x", {**env, first_key: "wrong"}))
    assert isinstance(wrong, ProviderError) and wrong.kind is CheckError.BAD_CREDENTIALS
