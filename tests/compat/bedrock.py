"""The Bedrock provider tests' common steps (Converse, Agents, knowledge bases): one provider loaded from a suite that
names only it, and one call of it through the Caller, signed as the environment says, over real HTTP."""

from __future__ import annotations

import asyncio

import httpx
import yaml

from bot.core.config import Budget, EvalsConfig
from bot.core.files import MemoryTree
from bot.evals.loader import load_suite
from bot.evals.providers import Caller, Completion, Meter, ProviderError
from bot.modelserver.vendors import TEST_AWS_KEY_ID, TEST_AWS_SECRET

PATH = "evals/promptfooconfig.yaml"


def load(entry: dict):
    """The suite with `entry` as its one provider, and its errors as (line, message)."""
    text = yaml.safe_dump({"prompts": ["{{q}}"], "providers": [entry], "tests": [{"vars": {"q": "x"}}]})
    loaded, errors = load_suite(MemoryTree({PATH: text}), PATH)
    return loaded, [(e.line, e.message) for e in errors]


def provider(pid: str, config: dict):
    loaded, errors = load({"id": pid, "config": config})
    assert errors == [], errors
    return loaded.providers[0]


def agent_runtime_env(url: str, **more: str) -> dict[str, str]:
    """The Bedrock agent runtime at `url`, with the AWS keys the scripted model server checks SigV4 signatures with."""
    return {"BEDROCK_AGENT_RUNTIME_BASE_URL": url, "AWS_ACCESS_KEY_ID": TEST_AWS_KEY_ID, "AWS_SECRET_ACCESS_KEY": TEST_AWS_SECRET, **more}


def complete(environ: dict[str, str], pid: str, config: dict, prompt: str) -> Completion | ProviderError:
    """The provider's answer to `prompt`, or the error it gave."""
    async def go():
        async with httpx.AsyncClient() as client:
            caller = Caller.for_run(client, environ, EvalsConfig(timeout_s=10), Meter(Budget()))
            try:
                return await caller.complete(provider(pid, config), (("user", prompt),))
            except ProviderError as exc:
                return exc

    return asyncio.run(go())
