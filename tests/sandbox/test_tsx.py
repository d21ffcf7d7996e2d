""".tsx files run wherever .ts runs (esbuild's tsx loader: types stripped, JSX made React.createElement calls, which
fail as they do without React), and TypeScript reaches tool callbacks and an http provider's transformRequest, as
promptfoo's importModule loads them with tsx."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from bot.core.config import Budget, EvalsConfig
from bot.core.files import MemoryTree
from bot.evals.generators import base_code
from bot.evals.loader import load_suite
from bot.evals.providers import Caller, Meter
from bot.evals.render import Renderer
from bot.evals.sandbox import JsCode, run_code
from bot.evals.select import CodeGate, expand
from tests.compat import test_request_transform as request_transform
from tests.compat import test_tool_callbacks as tool_callbacks
from tests.compat.test_request_transform import server  # noqa: F401  (the scripted model server, module-scoped)

PATH = "evals/promptfooconfig.yaml"
GRADE = """\
type Judge = <T,>(value: T) => T;
const same: Judge = <T,>(value: T): T => value;
interface Context { vars: Record<string, string> }
export default function (output: string, context: Context): boolean {
  return same(output) === context.vars.word;
}
"""


def first_code(files: dict[str, str], value: str) -> JsCode:
    suite = (f"prompts: ['Reply with {{{{word}}}}']\nproviders: [openai:chat:gpt-4o]\ntests:\n  - vars: {{word: apple}}\n"
             f"    assert:\n      - type: javascript\n        value: {value}\n")
    loaded, errors = load_suite(MemoryTree({PATH: suite, **files}), PATH)
    assert errors == [], [e.message for e in errors]
    code = loaded.tests[0].asserts[0].code
    assert isinstance(code, JsCode)
    return code


def test_a_tsx_assertion_runs_with_its_types_and_generic_arrows_stripped():
    code = first_code({"evals/grade.tsx": GRADE}, "file://grade.tsx")
    assert code.written == GRADE  # the gate and fingerprints compare the TSX as written
    assert asyncio.run(run_code(code, "apple", {"vars": {"word": "apple"}})).passed
    assert not asyncio.run(run_code(code, "pear", {"vars": {"word": "apple"}})).passed


def test_jsx_becomes_react_create_element_which_fails_without_react_as_in_node():
    code = first_code({"evals/view.tsx": "export default (output: string) => <b>{output}</b> !== null;\n"}, "file://view.tsx")
    result = asyncio.run(run_code(code, "apple", {}))
    assert not result.passed and "React" in result.reason


def test_a_tsx_helper_is_required_by_its_extensionless_name():
    code = first_code({"evals/grade.ts": "import { same } from './same';\nexport default (o: string) => same(o, 'apple');\n",
                       "evals/same.tsx": "export const same = (a: string, b: string): boolean => a === b;\n"}, "file://grade.ts")
    assert [m.path for m in code.modules] == ["evals/same.tsx"]
    assert asyncio.run(run_code(code, "apple", {})).passed


def test_tsx_prompt_functions_generators_hooks_filters_and_providers_load_and_run():
    suite = ("prompts: [file://prompt.tsx]\nproviders: [file://provider.tsx]\nnunjucksFilters: {shout: ./shout.tsx}\n"
             "extensions: [file://hooks.tsx:beforeEach]\ntests: file://cases.tsx\n")
    tree = MemoryTree({
        PATH: suite,
        "evals/prompt.tsx": "export default ({ vars }: { vars: Record<string, string> }): string => `Reply with ${vars.word}`;\n",
        "evals/provider.tsx": "export default class { callApi(p: string) { return { output: p }; } }\n",
        "evals/shout.tsx": "export default (s: string): string => s.toUpperCase();\n",
        "evals/hooks.tsx": "export function beforeEach(ctx: any) { ctx.test.vars.word = ctx.test.vars.word + '!'; }\n",
        "evals/cases.tsx": "export default (): Array<{ vars: Record<string, string> }> => [{ vars: { word: 'apple' } }];\n",
    })
    loaded, errors = load_suite(tree, PATH, code=base_code())
    assert errors == [], [e.message for e in errors]
    assert [t.vars["word"] for t in loaded.tests] == ["apple!"]  # the generator's test, through the hook
    cases, _ = expand(loaded, Renderer(tree), gate=CodeGate())
    (case,) = cases.values()
    assert case.error is None and case.messages[-1][1] == "Reply with apple!"


def test_a_typescript_tool_callback_runs(server):  # noqa: F811
    add = "export function add(args: string): number { const { a, b } = JSON.parse(args) as { a: number; b: number }; return a + b; }\n"
    got = tool_callbacks.answer(server, tool_callbacks.chat("{addNumbers: 'file://add.ts:add'}"), "Use addNumbers to add 5 and 6",
                                {"evals/add.ts": add})
    assert (got.text, got.structured) == ("11", False)


@pytest.mark.parametrize("ext", ["ts", "tsx"])
def test_a_typescript_request_transform_runs(server, ext):  # noqa: F811
    request = ("export function request(prompt: string, vars: Record<string, string>): string "
               "{ return prompt.replace(vars.word, `${vars.word} ${vars.word}`); }\n")
    tree = MemoryTree({PATH: request_transform.suite_text(server, f"file://req.{ext}:request"), f"evals/req.{ext}": request})
    suite, errors = load_suite(tree, PATH)
    assert errors == [], [e.message for e in errors]
    cases, _ = expand(suite, Renderer(tree), gate=CodeGate())
    (case,) = cases.values()
    assert case.error is None, case.error
    env = {"PROMPT_REVIEW_ALLOWED_MODEL_URLS": server, "PROMPT_REVIEW_ALLOW_PRIVATE_MODEL_URLS": "1"}

    async def go():
        async with httpx.AsyncClient() as client:
            caller = Caller.for_run(client, env, EvalsConfig(timeout_s=10), Meter(Budget()))
            return await caller.complete(case.provider, case.messages)

    assert asyncio.run(go()).text == "ping ping"
