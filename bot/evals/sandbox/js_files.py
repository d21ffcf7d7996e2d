"""Node's `path`, `url` and a read-only `fs` for suite code in QuickJS, written in plain JavaScript inside the engine.

`path` (POSIX) and `url` (`fileURLToPath`, `pathToFileURL`) are pure and given to any code. `fs` reads the repository
through the answers of the host (bot.evals.sandbox.repo_files.RepoFiles.answer), which the engine gets only for
code that runs while its suite loads — a test generator, an extension hook — because what that code reads
can be made a dependency of the suite before the review decides what is under review. Any other code gets a refusal
naming the rule when it requires `fs`.

The code sees the repository at `/repo`, runs in its suite's folder (`process.cwd()`), and gets `__filename` and
`__dirname` (and `import.meta.url`) under `/repo`, as Node gives them. Reading works as Node's does: `readFileSync`
(text with an encoding, a Buffer without), `existsSync`, `statSync`/`lstatSync`, `readdirSync` (names, or entries
`withFileTypes`), `accessSync`, `realpathSync`, the callback forms and `fs.promises`. Every write (`writeFileSync`,
`mkdirSync`, …) throws EROFS, as a read-only file system does: nothing is ever written. Errors carry Node's `code`,
`syscall` and `path`. A bound the host hit (bot.evals.sandbox.repo_files) is a refusal the code cannot hide.
"""

from __future__ import annotations

import json

MISS = "prompt-review-sandbox:files:"  # what a lookup the table cannot answer yet throws (the run is then made again)

