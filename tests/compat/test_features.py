"""promptfoo features a real suite uses, one small config each: accepted with promptfoo's meaning, or
refused with file, line and the rule that refused it — never "unknown key", never misread."""

from __future__ import annotations

import pytest

from bot.core.files import MemoryTree
from bot.evals.loader import load_suite

PATH = "evals/promptfooconfig.yaml"


def load(suite: str, **files: str):
    tree = MemoryTree({PATH: suite, **{f"evals/{name.replace('__', '/')}": text for name, text in files.items()}})
    return load_suite(tree, PATH)


def ok(suite: str, **files: str):
    loaded, errors = load(suite, **files)
    assert errors == [], [str(e) for e in errors]
    return loaded


def refused(suite: str, **files: str) -> list[str]:
    loaded, errors = load(suite, **files)
    assert loaded is None
    return [f"{e.file}:{e.line}: {e.message}" for e in errors]


def test_targets_is_an_alias_of_providers():
    suite = ok("prompts: ['{{q}}']\ntargets: [openai:chat:gpt-4o-mini]\ntests: [{vars: {q: hi}}]\n")
    assert [p.model for p in suite.providers] == ["gpt-4o-mini"]


def test_a_suite_without_tests_runs_once_and_without_prompts_sends_the_prompt_var():
    suite = ok("providers: [openai:chat:gpt-4o-mini]\ndefaultTest: {vars: {prompt: hello}}\n")
    assert [p.template for p in suite.prompts] == ["{{prompt}}"]
    assert [t.vars for t in suite.tests] == [{"prompt": "hello"}]


def test_a_text_prompt_file_with_separators_is_several_prompts():
    suite = ok("prompts: [file://prompts.txt]\nproviders: [openai:chat:gpt-4o-mini]\ntests: [{vars: {q: hi}}]\n",
               **{"prompts.txt": "Answer briefly: {{q}}\n---\nAnswer in detail: {{q}}\n"})
    assert [p.template for p in suite.prompts] == ["Answer briefly: {{q}}", "Answer in detail: {{q}}"]
    assert len({p.label for p in suite.prompts}) == 2


def test_test_files_in_jsonl_json_and_globs_with_default_test_from_a_file():
    suite = ok(
        "prompts: ['{{q}}']\nproviders: [openai:chat:gpt-4o-mini]\ndefaultTest: file://default.yaml\n"
        "tests:\n  - file://cases/*.jsonl\n  - file://more.json\n",
        **{"default.yaml": "assert: [{type: icontains, value: ok}]\n",
           "cases__a.jsonl": '{"vars": {"q": "one"}}\n\n{"vars": {"q": "two"}, "assert": [{"type": "contains", "value": "2"}]}\n',
           "more.json": '[{"vars": {"q": "three"}}]'},
    )
    assert [t.vars["q"] for t in suite.tests] == ["one", "two", "three"]
    assert [a.type for a in suite.tests[1].asserts] == ["icontains", "contains"]
    assert (suite.tests[1].file, suite.tests[1].line) == ("evals/cases/a.jsonl", 3)


def test_vars_from_a_file_and_a_var_glob_run_once_per_file():
    suite = ok(
        "prompts: ['{{doc}} {{lang}}']\nproviders: [openai:chat:gpt-4o-mini]\n"
        "tests:\n  - vars: file://vars.yaml\n  - vars: {doc: 'file://docs/*.txt', lang: en}\n",
        **{"vars.yaml": "doc: inline\nlang: fr\n", "docs__a.txt": "A", "docs__b.txt": "B"},
    )
    assert [(t.vars["doc"], t.vars["lang"]) for t in suite.tests] == [("inline", "fr"), ("A", "en"), ("B", "en")]


