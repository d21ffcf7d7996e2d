"""The child side of rendering: jinja2's immutable sandbox in a worker process with a deadline, an
address-space cap and an output cap, reporting every failure with the template file and line.

The parent (bot/evals/render.py) sends pickled requests; the worker answers in JSON only, so even a
template that escaped the sandbox could not make the parent unpickle anything. Include files are
asked of the parent, which reads them from the side's FileTree and applies the file-size limit.
"""

from __future__ import annotations

import json
import posixpath
import re
import resource
import signal
import sys
import time
import traceback
from collections.abc import Generator
from multiprocessing.connection import Connection
from typing import Any, cast

import jinja2
from jinja2.sandbox import ImmutableSandboxedEnvironment, SecurityError

from bot.core import safejson
from bot.core.files import normalize

# Python refuses to print an int past 4,300 digits anyway; building one can take minutes.
MAX_DIGITS = 4300
MAX_INT_BITS = MAX_DIGITS * 10 // 3
FLUSH_S = 0.02  # a batch's replies are sent at least this often, so the parent can tell progress from a hang
MAX_FILTER_CALLS = 1000  # nunjucks filter calls per render: each runs JavaScript in the parent's sandbox
MAX_FILTER_DEPTH = 64  # nesting of a value handed to a filter


class Refused(SecurityError):
    """An operation the sandbox refuses because of what it would build (not what it would reach)."""


class _Stop(Exception):
    """Raised into the template's own frame, so jinja2's traceback names the template line."""

    def __init__(self, message: str):
        self.message = message
        super().__init__(message)


# the iterable is bounded so a template of many unclosed `{% for a, b in` costs linear time, not quadratic
_PAIR_LOOP = re.compile(r"({%-?[ \t\n]*for[ \t\n]+[A-Za-z_]\w*[ \t\n]*,[ \t\n]*[A-Za-z_]\w*[ \t\n]+in[ \t\n]+)([^%]{1,500}?)([ \t\n]*-?%})")
_NOT_PLAIN = re.compile(r"\sif\s|\srecursive\b|%")  # a filtered or recursive loop is left as written


def js_output(value: Any) -> str:
    """A value written out as nunjucks writes it (JavaScript's String(); null and undefined as nothing): how an http
    provider's templates, which promptfoo renders with nunjucks, print a var that is not text."""
    if value is None or isinstance(value, jinja2.Undefined):
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e21:
        return str(int(value))
    if isinstance(value, (int, float)):
        return json.dumps(value)
    if isinstance(value, (list, tuple)):
        return ",".join(js_output(v) for v in value)
    if isinstance(value, dict):
        return "[object Object]"
    return str(value)


def _pairs(value: Any) -> Any:
    return list(value.items()) if isinstance(value, dict) else value


class _Loader(jinja2.BaseLoader):
    def __init__(self, files: Any):
        self.files = files

    def get_source(self, environment: jinja2.Environment, template: str):
        raw = self.files.read(template)
        if raw is None:
            raise jinja2.TemplateNotFound(template)
        return raw.decode("utf-8", errors="replace"), template, lambda: True


