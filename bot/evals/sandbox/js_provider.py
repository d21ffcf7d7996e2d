"""A provider written in JavaScript (promptfoo's custom provider: a class with `callApi`, or a plain function)
run in a fresh QuickJS runtime per call, under the same heap, stack, time and output limits as assertions.

The engine has no host functions (quickjs refuses to call into Python under a time limit). Network requests
are therefore a conversation: `fetch` / `require('promptfoo').cache.fetchWithCache` queue a request and return
a pending promise; when the engine has nothing left to run, the host takes the queue, answers each request
through `send` (bot.evals.providers_code decides where it may go) and resolves the promises, and the engine
runs on. The time limit counts the engine's own running, not the waits for answers (those have their own
bounds in the bridge).
"""

from __future__ import annotations

import json
import time
from typing import Any

from bot.evals.sandbox.js import (_UNSUPPORTED, FAULT_OF, MAX_RUNS, UNREADABLE, FilesTable, JsCode, _clip, _commonjs, _Engine,
                                  _Threw, raise_fault, read_answer)
from bot.evals.sandbox.repo_files import RepoFiles
from bot.evals.sandbox.bridge import MAX_REQUESTS, MAX_URL_CHARS, Answer, Request, Send
from bot.evals.sandbox.js_modules import table
from bot.evals.sandbox.result import CodeLimits, Fault, SandboxError

MAX_ROUNDS = 64  # conversations with the host (each answers every request queued so far)
SCRIPT = "__script__"  # the harness's method for a file run as a script

