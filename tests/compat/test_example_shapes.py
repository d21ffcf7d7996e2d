"""Shapes found in promptfoo's own example configs that a first reading refused, misread or crashed on
(measured with bench/compat_examples.py): each is a small config written here, accepted with
promptfoo's meaning, or refused with a message that names the real rule."""

from __future__ import annotations

import asyncio
import json

import pytest

from bot.core.files import MemoryTree
from bot.evals.assertions import AssertionBroken, CodeContext, check_one, score_output
from bot.evals.generators import base_code
from bot.evals.loader import load_suite, read_suite
from bot.evals.providers import Completion
from bot.evals.providers_wire import parse, request
from bot.evals.render import Renderer, RenderError
from bot.evals.select import CodeGate, base_only_gate, expand
from bot.evals.suite import ProviderSpec

PATH = "evals/promptfooconfig.yaml"


def load(suite: str, **files: str | bytes):
    tree = MemoryTree({PATH: suite, **{f"evals/{name.replace('__', '/')}": text for name, text in files.items()}})
    return tree, load_suite(tree, PATH)


def ok(suite: str, **files: str | bytes):
    tree, (loaded, errors) = load(suite, **files)
    assert errors == [], [str(e) for e in errors]
    return tree, loaded


def refused(suite: str, **files: str | bytes) -> list[str]:
    _, (loaded, errors) = load(suite, **files)
    assert loaded is None
    return [f"{e.file}:{e.line}: {e.message}" for e in errors]


def test_a_rubric_prompt_file_holds_the_grading_messages():
    _, suite = ok(
        "prompts: ['{{q}}']\nproviders: [openai:chat:gpt-4o-mini]\n"
        "defaultTest:\n  assert:\n    - type: llm-rubric\n      value: neutral\n      rubricPrompt: file://judge.yaml\n"
        "tests: [{vars: {q: 'Taxes?'}}]\n",
        **{"judge.yaml": "- role: system\n  content: You rate leaning.\n- role: user\n  content: 'Q: {{q}} A: {{output}} ({{rubric}})'\n"},
    )
    assert json.loads(suite.tests[0].asserts[0].rubric_prompt) == [
        {"role": "system", "content": "You rate leaning."}, {"role": "user", "content": "Q: Taxes? A: {{output}} ({{rubric}})"}]
    errors = refused("prompts: ['{{q}}']\nproviders: [openai:chat:gpt-4o-mini]\n"
                     "defaultTest:\n  assert:\n    - type: llm-rubric\n      value: neutral\n      rubricPrompt: file://missing.txt\n")
    assert errors == [f"{PATH}:7: rubricPrompt file evals/missing.txt not found"]


def test_the_same_provider_listed_twice_with_different_settings_is_two_providers():
    _, suite = ok(
        "prompts: ['{{q}}']\nproviders:\n  - id: openai:chat:gpt-4o-mini\n    config: {temperature: 0}\n"
        "  - id: openai:chat:gpt-4o-mini\n    config: {temperature: 1}\n  - anthropic:claude-sonnet-4-0\n"
        "tests: [{vars: {q: x}}]\n"
    )
    assert [(p.slot, dict(p.params)) for p in suite.providers] == [
        ("openai:chat:gpt-4o-mini#1", {"temperature": 0}), ("openai:chat:gpt-4o-mini#2", {"temperature": 1}),
        ("anthropic:claude-sonnet-4-0", {}),
    ]
    errors = refused("prompts: ['{{q}}']\nproviders:\n  - {id: openai:gpt-4o, label: a}\n  - {id: openai:gpt-4.1, label: a}\n")
    assert errors == [f"{PATH}:2: provider 'a' is listed twice; give each a distinct label"]


def _body(provider_yaml: str) -> dict:
    _, suite = ok(f"prompts: ['{{{{q}}}}']\nproviders:\n{provider_yaml}tests: [{{vars: {{q: x}}}}]\n")
    return request(suite.providers[0], (("user", "x"),))[1]


def test_vendor_fields_of_the_examples_reach_the_request_and_streaming_changes_nothing():
    perplexity = _body("  - id: perplexity:sonar-pro\n    config: {search_domain_filter: [example.com], search_recency_filter: week,"
                       " return_related_questions: true, web_search_options: {search_context_size: high}, usage_tier: medium}\n")
    assert perplexity["search_domain_filter"] == ["example.com"] and perplexity["search_recency_filter"] == "week"
    assert perplexity["web_search_options"] == {"search_context_size": "high"} and "usage_tier" not in perplexity
    assert _body("  - id: xai:grok-3\n    config: {search_parameters: {mode: auto}}\n")["search_parameters"] == {"mode": "auto"}
    functions = [{"name": "weather", "parameters": {"type": "object"}}]
    assert _body(f"  - id: openai:gpt-4o\n    config: {{functions: {json.dumps(functions)}}}\n")["functions"] == functions
    claude = _body("  - id: anthropic:claude-sonnet-4-0\n    config: {stream: true, max_tokens: 100}\n")
    assert claude["stream"] is False and claude["max_tokens"] == 100  # the whole answer, which promptfoo assembles the same