def test_scenarios_run_every_config_against_every_test():
    suite = ok(
        "prompts: ['{{lang}}: {{q}}']\nproviders: [openai:chat:gpt-4o-mini]\n"
        "scenarios:\n  - description: translations\n    config:\n      - vars: {lang: fr}\n      - vars: {lang: de}\n"
        "    tests:\n      - vars: {q: hello}\n        assert: [{type: contains, value: x}]\n      - vars: {q: bye}\n"
    )
    assert [(t.vars["lang"], t.vars["q"]) for t in suite.tests] == [("fr", "hello"), ("fr", "bye"), ("de", "hello"), ("de", "bye")]
    assert suite.tests[0].description == "translations"


def test_a_provider_file_is_read_as_providers():
    suite = ok("prompts: ['{{q}}']\nproviders: [file://providers.yaml]\ntests: [{vars: {q: hi}}]\n",
               **{"providers.yaml": "- id: anthropic:claude-sonnet-4-0\n  config: {temperature: 0}\n- openai:chat:gpt-4o\n"})
    assert [(p.kind, p.model) for p in suite.providers] == [("anthropic", "claude-sonnet-4-0"), ("openai", "gpt-4o")]


def test_grader_maps_rubric_prompts_and_assertion_config_reach_the_assertions():
    suite = ok(
        "prompts: ['{{query}}']\nproviders: [openai:chat:gpt-4o-mini]\n"
        "defaultTest:\n  options:\n    provider:\n      text: openai:chat:gpt-4.1\n      embedding: openai:embedding:text-embedding-3-large\n"
        "    rubricPrompt: 'Grade {{ output }} against {{ rubric }}'\n"
        "tests:\n  - vars: {query: refunds?, context: Refunds within 30 days.}\n    assert:\n"
        "      - {type: similar, value: within 30 days}\n      - {type: llm-rubric, value: polite}\n"
        "      - {type: context-relevance, threshold: 0.8}\n      - {type: contains, value: days, config: {note: x}}\n"
    )
    test = suite.tests[0]
    similar, rubric, faithful, contains = test.asserts
    assert test.grader.model == "gpt-4.1" and similar.grader.model == "text-embedding-3-large"
    assert rubric.rubric_prompt == "Grade {{ output }} against {{ rubric }}"
    assert dict(faithful.inputs) == {"query": "refunds?", "context": "Refunds within 30 days."}
    assert contains.config == {"note": "x"}


def test_contains_json_takes_a_schema_written_as_json_text():
    suite = ok("prompts: ['{{q}}']\nproviders: [openai:chat:gpt-4o-mini]\n"
               "tests:\n  - vars: {q: hi}\n    assert:\n      - type: contains-json\n"
               "        value: '{\"type\": \"object\", \"required\": [\"answer\"]}'\n")
    assert suite.tests[0].asserts[0].value == {"type": "object", "required": ["answer"]}


def test_a_json_check_whose_value_javascript_holds_false_checks_no_schema_as_in_promptfoo():
    # promptfoo 0.121's is-json / contains-json check a schema only `if (renderedValue)`: `value: false` is JSON alone
    import asyncio

    from bot.core.config import EvalsConfig
    from bot.evals import EvalRequest, NoCache, run_evals

    text = ("prompts: ['{{p}}']\nproviders: [echo]\ntests:\n"
            "  - {description: json, vars: {p: '{\"a\": 1}'}, assert: [{type: is-json, value: false}, {type: contains-json, value: 0}]}\n"
            "  - {description: text, vars: {p: not json}, assert: [{type: is-json, value: false}]}\n")
    suite = ok(text)
    assert [a.value for t in suite.tests for a in t.asserts] == [None, None, None]
    tree = MemoryTree({PATH: text})
    report = asyncio.run(run_evals(EvalRequest(base=MemoryTree({}), head=tree, config=EvalsConfig(), suites=[PATH], env={}), NoCache()))
    assert sorted((c.description, c.head.passed) for c in report.cases()) == [("json", True), ("text", False)]
    # a value JavaScript holds true that is no schema stays an error (promptfoo throws on it as it checks)
    assert refused(text.replace("{type: is-json, value: false}, {type: contains-json", "{type: is-json, value: true}, {type: contains-json"))