class SandboxEnv(ImmutableSandboxedEnvironment):
    """The prompt environment: includes relative to the including file, size-checked `*`, `**`, `+`."""

    intercepted_binops = frozenset({"*", "**", "+"})

    def __init__(self, files: Any, max_items: int = 1_000_000, js_values: bool = False):
        """`js_values`: values printed as nunjucks prints them (js_output), for templates promptfoo renders outside a
        prompt (an http provider's body, query and url)."""
        # an attribute of an undefined value is undefined, printed as nothing, as nunjucks' member lookup makes it
        # (`{{context.originalText}}` with no `context` var); calling one is still an error, as there
        super().__init__(loader=_Loader(files), autoescape=False, keep_trailing_newline=True,
                         finalize=js_output if js_values else None, undefined=jinja2.ChainableUndefined)
        self.files = files
        self.max_items = max_items  # the rendered-prompt limit: a longer value can never be sent
        # nunjucks built-ins promptfoo suites use: `dump` (JSON.stringify) and promptfoo's `load` (JSON.parse)
        self.filters["dump"] = self._dump
        self.filters["load"] = self._load
        self.filters["nunjucks_pairs"] = _pairs

    def unsafe_undefined(self, obj: Any, attribute: str) -> jinja2.Undefined:
        # the sandbox's refusal of an unsafe attribute (`__class__`, …) stops the render: with undefined attributes
        # printed as nothing (above), a refusal turned into an undefined would pass unseen
        raise SecurityError(f"access to attribute {attribute!r} of {type(obj).__name__!r} object is unsafe.")

    def preprocess(self, source: str, name: str | None = None, filename: str | None = None) -> str:
        # nunjucks' `{% for key, value in mapping %}` walks the mapping's pairs; jinja2 would unpack each key
        source = _PAIR_LOOP.sub(lambda m: m.group(0) if _NOT_PLAIN.search(m.group(2))
                                else f"{m.group(1)}({m.group(2)}) | nunjucks_pairs{m.group(3)}", source)
        return super().preprocess(source, name, filename)

    def _dump(self, value: Any, spaces: int | None = None) -> str:
        indent = spaces if isinstance(spaces, int) and not isinstance(spaces, bool) and 0 < spaces <= 10 else None
        try:  # JSON.stringify's compact form unless spaces are given
            text = json.dumps(value, ensure_ascii=False, indent=indent, separators=None if indent else (",", ":"), default=str)
        except (ValueError, RecursionError):
            raise Refused("dump: the value cannot be written as JSON (it refers to itself or nests too deeply)") from None
        if len(text) > self.max_items:
            raise Refused(f"dump: the JSON text would be longer than {self.max_items:,} characters")
        return text

    def _load(self, text: Any) -> Any:
        if not isinstance(text, str):
            raise Refused("load: expects JSON text")
        try:
            return safejson.loads(text)
        except safejson.JsonTooDeep as exc:
            raise Refused(f"load: the JSON nests deeper than {exc.limit} levels") from None
        except ValueError as exc:
            raise Refused(f"load: not valid JSON ({exc})") from None

    def join_path(self, template: str, parent: str) -> str:
        # includes are relative to the including file (like nunjucks' search path), else to the repo root
        candidate = normalize(posixpath.join(posixpath.dirname(parent), template))
        return candidate if self.files.read(candidate) is not None else normalize(template)

    def call_binop(self, context: jinja2.runtime.Context, operator: str, left: Any, right: Any) -> Any:
        _check_binop(operator, left, right, self.max_items)
        return super().call_binop(context, operator, left, right)


def _size(value: Any) -> int | None:
    return len(value) if isinstance(value, (str, bytes, list, tuple)) else None


def _check_binop(operator: str, left: Any, right: Any, max_items: int) -> None:
    """Refuse, before building it, a value no prompt could use: too long or too many digits."""
    ints = [v for v in (left, right) if isinstance(v, int) and not isinstance(v, bool)]
    if operator == "*":
        sized = _size(left) if _size(left) is not None else _size(right)
        if sized is not None and len(ints) == 1 and sized * max(ints[0], 0) > max_items:
            raise Refused(
                f"'*' would build a value of {sized * ints[0]:,} items, over the rendered-prompt limit of "
                f"{max_items:,} (limits.max_rendered_prompt_bytes)"
            )
        if len(ints) == 2 and left.bit_length() + right.bit_length() > MAX_INT_BITS:
            raise Refused(f"'*' would build a number of more than {MAX_DIGITS:,} digits")
    elif operator == "**" and len(ints) == 2 and abs(left) > 1 and right > 0:
        if right * abs(left).bit_length() > MAX_INT_BITS:
            raise Refused(f"'{left} ** {right}' would build a number of more than {MAX_DIGITS:,} digits")
    elif operator == "+":
        a, b = _size(left), _size(right)
        if a is not None and b is not None and a + b > max_items:
            raise Refused(
                f"'+' would build a value of {a + b:,} items, over the rendered-prompt limit of "
                f"{max_items:,} (limits.max_rendered_prompt_bytes)"
            )


def template_site(exc: BaseException, names: set[str]) -> tuple[str | None, int | None]:
    """(template name, line) of the innermost template frame in `exc`'s traceback.

    jinja2 rewrites tracebacks so a template's frame carries the template's file name (or
    '<template>' for inline text) and the template's line number.
    """
    for frame in reversed(traceback.extract_tb(exc.__traceback__)):
        if frame.filename in names or frame.filename == "<template>":
            return frame.filename, frame.lineno
    return None, None


# ---- the worker process ----------------------------------------------------------------------