def test_bedrock_settings_of_the_invoke_api_are_mapped_onto_converse():
    titan = _body("  - id: bedrock:amazon.titan-text-express-v1\n    config:\n      region: us-east-1\n"
                  "      textGenerationConfig: {maxTokenCount: 256, temperature: 0.2, topP: 0.9, stopSequences: [END]}\n")
    assert titan["inferenceConfig"] == {"maxTokens": 256, "temperature": 0.2, "topP": 0.9, "stopSequences": ["END"]}
    claude = _body("  - id: bedrock:us.anthropic.claude-sonnet-4-20250514-v1:0\n"
                   "    config: {anthropic_version: bedrock-2023-05-31, max_tokens: 64}\n")
    assert claude["inferenceConfig"] == {"maxTokens": 64} and "anthropic_version" not in json.dumps(claude)
    tools = [{"type": "function", "function": {"name": "weather", "description": "w", "parameters": {"type": "object"}}}]
    qwen = _body(f"  - id: bedrock:qwen.qwen3-32b-v1:0\n    config: {{tools: {json.dumps(tools)}, tool_choice: auto}}\n")
    assert qwen["toolConfig"] == {"tools": [{"toolSpec": {"name": "weather", "description": "w", "inputSchema": {"json": {"type": "object"}}}}],
                                  "toolChoice": {"auto": {}}}


def test_an_azure_deployment_name_chooses_the_deployment():
    _, suite = ok("prompts: ['{{q}}']\nproviders:\n  - id: azure:chat:gpt-4o\n"
                  "    config: {apiHost: example.openai.azure.com, deploymentName: prod-4o}\ntests: [{vars: {q: x}}]\n")
    assert request(suite.providers[0], (("user", "x"),))[0].startswith("/openai/deployments/prod-4o/chat/completions")


def test_a_json_chat_prompt_with_template_tags_is_rendered_then_read_as_messages():
    prompt = ('[\n  {"role": "system", "content": {{ system | dump }}},\n'
              '  {% for turn in history %}\n  {"role": "{{ turn.role }}", "content": {{ turn.text | dump }}},\n  {% endfor %}\n'
              '  {"role": "user", "content": {{ question | dump }}}\n]\n')
    tree, suite = ok("prompts: [file://chat.json]\nproviders: [openai:chat:gpt-4o-mini]\n"
                     "tests:\n  - vars:\n      system: Be brief.\n      question: 'And \"then\"?'\n"
                     "      history: [{role: user, text: hi}, {role: assistant, text: hello}]\n",
                     **{"chat.json": prompt})
    (test,) = suite.tests
    assert Renderer(tree).render(suite.prompts[0], test.vars) == (
        ("system", "Be brief."), ("user", "hi"), ("assistant", "hello"), ("user", 'And "then"?'))
    broken = {**test.vars, "history": [{"role": "robot", "text": "x"}]}
    try:
        Renderer(tree).render(suite.prompts[0], broken)
    except RenderError as exc:
        assert exc.error.file == "evals/chat.json" and "role must be system, user or assistant" in exc.error.message
    else:
        raise AssertionError("a rendered message list with a bad role must not be sent")


def test_a_json_chat_prompt_that_is_invalid_without_template_tags_is_still_an_error():
    errors = refused("prompts: [file://chat.json]\nproviders: [openai:chat:gpt-4o-mini]\n", **{"chat.json": '[{"role": "user", content: "x"}]'})
    assert errors == ["evals/chat.json:1: invalid JSON: Expecting property name enclosed in double quotes"]


def test_a_providers_prompts_entry_names_every_prompt_of_a_labelled_file_and_takes_a_wildcard():
    _, suite = ok(
        "prompts:\n  - {id: file://writing.txt, label: writing}\n  - {id: 'Look up {{topic}}', label: lookup}\n"
        "providers:\n  - {id: openai:gpt-4o, prompts: [writing]}\n  - {id: openai:gpt-4.1-mini, prompts: ['look*']}\n"
        "tests: [{vars: {topic: x}}]\n",
        **{"writing.txt": "Write about {{topic}}\n---\nWrite a poem about {{topic}}\n"},
    )
    gpt4o, mini = suite.providers
    assert [p.label for p in suite.prompts if gpt4o.runs(p)] == ["writing#1", "writing#2"]
    assert [p.label for p in suite.prompts if mini.runs(p)] == ["lookup"]