_HARNESS = r"""
(function () {
  // the code may replace JSON's functions; the host reads what the originals write
  const stringify = JSON.stringify, parse = JSON.parse;
  const marker = %(marker)s;
%(fault_of)s
  const unsupported = (what) => { throw new Error(marker + what); };
  const pending = new Map();
  let queue = [];
  let nextId = 0;
  const headersOf = (h) => {
    const out = {};
    if (h && typeof h.forEach === "function" && !Array.isArray(h)) h.forEach((v, k) => { out[String(k)] = String(v); });
    else if (Array.isArray(h)) for (const [k, v] of h) out[String(k)] = String(v);
    else if (h && typeof h === "object") for (const k of Object.keys(h)) out[k] = String(h[k]);
    return out;
  };
  const ask = (kind, url, init, timeout) => new Promise((resolve, reject) => {
    init = init || {};
    if (init.body !== undefined && init.body !== null && typeof init.body !== "string")
      throw new TypeError("fetch: the body must be a string (JSON.stringify it) in the sandbox");
    const id = ++nextId;
    const over = id > %(max_requests)d;  // the host refuses it: nothing of it needs to be kept
    pending.set(id, { resolve, reject });
    queue.push({ id, kind, url: String(url).slice(0, %(max_url)d + 1), method: String(init.method || "GET").toUpperCase().slice(0, 16),
                 headers: over ? {} : headersOf(init.headers), body: over || init.body == null ? null : init.body,
                 timeout: typeof timeout === "number" ? timeout : null });
  });
  const headerGetter = (headers) => ({
    get: (name) => { const v = headers[String(name).toLowerCase()]; return v === undefined ? null : v; },
    has: (name) => String(name).toLowerCase() in headers,
    forEach: (fn) => { for (const k of Object.keys(headers)) fn(headers[k], k); },
    entries: () => Object.entries(headers)[Symbol.iterator](),
  });
  globalThis.fetch = (url, init) => ask("fetch", url, init, null).then((r) => ({
    ok: r.status >= 200 && r.status < 300, status: r.status, statusText: r.statusText, url: String(url),
    headers: headerGetter(r.headers),
    text: () => Promise.resolve(r.body),
    json: () => Promise.resolve().then(() => parse(r.body)),
  }));
  const fetchWithCache = (url, init, timeout, format) => ask("cache", url, init, timeout).then((r) => {
    let data = r.body;
    if (format !== "text") {
      try { data = parse(r.body); } catch (e) { throw new Error("Error parsing response as JSON: " + r.body.slice(0, 200)); }
    }
    return { data, cached: false, status: r.status, statusText: r.statusText, headers: r.headers };
  });
  const promptfoo = { cache: Object.freeze({ fetchWithCache }) };
  promptfoo.default = promptfoo;
  Object.freeze(promptfoo);
  const nodeFetch = Object.freeze(Object.assign((url, init) => globalThis.fetch(url, init), { default: (url, init) => globalThis.fetch(url, init) }));
  const link = globalThis.__pr_link, moduleFn = globalThis.__pr_module_fn;
  // dotenv loads nothing: a .env file holds the team's secrets, which the sandbox never has; process.env already holds
  // the placeholders of the credentials prompt-review has
  const dotenv = Object.freeze({ config: () => ({ parsed: {} }), parse: () => ({}) });
  const dotenvModule = Object.freeze(Object.assign({ default: dotenv }, dotenv));
  // Node's path and url; fs refused, naming the rule, unless the host gives the provider the repository (__pr_files)
  let node = globalThis.__pr_node("", null, unsupported);
  const fsAsk = globalThis.__pr_fs_ask;
  globalThis.__pr_files = function (cwd) { node = globalThis.__pr_node(cwd, fsAsk, unsupported); };
  const builtin = (name) => { const m = node.require(name); return m !== undefined ? m
    : unsupported("require('" + String(name) + "'): only require('promptfoo') (its cache.fetchWithCache), "
                  + "require('node-fetch'), require('dotenv') (which loads nothing), path and url are available to a "
                  + "provider in the sandbox, besides the repository's own files and packages (relative paths, its "
                  + "workspace packages, a committed node_modules); put the rest of the code in the repository"); };
  const require = (name) => name === "promptfoo" ? promptfoo : name === "node-fetch" ? nodeFetch
    : name === "dotenv" || name === "dotenv/config" ? dotenvModule : builtin(name);
  globalThis.require = require;
  let box = null;
  globalThis.__pr_take = () => { const q = queue; queue = []; return stringify(q); };
  globalThis.__pr_deliver = (id, answerJson) => {
    const p = pending.get(id);
    pending.delete(id);
    const a = parse(answerJson);
    if ("error" in a) p.reject(new Error(a.error)); else p.resolve(a);
  };
  globalThis.__pr_waiting = () => pending.size;
  const exited = {};  // what process.exit throws in a script: its end, not an error
  // Node's __filename and __dirname, under the repository's root as the code sees it
  const named = (path) => { const f = "/repo/" + path; return [f, f.slice(0, f.lastIndexOf("/"))]; };
  const script = (source, argv, path, tableJson) => {
    // promptfoo's exec provider: the file run as a script with its arguments; what it prints is the answer
    const out = [], err = [];
    let code = null;
    const text = (x) => { if (typeof x === "string") return x; try { const s = stringify(x); return s === undefined ? String(x) : s; } catch (e) { return String(x); } };
    const line = (sink) => (...args) => { sink.push(args.map(text).join(" ") + "\n"); };
    const quiet = () => {};
    globalThis.console = Object.freeze({ log: line(out), info: line(out), debug: line(out), dir: line(out), table: line(out),
                                         warn: line(err), error: line(err), trace: line(err), time: quiet, timeEnd: quiet, assert: quiet });
    globalThis.process = Object.freeze({
      env: Object.freeze(parse(%(env)s)), argv: Object.freeze(["node", path, ...argv]), platform: "linux",
      stdout: Object.freeze({ write: (s) => { out.push(String(s)); return true; } }),
      stderr: Object.freeze({ write: (s) => { err.push(String(s)); return true; } }),
      exit: (c) => { code = c === undefined ? 0 : Number(c); throw exited; },
    });
    const module = { exports: {} };
    const req = tableJson ? link(tableJson, path, module, require, unsupported) : require;
    try {
      moduleFn(source, path)(module, module.exports, req, ...named(path));
    } catch (e) {
      if (e !== exited) throw e;
    }
    box = { script: () => ({ stdout: out.join(""), stderr: err.join(""), code }) };
  };
  globalThis.__pr_call = function (source, name, optionsJson, prompt, contextJson, method, tableJson, path) {
    box = null;
    try {
      if (method === "__script__") return script(source, parse(contextJson), path, tableJson);
      globalThis.process = Object.freeze({ env: Object.freeze(parse(%(env)s)), cwd: () => node.cwd });
      const module = { exports: {} };
      const req = tableJson ? link(tableJson, path, module, require, unsupported) : require;
      moduleFn(source, path)(module, module.exports, req, ...named(path));
      const ex = name ? module.exports[name] : (module.exports && module.exports.default) || module.exports;
      const options = parse(optionsJson);
      const context = parse(contextJson);
      let call;
      if (typeof ex === "function" && ex.prototype && typeof ex.prototype[method] === "function") {
        const instance = new ex(options);
        call = method === "callApi" ? () => instance.callApi(prompt, context, {}) : () => instance[method](prompt);
      } else if (ex && typeof ex === "object" && typeof ex[method] === "function") {
        call = method === "callApi" ? () => ex.callApi(prompt, context, {}) : () => ex[method](prompt);
      } else if (typeof ex === "function" && method === "callApi") {
        call = () => ex(prompt, context, {});
      } else {
        box = { missing: true };
        return;
      }
      Promise.resolve().then(call).then((v) => { box = { ok: v }; }, (e) => { box = { err: e }; });
    } catch (e) {
      box = { err: e };
    }
  };
  globalThis.__pr_answer = function () {
    if (box === null) return null;
    if (box.script) return pending.size > 0 ? null : stringify({ value: box.script() });
    if (box.missing) return stringify({ missing: true });
    if ("err" in box) {
      const e = box.err;
      const fault = faultOf(e);
      if (fault) return stringify(fault);
      return stringify({ threw: String(e) });
    }
    const v = box.ok;
    return stringify({ value: v === undefined ? null : v });
  };
})();
"""




