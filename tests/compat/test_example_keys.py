"""Keys of promptfoo's own examples read as promptfoo reads them: a speech model is named as such, and a test
option promptfoo ignores is ignored here too."""

from __future__ import annotations

from bot.core.files import MemoryTree
from bot.evals.loader import load_suite

PATH = "promptfooconfig.yaml"


def errors_of(text: str) -> list[str]:
    _, errors = load_suite(MemoryTree({PATH: text}), PATH)
    return [str(e) for e in errors]


def test_nova_sonic_is_refused_as_a_speech_model_not_for_its_config_keys():
    for pid in ("bedrock:amazon.nova-sonic-v1:0", "bedrock:nova-sonic:amazon.nova-sonic-v1:0", "bedrock:amazon.nova-2-5-sonic"):
        errors = errors_of(f"providers:\n  - id: {pid}\n    config:\n      inferenceConfiguration: {{maxTokens: 10}}\n"
                           "tests:\n  - vars: {q: hi}\n")
        assert len(errors) == 1 and errors[0].startswith(f"{PATH}:2 (providers.0): unsupported: provider '{pid}' is not a chat model (Nova Sonic"), errors


def test_bedrock_video_models_are_refused_as_video_not_for_their_config_keys():
    for pid in ("bedrock:video:luma.ray-v2:0", "bedrock:video:amazon.nova-reel-v1:1", "bedrock:luma.ray-v2:0"):
        errors = errors_of(f"providers:\n  - id: {pid}\n    config:\n      s3OutputUri: s3://bucket/out\ntests:\n  - vars: {{q: hi}}\n")
        assert len(errors) == 1 and errors[0].startswith(f"{PATH}:2 (providers.0): unsupported: provider '{pid}' is not a chat model (video"), errors


def test_include_metrics_is_an_option_promptfoo_ignores_and_so_does_the_review():
    suite = "prompts: ['{{q}}']\nproviders: [openai:gpt-4.1-mini]\ndefaultTest:\n  options:\n    includeMetrics: true\ntests:\n  - vars: {q: hi}\n"
    assert errors_of(suite) == []
    assert errors_of(suite.replace("includeMetrics", "includeMetricz"))[0].endswith("(did you mean 'includeMetrics'?)")


def test_an_unknown_top_level_key_suggests_the_nearest_one():
    errors = errors_of("prompt: ['{{q}}']\nproviders: [openai:gpt-4.1-mini]\ntests:\n  - vars: {q: hi}\n")
    assert len(errors) == 1 and errors[0].startswith(f"{PATH}:1 (prompt): unknown key 'prompt' (did you mean 'prompts'?) (supported: "), errors
    # `outputs:` (cerebras's and nscale's examples) only says where results go: promptfoo 0.121 runs the suite, and so
    # does prompt-review, with a warning naming outputPath (tests/evals/test_ignored_keys.py)
    assert errors_of("prompts: ['{{q}}']\nproviders: [openai:gpt-4.1-mini]\ntests:\n  - vars: {q: hi}\noutputs:\n  - type: csv\n") == []


def test_tool_callbacks_on_a_provider_that_runs_none_are_refused_not_silently_kept():
    for pid in ("openai:realtime:gpt-realtime",):
        errors = errors_of(f"providers:\n  - id: {pid}\n    config:\n      functionToolCallbacks: {{f: '(a) => a'}}\ntests:\n  - vars: {{q: hi}}\n")
        assert len(errors) == 1 and "functionToolCallbacks: executes code from the PR" in errors[0], errors
    for pid in ("openai:assistant:asst_1", "azure:assistant:asst_1"):  # the Assistants API providers run them
        assert errors_of(f"prompts: ['{{{{q}}}}']\nproviders:\n  - id: {pid}\n    config:\n      functionToolCallbacks: {{f: '(a) => a'}}\n"
                         "tests:\n  - vars: {q: hi}\n") == []
    assert errors_of("prompts: ['{{q}}']\nproviders:\n  - id: openai:chat:gpt-4o\n    config:\n      functionToolCallbacks: {f: '(a) => a'}\n"
                     "tests:\n  - vars: {q: hi}\n") == []