def test_code_shapes_are_refused_as_code_not_called_unknown():
    errors = refused(
        "prompts: ['{{q}}']\nproviders:\n  - file://provider.py:call_api\n  - file://main.go:CallApi\n"
        "tests:\n  - vars: {q: hi}\n",
        **{"provider.py": "def call_api(p, o, c): return {}\n"},
    )
    assert errors == [  # the Python provider runs in the sandbox (tests/sandbox/test_code_providers.py); Go does not
        f"{PATH}:4: refused: provider 'file://main.go:CallApi': executes code from the PR (a provider written in code); "
        "prompt-review runs JavaScript (.js/.cjs/.mjs), TypeScript (.ts/.mts/.cts/.tsx, types stripped) and Python (.py) providers in its "
        "sandbox, not other programs",
    ]


def test_tests_given_as_one_generator_mapping_run_the_generator_with_its_config():
    suite = "prompts: ['{{q}}']\nproviders: [openai:gpt-4o]\ntests:\n  path: file://dataset_loader.py:generate_tests\n  config: {dataset: org/set}\n"
    tree = MemoryTree({PATH: suite, "evals/dataset_loader.py": "def generate_tests(config): return [{'vars': {'q': config['dataset']}}]\n"})
    loaded, errors = load_suite(tree, PATH, code=base_code())
    assert errors == [] and [t.vars for t in loaded.tests] == [{"q": "org/set"}]


def test_a_list_var_of_objects_numbers_or_nothing_is_one_value_and_a_list_of_text_expands():
    _, suite = ok(
        "prompts: ['{{q}}']\nproviders: [openai:gpt-4o]\n"
        "defaultTest:\n  vars:\n    history: [{user: Who founded it?}, {assistant: Someone}]\n"
        "tests:\n  - vars: {q: [a, b], sizes: [1, 2], none: []}\n"
    )
    assert [t.vars for t in suite.tests] == [
        {"history": [{"user": "Who founded it?"}, {"assistant": "Someone"}], "q": q, "sizes": [1, 2], "none": []} for q in ("a", "b")]


def test_tools_and_response_formats_from_files_are_sent_as_their_data():
    tools = [{"functionDeclarations": [{"name": "get_weather", "parameters": {"type": "object"}}]}]
    _, suite = ok(
        "prompts: ['{{q}}']\nproviders:\n  - id: google:gemini-2.0-flash\n    config: {tools: file://tools.json}\n"
        "  - id: openai:gpt-4o\n    config: {response_format: file://format.yaml}\ntests: [{vars: {q: x}}]\n",
        **{"tools.json": json.dumps(tools), "format.yaml": "type: json_schema\njson_schema: {name: answer, schema: {type: object}}\n"},
    )
    gemini, gpt = suite.providers
    assert request(gemini, (("user", "x"),))[1]["tools"] == tools
    assert request(gpt, (("user", "x"),))[1]["response_format"] == {"type": "json_schema", "json_schema": {"name": "answer", "schema": {"type": "object"}}}
    errors = refused("prompts: ['{{q}}']\nproviders:\n  - id: openai:gpt-4o\n    config:\n      tools: file://missing.json\n")
    assert errors == [f"{PATH}:5: file evals/missing.json not found"]


def test_csv_columns_set_an_assertions_threshold_the_metric_and_list_metadata():
    _, suite = ok(
        "prompts: ['{{topic}}']\nproviders: [openai:gpt-4o]\ntests: file://cases.csv\n",
        **{"cases.csv": "topic,__expected1,__expected2,__metric, __metadata:tags[],__config:__expected:threshold,__config:__expected2:threshold\n"
                        '"ml"," contains: algorithm","levenshtein: ml",quality,"ai,data\\,science",0.9,0.8\n'},
    )
    (test,) = suite.tests
    assert [(a.type, a.value, a.threshold, a.metric) for a in test.asserts] == [
        ("contains", "algorithm", 0.9, "quality"), ("levenshtein", "ml", 0.8, "quality")]
    assert test.metadata == {"tags": ["ai", "data,science"]}
    errors = refused("prompts: ['{{t}}']\nproviders: [openai:gpt-4o]\ntests: file://cases.csv\n",
                     **{"cases.csv": "t,__expected,__config:__expected:weight\nx,contains: x,2\n"})
    assert errors == ["evals/cases.csv:2: CSV column '__config:__expected:weight': the form is __config:__expected:threshold "
                      "or __config:__expectedN:threshold"]


def test_a_json_test_file_with_escapes_yaml_refuses_is_read_as_json():
    cases = '[{"vars": {"q": "emoji \\ud83d\\ude00 here"}, "assert": [{"type": "contains", "value": "ok"}]}]'
    _, suite = ok("prompts: ['{{q}}']\nproviders: [openai:gpt-4o]\ntests: file://cases.json\n", **{"cases.json": cases})
    assert suite.tests[0].vars["q"] == "emoji \U0001F600 here"