class _JsClock(_Engine):
    """The engine with a budget of its own running time: waits for the host's answers do not count."""

    def __init__(self, limits: CodeLimits):
        super().__init__(limits)
        self.used = 0.0

    def pause(self) -> None:
        """Stop the clock: the host is answering."""
        self.used = self.limits.timeout_s - (self.deadline - time.monotonic())

    def resume(self) -> None:
        self.deadline = time.monotonic() + self.limits.timeout_s - self.used


def call_provider(code: JsCode, prompt: str, options: dict[str, Any], context: dict[str, Any], env: dict[str, str],
                  send: Send, limits: CodeLimits | None = None, method: str = "callApi", argv: list[str] | None = None,
                  files: RepoFiles | None = None) -> Any:
    """What the provider's callApi (or function) returned, as a JSON value (None for undefined); `method`
    callEmbeddingApi calls that method of the provider's class or object with the text alone (a grader's
    embeddings). With `argv` the file runs as a script with those arguments (promptfoo's exec provider, SCRIPT):
    {stdout, stderr, code} of what it printed and the status it exited with (None: it did not call process.exit). Raises SandboxError when a limit stopped it, and Fault.THREW when it threw (promptfoo: the case
    is an error)."""
    limits = limits or CodeLimits()
    files_table = FilesTable(files) if files is not None else None
    if files is not None:
        files.begin()  # this call's own bounds and refusal, as for any code (bot.evals.sandbox.js._evaluate)
    answered: dict[str, Answer] = {}  # a request's signature → its answer, for the runs made again (below)
    spent = 0.0
    for _ in range(MAX_RUNS if files_table is not None else 1):
        engine = _JsClock(limits)
        engine.used = spent
        engine.resume()
        try:
            raw = _converse(engine, code, prompt, options, context, env, send, limits, method, argv, files_table, answered)
        except _Threw as exc:
            if files_table is not None and files_table.answer_missing(engine):
                spent = _spent(engine)
                continue
            if files is not None:
                files.raise_refusal()
            if _UNSUPPORTED in str(exc):
                raise SandboxError(Fault.UNSUPPORTED, _clip(str(exc).split(_UNSUPPORTED, 1)[1])) from None
            raise SandboxError(Fault.THREW, f"the provider's code threw an error: {_clip(str(exc))}") from None
        if raw is _AGAIN:
            spent = _spent(engine)
            continue
        if files is not None:
            files.raise_refusal()
        return _value(raw, code, limits, method)
    raise SandboxError(Fault.UNSUPPORTED, f"reading the repository: the provider looked up more than {MAX_RUNS} paths one "
                                          "after another in folders it had not read yet")


_AGAIN = object()  # the provider asked for a file not answered yet: it is answered now, and the call is made again


def _spent(engine: _JsClock) -> float:
    engine.pause()
    return engine.used


def _signature(request: Request) -> str:
    return json.dumps([request.kind, request.url, request.method, request.headers, request.body], sort_keys=True)


