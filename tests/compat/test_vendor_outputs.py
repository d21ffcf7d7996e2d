"""The output of a vendor's answer is what promptfoo makes of it: OpenAI-style refusals, reasoning, tool calls
beside text, JSON response formats, the responses API's items (function calls, reasoning summaries, web search,
MCP calls); Claude's thinking and tool uses; Gemini's parts, thought text and blocked answers; Ollama's tool
calls. The expected outputs in data/vendor_outputs.json were produced by promptfoo 0.121.20 itself
(bench/answers_oracle.mjs serves each answer to its provider over loopback and records `output`)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.core.files import MemoryTree
from bot.evals.loader import load_suite
from bot.evals.providers_shapes import WireError, js_json
from bot.evals.providers_wire import parse

CASES = json.loads((Path(__file__).parent / "data" / "vendor_outputs.json").read_text())


def spec_of(provider: str, config: dict):
    suite = json.dumps({"providers": [{"id": provider, "config": config}], "tests": [{"vars": {"q": "hi"}}]})
    loaded, errors = load_suite(MemoryTree({"promptfooconfig.yaml": suite}), "promptfooconfig.yaml")
    assert errors == [], [str(e) for e in errors]
    return loaded.providers[0]


@pytest.mark.parametrize("case", CASES, ids=[f"{i}-{c['provider'].split(':')[0]}" for i, c in enumerate(CASES)])
def test_the_output_is_the_one_promptfoo_makes_of_the_same_answer(case):
    spec = spec_of(case["provider"], case["config"])
    if "error" in case["promptfoo"]:  # promptfoo's provider returned an error: a case error here too, never an answer
        with pytest.raises(WireError):
            parse(spec, case["response"], chat=False)
        return
    parsed = parse(spec, case["response"], chat=False)
    expected = case["promptfoo"]["output"]
    if isinstance(expected, str):
        assert (parsed.text, parsed.structured) == (expected, False)
    else:  # an object: its JSON.stringify is the text checks read, and code gets the object
        assert parsed.structured and parsed.text == js_json(expected)