def test_a_grader_with_its_embedding_model_beside_it():
    _, suite = ok(
        "prompts: ['{{q}}']\nproviders: [openai:gpt-4o]\n"
        "defaultTest:\n  options:\n    provider:\n      id: mistral:mistral-large-latest\n      embedding:\n        id: mistral:embedding:mistral-embed\n"
        "tests:\n  - vars: {q: hi}\n    assert:\n      - {type: similar, value: hello}\n      - {type: llm-rubric}\n"
    )
    similar, rubric = suite.tests[0].asserts
    assert (suite.tests[0].grader.model, similar.grader.model) == ("mistral-large-latest", "mistral-embed")
    assert rubric.value is None


def test_an_audio_provider_of_a_chat_vendor_is_not_taken_for_a_chat_model():  # image providers: test_providers_image.py
    errors = refused("prompts: ['{{prompt}}']\nproviders:\n  - id: hyperbolic:audio:Melo-TTS\n    config: {voice: EN-US}\n")
    assert errors == [f"{PATH}:3: unsupported: provider 'hyperbolic:audio:Melo-TTS' is not a chat model (audio); "
                      "prompt-review reviews text answers of chat models"]


def test_a_prompts_config_is_sent_with_that_prompt_over_the_providers_settings():
    tree, suite = ok(
        "prompts:\n  - label: json\n    raw: 'Solve {{p}}'\n    config:\n      temperature: 0\n"
        "      response_format: {type: json_object}\n  - {label: plain, raw: 'Solve {{p}}'}\n"
        "providers:\n  - id: openai:gpt-4o\n    config: {temperature: 0.7, max_tokens: 50}\ntests: [{vars: {p: 1+1}}]\n"
    )
    cases, _ = expand(suite, Renderer(tree))
    bodies = {c.prompt.label: request(c.provider, c.messages)[1] for c in cases.values()}
    assert (bodies["json"]["temperature"], bodies["json"]["response_format"], bodies["json"]["max_tokens"]) == (0, {"type": "json_object"}, 50)
    assert (bodies["plain"]["temperature"], "response_format" in bodies["plain"]) == (0.7, False)
    errors = refused("prompts:\n  - {raw: hi, config: {apiBaseUrl: 'http://127.0.0.1:9'}}\nproviders: [openai:gpt-4o]\n")
    assert errors == [f"{PATH}:2: unsupported prompt config key 'apiBaseUrl': a prompt's config may hold request settings "
                      "(temperature, max_tokens, response_format, tools, …); set anything else on the provider"]


def test_assertion_templates_are_reached_through_ref():
    _, suite = ok(
        "prompts: ['{{q}}']\nproviders: [openai:gpt-4o]\n"
        "assertionTemplates:\n  pirate: {type: icontains, value: arrr}\n"
        "tests:\n  - vars: {q: hi}\n    assert:\n      - {type: contains, value: h}\n      - $ref: '#/assertionTemplates/pirate'\n"
    )
    assert [(a.type, a.value, a.line) for a in suite.tests[0].asserts] == [("contains", "h", 8), ("icontains", "arrr", 9)]
    errors = refused("prompts: ['{{q}}']\nproviders: [openai:gpt-4o]\ntests:\n  - vars: {q: hi}\n    assert:\n"
                     "      - $ref: '#/assertionTemplates/missing'\n")
    assert errors[0] == f"{PATH}:6: $ref '#/assertionTemplates/missing' points at nothing in this file"


def test_references_to_references_cannot_blow_up_the_suite():
    levels = "".join(f"  l{i}: ['$ref': '#/t/l{i - 1}', '$ref': '#/t/l{i - 1}']\n".replace("'$ref': ", "{$ref: ").replace("', ", "'}, ").replace("']\n", "'}]\n")
                     for i in range(1, 40))
    errors = refused("prompts: ['{{q}}']\nproviders: [openai:gpt-4o]\nt:\n  l0: {type: contains, value: x}\n" + levels +
                     "tests:\n  - vars: {q: hi}\n    assert: {$ref: '#/t/l39'}\n")
    assert any("references nested more than 8 deep" in e or "expand to more than" in e for e in errors), errors


def test_vars_given_as_paths_and_globs_are_read_from_the_tests_own_folder():
    _, suite = ok(
        "prompts: ['{{topic}} {{tone}} {{extra}}']\nproviders: [openai:gpt-4o]\ntests: file://cases/more.yaml\n",
        **{"cases__more.yaml": "- vars: ../vars/vars_*.yaml\n- vars: [../vars/vars_a.yaml, file://../vars/extra.yaml]\n",
           "vars__vars_a.yaml": "topic: tea\ntone: dry\n", "vars__vars_b.yaml": "tone: warm\n", "vars__extra.yaml": "extra: x\n"},
    )
    assert [t.vars for t in suite.tests] == [{"topic": "tea", "tone": "warm"}, {"topic": "tea", "tone": "dry", "extra": "x"}]


