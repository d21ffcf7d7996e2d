"""A prompt function may return `{prompt, config}` (promptfoo 0.121.20's renderPrompt): the prompt is sent, the config
goes over the prompt's request settings for that call. Any other object is sent as its JSON text."""

from __future__ import annotations

from bot.core.files import MemoryTree
from bot.evals.loader import load_suite
from bot.evals.render import Renderer
from bot.evals.select import CodeGate, expand

PATH = "evals/promptfooconfig.yaml"
PROMPTS_JS = """\
module.exports.withConfig = ({ vars, provider }) => ({
  prompt: [{ role: 'system', content: 'You are terse.' }, { role: 'user', content: 'Tell me about ' + vars.topic }],
  config: { temperature: vars.topic === 'rome' ? 0.9 : 0.5, max_tokens: 75 },
});
module.exports.textWithConfig = ({ vars }) => ({ prompt: 'Say ' + vars.topic, config: { top_p: 0.5 } });
module.exports.object = ({ vars }) => ({ question: vars.topic });
module.exports.badKey = () => ({ prompt: 'hi', config: { apiKey: 'sk-x' } });
module.exports.badConfig = () => ({ prompt: 'hi', config: 'hot' });
"""


def cases(fn: str, topics=("rome", "cats")):
    suite = (f"prompts: [file://prompts.js:{fn}]\nproviders:\n  - id: openai:gpt-4o-mini\n    config: {{temperature: 0.1, seed: 7}}\n"
             "tests:\n" + "".join(f"  - vars: {{topic: {t}}}\n" for t in topics))
    tree = MemoryTree({PATH: suite, "evals/prompts.js": PROMPTS_JS})
    loaded, errors = load_suite(tree, PATH)
    assert errors == [] and loaded is not None, errors
    found, _ = expand(loaded, Renderer(tree), gate=CodeGate())  # the base branch's code: it runs
    return list(found.values())


def test_the_returned_config_goes_over_the_providers_settings_for_that_call():
    rome, cats = cases("withConfig")
    assert rome.error is None and rome.messages == (("system", "You are terse."), ("user", "Tell me about rome"))
    assert dict(rome.provider.params) == {"temperature": 0.9, "max_tokens": 75, "seed": 7}
    assert dict(cats.provider.params) == {"temperature": 0.5, "max_tokens": 75, "seed": 7}
    assert rome.provider.fingerprint() != cats.provider.fingerprint()  # a cached answer is never reused across them


def test_text_with_a_config_and_an_object_without_prompt():
    (case,) = cases("textWithConfig", ("x",))
    assert case.messages == (("user", "Say x"),) and dict(case.provider.params)["top_p"] == 0.5
    (case,) = cases("object", ("x",))
    assert case.messages == (("user", '{"question":"x"}'),)  # promptfoo: JSON.stringify of the object


def test_a_config_that_is_not_request_settings_is_the_cases_error_at_the_prompts_line():
    (case,) = cases("badKey", ("x",))
    assert case.error is not None and "unsupported config key 'apiKey'" in case.error.message and case.error.line == 1
    (case,) = cases("badConfig", ("x",))
    assert case.error is not None and "its `config` must be a mapping" in case.error.message