# `__pr_fs_ask(op, path)`: the answers the host has given so far (`__pr_fs_put`, by "op|/repo/path"); a question they
# do not answer is kept (`__pr_fs_missing`, the first only) and ends the run — QuickJS cannot call the host while
# a time limit is set, so the host answers it and runs the code again from the start (bot.evals.sandbox.js). `__pr_fs_hits`
# says which answers were used (JSON strings, each followed by a comma), for those the host gave ahead of being asked. The functions are taken before any
# code runs, and what they keep is out of the code's reach.
# The body of `__pr_node`, compiled in the engine the first time code requires a built-in module.
_BODY = r"""
    const home = cwd ? ROOT + "/" + cwd : ROOT;
    const normalize = (p) => {
      const abs = p.startsWith("/");
      const out = [];
      for (const part of p.split("/")) {
        if (part === "" || part === ".") continue;
        if (part === ".." && out.length && out[out.length - 1] !== "..") out.pop(); else if (part !== ".." || !abs) out.push(part);
      }
      return (abs ? "/" : "") + out.join("/") || (abs ? "/" : ".");
    };
    const resolve = (...parts) => {
      let p = home;
      for (const part of parts.map(String)) if (part !== "") p = part.startsWith("/") ? part : p + "/" + part;
      const n = normalize(p);
      return n.length > 1 && n.endsWith("/") ? n.slice(0, -1) : n;
    };
    const relative = (from, to) => {
      const a = resolve(from).split("/").filter(Boolean), b = resolve(to).split("/").filter(Boolean);
      let i = 0;
      while (i < a.length && i < b.length && a[i] === b[i]) i++;
      return [...a.slice(i).map(() => ".."), ...b.slice(i)].join("/");
    };
    const dirname = (p) => { p = String(p); const i = p.lastIndexOf("/"); return i < 0 ? "." : i === 0 ? "/" : p.slice(0, i); };
    const basename = (p, ext) => { let b = String(p).split("/").filter(Boolean).pop() || ""; if (ext && b.endsWith(ext) && b !== ext) b = b.slice(0, -ext.length); return b; };
    const extname = (p) => { const b = basename(p); const i = b.lastIndexOf("."); return i <= 0 ? "" : b.slice(i); };
    const path = {
      sep: "/", delimiter: ":",
      join: (...parts) => normalize(parts.map(String).filter((p) => p !== "").join("/")),
      resolve, relative, dirname, basename, extname,
      normalize: (p) => normalize(String(p)),
      isAbsolute: (p) => String(p).startsWith("/"),
      parse: (p) => { p = String(p); const base = basename(p), ext = extname(p);
                      return { root: p.startsWith("/") ? "/" : "", dir: dirname(p), base, ext, name: ext ? base.slice(0, -ext.length) : base }; },
      format: (o) => (o.dir ? o.dir + "/" : o.root || "") + (o.base || (o.name || "") + (o.ext || "")),
    };
    path.posix = path;
    Object.freeze(path);
    const fileURLToPath = (u) => {
      const text = typeof u === "string" ? u : u && typeof u.href === "string" ? u.href : String(u);
      if (!/^file:/i.test(text)) { const e = new TypeError("The URL must be of scheme file"); e.code = "ERR_INVALID_URL_SCHEME"; throw e; }
      const rest = text.slice("file:".length);
      return decodeURIComponent(rest.startsWith("//") ? rest.slice(2).replace(/^[^/]*/, "") : rest);
    };
    const url = Object.freeze({ URL: globalThis.URL, URLSearchParams: globalThis.URLSearchParams, fileURLToPath,
                                pathToFileURL: (p) => new globalThis.URL("file://" + encodeURI(resolve(String(p)))) });

    const failure = (code, syscall, p) => {
      const text = { ENOENT: "no such file or directory", EISDIR: "illegal operation on a directory", ENOTDIR: "not a directory",
                     EROFS: "read-only file system" }[code] || code;
      const e = new Error(code + ": " + text + ", " + syscall + " '" + p + "'");
      e.code = code; e.errno = { ENOENT: -2, EISDIR: -21, ENOTDIR: -20, EROFS: -30 }[code] || -1; e.syscall = syscall; e.path = p;
      return e;
    };
    const where = (p) => {
      if (p && typeof p === "object" && typeof p.href === "string") return fileURLToPath(p);
      if (p && typeof p === "object" && typeof p.toString === "function" && p instanceof Uint8Array) return p.toString();
      if (typeof p !== "string") { const e = new TypeError('The "path" argument must be of type string or an instance of Buffer or URL'); e.code = "ERR_INVALID_ARG_TYPE"; throw e; }
      return resolve(p);
    };
    const question = (op, syscall, p) => {
      const full = where(p);
      const a = parse(ask(op, full));
      if (a.refused) unsupported("reading the repository: " + a.refused);
      if (a.error) throw failure(a.error, syscall, full);
      return a;
    };
    const encodingOf = (o) => typeof o === "string" ? o : o && typeof o.encoding === "string" ? o.encoding : null;
    const stats = (a) => {
      const file = a.type === "file", t = new Date(0);
      return Object.freeze({ size: a.size, mode: file ? 0o100644 : 0o40755, mtime: t, ctime: t, atime: t, birthtime: t, mtimeMs: 0,
                             ctimeMs: 0, atimeMs: 0, birthtimeMs: 0, isFile: () => file, isDirectory: () => !file,
                             isSymbolicLink: () => false, isFIFO: () => false, isSocket: () => false,
                             isBlockDevice: () => false, isCharacterDevice: () => false });
    };
    const readFileSync = (p, options) => {
      if (typeof p === "number") unsupported("fs.readFileSync of a file descriptor: the sandbox opens no files");
      const a = question("read", "open", p), enc = encodingOf(options);
      const buf = "base64" in a ? Buffer.from(a.base64, "base64") : null;
      if (enc) return buf ? buf.toString(enc) : enc === "utf8" || enc === "utf-8" ? a.text : Buffer.from(a.text).toString(enc);
      return buf || Buffer.from(a.text);
    };
    const statSync = (p, options) => {
      try { return stats(question("stat", "stat", p)); } catch (e) {
        if (options && options.throwIfNoEntry === false && e && e.code === "ENOENT") return undefined;
        throw e;
      }
    };
    const readdirSync = (p, options) => {
      const full = where(p);
      const a = question("list", "scandir", full);
      if (options && options.withFileTypes) {
        return a.entries.map(([name, dir]) => Object.freeze({ name, path: full, parentPath: full, isFile: () => !dir,
                                                             isDirectory: () => dir, isSymbolicLink: () => false }));
      }
      return a.entries.map(([name]) => name);
    };
    const existsSync = (p) => { try { question("stat", "stat", p); return true; } catch (e) { if (e && e.code) return false; throw e; } };
    const accessSync = (p) => { question("stat", "access", p); };
    const realpathSync = (p) => { const full = where(p); question("stat", "lstat", full); return full; };
    realpathSync.native = realpathSync;
    const readOnly = (syscall) => (p) => { throw failure("EROFS", syscall, typeof p === "string" ? resolve(p) : String(p)); };
    const WRITES = { writeFileSync: "open", appendFileSync: "open", mkdirSync: "mkdir", rmSync: "rm", rmdirSync: "rmdir",
                     unlinkSync: "unlink", renameSync: "rename", copyFileSync: "copyfile", mkdtempSync: "mkdtemp",
                     symlinkSync: "symlink", chmodSync: "chmod", truncateSync: "open", cpSync: "cp", utimesSync: "utime" };
    const sync = { readFileSync, statSync, lstatSync: statSync, readdirSync, existsSync, accessSync, realpathSync };
    for (const [name, syscall] of Object.entries(WRITES)) sync[name] = readOnly(syscall);
    const later = (fn) => Promise.resolve().then(fn);
    const promises = {};
    for (const [name, fn] of Object.entries(sync)) {
      if (name === "existsSync") continue;
      promises[name.slice(0, -4)] = (...args) => later(() => fn(...args));
    }
    const fs = { ...sync, promises: Object.freeze(promises), constants: Object.freeze({ F_OK: 0, R_OK: 4, W_OK: 2, X_OK: 1 }),
                 F_OK: 0, R_OK: 4, W_OK: 2, X_OK: 1 };
    for (const [name, fn] of Object.entries(sync)) {
      if (name === "existsSync") { fs.exists = (p, cb) => later(() => cb(existsSync(p))); continue; }
      fs[name.slice(0, -4)] = (...args) => {
        const cb = args.pop();
        if (typeof cb !== "function") { const e = new TypeError('The "cb" argument must be of type function'); e.code = "ERR_INVALID_ARG_TYPE"; throw e; }
        later(() => { let v; try { v = fn(...args); } catch (e) { if (e && e.code) return cb(e); throw e; } cb(null, v); });
      };
    }
    const streams = () => unsupported("fs streams are not part of the sandbox's fs (read a file whole with readFileSync)");
    fs.createReadStream = fs.createWriteStream = fs.openSync = fs.open = fs.watch = fs.watchFile = streams;
    Object.freeze(fs);
    const refused = () => unsupported("require('fs'): the sandbox reads the repository's files for code that runs before "
      + "the cases do (test generators, extension hooks, prompt functions) and for assertions, transforms and providers "
      + "whose file requires 'fs' by name, so that what it reads is under review; other code (a grader or scoring "
      + "function written in code, a require by a computed name) gets a file through the case's vars "
      + "(skill: file://skills/x/SKILL.md)");
    return Object.freeze({
      cwd: home,
      require: (name) => {
        const n = String(name).replace(/^node:/, "");
        if (n === "path" || n === "path/posix") return path;
        if (n === "url") return url;
        if (n === "fs" || n === "fs/promises") return ask ? (n === "fs" ? fs : fs.promises) : refused();
        return undefined;
      },
    });
"""