PROMPT_JS = """module.exports.chat = function ({ vars, provider }) {
  return [{ role: 'system', content: 'You answer for ' + provider.label + '.' },
          { role: 'user', content: 'Tell me about ' + vars.topic }];
};
module.exports.plain = (context) => 'Topic: ' + context.vars.topic;
"""
PROMPT_PY = """class Prompt:
    @staticmethod
    def short(context):
        return f"In one line: {context['vars']['topic']}"


def broken(context):
    return 42
"""


def test_prompt_functions_run_in_the_sandbox_per_provider_and_return_text_or_messages():
    tree, suite = ok(
        "prompts:\n  - file://prompts.js:chat\n  - file://prompts.js:plain\n  - file://prompts.py:Prompt.short\n"
        "providers:\n  - {id: openai:gpt-4o, label: four}\ntests: [{vars: {topic: tides}}]\n",
        **{"prompts.js": PROMPT_JS, "prompts.py": PROMPT_PY},
    )
    cases, errors = expand(suite, Renderer(tree), gate=CodeGate())  # the base side: its code runs
    assert errors == []
    assert [c.messages for c in cases.values()] == [
        (("system", "You answer for four."), ("user", "Tell me about tides")),
        (("user", "Topic: tides"),),
        (("user", "In one line: tides"),),
    ]
    assert all(c.deps[0] in ("evals/prompts.js", "evals/prompts.py") for c in cases.values())


def test_a_prompt_function_from_the_pr_waits_for_the_gate_and_a_bad_return_is_a_case_error():
    tree, suite = ok("prompts: [file://prompts.py:broken]\nproviders: [openai:gpt-4o]\ntests: [{vars: {topic: x}}]\n",
                     **{"prompts.py": PROMPT_PY})
    (case,) = expand(suite, Renderer(tree), gate=CodeGate())[0].values()
    assert (case.error.file, case.error.line, case.messages) == (PATH, 1, None)
    assert "prompt function prompts.py:broken: it must return text, a list of {role, content} messages or {prompt, config}; it returned int" in case.error.message
    (case,) = expand(suite, Renderer(tree), gate=base_only_gate(None))[0].values()
    assert (case.error.file, case.error.line, case.messages) == (PATH, 1, None)
    assert case.error.message.startswith("refused: executes code from the PR (prompt function)")
    errors = refused("prompts: [file://prompt.rb, file://prompts.py]\nproviders: [openai:gpt-4o]\n",
                     **{"prompt.rb": "puts 1", "prompts.py": PROMPT_PY})
    assert errors == [  # a .py file without a function is a script (tests/compat/test_python_prompt_script.py)
        f"{PATH}:1: refused: file://prompt.rb is a prompt function prompt-review does not run (it runs JavaScript .js/.cjs/.mjs, "
        "TypeScript .ts/.mts/.cts/.tsx and Python .py functions in its sandbox; other code is not run)",
    ]


def test_claude_on_vertex_speaks_the_messages_api_and_other_vertex_families_are_refused():
    _, suite = ok("prompts: ['{{q}}']\nproviders:\n  - id: vertex:claude-opus-4@20250514\n"
                  "    config: {projectId: my-proj, region: us-east5, max_tokens: 200, anthropic_version: vertex-2023-10-16}\n"
                  "tests: [{vars: {q: x}}]\n")
    (claude,) = suite.providers
    path, body = request(claude, (("system", "Be brief."), ("user", "x")))
    assert path == "/v1/projects/my-proj/locations/us-east5/publishers/anthropic/models/claude-opus-4%4020250514:rawPredict"
    assert body == {"anthropic_version": "vertex-2023-10-16", "max_tokens": 200, "system": "Be brief.",
                    "messages": [{"role": "user", "content": "x"}]}
    answer = {"content": [{"type": "text", "text": "Hi."}], "stop_reason": "end_turn", "usage": {"input_tokens": 5, "output_tokens": 2}}
    assert (parse(claude, answer).text, parse(claude, answer).finish_reason) == ("Hi.", "stop")
    errors = refused("prompts: ['{{q}}']\nproviders: ['vertex:mistral-large-2411']\n")
    assert errors == [f"{PATH}:2: unsupported: provider 'vertex:mistral-large-2411': on Vertex, prompt-review calls Gemini "
                      "(generateContent), Claude (the messages API) and Llama (the OpenAI-compatible endpoint); other model "
                      "families (Mistral, PaLM, …) are not part of it"]


