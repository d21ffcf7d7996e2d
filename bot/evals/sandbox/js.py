"""javascript assertions in an embedded QuickJS engine (python-quickjs-ng): a fresh runtime per
call with no host objects at all — no process, fs, network or module loader; console, timers, Buffer
and URL are plain JavaScript inside the engine (bot.evals.sandbox.js_shims); `require` loads only the repository
files read with the code when the suite loaded (bot.evals.sandbox.js_modules) — a heap limit, a stack limit, a
time limit on every entry into the engine and an output cap.

Semantics follow promptfoo: an inline value is an expression over `output` and `context` (a
single line; `const x = …; x > 1` gets its `return` before the last statement) or, when it spans
lines, a function body with `return`; a `file://x.js[:name]` module exports the function
(`module.exports = fn`, `module.exports = {name}`, `export default`, `export function name`).
"""

from __future__ import annotations

import json
import re
import time
from typing import Any

import quickjs

from bot.core import safejson

from bot.evals.sandbox.js_code import JsCode, _commonjs
from bot.evals.sandbox.js_files import NODE_FILES
from bot.evals.sandbox.js_modules import LINKER, table
from bot.evals.sandbox.js_shims import SHIMS
from bot.evals.sandbox.repo_files import RepoFiles
from bot.evals.sandbox.result import (
    CodeLimits,
    CodeResult,
    Fault,
    SandboxError,
    judge,
    memory_error,
    output_error,
    stack_error,
    threw,
    timeout_error,
    too_deep_error,
)

LANGUAGE = "JavaScript"
_UNSUPPORTED = "prompt-review-sandbox:unsupported:"
MAX_REASON_CHARS = 2000
MAX_ANSWER_DEPTH = 64  # nesting of what the code returns (with the answer's own wrapper)

# The only globals user code sees beyond the language's own and the Node shims (bot.evals.sandbox.js_shims: a quiet
# console, timers, Buffer, URL): a `process` with an empty env (promptfoo passes a process shim to inline code) and a
# `require` that says plainly that packages are not loaded (a module's own `require` loads the repository files it
# names by relative path first: bot.evals.sandbox.js_modules).
# How every harness sorts what the code threw (JavaScript, inside a harness that defines `marker`): a limit the engine
# hit (memory, stack), a refusal the sandbox raised (`unsupported`, behind the marker), or null for the code's own error.
# The host turns the first two into SandboxErrors with raise_fault.
FAULT_OF = r"""
  const faultOf = (e) => {
    // QuickJS throws null when it runs out of memory again while raising "out of memory"
    if (e === null || (e instanceof InternalError && /out of memory|string too long/.test(e.message))) return { fault: "memory" };
    if (e instanceof RangeError && /call stack/.test(e.message)) return { fault: "stack" };
    if (e instanceof Error && e.message.startsWith(marker)) return { unsupported: e.message.slice(marker.length) };
    return null;
  };
"""

