"""The output of a vendor's answer is what promptfoo makes of it: OpenAI-style refusals, reasoning, tool calls
beside text, JSON response formats, the responses API's items (function calls, reasoning summaries, web search,
MCP calls); Claude's thinking, tool uses and structured outputs; Gemini's parts, thought text and blocked answers; Ollama's tool
calls. The expected outputs in data/vendor_outputs.json were produced by promptfoo 0.121.20 itself
(bench/answers_oracle.mjs serves each answer to its provider over loopback and records `output`). The image
cases (openai/xai/hyperbolic/google/replicate/fal/cometapi `:image:` providers, and Gemini's own image models,
`google:MODEL-image`) also pin the requests promptfoo sends, the
looks at a pending prediction or queued request, and the cost it reports (bench/image_oracle.mjs)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.core.files import MemoryTree
from bot.evals.loader import load_suite
from bot.evals.providers_shapes import WireError, js_json
from bot.evals.providers_config import VENDORS
from bot.evals.providers_image_wire import Poll, image_answer, image_request
from bot.evals.providers_wire import parse

ALL = json.loads((Path(__file__).parent / "data" / "vendor_outputs.json").read_text())
CASES = [c for c in ALL if "answers" not in c]
IMAGE_CASES = [c for c in ALL if "answers" in c]


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



@pytest.mark.parametrize("case", IMAGE_CASES, ids=[f"{i}-{c['provider'].rsplit(':', 1)[0]}" for i, c in enumerate(IMAGE_CASES)])
def test_an_image_provider_sends_what_promptfoo_sends_and_outputs_what_it_outputs(case):
    spec = spec_of(case["provider"], case["config"])
    expected = case["promptfoo"]
    sent = expected["requests"]
    path, body = image_request(spec, case["prompt"])
    base = VENDORS[spec.kind].default_base
    assert (f"{base}{path}", body) == (f"https://{sent[0]['host']}{sent[0]['path']}", sent[0]["body"])
    assert sent[0]["auth"] == {"key": "Key", "x-goog-api-key": "x-goog-api-key"}.get(VENDORS[spec.kind].auth, "Bearer")
    fetched, looks = None, []
    for answer in case["answers"]:
        try:
            result = image_answer(spec, answer["body"], case["prompt"], fetched)
        except Poll as poll:
            fetched = poll.path
            looks.append(f"{base}{poll.path}")
            continue
        except WireError as exc:
            assert "error" in expected, str(exc)
            assert str(exc) == f"{spec.id}: {expected['error']}" or str(exc).startswith(f"{spec.id}: {expected['error'].split(':')[0]}")
            break
        assert "output" in expected
        assert result.text == expected["output"]
        if result.cost_usd is None:
            assert "cost" not in expected  # promptfoo reports none either
        else:
            assert result.cost_usd == pytest.approx(expected["cost"])
        break
    else:
        pytest.fail("no answer finished the call")
    assert looks == [f"https://{r['host']}{r['path']}" for r in sent[1:]]  # the same looks, at the same vendor's host
