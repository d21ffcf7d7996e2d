"""`prompt-review review` of a real git repository whose suite calls an Assistants API provider
(openai:assistant, azure:assistant) through the scripted model server: a prompt change that breaks the
assistant's answer is a regression, the vendor's host overridden the way the operator overrides it."""

from __future__ import annotations

import pytest

from bot.modelserver.app import create_app as create_model_app
from bot.serving import start_in_thread
from tests.cli.provider_review import review_a_breaking_prompt_change

KEY = "scripted-key"
SUITE = """description: greeting
prompts:
  - file://../prompts/greet.txt
providers:
  - id: {provider}
    config: {{instructions: Be brief., temperature: 0, tools: [{{type: file_search}}]}}
tests:
  - description: says the word
    vars: {{word: pong}}
    assert:
      - {{type: contains, value: '[Assistant] pong'}}
"""
CASES = {
    "openai": ("openai:assistant:asst_greeter", lambda url: {"OPENAI_BASE_URL": f"{url}/v1", "OPENAI_API_KEY": KEY}),
    "azure": ("azure:assistant:asst_greeter", lambda url: {"AZURE_OPENAI_BASE_URL": url, "AZURE_OPENAI_API_KEY": KEY}),
}


@pytest.fixture(scope="module")
def model_url():
    with start_in_thread(create_model_app(api_key=KEY)) as server:
        yield server.url


@pytest.mark.parametrize("vendor", sorted(CASES))
def test_a_prompt_change_that_breaks_an_assistants_answer_is_a_regression(tmp_path, model_url, vendor):
    provider, env = CASES[vendor]
    _, before, after = review_a_breaking_prompt_change(tmp_path / "greeter", SUITE.format(provider=provider), model_url, env(model_url))
    runs = f"{vendor}.assistants.runs"
    assert after.get(runs, 0) - before.get(runs, 0) == 2  # base and head, each one run of the assistant
    assert after[f"{runs}.get"] - before.get(f"{runs}.get", 0) == 4  # each run looked at until it completed
