"""A vendor provider's config key that neither promptfoo's provider nor prompt-review's reads (`apiKeyRequired` on
Ollama, `maxConcurrency` on Anthropic): promptfoo drops it and runs the suite, so it is a warning here — shown by
check-config, the PR comment and the check run — not a refusal. A near miss of a key the provider reads stays an
error, since dropping it would silently change what is sent."""

from __future__ import annotations

from bot.core.files import MemoryTree
from bot.evals.loader import read_suite

PATH = "evals/promptfooconfig.yaml"


def load(providers: str):
    return read_suite(MemoryTree({PATH: f"prompts: ['Say {{{{word}}}}']\nproviders:\n{providers}tests:\n  - vars: {{word: hi}}\n"}), PATH)


def test_a_key_the_provider_drops_is_a_warning_at_its_line_and_the_suite_runs():
    found = load("  - id: ollama:chat:qwen2.5:7b\n    config:\n      apiKeyRequired: false\n"
                 "  - id: anthropic:messages:claude-3-7-sonnet-20250219\n    config:\n      maxConcurrency: 1\n      temperature: 0\n")
    assert found.errors == () and found.suite is not None
    assert [(w.line, w.message) for w in found.warnings] == [
        (5, "ignored provider config key 'apiKeyRequired': 'ollama:chat:qwen2.5:7b' does not read it (promptfoo's provider drops "
            "the keys it does not know; so does prompt-review)"),
        (8, "ignored provider config key 'maxConcurrency': 'anthropic:messages:claude-3-7-sonnet-20250219' does not read it "
            "(promptfoo's provider drops the keys it does not know; so does prompt-review)"),
    ]
    anthropic = found.suite.providers[1]
    assert dict(anthropic.params) == {"temperature": 0}  # the dropped key is not sent, nor part of the fingerprint


def test_a_near_miss_of_a_key_the_provider_reads_stays_an_error():
    found = load("  - id: openai:gpt-4o-mini\n    config: {max_token: 10}\n")
    assert found.suite is None
    assert [(e.line, e.message) for e in found.errors] == [
        (4, "unknown provider config key 'max_token' (did you mean 'max_tokens'?)")]


def test_a_graders_dropped_key_is_a_warning_too():
    found = read_suite(MemoryTree({PATH: "prompts: ['hi']\nproviders: [openai:gpt-4o-mini]\ndefaultTest:\n  options:\n    provider:\n"
                                         "      id: openai:gpt-4o-mini\n      config: {apiKeyRequired: false}\n"
                                         "tests:\n  - assert: [{type: llm-rubric, value: friendly}]\n"}), PATH)
    assert found.errors == () and [w.line for w in found.warnings] == [7]