_HARNESS = r"""
(function () {
  // the code may replace JSON's functions; the host reads what the originals write
  const stringify = JSON.stringify, parse = JSON.parse;
  const unsupported = (what) => { throw new Error(%(marker)s + what); };
  // Node's path and url for any code; fs only when the host gave the engine a reader (code run while a suite loads)
  const ask = globalThis.__pr_fs_ask;
  let node = globalThis.__pr_node("", null, unsupported);
  globalThis.__pr_files = function (cwd) { node = globalThis.__pr_node(cwd, ask, unsupported); };
  const processShim = Object.freeze({ env: Object.freeze({}), cwd: () => node.cwd });
  globalThis.process = processShim;
  const require = (name) => {
    const builtin = node.require(name);
    return builtin !== undefined ? builtin : unsupported("require('" + String(name) + "'): modules are not loaded in the sandbox "
      + "but the repository's own (relative paths, its workspace packages, a committed node_modules); "
      + "put the code it needs in the same file or the repository");
  };
  globalThis.require = require;
  const link = globalThis.__pr_link;
  const marker = %(marker)s;
%(fault_of)s
  const describe = (e) => {
    const fault = faultOf(e);
    if (fault) return fault;
    // the user's code runs as a `new Function` body: its line 1 is line 3 of the function's source
    const frame = e instanceof Error && e.stack ? /anonymous \(<input>:(\d+)/.exec(e.stack) : null;
    return { threw: String(e) + (frame && Number(frame[1]) > 2 ? " (line " + (Number(frame[1]) - 2) + ")" : "") };
  };
  let box = null;
  globalThis.__pr_run = function (fn, outputJson, contextJson) {
    box = null;
    try {
      const r = fn(parse(outputJson), parse(contextJson), processShim);
      if (r !== null && typeof r === "object" && typeof r.then === "function") {
        r.then((v) => { box = { ok: v }; }, (e) => { box = { err: e }; });
      } else {
        box = { ok: r };
      }
    } catch (e) {
      box = { err: e };
    }
  };
  globalThis.__pr_answer = function () {
    if (box === null) return null;
    if ("err" in box) return stringify(describe(box.err));
    const v = box.ok;
    const type = v === null ? "null" : typeof v;
    const plain = type === "undefined" || type === "function" || type === "bigint" || type === "symbol";
    return stringify({ type: type, value: plain ? null : v });
  };
  globalThis.__pr_response = function (fn) {
    return function (output, context) { return fn(output.json, output.text, context); };
  };
  globalThis.__pr_compile = function (body) {
    return new Function("output", "context", "process", body);
  };
  globalThis.__pr_module = function (source, name, tableJson, path) {
    const module = { exports: {} };
    const req = tableJson ? link(tableJson, path, module, require, unsupported) : require;
    const filename = "/repo/" + path, i = filename.lastIndexOf("/");
    globalThis.__pr_module_fn(source, path)(module, module.exports, req, filename, filename.slice(0, i));
    const ex = module.exports;
    if (name) return typeof ex[name] === "function" ? ex[name] : null;
    if (typeof ex === "function") return ex;
    if (ex && typeof ex.default === "function") return ex.default;
    return null;
  };
})();
""" % {"marker": json.dumps(_UNSUPPORTED), "fault_of": FAULT_OF}


def _statement_cuts(text: str) -> list[int]:
    """Offsets of the `;` that end top-level statements: not inside strings, template literals,
    comments or brackets (a `;` inside a regex literal is not told apart; no example needs it)."""
    cuts, depth, i, n = [], 0, 0, len(text)
    while i < n:
        ch = text[i]
        if ch in "'\"`":
            i += 1
            while i < n and text[i] != ch:
                i += 2 if text[i] == "\\" else 1
        elif text.startswith("//", i):
            end = text.find("\n", i)
            i = n if end < 0 else end
        elif text.startswith("/*", i):
            end = text.find("*/", i + 2)
            i = n if end < 0 else end + 1
        elif ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
        elif ch == ";" and depth == 0:
            cuts.append(i)
        i += 1
    return cuts


def _body(value: str) -> str:
    """The function body for an inline value (promptfoo's rules)."""
    text = value.rstrip()
    if "\n" in text:
        return text
    text = re.sub(r";+\s*$", "", text.strip())
    if not re.match(r"(const|let|var)\s", text):
        return f"return {text}"
    # a declaration first: `return` goes before the last top-level statement
    cuts = _statement_cuts(text)
    if cuts and text[cuts[-1] + 1 :].strip():
        return f"{text[: cuts[-1] + 1]} return {text[cuts[-1] + 1 :].strip()}"
    return text


class _Engine:
    """One QuickJS runtime for one call, its time limit re-armed with what is left of the deadline."""

    def __init__(self, limits: CodeLimits):
        self.limits = limits
        self.deadline = time.monotonic() + limits.timeout_s
        self.ctx = quickjs.Context()
        self.ctx.set_memory_limit(limits.memory_mb * 1024 * 1024)
        self.ctx.set_max_stack_size(limits.max_stack_kb * 1024)
        self._tick = self.eval(SHIMS)  # Node's console, timers, Buffer, URL… (bot.evals.sandbox.js_shims); their pump
        self.eval(LINKER)  # __pr_link: the repository's files a module requires (bot.evals.sandbox.js_modules)
        self.eval(NODE_FILES)  # __pr_node: Node's path, url and the read-only fs (bot.evals.sandbox.js_files)

    def _arm(self) -> None:
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise timeout_error(self.limits)
        self.ctx.set_time_limit(left)

    def call(self, fn: Any, *args: Any) -> Any:
        self._arm()
        try:
            return fn(*args)
        except quickjs.StackOverflow:
            raise stack_error() from None
        except quickjs.JSException as exc:
            raise self._fault(exc) from None

    def eval(self, text: str) -> Any:
        return self.call(self.ctx.eval, text)

    def host_call(self, fn: Any, *args: Any) -> Any:
        """A call of the host's own function in the engine after the code ran (the run's deadline may be spent)."""
        self.ctx.set_time_limit(1.0)
        try:
            return fn(*args)
        except quickjs.JSException:
            return None


    def settle(self) -> None:
        """Run queued promise jobs until none is left, then the next due timer, and so on, within the same deadline."""
        while True:
            self._arm()
            try:
                if self.ctx.execute_pending_job():
                    continue
            except quickjs.StackOverflow:
                raise stack_error() from None
            except quickjs.JSException as exc:
                raise self._fault(exc) from None
            if not self.call(self._tick):
                return

    def _fault(self, exc: Exception) -> Exception:
        text = str(exc)
        if "interrupted" in text:
            return timeout_error(self.limits)
        if "out of memory" in text or text.strip() in ("", "null") or "string too long" in text:
            return memory_error(self.limits)
        if "call stack" in text:
            return stack_error()
        return _Threw(text.strip().split("\n")[0])


