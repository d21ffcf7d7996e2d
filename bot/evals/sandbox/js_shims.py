"""The few Node globals suite code leans on, written in plain JavaScript inside the QuickJS runtime (nothing of
the host is reached through them): a quiet `console`, timers on a virtual clock, `Buffer`, `TextEncoder` /
`TextDecoder` (UTF-8), `URL` and `URLSearchParams`, Web Crypto's `crypto.randomUUID()` and `crypto.getRandomValues()`
(from Math.random: ids, not secrets). Every engine (bot.evals.sandbox.js._Engine) evaluates them
before its harness.

- `console.*` discards what it is given (promptfoo prints it to the terminal; it is never part of a result).
- `setTimeout` / `setInterval` / `setImmediate` run their callbacks, in order of due time, when no promise job is
  left: time is virtual, so `await new Promise(r => setTimeout(r, 2000))` costs nothing and `Date.now()` does not
  move. A callback must be a function (a string of code is refused). A timer that keeps firing is stopped by the
  call's time limit, as any loop is.
- `Buffer` covers what suites use: `from` (text in utf8/utf-8/base64/base64url/hex/latin1/binary/ascii, arrays,
  array buffers), `alloc`, `concat`, `isBuffer`, `byteLength`, and `toString(encoding)`; it is a Uint8Array.
- `URL` parses absolute URLs (and relative ones against a base): href, protocol, username, password, host,
  hostname, port, pathname, search, searchParams, hash, origin. It is a reader of URL text, not a fetcher.
"""

from __future__ import annotations

