"""The Node globals suite code leans on, inside QuickJS (bot/evals/sandbox/js_shims.py): a quiet console, timers on a
virtual clock, Buffer, TextEncoder/TextDecoder and URL — each as Node gives them, none reaching the host."""

from __future__ import annotations

import re

import pytest

from bot.evals.sandbox.js import JsCode, run_javascript, transform_javascript
from bot.evals.sandbox.result import CodeLimits, Fault, SandboxError

TIGHT = CodeLimits(timeout_s=2.0, memory_mb=64)


def value(body: str, output="out"):
    return transform_javascript(JsCode("// a function body\n" + body), output, {"vars": {"topic": "sky"}}, TIGHT)


def test_an_assertion_that_logs_is_judged_by_what_it_returns():
    """promptfoo's examples log from their assertions; a missing console used to fail the case."""
    code = JsCode("module.exports = (output, context) => {\n  console.log('Vars', context.vars.topic);\n"
                  "  console.error('x'); console.table([1]);\n  return output.includes('blue');\n};\n", file="evals/assert.js")
    assert run_javascript(code, "the sky is blue", {"vars": {"topic": "sky"}}, limits=TIGHT).passed
    assert not run_javascript(code, "grey", {"vars": {"topic": "sky"}}, limits=TIGHT).passed


def test_timers_fire_in_order_of_due_time_without_waiting():
    assert value("return new Promise((r) => setTimeout(() => r(output + ' late'), 60000));") == "out late"
    assert value("const seen = [];\nsetTimeout(() => seen.push('b'), 10);\nsetTimeout(() => seen.push('a'), 5);\n"
                 "setImmediate(() => seen.push('now'));\nreturn new Promise((r) => setTimeout(() => r(seen.join()), 20));") == "now,a,b"


def test_intervals_repeat_until_cleared_and_cleared_timeouts_never_fire():
    assert value("let n = 0;\nconst id = setInterval(() => { n++; if (n === 3) clearInterval(id); }, 100);\n"
                 "const never = setTimeout(() => { n = 99; }, 50);\nclearTimeout(never);\n"
                 "return new Promise((r) => setTimeout(() => r(n), 1000));") == 3


def test_a_retry_loop_with_backoff_completes():
    body = ("let tries = 0;\nconst attempt = async () => { tries++; if (tries < 4) throw new Error('busy'); return 'ok'; };\n"
            "const sleep = (ms) => new Promise((r) => setTimeout(r, ms));\n"
            "return (async () => { for (;;) { try { return (await attempt()) + ' after ' + tries; } catch (e) { await sleep(1000 * tries); } } })();")
    assert value(body) == "ok after 4"


def test_a_timer_given_code_in_a_string_is_refused():
    with pytest.raises(SandboxError) as err:
        value("setTimeout('globalThis.pwned = 1', 1);\nreturn 1;")
    assert "must be a function" in str(err.value)


def test_an_interval_that_never_stops_is_stopped_by_the_time_limit():
    with pytest.raises(SandboxError) as err:
        value("setInterval(() => {}, 1);\nreturn new Promise(() => {});")
    assert err.value.fault is Fault.TIMEOUT


def test_a_timer_callback_that_throws_fails_the_code():
    with pytest.raises(SandboxError) as err:
        value("setTimeout(() => { throw new Error('boom'); }, 1);\nreturn new Promise(() => {});")
    assert "boom" in str(err.value)


@pytest.mark.parametrize("body, expected", [
    ("return Buffer.from('héllo ✓', 'utf8').toString('base64');", "aMOpbGxvIOKckw=="),
    ("return Buffer.from('aMOpbGxvIOKckw==', 'base64').toString();", "héllo ✓"),
    ("return Buffer.from('aMOpbGxvIOKckw', 'base64url').toString('utf-8');", "héllo ✓"),
    ("return Buffer.from('hi').toString('hex') + ' ' + Buffer.from('6869', 'hex').toString();", "6869 hi"),
    ("return [Buffer.byteLength('é'), Buffer.byteLength('✓'), Buffer.from([104, 105]).toString()];", [2, 3, "hi"]),
    ("return Buffer.concat([Buffer.from('a'), Buffer.from('bc')]).toString('latin1');", "abc"),
    ("return [Buffer.isBuffer(Buffer.alloc(2)), Buffer.isBuffer('x'), Buffer.alloc(3, 7).toString('hex')];", [True, False, "070707"]),
    ("return JSON.stringify(Buffer.from('ab'));", '{"type":"Buffer","data":[97,98]}'),
    ("return new TextDecoder().decode(new TextEncoder().encode('naïve ✓ 😀'));", "naïve ✓ 😀"),
    ("return Array.from(new TextEncoder().encode('é'));", [195, 169]),
])
def test_buffer_and_text_encoding_as_node(body, expected):
    assert value(body) == expected


@pytest.mark.parametrize("body, expected", [
    ("const u = new URL('https://User:pw@Example.com:443/a/./b/../c?x=1&y=a%20b#frag');\n"
     "return [u.href, u.host, u.hostname, u.port, u.pathname, u.search, u.searchParams.get('y'), u.origin, u.hash, u.username];",
     ["https://User:pw@example.com/a/c?x=1&y=a%20b#frag", "example.com", "example.com", "", "/a/c", "?x=1&y=a%20b", "a b",
      "https://example.com", "#frag", "User"]),
    ("const u = new URL('../d?q=2', 'http://h.test:8080/a/b/c');\nu.searchParams.set('z', 'a b');\nreturn u.toString();",
     "http://h.test:8080/a/d?q=2&z=a+b"),
    ("return new URL('/v1/chat', 'https://api.example.com/base/').href;", "https://api.example.com/v1/chat"),
    ("const p = new URLSearchParams({a: '1', b: 'x y'});\np.append('a', '2');\nreturn [p.toString(), p.getAll('a'), p.has('b')];",
     ["a=1&b=x+y&a=2", ["1", "2"], True]),
])
def test_url_and_search_params_as_node(body, expected):
    assert value(body) == expected


def test_an_invalid_url_throws_as_node_does():
    with pytest.raises(SandboxError) as err:
        value("return new URL('not a url');")
    assert "Invalid URL" in str(err.value)


def test_crypto_random_uuid_and_random_values_as_web_crypto_gives_them():
    """A real user's provider named each request `crypto.randomUUID()`; the global was missing and every case erred."""
    uuids = value("return [crypto.randomUUID(), crypto.randomUUID()];")
    assert len(set(uuids)) == 2
    assert all(re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}", u) for u in uuids), uuids
    assert value("const a = crypto.getRandomValues(new Uint32Array(4)); return a.length === 4 && a.some((x) => x > 0);") is True
    with pytest.raises(SandboxError) as raised:
        value("return crypto.getRandomValues(new Uint8Array(70000));")
    assert "at most 65536 bytes" in raised.value.message