class _ParentFiles:
    """Files of the current request's side, asked of the parent once and kept."""

    def __init__(self, conn: Connection):
        self.conn = conn
        self.cache: dict[str, bytes | None] = {}
        self.names: set[str] = set()
        self.filter_calls = 0  # in the current render

    def seed(self, path: str, text: str) -> None:
        self.cache[path] = text.encode("utf-8")

    def read(self, path: str) -> bytes | None:
        if path not in self.cache:
            # the parent's read (maybe a GitHub API call) does not count against the template's time
            left, _ = signal.setitimer(signal.ITIMER_REAL, 0)
            try:
                self.conn.send_bytes(json.dumps({"read": path}).encode())
                kind, value = self.conn.recv()
            finally:
                if left > 0:
                    signal.setitimer(signal.ITIMER_REAL, left)
            if kind == "refused":
                raise _Stop(value)
            self.cache[path] = value
        raw = self.cache[path]
        if raw is not None:
            self.names.add(path)
        return raw


def _alarm(signum, frame) -> None:  # noqa: ARG001 - signal handler signature
    raise _Stop("timeout")


class _Worker:
    def __init__(self, conn: Connection):
        self.conn = conn
        self.sides: dict[tuple[int, bool], tuple[_ParentFiles, SandboxEnv]] = {}
        self.sources: dict[int, tuple[str | None, str]] = {}  # template key → (file, text)
        self.templates: dict[tuple[int, bool], jinja2.Template] = {}

    def side(self, token: int, max_items: int, filters: list[str] | None = None,
             js_values: bool = False) -> tuple[_ParentFiles, SandboxEnv]:
        """The side's environment; with `js_values` its nunjucks-valued twin, without the suite's filters (promptfoo's
        http provider renders with nunjucks' and its own filters only)."""
        if (token, js_values) not in self.sides:
            files = _ParentFiles(self.conn)
            env = SandboxEnv(files, max_items, js_values)
            for name in () if js_values else filters or ():
                env.filters[name] = self._filter(files, name)
            self.sides[(token, js_values)] = (files, env)
        files, env = self.sides[(token, js_values)]
        env.max_items = max_items
        return files, env

    def _filter(self, files: _ParentFiles, name: str) -> Any:
        """A suite's nunjucks filter: the parent runs its JavaScript in the sandbox (the gate let it through) and
        answers with the value; the render's clock is paused meanwhile, the parent counts that time instead."""
        def call(*args: Any) -> Any:
            files.filter_calls += 1
            if files.filter_calls > MAX_FILTER_CALLS:
                raise _Stop(f"more than {MAX_FILTER_CALLS:,} calls of nunjucks filters in one render")
            try:
                message = json.dumps({"filter": name, "args": list(args)}, ensure_ascii=False, default=str)
            except (ValueError, RecursionError):
                raise _Stop(f"nunjucks filter {name}: its arguments cannot be written as JSON") from None
            if safejson.depth_of(message, MAX_FILTER_DEPTH + 2) > MAX_FILTER_DEPTH + 2:
                raise _Stop(f"nunjucks filter {name}: its arguments nest deeper than {MAX_FILTER_DEPTH} levels")
            left, _ = signal.setitimer(signal.ITIMER_REAL, 0)
            try:
                self.conn.send_bytes(message.encode())
                kind, value = self.conn.recv()
            finally:
                if left > 0:
                    signal.setitimer(signal.ITIMER_REAL, left)
            if kind != "value":
                raise _Stop(str(value))
            return value

        return call

    def template(self, key: int, files: _ParentFiles, env: SandboxEnv) -> jinja2.Template:
        js = env.finalize is not None
        if (key, js) not in self.templates:
            source, text = self.sources[key]
            if source is not None:
                files.seed(source, text)
                files.names.add(source)  # its frames carry its name: errors name its line
                # compiled from this text, named by its file (for relative includes and error lines): the env's
                # cache by name would give every prompt of a `---`-separated file the first one's template
                self.templates[(key, js)] = env.template_class.from_code(env, env.compile(text, source, source), env.make_globals(None), None)
            else:
                self.templates[(key, js)] = env.from_string(text)
        return self.templates[(key, js)]

    def render(self, request: dict, items: list, vars_: dict) -> dict:
        """One prompt's messages with one case's vars: {"ok": [text, …]} or {"error": {…}}."""
        files, env = self.side(request["token"], request["max_bytes"], request.get("filters"), bool(request.get("js_values")))
        files.filter_calls = 0
        index = 0
        signal.setitimer(signal.ITIMER_REAL, request["timeout_s"])
        try:
            out: list[str] = []
            size, limit = 0, request["max_bytes"]
            for index, (key, source, text) in enumerate(items):
                if text is not None:
                    self.sources[key] = (source, text)
                chunks: list[str] = []
                # generate() is a generator (typed as an Iterator): throwing into it stops the render
                # where it is, so the template's line is in the traceback
                stream = cast(Generator[str, None, None], self.template(key, files, env).generate(vars_))
                for chunk in stream:
                    size += len(chunk)  # characters: never more than the UTF-8 bytes
                    if size > limit:
                        stream.throw(_Stop("too large"))
                    chunks.append(chunk)
                out.append("".join(chunks))
            signal.setitimer(signal.ITIMER_REAL, 0)
            if sum(len(s.encode("utf-8")) for s in out) > limit:
                return {"error": {"index": index, "file": None, "line": None, "message": _too_large(request)}}
            return {"ok": out}
        except BaseException as exc:  # noqa: BLE001 - every failure becomes a message with its line
            signal.setitimer(signal.ITIMER_REAL, 0)
            reply: dict[str, Any] = {"error": _describe(exc, request, index, files.names)}
            if isinstance(exc, MemoryError):
                reply["recycle"] = True  # its heap may be fragmented past use: the parent replaces it
            return reply

    def serve(self) -> None:
        while True:
            try:
                request = self.conn.recv()
            except EOFError:
                return
            # replies go back in order, several per message, at least every FLUSH_S while rendering
            done: list[dict] = []
            flushed = time.monotonic()
            for items, vars_ in request["jobs"]:
                reply = self.render(request, items, vars_)
                done.append(reply)
                if reply.get("recycle") or time.monotonic() - flushed > FLUSH_S:
                    self.conn.send_bytes(json.dumps({"done": done}, ensure_ascii=False).encode())
                    done, flushed = [], time.monotonic()
                if reply.get("recycle"):
                    return
            if done:
                self.conn.send_bytes(json.dumps({"done": done}, ensure_ascii=False).encode())


