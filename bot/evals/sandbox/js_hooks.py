"""An extension hook written in JavaScript (promptfoo's `extensions: [file://hooks.js:fn]`), run in a fresh QuickJS
runtime under the code limits: the module is loaded once per suite load and its function called once per context, in
order (as promptfoo keeps a hook module loaded for the eval and calls it per test).

Hooks were written for Node, so the module may `require` Node's built-in modules at its top: `path` and `url` are
small POSIX implementations and `fs` reads the repository, read-only (bot.evals.sandbox.js_files: what it reads is a
dependency of the suite); every other built-in (child_process, http, net…) and `fetch`, `XMLHttpRequest`,
`WebSocket` are stand-ins whose use is a refusal the code cannot catch — the host sees it after the run, whatever
the code did with the error it got. `console` is quiet and timers virtual (bot.evals.sandbox.js_shims), `process.env` empty, `AbortSignal`/`AbortController` inert.
"""

from __future__ import annotations

import json
import posixpath
import time
from dataclasses import replace
from typing import Any

import quickjs

from bot.evals.sandbox.js import (_UNSUPPORTED, FAULT_OF, MAX_RUNS, UNREADABLE, FilesTable, JsCode, _clip, _commonjs, _Engine,
                                  _Threw, raise_fault, read_answer)
from bot.evals.sandbox.js_modules import table
from bot.evals.sandbox.repo_files import RepoFiles
from bot.evals.sandbox.result import CodeLimits, Fault, SandboxError

MAX_REFUSALS_SHOWN = 3

_HARNESS = r"""
(function () {
  const stringify = JSON.stringify, parse = JSON.parse;
  const marker = %(marker)s;
%(fault_of)s
  // closure variables only: the code can replace prototypes and globals, not these
  let refusals = 0, first = "", second = "", third = "", calling = 0, firstAt = 0;
  const P = Proxy;
  const refuse = (what) => {
    refusals += 1;
    let text = "(unreadable)";
    try { text = ("" + what).slice(0, 300); } catch (e) { /* the code broke String: the count still stands */ }
    if (refusals === 1) { first = text; firstAt = calling; } else if (refusals === 2) second = text; else if (refusals === 3) third = text;
    throw new Error("refused by the sandbox: " + text);
  };
  const quiet = () => {};
  globalThis.fetch = (url) => refuse("fetch " + String(url));
  globalThis.XMLHttpRequest = function () { refuse("XMLHttpRequest"); };
  globalThis.WebSocket = function (url) { refuse("WebSocket " + String(url)); };
  const signal = () => Object.freeze({ aborted: false, reason: undefined, addEventListener: quiet, removeEventListener: quiet,
                                       throwIfAborted: quiet });
  if (typeof globalThis.AbortSignal === "undefined") {
    globalThis.AbortSignal = Object.freeze({ timeout: signal, abort: signal, any: signal });
    globalThis.AbortController = function () { this.signal = signal(); this.abort = quiet; };
  }
  // Node's path and url; fs reads the repository when the host gave the engine its reader (bot.evals.sandbox.js_files)
  const ask = globalThis.__pr_fs_ask, refuseNode = (what) => { throw new Error(marker + what); };
  let node = globalThis.__pr_node("", null, refuseNode), reads = false;
  globalThis.__pr_files = (cwd) => { node = globalThis.__pr_node(cwd, ask, refuseNode); reads = true; };
  const processShim = Object.freeze({ env: Object.freeze({}), cwd: () => node.cwd });
  globalThis.process = processShim;
  // a Node built-in: any use of it (a call, or `new`) is refused; reading members gives more stand-ins
  const standIn = (name) => new P(function () {}, {
    get: (_, key) => (key === "then" || typeof key === "symbol") ? undefined : standIn(name + "." + String(key)),
    apply: () => refuse(name + "()"),
    construct: () => refuse("new " + name + "()"),
  });
  const BUILTINS = new Set(["fs", "fs/promises", "child_process", "http", "https", "http2", "net", "dgram", "dns", "tls", "os",
                            "worker_threads", "cluster", "vm", "module", "v8", "inspector", "readline", "stream", "zlib",
                            "crypto", "util", "events", "buffer", "process", "timers", "perf_hooks", "async_hooks"]);
  const link = globalThis.__pr_link;
  const require = globalThis.require = (name) => {
    const n = String(name).replace(/^node:/, "");
    if (n === "path" || n === "path/posix" || n === "url" || (reads && (n === "fs" || n === "fs/promises"))) return node.require(n);
    if (BUILTINS.has(n)) return standIn("require('" + n + "')");
    throw new Error(marker + "require('" + String(name) + "'): modules are not loaded in the sandbox; "
                    + "keep the hook's code in its own file");
  };
  let box = null;
  let loaded = false, ex;  // the module's exports, from its first run on (promptfoo loads a module once)
  globalThis.__pr_hooks = function (source, name, callsJson, filename, dirname, contextAt, tableJson) {
    box = null;
    calling = 0;
    try {
      if (!loaded) {
        loaded = true;
        const module = { exports: {} };
        const req = tableJson ? link(tableJson, filename, module, require, (what) => { throw new Error(marker + what); }) : require;
        globalThis.__pr_module_fn(source, filename)(
          module, module.exports, req, "/repo/" + filename, dirname === "." ? "/repo" : "/repo/" + dirname);
        ex = module.exports;
      }
      const fn = name && ex && Object.prototype.hasOwnProperty.call(ex, name) && typeof ex[name] === "function" ? ex[name]
        : typeof ex === "function" ? ex : ex && typeof ex.default === "function" ? ex.default : null;
      if (fn === null) { box = { missing: true }; return; }
      const results = [];
      let chain = Promise.resolve();
      const calls = parse(callsJson);
      for (let i = 0; i < calls.length; i++) {
        const args = calls[i];
        const before = stringify(args[contextAt]);
        chain = chain.then(() => { calling = i; return fn(...args, processShim); }).then((ret) => {
          const context = args[contextAt];
          // the context after the call: a JavaScript hook works on live objects in promptfoo, so changes it makes in
          // place count even when it returns nothing (sent back only when there are some)
          const changed = stringify(context) !== before;
          results.push(ret === context || (!ret && changed) ? { same: ret === context, context } : ret ? { ret } : { unchanged: true });
        });
      }
      chain.then(() => { box = { ok: results }; }, (e) => { box = { err: e, index: calling }; });
    } catch (e) {
      box = { err: e, index: 0 };
    }
  };
  globalThis.__pr_refused = (i) => i === 0 ? refusals : i === 1 ? first : i === 2 ? second : i === 3 ? third : i === 4 ? firstAt : null;
  globalThis.__pr_answer = function () {
    if (box === null) return null;
    if (box.missing) return stringify({ missing: true });
    if ("err" in box) {
      const e = box.err;
      const fault = faultOf(e);
      if (fault) return stringify(fault);
      // the module runs as a `new Function` body: its line 1 is line 3 of the function's source
      const frame = e instanceof Error && e.stack ? /\(<input>:(\d+)/.exec(e.stack) : null;
      const line = frame && Number(frame[1]) > 2 ? Number(frame[1]) - 2 : null;
      return stringify({ threw: String(e), line, index: box.index });
    }
    return stringify({ value: box.ok });
  };
})();
"""