def test_measured_assertions_and_derived_metrics_load():
    suite = ok("prompts: ['{{q}}']\nproviders: [openai:chat:gpt-4o-mini]\n"
               "derivedMetrics:\n  - {name: f1, value: '2 * precision * recall / (precision + recall)'}\n"
               "tests:\n  - vars: {q: hi}\n    assert:\n      - {type: latency, threshold: 5000}\n"
               "      - {type: cost, threshold: 0.01}\n      - {type: finish-reason, value: stop}\n")
    assert [a.type for a in suite.tests[0].asserts] == ["latency", "cost", "finish-reason"]


@pytest.mark.parametrize(
    "snippet, line, message",
    [
        ("      - type: ruby\n        value: output.length > 3\n", 6,
         "refused: ruby: executes code prompt-review does not run (it runs javascript and python assertions, in its sandbox)"),
        ("      - type: python\n        value: file://check.py\n", 7, "python assertion: check.py does not exist"),
        ("      - type: moderation\n", 6, "unsupported: moderation: vendor moderation (OpenAI/Azure/Llama Guard moderation APIs) is not part of prompt-review"),
        ("      - type: contains\n        value: x\n        transform: file://t.tsx\n", 8, "contains transform: t.tsx does not exist"),
        ("      - type: contains\n        value: x\n        transform: file://t.ts\n", 8, "contains transform: t.ts does not exist"),
    ],
)
def test_refusals_name_file_line_and_rule(snippet, line, message):
    suite = "prompts: ['{{q}}']\nproviders: [openai:chat:gpt-4o-mini]\ntests:\n  - vars: {q: hi}\n    assert:\n" + snippet
    (error,) = refused(suite)
    assert error.startswith(f"{PATH}:{line}: {message}"), error


@pytest.mark.parametrize(
    "suite, expected",
    [
        ("prompts: ['{{q}}']\nproviders: [openai:chat:gpt-4o-mini]\nredteam: {plugins: [harmful]}\n",
         f"{PATH}:3: unsupported: redteam is not part of prompt-review"),
        ("prompts: [langfuse://support-prompt:3]\nproviders: [openai:chat:gpt-4o-mini]\n",
         f"{PATH}:1: unsupported: prompts from langfuse:// are not part of prompt-review"),
        ("prompts: ['{{q}}']\nproviders: [openai:chat:gpt-4o-mini]\ntests: https://docs.google.com/spreadsheets/d/abc/edit\n",
         f"{PATH}:3: unsupported: remote test sheets (Google Sheets) are not part of prompt-review"),
        ("prompts: ['{{q}}']\nproviders: [openai:chat:gpt-4o-mini]\nderivedMetrics:\n  - {name: x, value: 'a => a * 2'}\n",
         f"{PATH}:4: refused: derivedMetrics value: executes code from the PR"),
        ("prompts: ['{{q}}']\nproviders: [openai:chat:gpt-4o-mini]\ndefaultTest: {options: {transformVars: file://vars.rb}}\n",
         f"{PATH}:3: options.transformVars: file://vars.rb is not a .js, .ts or .py file this sandbox can run"),
    ],
)
def test_out_of_scope_features_say_so_with_their_line(suite, expected):
    errors = refused(suite)
    assert len(errors) == 1 and errors[0].startswith(expected), errors


def test_no_known_promptfoo_key_is_called_unknown():
    suite = (
        "description: d\nprompts: ['{{q}}']\ntargets: [openai:chat:gpt-4o-mini]\ntags: {team: a}\nmetadata: {x: 1}\n"
        "tracing: {enabled: false}\nevaluateOptions: {maxConcurrency: 2, repeat: 3}\nenv: {OPENAI_API_KEY: x}\n"
        "commandLineOptions: {verbose: true}\nsharing: false\noutputPath: out.json\n"
        "tests:\n  - vars: {q: hi}\n    provider: openai:chat:gpt-4o\n    providerOutput: fixed\n"
    )
    errors = refused(suite)
    assert errors and not any("unknown" in e for e in errors), errors
    assert all(": refused: " in e or ": unsupported: " in e for e in errors), errors


