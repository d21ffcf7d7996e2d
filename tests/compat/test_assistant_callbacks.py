"""`functionToolCallbacks` on the Assistants API providers (openai:assistant, azure:assistant), as promptfoo 0.121 runs
them: a run that stops with `requires_action` gets its tool outputs from the callbacks (run in the sandbox) through
`submit_tool_outputs`, and goes on until it ends; over real loopback HTTP against the scripted model server, whose
Assistants API asks for the tools a prompt names and answers once it has their outputs."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from bot.core.config import Budget, EvalsConfig
from bot.evals import providers_assistant_wire
from bot.core.errors import CheckError
from bot.core.files import MemoryTree
from bot.evals.loader import load_suite
from bot.evals.providers import Caller, Completion, Meter, ProviderError
from bot.evals.sandbox import CodeLimits, Origin, may_run
from bot.evals.select import plan_suite
from bot.modelserver import create_app
from bot.serving import start_in_thread

KEY = "scripted-key"
SUITE = "evals/promptfooconfig.yaml"
OPENAI = "openai:assistant:asst_scripted"
AZURE = "azure:assistant:asst_scripted"
TOOLS = ("[{type: function, function: {name: get_weather, description: Get the current weather for a location, "
         "parameters: {type: object, properties: {location: {type: string}, unit: {type: string}}, required: [location]}}}, "
         "{type: function, function: {name: get_time, description: Get the local time of a city, "
         "parameters: {type: object, properties: {city: {type: string}}, required: [city]}}}]")
WEATHER_JS = ("module.exports = { getWeather(args, context) { const a = typeof args === 'string' ? JSON.parse(args) : args; "
              "return JSON.stringify({ location: a.location, temperature: 22, via: context.provider }); } };\n")
ASK_WEATHER = (("user", "Use get_weather for Oslo."),)
ASK_BOTH = (("user", "Use get_weather for Oslo and get_time for Lima."),)


@pytest.fixture(autouse=True)
def quick_polls(monkeypatch):
    """The scripted runs answer at once: look at them every 20 ms instead of promptfoo's second (the bounds and
    the order of the looks are what these tests check, not the pace)."""
    monkeypatch.setattr(providers_assistant_wire, "POLL_INTERVAL_S", 0.02)


@pytest.fixture(scope="module")
def server():
    running = start_in_thread(create_app(api_key=KEY))
    yield running.url
    running.stop()


def env(url: str) -> dict[str, str]:
    return {"OPENAI_BASE_URL": f"{url}/v1", "OPENAI_API_KEY": KEY, "AZURE_OPENAI_BASE_URL": url, "AZURE_OPENAI_API_KEY": KEY}


def entry(pid: str, callbacks: str) -> str:
    return f"id: {pid}\n    config:\n      tools: {TOOLS}\n      functionToolCallbacks: {callbacks}\n"


def load(provider: str, files: dict[str, str] | None = None):
    tree = MemoryTree({SUITE: f"providers:\n  - {provider}\ntests:\n  - vars: {{prompt: hi}}\n", **(files or {})})
    return load_suite(tree, SUITE)


def call(url: str, provider: str, messages=ASK_WEATHER, files: dict[str, str] | None = None,
         limits: CodeLimits = CodeLimits(), **config) -> Completion | ProviderError:
    suite, errors = load(provider, files)
    assert errors == [] and suite is not None, [str(e) for e in errors]

    async def go():
        async with httpx.AsyncClient() as client:
            caller = Caller.for_run(client, env(url), EvalsConfig(**{"timeout_s": 10, **config}), Meter(Budget()))
            caller.code_limits = limits
            try:
                return await caller.complete(suite.providers[0], messages)
            except ProviderError as exc:
                return exc

    return asyncio.run(go())


def stats(url: str) -> dict:
    return httpx.get(f"{url}/_control/stats").json()["by_endpoint"]


def grew(before: dict, after: dict) -> dict:
    return {k: after[k] - before.get(k, 0) for k in after if after[k] != before.get(k, 0)}


def test_openai_callback_gets_the_parsed_arguments_and_context_and_its_output_is_submitted(server):
    before = stats(server)
    outcome = call(server, entry(OPENAI, "{get_weather: '(args, context) => ({city: args.location, thread: typeof context.threadId, "
                                         "provider: context.provider, assistant: context.assistantId})'}"))
    assert isinstance(outcome, Completion), outcome
    blocks = outcome.text.split("\n\n")
    assert blocks[:2] == ['[Call function get_weather with arguments {"location":"Oslo"}]',
                          '[Function output: {"city":"Oslo","thread":"string","provider":"openai","assistant":"asst_scripted"}]']
    assert blocks[2].startswith("[Assistant] ") and len(blocks) == 3
    assert grew(before, stats(server)).get("openai.assistants.submit_tool_outputs") == 1


@pytest.mark.parametrize("result, output", [
    ("null", ""), ("undefined", ""), ("42", "42"), ('"sunny"', "sunny"), ('[1, "a"]', '[1,"a"]'), ("true", "true")])
def test_openai_callback_results_become_text_as_promptfoo_writes_them(server, result, output):
    outcome = call(server, entry(OPENAI, f"{{get_weather: 'async () => {result}'}}"))
    assert isinstance(outcome, Completion), outcome
    assert outcome.text.split("\n\n")[1] == f"[Function output: {output}]"


def test_openai_callback_that_throws_submits_its_error_message_and_the_run_goes_on(server):
    outcome = call(server, entry(OPENAI, "{get_weather: '() => { throw new Error(\"no station\") }'}"))
    assert isinstance(outcome, Completion), outcome
    assert outcome.text.split("\n\n")[1] == '[Function output: {"error":"Error in get_weather: no station"}]'


def test_openai_runs_only_the_calls_with_callbacks_and_without_any_answers_the_run_as_it_stands(server):
    before = stats(server)
    outcome = call(server, entry(OPENAI, "{get_forecast: '() => 1'}"))
    assert isinstance(outcome, Completion), outcome
    assert outcome.text == '[Call function get_weather with arguments {"location":"Oslo"}]\n\n[Function output: null]'
    assert "openai.assistants.submit_tool_outputs" not in grew(before, stats(server))


def test_openai_submitting_outputs_for_only_some_calls_is_the_apis_error(server):
    outcome = call(server, entry(OPENAI, "{get_weather: '() => 1'}"), ASK_BOTH)
    assert isinstance(outcome, ProviderError), outcome
    assert "HTTP 400" in str(outcome) and "Expected tool outputs for call_ids" in str(outcome)


def test_azure_callback_from_a_file_gets_the_arguments_text_and_the_run_completes(server):
    before = stats(server)
    outcome = call(server, entry(AZURE, "{get_weather: 'file://weather.js:getWeather', get_time: '(args) => JSON.parse(args).city + \" 12:00\"'}"),
                   ASK_BOTH, files={"evals/weather.js": WEATHER_JS})
    assert isinstance(outcome, Completion), outcome
    blocks = outcome.text.split("\n\n")
    assert blocks[0] == "[User] Use get_weather for Oslo and get_time for Lima."
    assert blocks[1:5] == ['[Call function get_weather with arguments {"location":"Oslo"}]',
                           '[Function output: {"location":"Oslo","temperature":22,"via":"azure"}]',
                           '[Call function get_time with arguments {"city":"Lima"}]', "[Function output: Lima 12:00]"]
    assert blocks[5].startswith("[Assistant] ")
    # thread, message, run; looks until it ends, one submission, the run read again, messages, steps
    counts = grew(before, stats(server))
    assert counts["azure.assistants.submit_tool_outputs"] == 1 and counts["azure.assistants.steps"] == 1


def test_azure_without_a_callback_for_the_called_function_submits_promptfoos_message(server):
    outcome = call(server, entry(AZURE, "{get_time: '() => 1'}"))
    assert isinstance(outcome, Completion), outcome
    assert '[Function output: {"message":"No callback registered for function get_weather"}]' in outcome.text


@pytest.mark.parametrize("callback, output", [
    ("() => { throw new Error(\"down\") }", '{"error":"Error in get_weather: Function callback failed"}'),
    ("() => ({temp: 3})", '{"temp":3}'),
    ("() => 7", "7"),
])
def test_azure_callback_results_and_throws_as_promptfoo(server, callback, output):
    outcome = call(server, entry(AZURE, f"{{get_weather: '{callback}'}}"))
    assert isinstance(outcome, Completion), outcome
    assert f"[Function output: {output}]" in outcome.text.split("\n\n")


@pytest.mark.parametrize("pid", [OPENAI, AZURE])
def test_a_run_that_keeps_asking_for_tool_outputs_is_stopped_after_the_bound(server, pid):
    outcome = call(server, entry(pid.replace("asst_scripted", "asst_looping"), "{get_weather: '() => 1'}"), call_timeout_s=120)
    assert isinstance(outcome, ProviderError) and outcome.kind is CheckError.OTHER, outcome
    assert "asked for tool outputs more than 16 times" in str(outcome)


def test_a_callback_stopped_by_a_limit_is_a_case_error_naming_it_and_the_suite_line(server):
    outcome = call(server, entry(OPENAI, "{get_weather: '() => { while (true) {} }'}"), limits=CodeLimits(timeout_s=0.5))
    assert isinstance(outcome, ProviderError) and outcome.kind is CheckError.ASSERTION, outcome
    assert str(outcome).startswith("tool callback get_weather of provider openai:assistant:asst_scripted (suite line 2): ")
    assert "ran longer than 0.5 s" in str(outcome)


def test_assistant_callbacks_load_where_they_were_refused_and_a_python_file_still_is():
    suite, errors = load(entry(AZURE, "{get_weather: 'file://weather.js:getWeather'}"), {"evals/weather.js": WEATHER_JS})
    assert errors == [] and suite is not None
    assert [w for w, _ in suite.providers[0].code_items()] == ["tool callback get_weather"]
    _, errors = load(entry(OPENAI, "{get_weather: 'file://weather.py:get'}"), {"evals/weather.py": "def get(a): return a\n"})
    assert [(e.line, e.message.split(";")[0]) for e in errors] == [
        (5, "unsupported: the tool callback for 'get_weather' is weather.py")]


def test_a_fork_adding_an_assistant_callback_file_is_refused_naming_the_rule():
    plain = f"providers:\n  - id: {AZURE}\n    config:\n      tools: {TOOLS}\nprompts: ['{{{{prompt}}}}']\ntests:\n  - vars: {{prompt: hi}}\n"
    with_callback = plain.replace(f"      tools: {TOOLS}\n", f"      tools: {TOOLS}\n      functionToolCallbacks:\n"
                                                           "        get_weather: file://weather.js:getWeather\n")
    base_tree = MemoryTree({SUITE: plain})
    head_tree = MemoryTree({SUITE: with_callback, "evals/weather.js": WEATHER_JS})
    (base, _), (head, errors) = load_suite(base_tree, SUITE), load_suite(head_tree, SUITE)
    assert errors == [] and base is not None and head is not None
    fork = plan_suite(SUITE, base_tree, head_tree, base, head, pr_code=lambda what: may_run(Origin.PR, False, EvalsConfig(), what))
    (case,) = fork.cases
    assert case.head is not None and case.head.error is not None and case.head.error.line == 2
    assert case.head.error.message == ("refused: executes code from a fork's pull request (provider tool callback get_weather) — "
                                       "code from forks never runs; only the base branch's code does")
    same_repo = plan_suite(SUITE, base_tree, head_tree, base, head, pr_code=lambda what: may_run(Origin.PR, True, EvalsConfig(), what))
    assert same_repo.cases[0].head is not None and same_repo.cases[0].head.error is None


def test_a_callback_that_logs_runs_as_under_node(server):
    # promptfoo's multi-tool example logs from its callbacks; the sandbox's console prints nothing and does not throw
    outcome = call(server, entry(AZURE, "{get_weather: 'async function (args) { console.log(\"asked\", args); "
                                        "console.error(\"x\"); return JSON.stringify({ok: JSON.parse(args).location}); }'}"))
    assert isinstance(outcome, Completion), outcome
    assert '[Function output: {"ok":"Oslo"}]' in outcome.text.split("\n\n")