class _Threw(Exception):
    """The user's code failed to compile or threw outside the harness: a failed assertion, as in promptfoo."""


class FilesTable:
    """The host's side of the engine's read-only `fs` (bot.evals.sandbox.js_files) for one piece of code: the answers
    its reader gave so far, put into each engine before the code runs. QuickJS cannot call the host while a time limit
    is set, so a question not answered yet ends the run; `answer_missing` answers it (and, ahead of being asked, the
    other files of the same folder), and the caller runs the code again from the start, within the same deadline."""

    def __init__(self, files: RepoFiles):
        self.files = files

    def install(self, engine: _Engine) -> None:
        """Before the code runs: the answers so far, and the engine's functions the host reads afterwards."""
        put = engine.ctx.get("__pr_fs_put")
        for key, answer in self.files.answers.items():
            engine.call(put, key, answer)
        self._missing, self._hits = engine.ctx.get("__pr_fs_missing"), engine.ctx.get("__pr_fs_hits")

    def answer_missing(self, engine: _Engine) -> bool:
        """After a run: note the answers it used; True when it asked a question not answered yet (now answered: run
        the code again), False when the run is the code's whole run."""
        files = self.files
        hits = engine.host_call(self._hits)
        try:
            used = json.loads("[" + hits[:-1] + "]") if isinstance(hits, str) and hits else []
        except ValueError:  # the engine's own text: only a broken engine gets here, and it uses every answer
            used = list(files.answers)
        for key in used:
            if isinstance(key, str):
                files.use(key)
        missing = engine.host_call(self._missing)
        if not isinstance(missing, str) or "|" not in missing or missing in files.answers:
            return False
        op, full = missing.split("|", 1)
        answer = files.answer(op, full)
        if files.refusal is not None:  # a bound of this call: not an answer to keep for the next calls
            return False
        files.answers[missing] = answer
        for key, (_, answer) in files.ahead(op, full).items():
            if key not in files.answers:
                files.answers[key] = answer
                files.ahead_keys.add(key)
        return True


def run_javascript(
    code: JsCode, output: Any, context: dict[str, Any], threshold: float | None = None, limits: CodeLimits | None = None,
    files: RepoFiles | None = None,
) -> CodeResult:
    """Judge `output` with `code` (reading the repository through `files`, when given). Raises SandboxError when a
    limit stopped it (a case error)."""
    answer = _evaluate(code, output, context, limits or CodeLimits(), files)
    if "threw" in answer:
        return threw(LANGUAGE, answer["threw"])
    if answer["type"] == "undefined":
        return CodeResult(False, 0.0, f"{LANGUAGE} code returned undefined (a function body needs `return`)", threw=True)
    return judge(answer["value"], threshold, LANGUAGE)


def transform_javascript(
    code: JsCode, output: Any, context: dict[str, Any], limits: CodeLimits | None = None, files: RepoFiles | None = None
) -> Any:
    """What `code` returns for `output` (a `transform`/`transformVars`): a JSON value, None for
    undefined. Code that throws is a SandboxError (Fault.THREW): promptfoo errors the case too."""
    answer = _evaluate(code, output, context, limits or CodeLimits(), files)
    if "threw" in answer:
        raise SandboxError(Fault.THREW, f"{LANGUAGE} code threw an error: {answer['threw']}")
    return answer["value"]


UNREADABLE = "the code's answer could not be read (it replaced the sandbox's own functions)"