# `__pr_node(cwd, ask, unsupported)` → `{require(name) → module | undefined, cwd}`: the built-in modules for code whose
# working directory is the repo folder `cwd`; `ask` the host's reader (null: fs is refused), `unsupported` the
# harness's refusal (it throws).
NODE_FILES = r"""
(function () {
  const parse = JSON.parse;
  const ROOT = "/repo";
  const stringify = JSON.stringify, apply = Reflect.apply, mapGet = Map.prototype.get, mapHas = Map.prototype.has, mapSet = Map.prototype.set;
  const entries = new Map();
  let missing = null, hits = "";
  globalThis.__pr_fs_put = (key, json) => { apply(mapSet, entries, [key, json]); };
  globalThis.__pr_fs_missing = () => missing;
  globalThis.__pr_fs_hits = () => hits;
  globalThis.__pr_fs_ask = (op, full) => {
    const key = op + "|" + full;
    if (apply(mapHas, entries, [key])) { hits += stringify(key) + ","; return apply(mapGet, entries, [key]); }
    if (missing === null) missing = key;
    throw new Error(%(miss)s + key);
  };
  // compiled on first use: most code never requires a built-in, and every engine would pay for compiling it
  const F = Function, BODY = %(body)s;
  let impl = null;
  globalThis.__pr_node = function (cwd, ask, unsupported) {
    let made = null;
    const get = () => made || (made = (impl || (impl = new F("ROOT", "parse", "cwd", "ask", "unsupported", BODY)))(
      ROOT, parse, cwd, ask, unsupported));
    return Object.freeze({ cwd: cwd ? ROOT + "/" + cwd : ROOT, require: (name) => get().require(name) });
  };
})();
""".replace("%(miss)s", json.dumps(MISS)).replace("%(body)s", json.dumps(_BODY))