def test_a_providers_prompts_choose_which_prompts_it_runs():
    suite = ok(
        "prompts:\n  - {id: 'Hi {{q}}', label: short}\n  - {id: 'Hello there, {{q}}', label: long}\n"
        "providers:\n  - {id: 'ollama:chat:llama3.2', prompts: [short], config: {num_predict: 64}}\n  - openai:gpt-4o\n"
        "tests: [{vars: {q: x}}]\n"
    )
    ollama, gpt = suite.providers
    short, long = suite.prompts
    assert (ollama.runs(short), ollama.runs(long), gpt.runs(long)) == (True, False, True)
    errors = refused("prompts: [{id: 'Hi', label: a}]\nproviders:\n  - {id: openai:gpt-4o, prompts: [b]}\n")
    assert errors == [f"{PATH}:3: provider 'openai:gpt-4o' lists prompt 'b', but no prompt has that label (labels: a)"]


def test_vendor_request_fields_are_part_of_the_provider_and_caching_hints_change_nothing():
    suite = ok(
        "prompts: ['{{q}}']\nproviders:\n"
        "  - id: anthropic:messages:claude-sonnet-4-0\n    config: {temperature: 0, cache_control: {type: ephemeral}, tools: [{name: t}]}\n"
        "  - id: google:gemini-2.5-pro\n    config: {generationConfig: {temperature: 0.7, maxOutputTokens: 2048}, cache_control: {type: ephemeral}}\n"
        "tests: [{vars: {q: x}}]\n"
    )
    claude, gemini = suite.providers
    # Anthropic's cache_control is a request field (automatic prompt caching, sent as promptfoo 0.121 sends it)
    assert dict(claude.params) == {"temperature": 0, "cache_control": {"type": "ephemeral"}, "tools": [{"name": "t"}]}
    assert dict(gemini.params) == {"generationConfig": {"temperature": 0.7, "maxOutputTokens": 2048}}


def test_a_rubric_prompt_gets_the_tests_vars_and_a_raw_prompt_is_named_by_its_id():
    suite = ok(
        "prompts:\n  - {id: fairness, raw: '{{prompt}}'}\nproviders: [echo]\n"
        "defaultTest:\n  assert:\n    - type: llm-rubric\n      value: respectful\n"
        "      rubricPrompt: '[{\"role\": \"user\", \"content\": \"Asked {{prompt}} about {{group}}: {{output}}\"}]'\n"
        "tests:\n  - vars: {prompt: 'Say \"hi\"', group: teachers}\n"
    )
    assert [(p.label, p.template) for p in suite.prompts] == [("fairness", "{{prompt}}")]
    (rubric,) = suite.tests[0].asserts
    assert rubric.rubric_prompt == '[{"role": "user", "content": "Asked Say \\"hi\\" about teachers: {{output}}"}]'


def test_agent_sdks_are_out_of_scope_not_mistaken_for_a_model():
    errors = refused("prompts: ['x']\nproviders: [openai:codex-sdk]\n")
    assert errors == [f"{PATH}:2: unsupported: provider 'openai:codex-sdk' runs an agent SDK with tools on the reviewer's machine; not part of prompt-review"]


def test_a_templated_regex_is_checked_after_rendering_and_gemini_reads_its_system_instruction_file():
    suite = ok(
        "prompts: ['{{q}}']\nproviders:\n  - id: google:gemini-2.5-pro\n    config: {systemInstruction: file://system.txt}\n"
        "defaultTest:\n  options:\n    provider: {text: google:gemini-2.5-flash, embedding: google:embedding:gemini-embedding-001}\n"
        "tests:\n  - vars: {q: x, pattern: '^\\d+$'}\n    assert: [{type: regex, value: '{{pattern}}'}, {type: similar, value: x}]\n",
        **{"system.txt": "Answer with numbers only."},
    )
    assert suite.providers[0].option("systemInstruction") == "Answer with numbers only."
    assert suite.tests[0].asserts[1].grader.model == "gemini-embedding-001"