class HookError(SandboxError):
    """The sandbox stopped a hook's run; `index` is the call it was in, when known."""

    def __init__(self, fault: Fault, message: str, index: int | None = None):
        super().__init__(fault, message)
        self.index = index


class JsHookSession:
    """One hook file in one QuickJS runtime for the load of one suite: its module is loaded on the first run and kept,
    so what it keeps between calls (promptfoo loads a JavaScript file once per eval) carries from beforeAll to every
    beforeEach run, and to the other functions of the same file. Each run gets the code limits' time afresh; the heap limit is the runtime's."""

    def __init__(self, code: JsCode, limits: CodeLimits, files: RepoFiles | None = None):
        self.code, self.limits, self.files = code, limits, files
        self.table = FilesTable(files) if files is not None else None
        self.history: list[tuple[list[list[Any]], int, str | None]] = []  # the runs so far, made again on a restart
        self._source = _commonjs(code)
        self._start()

    def _start(self) -> None:
        """A fresh runtime with the harness (and the files read so far), the hook's module not loaded yet."""
        self.engine = _Engine(self.limits)
        g = self.engine.ctx
        try:
            self.engine.eval(_HARNESS % {"marker": json.dumps(_UNSUPPORTED), "fault_of": FAULT_OF})
            if self.table is not None:
                self.table.install(self.engine)
                self.engine.call(g.get("__pr_files"), self.table.files.cwd)
        except _Threw as exc:  # the harness is ours: only a limit gets here
            raise SandboxError(Fault.THREW, f"JavaScript code threw an error: {_clip(str(exc))}") from None
        # taken before the hook's code runs: it may replace the globals, not these functions
        self._run, self._answer, self._refused = g.get("__pr_hooks"), g.get("__pr_answer"), g.get("__pr_refused")

    def run(self, calls: list[list[Any]], context_at: int, function: str | None = None) -> list[dict[str, Any]]:
        """Per call, in order: {"ret": what the function returned} when that is truthy and not its context argument
        (position `context_at`); {"context": that argument after the call, "same": whether the function returned it}
        when it returned it, or returned nothing and changed it in place; else {"unchanged": True}. SandboxError when
        a limit or a refusal stopped the run (a use of the network or of a Node built-in other than `path`, `url`, `fs`), or the
        code threw (HookError, with its line in the hook's file and the call it was in).

        A file the hook reads that was not read before ends the run (the engine cannot ask the host while it runs):
        the session starts again in a fresh runtime with the file, makes the earlier runs again (their answers were
        given already) and then this one, all within this run's time."""
        deadline = time.monotonic() + self.limits.timeout_s
        for _ in range(MAX_RUNS if self.table is not None else 1):
            try:
                found = self._once(calls, context_at, function, deadline)
            except SandboxError:
                if self.table is None or not self.table.answer_missing(self.engine):
                    raise
                self._restart(deadline)
                continue
            if self.table is not None and self.table.answer_missing(self.engine):
                self._restart(deadline)
                continue
            self.history.append((calls, context_at, function))
            return found
        raise SandboxError(Fault.UNSUPPORTED, f"reading the repository: the hook looked up more than {MAX_RUNS} paths one "
                                              "after another in folders it had not read yet")

    def _restart(self, deadline: float) -> None:
        self._start()
        for calls, context_at, function in self.history:
            self._once(calls, context_at, function, deadline)

    def _once(self, calls: list[list[Any]], context_at: int, function: str | None, deadline: float) -> list[dict[str, Any]]:
        code, engine = (replace(self.code, function=function) if function else self.code), self.engine
        engine.deadline = deadline
        where = code.file or "the hook"
        try:
            try:
                engine.call(self._run, self._source, code.function or "", json.dumps(calls, default=str), where,
                            posixpath.dirname(where) or ".", context_at, table(code))
                engine.settle()
                raw = engine.call(self._answer)
            finally:  # a refusal stands even when a limit stopped the run after it
                shown, at = _refusals(engine, self._refused)
                if shown:
                    raise HookError(Fault.REFUSED, _refused(shown), at)
                if self.files is not None:
                    self.files.raise_refusal()
        except _Threw as exc:
            if _UNSUPPORTED in str(exc):
                raise SandboxError(Fault.UNSUPPORTED, _clip(str(exc).split(_UNSUPPORTED, 1)[1])) from None
            raise SandboxError(Fault.THREW, f"JavaScript code threw an error: {_clip(str(exc))}") from None
        return _results(raw, code, len(calls), self.limits)