WEATHER = {"type": "function", "function": {"name": "get_weather", "parameters": {
    "type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}


def _tool_check(kind: str, output: str, config: dict) -> tuple[bool, float]:
    (assertion,) = ok(f"prompts: ['{{{{q}}}}']\nproviders: [openai:gpt-4o]\ntests:\n  - vars: {{q: x}}\n    assert: [{{type: {kind}}}]\n")[1].tests[0].asserts
    context = CodeContext({}, "x", {}, {"id": "openai:gpt-4o", "label": None, "config": config})
    return asyncio.run(check_one(assertion, output, None, None, context=context))


def test_tool_calls_are_checked_against_the_providers_tools_and_functions():
    call = lambda name, args: json.dumps([{"id": "c1", "type": "function", "function": {"name": name, "arguments": json.dumps(args)}}])  # noqa: E731
    assert _tool_check("is-valid-openai-tools-call", call("get_weather", {"city": "Oslo"}), {"tools": [WEATHER]}) == (True, 1.0)
    assert _tool_check("is-valid-openai-tools-call", call("get_weather", {"town": "Oslo"}), {"tools": [WEATHER]}) == (False, 0.0)
    assert _tool_check("is-valid-openai-tools-call", call("get_time", {}), {"tools": [WEATHER]}) == (False, 0.0)
    assert _tool_check("is-valid-openai-tools-call", "It is sunny in Oslo.", {"tools": [WEATHER]}) == (False, 0.0)
    # promptfoo 0.121 never reads the not- of these types (bench/suites/tools measured it): the same check
    assert _tool_check("not-is-valid-openai-tools-call", "It is sunny.", {"tools": [WEATHER]}) == (False, 0.0)
    assert _tool_check("not-is-valid-openai-tools-call", call("get_weather", {"city": "Oslo"}), {"tools": [WEATHER]}) == (True, 1.0)
    legacy = json.dumps({"name": "get_weather", "arguments": '{"city": "Oslo"}'})
    assert _tool_check("is-valid-openai-function-call", legacy, {"functions": [WEATHER["function"]]}) == (True, 1.0)
    # OpenAI-hosted MCP tools (responses API): promptfoo writes each call as an "MCP Tool Result/Error (name): …"
    # line of the output, and this check passes on a result line, fails on an error line, else checks function calls
    mcp = {"tools": [{"type": "mcp", "server_label": "deepwiki", "server_url": "https://mcp.example.com/mcp"}]}
    assert _tool_check("is-valid-openai-tools-call", "MCP Tool Result (ask_question): stdio and HTTP\nTwo.", mcp) == (True, 1.0)
    assert _tool_check("is-valid-openai-tools-call", "MCP Tool Result (a): x\nMCP Tool Error (b): down", mcp) == (False, 0.0)
    assert _tool_check("is-valid-openai-tools-call", "Two transports.", mcp) == (False, 0.0)
    assert _tool_check("is-valid-openai-tools-call", call("x", {}), mcp) == (False, 0.0)  # no function tool named x


def test_an_http_body_gets_the_tests_vars_and_the_prompt_at_the_call():
    tree, suite = ok(
        "prompts: ['Tweet about {{topic}}']\nproviders:\n  - id: https://api.example.com/generate\n"
        "    config:\n      body: {prompt: '{{prompt}}', model: '{{model}}', tags: ['{{ topic }}', fixed]}\n"
        "      transformResponse: json.text\n"
        "tests:\n  - vars: {model: small, topic: bananas}\n  - vars: {topic: pears}\n"
    )
    cases, _ = expand(suite, Renderer(tree))
    assert [json.loads(request(c.provider, c.messages)[1].content) for c in cases.values()] == [
        {"prompt": "Tweet about bananas", "model": "small", "tags": ["bananas", "fixed"]},
        {"prompt": "Tweet about pears", "model": "", "tags": ["pears", "fixed"]},
    ]
    errors = refused("prompts: ['{{q}}']\nproviders:\n  - id: https://api.example.com/generate\n"
                     "    config: {body: {key: '{{ env.SECRET }}'}}\n")
    assert errors == [f"{PATH}:4: unsupported: body uses env: {{{{env.NAME}}}} is for headers and auth only (where "
                      "evals.http_credentials lets each variable go); a body, query or url never carries a secret"]


def test_a_gemini_function_call_answer_is_its_parts_and_is_checked_against_the_declarations():
    tools = [{"functionDeclarations": [{"name": "get_weather", "parameters": {
        "type": "OBJECT", "properties": {"location": {"type": "STRING"}}, "required": ["location"]}}]}]
    _, suite = ok(f"prompts: ['{{{{q}}}}']\nproviders:\n  - id: google:gemini-2.0-flash\n    config: {{tools: {json.dumps(tools)}}}\n"
                  "tests: [{vars: {q: x}}]\n")
    answer = {"candidates": [{"content": {"parts": [{"functionCall": {"name": "get_weather", "args": {"location": "Oslo"}}}]},
                              "finishReason": "STOP"}]}
    output = parse(suite.providers[0], answer).text
    assert json.loads(output) == [{"functionCall": {"name": "get_weather", "args": {"location": "Oslo"}}}]

    def check(out: str, provider_id: str = "google:gemini-2.0-flash") -> bool:
        (assertion,) = ok("prompts: ['{{q}}']\nproviders: [openai:gpt-4o]\ntests:\n  - vars: {q: x}\n"
                          "    assert: [{type: is-valid-function-call}]\n")[1].tests[0].asserts
        return asyncio.run(check_one(assertion, out, None, None, context=CodeContext({}, "x", {}, {"id": provider_id, "config": {"tools": tools}})))[0]

    assert check(output)
    assert not check(json.dumps([{"functionCall": {"name": "get_weather", "args": {"location": 3}}}]))
    assert not check(json.dumps([{"functionCall": {"name": "get_time", "args": {}}}]))
    assert not check("It is sunny in Oslo.")
    assert not check(output, provider_id="anthropic:claude-sonnet-4-0")  # promptfoo: no validator for this provider


GRADER_NEAR_MISS = "prompts: ['{{q}}']\nproviders: [openai:gpt-4o]\ndefaultTest:\n  options:\n    providers: {text: openai:gpt-4.1}\n"


def test_a_near_miss_of_the_grader_option_is_an_error_where_a_model_grades_an_assertion():
    # promptfoo's test options keep any key (catchall) and read nothing of `providers`: its default grader would grade
    errors = refused(GRADER_NEAR_MISS + "tests:\n  - vars: {q: x}\n    assert: [{type: contains, value: x}]\n"
                     "  - vars: {q: y}\n    assert: [{type: llm-rubric, value: polite}]\n")
    assert errors == [f"{PATH}:5: unknown test option 'providers': promptfoo has no such option (did you mean 'provider'?); "
                      "promptfoo keeps it and reads nothing of it, so this suite's model-graded assertions would be graded by "
                      "the default grader"]


def test_a_near_miss_of_the_grader_option_is_a_warning_where_no_model_grades():
    # promptfoo's google-aistudio-tools example: the graders it meant to set, where only deterministic checks run
    tree, (loaded, errors) = load(GRADER_NEAR_MISS + "tests:\n  - vars: {q: x}\n    assert: [{type: contains, value: x}]\n"
                                  "  - vars: {q: y}\n    options:\n      rubricPrompts: grade it\n")
    assert errors == [] and loaded is not None
    warnings = read_suite(tree, PATH).warnings
    assert [(w.line, w.message.split(":")[0]) for w in warnings] == [
        (5, "ignored test option 'providers' (did you mean 'provider'?)"),
        (11, "ignored test option 'rubricPrompts' (did you mean 'rubricPrompt'?)")], [str(w) for w in warnings]


def test_a_near_miss_of_an_option_every_case_reads_stays_an_error():
    errors = refused("prompts: ['{{q}}']\nproviders: [openai:gpt-4o]\ntests:\n  - vars: {q: x}\n    options: {transfrom: output.trim()}\n")
    assert errors == [f"{PATH}:5: unknown test option 'transfrom': promptfoo has no such option (did you mean 'transform'?)"]


def test_code_sees_a_tool_call_answer_as_the_object_promptfoo_hands_it():
    tools = [{"functionDeclarations": [{"name": "get_weather", "parameters": {"type": "OBJECT"}}]}]
    _, suite = ok(
        f"prompts: ['{{{{q}}}}']\nproviders:\n  - id: google:gemini-2.0-flash\n    config: {{tools: {json.dumps(tools)}}}\n"
        "tests:\n  - vars: {q: x}\n    assert:\n      - type: equals\n        value: get_weather\n        transform: output[0].functionCall.name\n"
        "      - type: javascript\n        value: \"output[0].functionCall.args.location === 'Oslo'\"\n"
    )
    answer = {"candidates": [{"content": {"parts": [{"functionCall": {"name": "get_weather", "args": {"location": "Oslo"}}}]}}]}
    parsed = parse(suite.providers[0], answer)
    completion = Completion(parsed.text, structured=parsed.structured)
    context = CodeContext({"q": "x"}, "x", {}, {"id": "google:gemini-2.0-flash"})
    assert asyncio.run(score_output(suite.tests[0].asserts, None, parsed.text, response=completion, context=context)).passed
    text_only = Completion(parsed.text)  # the same JSON as text: `output[0]` is its first character
    with pytest.raises(AssertionBroken, match="cannot read property 'name' of undefined"):
        asyncio.run(score_output(suite.tests[0].asserts, None, parsed.text, response=text_only, context=context))


def test_a_nunjucks_loop_over_a_mappings_pairs_renders_as_in_promptfoo():
    tree, suite = ok(
        "prompts: [file://chat.json, 'Facts: {% for key, value in facts %}{{ key }}={{ value }}; {% endfor %}']\n"
        "providers: [openai:gpt-4o]\n"
        "tests:\n  - vars:\n      history: [{user: Who founded it?}, {assistant: Someone}]\n      facts: {a: 1, b: 2}\n",
        **{"chat.json": '[{% for message in history %}{% for role, content in message %}{"role": "{{ role }}", '
                        '"content": {{ content | dump }}},{% endfor %}{% endfor %}{"role": "user", "content": "next"}]'},
    )
    chat, text = suite.prompts
    renderer = Renderer(tree)
    assert renderer.render(chat, suite.tests[0].vars) == (("user", "Who founded it?"), ("assistant", "Someone"), ("user", "next"))
    assert renderer.render(text, suite.tests[0].vars) == (("user", "Facts: a=1; b=2; "),)


def test_a_prompt_module_that_requires_a_package_is_refused_as_such():
    tree, suite = ok("prompts: [file://prompt.js]\nproviders: [openai:gpt-4o]\ntests: [{vars: {q: x}}]\n",
                     **{"prompt.js": "const dedent = require('dedent');\nmodule.exports = (c) => dedent`Hi ${c.vars.q}`;\n"})
    (case,) = expand(suite, Renderer(tree), gate=CodeGate())[0].values()
    assert case.error.message == ("prompt function prompt.js: require('dedent'): modules are not loaded in the sandbox but "
                                  "the repository's own (relative paths, its workspace packages, a committed node_modules); "
                                  "put the code it needs in the same file or the repository")


def test_a_grader_of_settings_without_an_id_says_it_names_no_model():
    errors = refused("prompts: ['{{q}}']\nproviders: [openai:gpt-4o]\n"
                     "defaultTest:\n  options:\n    provider:\n      config: {temperature: 0.7}\n")
    assert errors == [f"{PATH}:5: a grader needs an `id` (a provider such as openai:chat:gpt-4.1); settings alone "
                      "name no model (promptfoo 0.121 ends every graded case with \"Invalid provider definition\" on it)"]


def test_an_answer_that_is_an_object_reads_as_javascripts_json_for_text_checks():
    # promptfoo's text of a tool call is JSON.stringify of it: compact, so `contains '"name":"get_weather"'` passes
    spec = ProviderSpec("openai:chat:gpt-4o-mini", "openai", "gpt-4o-mini")
    answer = {"choices": [{"message": {"content": None, "tool_calls": [
        {"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": "{\"city\":\"Oslo\"}"}}]},
        "finish_reason": "tool_calls"}], "usage": {"prompt_tokens": 3, "completion_tokens": 2, "temperature": 1.0}}
    parsed = parse(spec, answer)
    assert parsed.structured and '"name":"get_weather"' in parsed.text and ": " not in parsed.text
    gemini = ProviderSpec("google:gemini-2.0-flash", "google", "gemini-2.0-flash")
    parts = {"candidates": [{"content": {"parts": [{"functionCall": {"name": "f", "args": {"n": 2.0, "x": float("nan")}}}]}}]}
    assert parse(gemini, parts).text == '[{"functionCall":{"name":"f","args":{"n":2,"x":null}}}]'  # 2.0 → 2, NaN → null


def test_claude_tool_uses_and_thinking_read_as_promptfoo_writes_them():
    claude = ProviderSpec("anthropic:messages:claude-sonnet-4-0", "anthropic", "claude-sonnet-4-0")
    two_texts = {"content": [{"type": "text", "text": "One."}, {"type": "text", "text": "Two."}], "stop_reason": "end_turn"}
    assert parse(claude, two_texts).text == "One.\n\nTwo."
    tool = {"content": [{"type": "thinking", "thinking": "Weather needs a tool.", "signature": "sig"},
                        {"type": "text", "text": "Let me look."},
                        {"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {"city": "Oslo"}}],
            "stop_reason": "tool_use"}
    assert parse(claude, tool).text == ('Thinking: Weather needs a tool.\nSignature: sig\n\nLet me look.\n\n'
                                        '{"type":"tool_use","id":"toolu_1","name":"get_weather","input":{"city":"Oslo"}}')
    quiet = ProviderSpec("anthropic:messages:claude-sonnet-4-0", "anthropic", "claude-sonnet-4-0", options=(("showThinking", False),))
    assert parse(quiet, tool).text.startswith("Let me look.\n\n{")


def test_a_converse_tool_use_reads_as_the_tool_use_alone():
    bedrock = ProviderSpec("bedrock:converse:anthropic.claude-3-5-sonnet", "bedrock", "anthropic.claude-3-5-sonnet")
    answer = {"output": {"message": {"content": [
        {"text": "Checking."}, {"toolUse": {"toolUseId": "t1", "name": "get_weather", "input": {"city": "Oslo"}}}]}},
        "stopReason": "tool_use", "usage": {"inputTokens": 4, "outputTokens": 2}}
    assert parse(bedrock, answer).text == '{"type":"tool_use","id":"t1","name":"get_weather","input":{"city":"Oslo"}}'
    reasoning = {"output": {"message": {"content": [
        {"reasoningContent": {"reasoningText": {"text": "Think.", "signature": "s"}}}, {"text": "Done."}]}}, "stopReason": "end_turn"}
    assert parse(bedrock, reasoning).text == "<thinking>\nThink.\n</thinking>\n\nSignature: s\n\nDone."