def test_a_run_follows_provider_prompts_and_judges_finish_reason_with_the_echo_provider():
    """End to end without a network: echo returns the prompt, so verdicts depend only on the suite."""
    import asyncio

    from bot.core.config import EvalsConfig
    from bot.evals import CaseStatus, EvalRequest, MemoryCache, run_evals

    suite = (
        "prompts:\n  - {id: 'short {{q}}', label: short}\n  - {id: 'long {{q}}', label: long}\n"
        "providers:\n  - {id: echo, label: only-short, prompts: [short]}\n  - {id: echo, label: both}\n"
        "tests:\n  - vars: {q: hi}\n    assert:\n      - {type: finish-reason, value: stop}\n      - {type: starts-with, value: short}\n"
    )
    request = EvalRequest(MemoryTree({}), MemoryTree({"promptfooconfig.yaml": suite}), EvalsConfig())
    report = asyncio.run(run_evals(request, MemoryCache()))
    seen = sorted((c.prompt_label, c.key.rsplit("::", 1)[1], c.status) for c in report.cases())  # key ends with the slot
    assert seen == [("long", "both", CaseStatus.NEW), ("short", "both", CaseStatus.NEW), ("short", "only-short", CaseStatus.NEW)]
    assert {c.prompt_label: c.head.passed for c in report.cases()} == {"short": True, "long": False}


def test_nunjucks_load_and_dump_filters_render_as_in_promptfoo():
    from bot.evals.render import Renderer

    suite = ok("prompts: ['Data: {{ items | dump }} / {% set x = raw | load %}{{ x.name }}']\n"
               "providers: [openai:chat:gpt-4o-mini]\ntests: [{vars: {items: {a: é, b: [1, 2]}, raw: '{\"name\": \"Ann\"}'}}]\n")
    (messages,) = [Renderer(MemoryTree({PATH: ""})).render(suite.prompts[0], suite.tests[0].vars)]
    assert messages[-1][1] == 'Data: {"a":"é","b":[1,2]} / Ann'  # JSON.stringify's compact form, JSON.parse


def test_a_load_of_text_that_is_not_json_is_a_render_error_with_its_line():
    from bot.evals.render import RenderError, Renderer

    suite = ok("prompts: ['{{ (raw | load).name }}']\nproviders: [openai:chat:gpt-4o-mini]\ntests: [{vars: {raw: 'nope'}}]\n")
    with pytest.raises(RenderError) as exc:
        Renderer(MemoryTree({PATH: ""})).render(suite.prompts[0], suite.tests[0].vars)
    assert "load: not valid JSON" in str(exc.value)


def test_code_assertions_and_transforms_load_with_their_code():
    suite = ok("prompts: ['{{q}}']\nproviders: [openai:chat:gpt-4o-mini]\n"
               "defaultTest:\n  options:\n    transformVars: file://vars.js\n"
               "tests:\n  - vars: {q: hi}\n    options: {transform: output.trim()}\n    assert:\n"
               "      - {type: javascript, value: 'output.length > 1'}\n"
               "      - {type: not-python, value: 'file://check.py:is_rude', transform: output.lower()}\n"
               "      - {type: javascript, value: file://score.mjs}\n",
               **{"vars.js": "module.exports = (vars) => ({...vars, n: 1});",
                  "check.py": "def is_rude(output, context):\n    return 'idiot' in output\n",
                  "score.mjs": "export default function (output) { return output.length / 10; }\n"})
    test = suite.tests[0]
    # a one-line transform is an expression, as promptfoo's getInlineTransformFunction makes it
    assert test.transform.source == "return output.trim()\n;" and test.transform_vars.file == "evals/vars.js"
    js, py, mjs = test.asserts
    assert (js.code.source, js.code.file) == ("output.length > 1", None)
    assert (py.code.file, py.code.function, py.transform.source) == ("evals/check.py", "is_rude", "return output.lower()\n;")
    assert mjs.code.file == "evals/score.mjs" and "export default" in mjs.code.source