# The expression evaluates to the timer pump: a function that runs the next due timer and says whether it ran one.
SHIMS = r"""
(function () {
  const quiet = () => {};
  globalThis.console = Object.freeze({ log: quiet, info: quiet, warn: quiet, error: quiet, debug: quiet, trace: quiet,
                                       dir: quiet, table: quiet, time: quiet, timeEnd: quiet, assert: quiet });

  let now = 0, seq = 0;
  const timers = new Map();
  const add = (fn, ms, args, repeat) => {
    if (typeof fn !== "function") throw new TypeError("a timer's callback must be a function (code in a string is not run)");
    const delay = Math.max(0, Number(ms) || 0), id = ++seq;
    timers.set(id, { fn, args, at: now + delay, every: repeat ? Math.max(1, delay) : 0, order: id });
    return id;
  };
  globalThis.setTimeout = (fn, ms, ...args) => add(fn, ms, args, false);
  globalThis.setInterval = (fn, ms, ...args) => add(fn, ms, args, true);
  globalThis.setImmediate = (fn, ...args) => add(fn, 0, args, false);
  globalThis.clearTimeout = globalThis.clearInterval = globalThis.clearImmediate = (id) => { timers.delete(id); };

  const utf8 = (text) => {
    const out = [];
    for (const ch of String(text)) {
      const c = ch.codePointAt(0);
      if (c < 0x80) out.push(c);
      else if (c < 0x800) out.push(0xc0 | (c >> 6), 0x80 | (c & 63));
      else if (c < 0x10000) out.push(0xe0 | (c >> 12), 0x80 | ((c >> 6) & 63), 0x80 | (c & 63));
      else out.push(0xf0 | (c >> 18), 0x80 | ((c >> 12) & 63), 0x80 | ((c >> 6) & 63), 0x80 | (c & 63));
    }
    return out;
  };
  const fromUtf8 = (bytes) => {
    let out = "", i = 0;
    while (i < bytes.length) {
      const b = bytes[i];
      const n = b < 0x80 ? 1 : b >= 0xf0 ? 4 : b >= 0xe0 ? 3 : b >= 0xc0 ? 2 : 0;
      if (n === 0 || i + n > bytes.length) { out += "\ufffd"; i += 1; continue; }
      let c = n === 1 ? b : b & (0xff >> (n + 1));
      for (let k = 1; k < n; k++) c = (c << 6) | (bytes[i + k] & 63);
      out += String.fromCodePoint(c);
      i += n;
    }
    return out;
  };
  const latin1 = (bytes) => { let s = ""; for (const b of bytes) s += String.fromCharCode(b); return s; };

  class Buffer extends Uint8Array {
    static from(value, encoding) {
      if (typeof value === "string") {
        const enc = String(encoding || "utf8").toLowerCase();
        if (enc === "base64" || enc === "base64url") {
          const clean = value.replace(/[-_]/g, (c) => (c === "-" ? "+" : "/")).replace(/[^A-Za-z0-9+/]/g, "");
          const text = atob(clean + "===".slice((clean.length + 3) % 4));
          return Buffer._of(Array.from(text, (c) => c.charCodeAt(0)));
        }
        if (enc === "hex") {
          const bytes = [];
          for (let i = 0; i + 1 < value.length; i += 2) {
            const b = parseInt(value.slice(i, i + 2), 16);
            if (Number.isNaN(b)) break;
            bytes.push(b);
          }
          return Buffer._of(bytes);
        }
        if (enc === "latin1" || enc === "binary" || enc === "ascii") return Buffer._of(Array.from(value, (c) => c.charCodeAt(0) & 255));
        return Buffer._of(utf8(value));
      }
      if (value instanceof ArrayBuffer) return Buffer._of(Array.from(new Uint8Array(value)));
      if (value && typeof value.length === "number") return Buffer._of(Array.from(value, (b) => Number(b) & 255));
      throw new TypeError("Buffer.from: a string, an array, a buffer or an ArrayBuffer");
    }
    static _of(bytes) { const b = new Buffer(bytes.length); b.set(bytes); return b; }
    static alloc(size, fill) { const b = new Buffer(Number(size) || 0); if (fill !== undefined) b.fill(typeof fill === "number" ? fill : 0); return b; }
    static isBuffer(value) { return value instanceof Buffer; }
    static byteLength(value, encoding) { return typeof value === "string" ? Buffer.from(value, encoding).length : value.length; }
    static concat(list) { return Buffer._of(list.flatMap((b) => Array.from(b))); }
    toString(encoding) {
      const enc = String(encoding || "utf8").toLowerCase();
      if (enc === "base64") return btoa(latin1(this));
      if (enc === "base64url") return btoa(latin1(this)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
      if (enc === "hex") return Array.from(this, (b) => b.toString(16).padStart(2, "0")).join("");
      if (enc === "latin1" || enc === "binary" || enc === "ascii") return latin1(this);
      return fromUtf8(this);
    }
    toJSON() { return { type: "Buffer", data: Array.from(this) }; }
    equals(other) { return this.length === other.length && this.every((b, i) => b === other[i]); }
  }
  globalThis.Buffer = Buffer;
  globalThis.TextEncoder = class TextEncoder { get encoding() { return "utf-8"; } encode(text) { return new Uint8Array(utf8(text === undefined ? "" : text)); } };
  globalThis.TextDecoder = class TextDecoder { get encoding() { return "utf-8"; } decode(bytes) { return bytes === undefined ? "" : fromUtf8(new Uint8Array(bytes.buffer || bytes)); } };

  const decode = (s) => { try { return decodeURIComponent(s.replace(/\+/g, " ")); } catch (e) { return s; } };
  const encode = (s) => encodeURIComponent(s).replace(/%20/g, "+");
  class URLSearchParams {
    constructor(init) {
      this._list = [];
      if (typeof init === "string") {
        for (const part of init.replace(/^\?/, "").split("&")) {
          if (!part) continue;
          const at = part.indexOf("=");
          this._list.push(at < 0 ? [decode(part), ""] : [decode(part.slice(0, at)), decode(part.slice(at + 1))]);
        }
      } else if (Array.isArray(init)) {
        for (const [k, v] of init) this._list.push([String(k), String(v)]);
      } else if (init && typeof init === "object") {
        for (const k of Object.keys(init)) this._list.push([k, String(init[k])]);
      }
    }
    get(name) { const hit = this._list.find(([k]) => k === String(name)); return hit ? hit[1] : null; }
    getAll(name) { return this._list.filter(([k]) => k === String(name)).map(([, v]) => v); }
    has(name) { return this._list.some(([k]) => k === String(name)); }
    set(name, value) {
      const i = this._list.findIndex(([k]) => k === String(name));
      this.delete(name);
      this._list.splice(i < 0 ? this._list.length : i, 0, [String(name), String(value)]);
    }
    append(name, value) { this._list.push([String(name), String(value)]); }
    delete(name) { this._list = this._list.filter(([k]) => k !== String(name)); }
    forEach(fn) { for (const [k, v] of this._list) fn(v, k, this); }
    entries() { return this._list.map((p) => p.slice())[Symbol.iterator](); }
    keys() { return this._list.map(([k]) => k)[Symbol.iterator](); }
    values() { return this._list.map(([, v]) => v)[Symbol.iterator](); }
    [Symbol.iterator]() { return this.entries(); }
    toString() { return this._list.map(([k, v]) => encode(k) + "=" + encode(v)).join("&"); }
  }
  globalThis.URLSearchParams = URLSearchParams;

  const DEFAULT_PORTS = { "http:": "80", "https:": "443", "ws:": "80", "wss:": "443", "ftp:": "21" };
  const ABSOLUTE = /^([a-zA-Z][a-zA-Z0-9+.-]*:)(?:\/\/(?:([^:@\/?#]*)(?::([^@\/?#]*))?@)?(\[[^\]]*\]|[^:\/?#]*)(?::(\d*))?)?([^?#]*)(\?[^#]*)?(#.*)?$/;
  const dotless = (path) => {
    const out = [];
    for (const seg of path.split("/").slice(1)) {
      if (seg === "..") out.pop();
      else if (seg !== ".") out.push(seg);
    }
    return "/" + out.join("/");
  };
  class URL {
    constructor(url, base) {
      let text = String(url).trim();
      if (!ABSOLUTE.test(text) || !/^[a-zA-Z][a-zA-Z0-9+.-]*:/.test(text)) {
        if (base === undefined) throw new TypeError("Invalid URL: " + text);
        const b = new URL(base);
        if (text.startsWith("//")) text = b.protocol + text;
        else if (text.startsWith("/")) text = b.origin + text;
        else if (text.startsWith("?")) text = b.origin + b.pathname + text;
        else if (text.startsWith("#")) text = b.origin + b.pathname + b.search + text;
        else text = b.origin + b.pathname.replace(/[^\/]*$/, "") + text;
      }
      const m = ABSOLUTE.exec(text);
      if (!m) throw new TypeError("Invalid URL: " + text);
      this.protocol = m[1].toLowerCase();
      this.username = m[2] || "";
      this.password = m[3] || "";
      this.hostname = (m[4] || "").toLowerCase();
      const port = m[5] || "";
      this.port = DEFAULT_PORTS[this.protocol] === port ? "" : port;
      const special = this.protocol in DEFAULT_PORTS;
      if (special && !this.hostname) throw new TypeError("Invalid URL: " + text);
      this.pathname = special ? dotless(m[6] || "/") : (m[6] || "");
      this.searchParams = new URLSearchParams(m[7] || "");
      this._query = m[7] && m[7] !== "?" ? m[7] : "";  // as written, while searchParams is not changed
      this._serial = this.searchParams.toString();
      this.hash = m[8] && m[8] !== "#" ? m[8] : "";
    }
    get host() { return this.hostname + (this.port ? ":" + this.port : ""); }
    get origin() { return this.protocol in DEFAULT_PORTS ? this.protocol + "//" + this.host : "null"; }
    get search() { const s = this.searchParams.toString(); return s === this._serial ? this._query : s ? "?" + s : ""; }
    set search(value) { this.searchParams = new URLSearchParams(String(value)); this._serial = null; }
    get href() {
      const auth = this.username ? this.username + (this.password ? ":" + this.password : "") + "@" : "";
      const authority = this.hostname || this.protocol in DEFAULT_PORTS ? "//" + auth + this.host : "";
      return this.protocol + authority + this.pathname + this.search + this.hash;
    }
    toString() { return this.href; }
    toJSON() { return this.href; }
  }
  globalThis.URL = URL;

  // Web Crypto's random helpers, from the engine's Math.random: ids and nonces, not secrets (nothing secret is made here)
  const randomByte = () => Math.floor(Math.random() * 256);
  const getRandomValues = (array) => {
    if (!ArrayBuffer.isView(array) || array instanceof Float32Array || array instanceof Float64Array)
      throw new TypeError("crypto.getRandomValues: an integer typed array is needed");
    if (array.byteLength > 65536) throw new RangeError("crypto.getRandomValues: at most 65536 bytes");
    const bytes = new Uint8Array(array.buffer, array.byteOffset, array.byteLength);
    for (let i = 0; i < bytes.length; i++) bytes[i] = randomByte();
    return array;
  };
  const randomUUID = () => {
    const b = getRandomValues(new Uint8Array(16));
    b[6] = (b[6] & 0x0f) | 0x40; b[8] = (b[8] & 0x3f) | 0x80;  // version 4, RFC 4122 variant
    const hex = Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
    return hex.slice(0, 8) + "-" + hex.slice(8, 12) + "-" + hex.slice(12, 16) + "-" + hex.slice(16, 20) + "-" + hex.slice(20);
  };
  globalThis.crypto = Object.freeze({ getRandomValues, randomUUID });

  return function tick() {
    let next = null;
    for (const [id, t] of timers) if (next === null || t.at < next[1].at || (t.at === next[1].at && t.order < next[1].order)) next = [id, t];
    if (next === null) return false;
    const [id, t] = next;
    now = Math.max(now, t.at);
    if (t.every) { t.at = now + t.every; t.order = ++seq; } else timers.delete(id);
    t.fn(...t.args);
    return true;
  };
})()
"""