def _too_large(request: dict) -> str:
    return (
        f"the rendered prompt is over {request['max_bytes']:,} bytes and was not sent to a model "
        f"(raise `limits.max_rendered_prompt_bytes` in {request['config']} if it should be)"
    )


def _describe(exc: BaseException, request: dict, index: int, names: set[str]) -> dict:
    file, line = template_site(exc, names)
    if isinstance(exc, _Stop) and exc.message == "timeout":
        message = (
            f"rendering took longer than {request['timeout_s']:g} s and was stopped "
            f"(raise `limits.render_timeout_s` in {request['config']} if the template is meant to take that long)"
        )
    elif isinstance(exc, _Stop) and exc.message == "too large":
        message = _too_large(request)
    elif isinstance(exc, _Stop):
        message = exc.message
    elif isinstance(exc, MemoryError):
        message = (
            f"rendering needed more than {request['memory_mb']} MB of memory and was stopped "
            f"(raise `limits.render_memory_mb` in {request['config']} if it should not be)"
        )
    elif isinstance(exc, Refused):
        message = f"refused: {exc}"
    elif isinstance(exc, SecurityError):
        message = f"refused: the template tried an unsafe operation ({exc})"
    elif isinstance(exc, jinja2.TemplateSyntaxError):
        file, line = exc.filename or file, exc.lineno
        message = f"template syntax error: {exc.message}"
    elif isinstance(exc, jinja2.TemplateNotFound):
        message = f"included template {exc.name!r} not found"
    elif isinstance(exc, (jinja2.TemplateError, TypeError, ValueError, ArithmeticError, RecursionError, LookupError)):
        line = line if line is not None else getattr(exc, "lineno", None)
        message = f"template error: {exc}"
    else:
        message = f"template error: {type(exc).__name__}: {exc}"
    return {"index": index, "file": None if file == "<template>" else file, "line": line, "message": message}


def main(fd: int, memory_bytes: int) -> None:
    """Entry point of a worker process: cap its address space, then answer requests until EOF."""
    conn = Connection(fd)
    resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, memory_bytes))
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides when a worker ends
    signal.signal(signal.SIGALRM, _alarm)
    _Worker(conn).serve()


if __name__ == "__main__":  # run as a script (python -P path) so the bot.evals package is not imported
    main(int(sys.argv[1]), int(sys.argv[2]))