def call_hooks_javascript(code: JsCode, calls: list[list[Any]], context_at: int, limits: CodeLimits,
                          files: RepoFiles | None = None) -> list[dict[str, Any]]:
    """One run of a hook in a runtime of its own (JsHookSession.run)."""
    return JsHookSession(code, limits, files).run(calls, context_at)


def _results(raw: Any, code: JsCode, calls: int, limits: CodeLimits) -> list[dict[str, Any]]:
    where = code.file or "the hook"
    if raw is None:
        raise SandboxError(Fault.THREW, "the hook's promise never settled (it waits for something that never comes)")
    answer = read_answer(raw, limits)
    raise_fault(answer, limits)
    if answer.get("missing"):
        wanted = f"no function named {code.function!r}" if code.function else "no function"
        raise SandboxError(Fault.UNSUPPORTED, f"{where} exports {wanted} (module.exports = {{{code.function or 'hook'}}}, "
                                              "or export function)")
    if "threw" in answer:
        line, index = answer.get("line"), answer.get("index")
        shown_line = f" (line {line})" if isinstance(line, int) else ""
        raise HookError(Fault.THREW, f"JavaScript code threw an error: {_clip(str(answer['threw']))}{shown_line}",
                        index if isinstance(index, int) else None)
    value = answer.get("value")
    if not isinstance(value, list) or len(value) != calls or not all(isinstance(r, dict) for r in value):
        raise SandboxError(Fault.THREW, UNREADABLE)
    return value


def _refusals(engine: _Engine, refused_of: Any) -> tuple[list[str], int | None]:
    """What the hook tried that the sandbox refuses (the first few) and in which call, read from the harness's closure."""
    engine.ctx.set_time_limit(1.0)  # the run's own deadline may be spent: these reads are the host's
    try:
        count = refused_of(0)
        if not isinstance(count, int) or count <= 0:
            return [], None
        at = refused_of(4)
        return [str(refused_of(i)) for i in range(1, min(count, MAX_REFUSALS_SHOWN) + 1)], at if isinstance(at, int) else None
    except quickjs.JSException:
        return [], None


def _refused(shown: list[str]) -> str:
    """Something the hook used is refused: the run stops with it, even when the code caught the error it got."""
    return (f"the hook tried `{_clip('; '.join(shown))}`, which the sandbox refuses (an extension hook has no network, "
            "no processes, and reads files only: of Node's modules only `path`, `url` and a read-only `fs` work)")