def _converse(engine: _JsClock, code: JsCode, prompt: str, options: dict[str, Any], context: dict[str, Any],
              env: dict[str, str], send: Send, limits: CodeLimits, method: str, argv: list[str] | None,
              files_table: FilesTable | None, answered: dict[str, Answer]) -> Any:
    """One run of the call: the harness's raw answer, or _AGAIN when the provider read a file the host had not answered
    (QuickJS cannot ask the host while its time limit is set, so the host answers the question and the call is made
    again from the start; the requests it sent before are answered from `answered`, never sent twice, and no request is
    sent while a question is open: code that caught the missing file's error would send a request built without it)."""
    g = engine.ctx
    engine.eval(_HARNESS % {"marker": json.dumps(_UNSUPPORTED), "fault_of": FAULT_OF, "env": json.dumps(json.dumps(env)),
                            "max_requests": MAX_REQUESTS, "max_url": MAX_URL_CHARS})
    if files_table is not None:
        files_table.install(engine)
        engine.call(g.get("__pr_files"), files_table.files.cwd)
    engine.call(g.get("__pr_call"), _commonjs(code, imports=True), code.function or "", json.dumps(options),
                prompt, json.dumps(argv if argv is not None else context, default=str), SCRIPT if argv is not None else method,
                table(code), code.file or "")
    seen: dict[str, int] = {}  # the same request sent twice in a run is two requests: the nth is answered as the nth was
    for _ in range(MAX_ROUNDS):
        engine.settle()
        if files_table is not None and files_table.answer_missing(engine):
            return _AGAIN
        raw = engine.call(g.get("__pr_answer"))
        if raw is not None:
            return raw
        requests = _requests(engine.call(g.get("__pr_take")))
        if not requests:
            raise SandboxError(Fault.THREW, "the provider's promise never settled (it waits for something that never comes)")
        engine.pause()
        answers = []
        for r in requests:
            signature = _signature(r)
            seen[signature] = seen.get(signature, 0) + 1
            key = f"{signature}#{seen[signature]}"
            if key not in answered:
                answered[key] = send(r)
            answers.append((r, answered[key]))
        engine.resume()
        for request, answer in answers:
            engine.call(g.get("__pr_deliver"), request.id, answer.as_json())
    raise SandboxError(Fault.REFUSED, f"the provider kept asking for more after {MAX_ROUNDS} rounds of requests")


def _requests(raw: Any) -> list[Request]:
    """The queued requests, checked field by field (the code may have replaced the harness's functions)."""
    try:
        items = json.loads(raw) if isinstance(raw, str) else None
    except ValueError:
        items = None
    out = []
    for r in items if isinstance(items, list) else [None]:
        ok = (isinstance(r, dict) and isinstance(r.get("id"), int) and r.get("kind") in ("fetch", "cache")
              and isinstance(r.get("url"), str) and isinstance(r.get("method"), str) and isinstance(r.get("headers"), dict)
              and all(isinstance(k, str) and isinstance(v, str) for k, v in r["headers"].items())
              and isinstance(r.get("body"), (str, type(None))) and isinstance(r.get("timeout"), (int, float, type(None))))
        if not ok:
            raise SandboxError(Fault.REFUSED, "the provider's requests could not be read (it replaced the sandbox's own functions)")
        assert isinstance(r, dict)
        out.append(Request(r["id"], r["kind"], r["url"], r["method"], r["headers"], r["body"], r["timeout"]))
    return out


def _value(raw: Any, code: JsCode, limits: CodeLimits, method: str = "callApi") -> Any:
    answer = read_answer(raw, limits)
    raise_fault(answer, limits)
    if answer.get("missing") and method != "callApi":
        raise SandboxError(Fault.UNSUPPORTED, f"{code.file or 'the provider'} has no {method}: it is not an embedding provider "
                                              "(a class or object with callEmbeddingApi(text) returning {embedding})")
    if answer.get("missing"):
        wanted = f"no export named {code.function!r}" if code.function else "no provider"
        raise SandboxError(Fault.UNSUPPORTED, f"{code.file or 'the provider'} exports {wanted} (a class with callApi, "
                                              "an object with callApi, or a function)")
    if "threw" in answer or "value" not in answer:
        raise SandboxError(Fault.THREW, f"the provider's code threw an error: {_clip(str(answer.get('threw', UNREADABLE)))}")
    return answer["value"]

