"""javascript assertions in the embedded engine: promptfoo's semantics, and every escape attempt
ending in a typed error within its limit."""

from __future__ import annotations

import time

import pytest

from bot.evals.sandbox.js import JsCode, run_javascript
from bot.evals.sandbox.result import CodeLimits, Fault, SandboxError

OUTPUT = "Refunds are possible within 30 days of delivery."
CONTEXT = {"vars": {"city": "Paris", "days": 30}, "prompt": "Answer: {{question}}"}
TIGHT = CodeLimits(timeout_s=0.5, memory_mb=32, max_output_bytes=100_000)


def run(source: str, output=OUTPUT, threshold=None, limits=TIGHT, **file):
    code = JsCode(source, **file) if file else JsCode.inline(source)
    return run_javascript(code, output, CONTEXT, threshold=threshold, limits=limits)


def stopped(source: str, **file) -> SandboxError:
    started = time.monotonic()
    with pytest.raises(SandboxError) as caught:
        run(source, **file)
    assert time.monotonic() - started < 10 * (TIGHT.timeout_s + 2)
    return caught.value


def test_expression_sees_output_and_context_vars():
    assert run("output.includes('30 days') && context.vars.city === 'Paris'").passed
    assert not run("output.includes('60 days')").passed


def test_declaration_gets_return_before_last_statement_even_with_semicolons_in_strings():
    assert run("const s = output.split(';'); s.length === 1").passed
    assert run("const t = 'a;b'; t === 'a;b'").passed


def test_multiline_value_is_a_function_body_returning_a_grading_result():
    result = run("const n = output.length;\nreturn { pass: n > 10, score: 0.25, reason: 'length ' + n };")
    assert (result.passed, result.score, result.reason) == (True, 0.25, f"length {len(OUTPUT)}")


def test_number_passes_above_zero_or_at_threshold():
    assert run("0.4").passed and not run("0").passed
    assert not run("0.4", threshold=0.5).passed and run("0.5", threshold=0.5).score == 0.5


def test_grading_result_under_threshold_fails():
    result = run("({pass: true, score: 0.3, reason: 'meh'})", threshold=0.5)
    assert not result.passed and "less than threshold" in result.reason


def test_thrown_error_fails_the_assertion_naming_the_line():
    result = run("const x = 1;\nreturn JSON.parse(output).ok;")
    assert not result.passed and "SyntaxError" in result.reason and "(line 2)" in result.reason


def test_async_function_result_is_awaited():
    assert run("(async () => { await null; return output.length > 3 })()").passed


def test_missing_return_in_a_body_fails_saying_so():
    result = run("const x = 1;\nx > 0;")
    assert not result.passed and "undefined" in result.reason


def test_file_module_commonjs_default_and_named_exports():
    assert run("module.exports = (output, context) => output.startsWith('Refunds');", file="a.js").passed
    graded = run("export default function (output) {\n  return {pass: false, score: 0.2, reason: 'nope'};\n}", file="b.js")
    assert (graded.passed, graded.reason) == (False, "nope")
    assert run("export function check(o) { return 1 }\nexport const other = 2;", file="c.js", function="check").passed
    assert run("module.exports = { byName: (o, c) => c.vars.days === 30 };", file="d.js", function="byName").passed


def test_file_without_the_function_is_refused_naming_the_file():
    error = stopped("module.exports = 3", file="evals/e.js")
    assert error.fault is Fault.UNSUPPORTED and "evals/e.js exports no function" in error.message


def test_module_imports_are_refused_clearly():
    error = stopped("import _ from 'lodash';\nexport default () => true", file="evals/f.js")
    assert error.fault is Fault.UNSUPPORTED and "modules are not loaded" in error.message
    # an assertion runs with a case, after the review decided what is under review: no files (only load-time code reads)
    error = stopped("import fs from 'fs';\nexport default () => true", file="evals/f.js")
    assert error.fault is Fault.UNSUPPORTED and "for code that runs before the cases do" in error.message


# ---- escape attempts ---------------------------------------------------------------------------


def test_attack_reading_environment_finds_no_process_env(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-secret-from-the-service")
    result = run("JSON.stringify({env: process.env, g: Object.keys(globalThis)}).includes('sk-secret') === false "
                 "&& typeof std === 'undefined' && typeof os === 'undefined' && typeof fetch === 'undefined'")  # fmt: skip
    assert result.passed


def test_attack_require_fs_is_refused():
    error = stopped("require('fs').readFileSync('/etc/passwd', 'utf8')")
    assert error.fault is Fault.UNSUPPORTED and "require('fs')" in error.message


def test_attack_dynamic_import_of_a_file_on_disk_loads_nothing(tmp_path):
    target = tmp_path / "evil.js"
    target.write_text("globalThis.pwned = true; export default 1;")
    result = run(f"let r = 'pending';\nawait_ = import({str(target)!r}).then(() => r = 'loaded', e => r = String(e));\n"
                 "return Promise.resolve().then(() => typeof pwned === 'undefined');")  # fmt: skip
    assert result.passed


def test_attack_infinite_loop_times_out():
    assert stopped("let i = 0;\nwhile (true) { i++ }").fault is Fault.TIMEOUT


def test_attack_endless_promise_chain_times_out():
    assert stopped("(async () => { while (true) await null })()").fault is Fault.TIMEOUT


def test_attack_memory_bomb_is_stopped():
    # A time limit far past what filling 32 MB takes, however loaded the machine: the heap limit stops it.
    roomy = CodeLimits(timeout_s=30, memory_mb=32, max_output_bytes=100_000)
    started = time.monotonic()
    with pytest.raises(SandboxError) as caught:
        run("const a = [];\nwhile (true) a.push(new Array(100000).fill(7));", limits=roomy)
    assert caught.value.fault is Fault.MEMORY and time.monotonic() - started < 10 * roomy.timeout_s


def test_a_null_thrown_is_read_as_running_out_of_memory():
    # QuickJS throws null when memory runs out again while it raises "out of memory" (seen under load in the
    # memory bomb above): a limit, not the code's own error. Code that throws null itself reads the same.
    assert stopped("(() => { throw null })()").fault is Fault.MEMORY


def test_attack_deep_recursion_is_stopped():
    assert stopped("const f = (n) => f(n + 1) + 1;\nreturn f(0);").fault is Fault.MEMORY


def test_attack_recursion_caught_by_the_code_still_stops():
    error = stopped("const f = (n) => f(n + 1);\ntry { f(0) } catch (e) { throw e }")
    assert error.fault is Fault.MEMORY


def test_attack_huge_result_is_stopped():
    assert stopped("'x'.repeat(1000000)").fault is Fault.OUTPUT


def test_attack_huge_string_growth_is_stopped():
    assert stopped("let s = 'x';\nwhile (true) s = s + s;").fault in (Fault.MEMORY, Fault.OUTPUT)


def test_each_call_gets_a_fresh_engine():
    run("globalThis.leak = 42;\nreturn true;")
    assert run("typeof leak === 'undefined'").passed


@pytest.mark.parametrize("attack, passed", [
    ("JSON.stringify = () => '{}';\nreturn true", True),  # the harness keeps its own JSON functions
    ("globalThis.__pr_answer = () => 42;\nreturn true", False),
    ("Object.prototype.toJSON = function () { return 1 };\nreturn true", False),
])
def test_attack_replacing_the_harness_functions_never_crashes_the_host_and_never_passes_a_forged_answer(attack, passed):
    result = run_javascript(JsCode.inline(attack), "out", {})
    assert result.passed is passed
    if not passed:
        assert result.threw and "could not be read" in result.reason