def test_a_code_file_past_the_size_limit_is_refused_unread():
    from bot.core.config import LimitsConfig

    tree = MemoryTree({PATH: "prompts: ['{{q}}']\nproviders: [openai:chat:gpt-4o-mini]\ntests:\n  - vars: {q: hi}\n"
                             "    assert:\n      - {type: python, value: file://big.py}\n",
                       "evals/big.py": "x = 1\n" * 400})
    loaded, errors = load_suite(tree, PATH, LimitsConfig(max_prompt_bytes=1000))
    assert loaded is None
    assert [(e.line, e.message) for e in errors] == [
        (6, "python assertion: evals/big.py is 2,400 bytes, over the limit of 1,000 (raise `limits.max_prompt_bytes` in .github/prompt-review.yml)")]


def test_csv_expected_code_columns_become_code_assertions():
    suite = ok("prompts: ['{{q}}']\nproviders: [openai:chat:gpt-4o-mini]\ntests: file://cases.csv\n",
               **{"cases.csv": "q,__expected\nhi,javascript: output.length > 3\nbye,python: output == 'bye'\n"})
    assert [(a.type, a.code.source) for t in suite.tests for a in t.asserts] == [
        ("javascript", " output.length > 3"), ("python", " output == 'bye'")]


def test_a_python_transform_file_calls_get_transform_by_default():
    import asyncio

    from bot.evals.assertions import CodeContext, score_output

    suite = ok("prompts: ['{{q}}']\nproviders: [openai:chat:gpt-4o-mini]\ntests:\n  - vars: {q: hi}\n"
               "    options: {transform: file://t.py}\n    assert: [{type: equals, value: HI}]\n",
               **{"t.py": "def get_assert(output, context):\n    return 'wrong'\n\n"
                          "def get_transform(output, context):\n    return output.upper()\n"})
    test = suite.tests[0]
    assert test.transform.function == "get_transform"
    outcome = asyncio.run(score_output(test.asserts, None, "hi", context=CodeContext({}, "hi", {}, {}),
                                       output_transform=test.transform))
    assert outcome.passed


def test_a_filter_names_an_inline_prompt_by_its_id_as_promptfoo_does():
    suite = ok(
        "prompts:\n  - {id: factual, label: Factual Assistant, raw: 'Answer {{q}}'}\n  - {id: creative, label: Creative, raw: 'Imagine {{q}}'}\n"
        "  - {id: file://p.txt, label: From a file}\n"
        "providers:\n  - {id: openai:gpt-4o, prompts: [creative]}\n  - openai:gpt-4o-mini\n"
        "tests:\n  - {vars: {q: x}, prompts: [factual]}\n  - {vars: {q: y}, prompts: ['Factual Assistant', 'From a file']}\n",
        **{"p.txt": "From {{q}}"},
    )
    factual, creative, from_file = suite.prompts
    by_id, mini = suite.providers
    assert (by_id.runs(creative), by_id.runs(factual), mini.runs(factual)) == (True, False, True)
    first, second = suite.tests
    assert (first.runs_on(factual, mini), first.runs_on(creative, mini)) == (True, False)
    assert (second.runs_on(factual, mini), second.runs_on(from_file, mini)) == (True, True)
    # a file prompt keeps no id in promptfoo (only its string processor does): its id names nothing
    errors = refused("prompts:\n  - {id: file://p.txt, label: F}\nproviders: [openai:gpt-4o]\n"
                     "tests:\n  - {vars: {q: x}, prompts: ['file://p.txt']}\n", **{"p.txt": "x"})
    assert any("test `prompts` entry 'file://p.txt' names no prompt of the suite" in e for e in errors), errors