def read_answer(raw: Any, limits: CodeLimits) -> dict[str, Any]:
    """The harness's JSON answer as a mapping. The code can overwrite globals, so what comes back is checked,
    never trusted: anything but a JSON object is an answer that could not be read."""
    if not isinstance(raw, str):
        return {"threw": UNREADABLE}
    if len(raw.encode("utf-8", "replace")) > limits.max_output_bytes:
        raise output_error(limits)
    try:
        answer = safejson.loads(raw, MAX_ANSWER_DEPTH)
    except safejson.JsonTooDeep:
        raise too_deep_error() from None
    except ValueError:
        return {"threw": UNREADABLE}
    return answer if isinstance(answer, dict) else {"threw": UNREADABLE}


MAX_RUNS = 64  # runs of one piece of code while the files it reads are answered (each run may ask one more)


def _evaluate(code: JsCode, output: Any, context: dict[str, Any], limits: CodeLimits,
              files: RepoFiles | None = None) -> dict[str, Any]:
    """{"type", "value"} or {"threw"}; limits and refusals raise SandboxError. With `files`, the code reads the
    repository through it (fs), its working directory `files.cwd`: each question not answered yet runs the code again
    (FilesTable), all runs within the one deadline."""
    table = FilesTable(files) if files is not None else None
    if files is not None:
        files.begin()  # this call's own bounds and refusal; the answers so far are kept
    deadline = time.monotonic() + limits.timeout_s
    for _ in range(MAX_RUNS if table is not None else 1):
        engine = _Engine(limits)
        engine.deadline = deadline
        try:
            raw = _run(engine, code, output, context, table)
        except (_Threw, SandboxError) as exc:
            if table is not None and table.answer_missing(engine):
                continue
            if files is not None:
                files.raise_refusal()
            if isinstance(exc, SandboxError):
                raise
            if _UNSUPPORTED in str(exc):  # e.g. a require() while the module itself loads: a refusal, not the code's error
                raise SandboxError(Fault.UNSUPPORTED, _clip(str(exc).split(_UNSUPPORTED, 1)[1])) from None
            return {"threw": _clip(str(exc))}
        if table is not None and table.answer_missing(engine):
            continue
        if files is not None:
            files.raise_refusal()
        if raw is None:
            return {"threw": "the returned promise never settled"}
        answer = read_answer(raw, limits)
        if "type" not in answer and not {"fault", "unsupported", "threw"} & set(answer):
            return {"threw": UNREADABLE}
        raise_fault(answer, limits)
        if "threw" in answer:
            return {"threw": _clip(answer["threw"])}
        return answer
    raise SandboxError(Fault.UNSUPPORTED, f"reading the repository: the code looked up more than {MAX_RUNS} paths one "
                                          "after another in folders it had not read yet")


def _run(engine: _Engine, code: JsCode, output: Any, context: dict[str, Any], table: FilesTable | None) -> Any:
    """One run of `code` in `engine`: the harness's raw answer."""
    engine.eval(_HARNESS)
    g = engine.ctx
    if table is not None:
        table.install(engine)
        engine.call(g.get("__pr_files"), table.files.cwd)
    fn = _function(engine, g, code)
    engine.call(g.get("__pr_run"), fn, json.dumps(output), json.dumps(context, default=str))
    engine.settle()
    return engine.call(g.get("__pr_answer"))


def raise_fault(answer: dict[str, Any], limits: CodeLimits) -> None:
    """The SandboxError for an answer FAULT_OF sorted as a limit or a refusal; nothing for any other answer."""
    if answer.get("fault") == "memory":
        raise memory_error(limits)
    if answer.get("fault") == "stack":
        raise stack_error()
    if "unsupported" in answer:
        raise SandboxError(Fault.UNSUPPORTED, _clip(str(answer["unsupported"])))


def _function(engine: _Engine, g: Any, code: JsCode) -> Any:
    if code.file is None:
        return engine.call(g.get("__pr_compile"), _body(code.source))
    fn = engine.call(g.get("__pr_module"), _commonjs(code), code.function, table(code), code.file)
    if fn is None:
        wanted = f"no function named {code.function!r}" if code.function else "no function"
        raise SandboxError(
            Fault.UNSUPPORTED,
            f"{code.file} exports {wanted} (module.exports = function (output, context) {{…}}, "
            "or export default function)",
        )
    return engine.call(g.get("__pr_response"), fn) if code.response else fn


def _clip(text: str) -> str:
    return text if len(text) <= MAX_REASON_CHARS else text[:MAX_REASON_CHARS] + "…"
