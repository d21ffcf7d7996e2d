"""`prompt-review review` of a real git repository whose suite calls a streaming WebSocket provider
(openai:realtime, google:live), through the scripted model server: a prompt change that breaks the answer
is a regression, with the vendor's host overridden the way the operator overrides it for that vendor."""

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
  - {provider}
tests:
  - description: says the word
    vars: {{word: pong}}
    assert:
      - {assertion}
"""
CASES = {
    # the Realtime API's answer is the text; the Live API's is promptfoo's JSON {text, toolCall}
    "realtime": ("id: openai:realtime:gpt-realtime\n    config: {modalities: [text, audio], instructions: Be brief., websocketTimeout: 20000}",
                 "{type: equals, value: pong}", lambda url: {"OPENAI_BASE_URL": f"{url}/v1", "OPENAI_API_KEY": KEY}),
    "live": ("id: google:live:gemini-2.0-flash-exp\n    config: {generationConfig: {response_modalities: [text]}, timeoutMs: 20000}",
             "{type: equals, value: pong, transform: output.text}", lambda url: {"GEMINI_BASE_URL": url, "GEMINI_API_KEY": KEY}),
}


@pytest.fixture(scope="module")
def model_url():
    with start_in_thread(create_model_app(api_key=KEY)) as server:
        yield server.url


@pytest.mark.parametrize("api", sorted(CASES))
def test_a_prompt_change_that_breaks_a_live_providers_answer_is_a_regression(tmp_path, model_url, api):
    provider, assertion, env = CASES[api]
    _, before, after = review_a_breaking_prompt_change(tmp_path / "greeter", SUITE.format(provider=provider, assertion=assertion), model_url, env(model_url))
    assert after.get(api, 0) - before.get(api, 0) == 2  # base and head, over the vendor's WebSocket protocol