def test_an_openai_model_name_may_hold_colons_as_in_promptfoo():
    suite = ok("prompts: ['hi']\nproviders:\n  - id: openai:chat:qwen3.5:9b\n    config: {apiBaseUrl: 'http://localhost:11434/v1'}\n"
               "  - openai:responses:ft:gpt-4o-mini:org::abc\n")
    assert [p.model for p in suite.providers] == ["qwen3.5:9b", "ft:gpt-4o-mini:org::abc"]
    # promptfoo reads an unknown type as a chat model of that name and drops the rest: said, with the id to write
    (error,) = refused("prompts: ['hi']\nproviders: ['openai:qwen3.5:9b']\n")
    assert "promptfoo 0.121 reads an unknown type 'qwen3.5' as a chat model named 'qwen3.5' and drops the rest ('9b'); " \
           "write openai:chat:qwen3.5:9b" in error


@pytest.mark.parametrize("pid, what", [
    ("browser", "drives a headless browser (Playwright)"),
    ("mcp", "calls the tools of an MCP server"),
    ("slack:C_CHANNEL", "waits for a person's reply"),
    ("promptfoo:manual-input", "asks the person running the eval to type each answer"),
    ("opencode:big-pickle", "runs an agent SDK with tools"),
])
def test_an_id_promptfoo_knows_that_asks_no_model_says_what_it_does_instead(pid, what):
    # promptfoo 0.121 loads these (its registry names them), so "no provider id" would be a false refusal
    (error,) = refused(f"prompts: ['hi']\nproviders: ['{pid}']\n")
    assert f":2: unsupported: provider '{pid}'" in error and what in error and "no provider id" not in error


def test_an_id_without_a_vendor_says_promptfoo_does_not_know_it_either():
    (error,) = refused("prompts: ['hi']\nproviders:\n  - id: claude-sonnet-4-5-reference-impl\n    config: {apiBaseUrl: 'http://localhost:3000'}\n")
    assert "provider 'claude-sonnet-4-5-reference-impl' is no provider id, in promptfoo 0.121 either" in error
    assert "a name for the provider goes in `label`" in error


def test_an_empty_test_file_is_an_error_at_its_first_line():
    # promptfoo 0.121 stops on it too ("Expected a file path, URL, or object"); a real user's suite lists one
    errors = refused("prompts: ['{{q}}']\nproviders: [openai:chat:gpt-4o-mini]\ntests:\n  - file://empty.yaml\n  - file://t.yaml\n",
                     **{"empty.yaml": "", "t.yaml": "- vars: {q: a}\n"})
    assert errors == ["evals/empty.yaml:1: the test file is empty: a test file must hold a list of tests"], errors


def test_a_transform_in_a_block_of_one_line_is_a_function_body_as_promptfoo_reads_it():
    # promptfoo's getInlineTransformFunction looks for a newline in the text as written: `transform: |` with one
    # `return …` line is a body (a real user's suite); a javascript assertion's value is read trimmed (its own rule)
    import asyncio

    from bot.evals.assertions import CodeContext, score_output
    suite = ok("prompts: ['{{q}}']\nproviders: [openai:chat:gpt-4o-mini]\n"
               "defaultTest:\n  options:\n    transform: |\n      return output.replace(/^```json\\s*/, '').trim();\n"
               "tests:\n  - vars: {q: hi}\n    assert:\n      - type: equals\n        value: '{\"a\": 1}'\n"
               "        transform: |\n          return output.trim();\n")
    test = suite.tests[0]
    context = CodeContext({"q": "hi"}, "hi", {}, {"id": "openai:chat:gpt-4o-mini"})
    outcome = asyncio.run(score_output(test.asserts, None, '```json {"a": 1}', context=context, output_transform=test.transform))
    assert outcome.passed, outcome.failed
