"""Render prompts with vars in jinja2's immutable sandbox, reading includes from the same FileTree,
inside a reusable worker process that is killed and replaced when a template will not stop.

Nothing in a template can reach Python internals or the filesystem outside the tree, and nothing
it does can hold a worker: every render has a deadline, a memory cap and an output cap, and the
renders of one review share a time budget (docs/limits.md). See docs/suites.md for where the
templates differ from promptfoo's nunjucks.
"""

from __future__ import annotations

import dataclasses
import itertools
import pickle
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterable
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import jinja2
from jinja2 import meta

from bot.core.config import CONFIG_PATH, LimitsConfig
from bot.core.errors import CheckError, SourceError, UserError
from bot.core.files import FileTree, normalize
from bot.core.parts import Parts, leaves, replace_leaves
from bot.core.safejson import loads as json_loads
from bot.evals import render_worker
from bot.evals.loader import chat_messages
from bot.evals.sources import FileTooLarge, read_bounded
from bot.evals.render_worker import SandboxEnv
from bot.evals.sandbox import CodeLimits, SandboxError, transform_sync
from bot.evals.suite import Code, PromptSpec

Messages = tuple[tuple[str, str], ...]

MB = 1024 * 1024
GRACE_S = 1.0  # past the deadline, a worker that did not stop itself (stuck in C code) is killed
RECYCLE_TEXT_BYTES = 32 * MB  # a worker that has compiled this much template text is replaced
MAX_IDLE_WORKERS = 4
BATCH = 256  # prefetched renders per round trip


def _templates(content: str) -> list[str]:
    """The templates of a message's content: its text, or every text inside its parts."""
    return leaves(content.parts) if isinstance(content, Parts) else [content]


class RenderError(Exception):
    kind = CheckError.RENDER

    def __init__(self, error: SourceError):
        self.error = error
        super().__init__(str(error))


class RenderBounds:
    """The limits every render of one review obeys, and the time those renders have used together."""

    def __init__(self, limits: LimitsConfig | None = None):
        limits = limits or LimitsConfig()
        self.timeout_s = limits.render_timeout_s
        self.budget_s = limits.render_budget_s
        self.max_rendered_bytes = limits.max_rendered_prompt_bytes
        self.max_file_bytes = limits.max_prompt_bytes
        self.memory_mb = limits.render_memory_mb
        self._spent = 0.0
        self._lock = threading.Lock()

    def left_s(self) -> float:
        with self._lock:
            return self.budget_s - self._spent

    def charge(self, seconds: float) -> None:
        with self._lock:
            self._spent += seconds


class _Hung(Exception):
    pass


def _failure(message: str) -> dict:
    return {"error": {"index": 0, "file": None, "line": None, "message": message}}


# ---- worker processes ------------------------------------------------------------------------


_BOT_ROOT = str(Path(__file__).resolve().parents[2])  # the directory holding this `bot` package


class _Process:
    """A worker: a fresh interpreter (never a fork of the threaded service) without the service's
    environment — no credentials within reach of a template — talking over a socket pair."""

    def __init__(self, memory_mb: int):
        ours, theirs = socket.socketpair()
        self.proc = subprocess.Popen(
            [sys.executable, "-s", "-P", render_worker.__file__, str(theirs.fileno()), str(memory_mb * MB)],
            pass_fds=(theirs.fileno(),),
            env={"PYTHONPATH": _BOT_ROOT, "PYTHONIOENCODING": "utf-8"},
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
        )
        theirs.close()
        self.conn = Connection(ours.detach())
        self.memory_mb = memory_mb
        self.known: set[int] = set()  # template keys the worker has compiled
        self.text_bytes = 0

    def alive(self) -> bool:
        return self.proc.poll() is None

    def close(self) -> None:
        self.proc.kill()
        self.proc.wait()
        self.conn.close()


class _Pool:
    """Idle workers, shared by every Renderer of the process (and its threads)."""

    def __init__(self) -> None:
        self._idle: list[_Process] = []
        self._lock = threading.Lock()

    def take(self, memory_mb: int) -> _Process:
        with self._lock:
            for i, worker in enumerate(self._idle):
                if worker.memory_mb == memory_mb:
                    return self._idle.pop(i)
        return _Process(memory_mb)

    def give(self, worker: _Process) -> None:
        if worker.text_bytes > RECYCLE_TEXT_BYTES or not worker.alive():
            worker.close()
            return
        with self._lock:
            self._idle.append(worker)
            extra, self._idle[:] = self._idle[MAX_IDLE_WORKERS:], self._idle[:MAX_IDLE_WORKERS]
        for old in extra:
            old.close()


_POOL = _Pool()
_TOKENS = itertools.count(1)  # one per Renderer: which side's files a worker is rendering from
_KEYS = itertools.count(1)  # one per distinct template text


class _BoundedFiles:
    """The tree as the parent-side parser sees it: a file past the size limit reads as empty (it
    exists; rendering reports it with the line of the include)."""

    def __init__(self, tree: FileTree, limit: int):
        self.tree, self.limit = tree, limit

    def read(self, path: str) -> bytes | None:
        try:
            return read_bounded(self.tree, path, self.limit)
        except FileTooLarge:
            return b""


# ---- the renderer ----------------------------------------------------------------------------


class Renderer:
    """One per side (base or head); each template is compiled once per worker."""

    def __init__(self, tree: FileTree, bounds: RenderBounds | None = None, filters: tuple[tuple[str, Code], ...] = (),
                 code_limits: CodeLimits | None = None):
        """`filters`: the suite's nunjucksFilters the code gate let run (a template calls them by name; each call
        runs in the sandbox under `code_limits`, its time counted in the render's)."""
        self.tree = tree
        self.bounds = bounds or RenderBounds()
        self.filters = dict(filters)
        self.code_limits = code_limits or CodeLimits()
        self.files = _BoundedFiles(tree, self.bounds.max_file_bytes)
        self.env = SandboxEnv(self.files)  # parsing only (dependencies); rendering happens in a worker
        self._token = next(_TOKENS)
        self._keys: dict[tuple[str | None, str], int] = {}
        self._done: dict[tuple, dict] = {}  # prefetched replies by (templates, pickled vars)
        self._prompt_items: dict[PromptSpec, list[tuple[int, str | None, str]]] = {}

    def _key(self, source: str | None, text: str) -> int:
        if (source, text) not in self._keys:
            self._keys[(source, text)] = next(_KEYS)
        return self._keys[(source, text)]

    def _items(self, prompt: PromptSpec) -> list[tuple[int, str | None, str]]:
        if prompt not in self._prompt_items:
            items: list[tuple[int, str | None, str]]
            if prompt.format == "chat":
                items = [(self._key(None, text), None, text) for _, content in prompt.messages for text in _templates(content)]
            else:
                items = [(self._key(prompt.source, prompt.template), prompt.source, prompt.template)]
            self._prompt_items[prompt] = items
        return self._prompt_items[prompt]

    def _job_key(self, prompt: PromptSpec, vars_: dict[str, Any]) -> tuple:
        return (prompt.format, tuple(k for k, _, _ in self._items(prompt)), pickle.dumps(vars_, protocol=5))

    def render(self, prompt: PromptSpec, vars_: dict[str, Any]) -> Messages:
        reply = self._done.get(self._job_key(prompt, vars_)) if self._done else None
        if reply is None:
            reply = self._run([(self._items(prompt), vars_)])[0]
        where = prompt.source or "<inline prompt>"
        if "error" in reply:
            raise RenderError(self._error(reply["error"], prompt, where))
        if prompt.format == "chat-template":
            return self._read_messages(reply["ok"][0], where)
        if prompt.format != "chat":
            return (("user", reply["ok"][0]),)
        rendered = list(reply["ok"])
        out: list[tuple[str, str]] = []
        for role, content in prompt.messages:
            if isinstance(content, Parts):  # each text of the parts was rendered on its own; the parts keep their shape
                count = len(leaves(content.parts))
                out.append((role, Parts(replace_leaves(content.parts, rendered[:count]))))
                del rendered[:count]
            else:
                out.append((role, rendered.pop(0)))
        return tuple(out)

    @staticmethod
    def _read_messages(text: str, where: str) -> Messages:
        """The message list of a rendered chat-template prompt; a RenderError when it is not one."""
        try:
            data = json_loads(text)
        except ValueError as exc:
            raise RenderError(SourceError(where, f"once rendered, the chat prompt is not a JSON message list ({exc})")) from None
        try:
            return chat_messages(where, data)
        except UserError as exc:
            raise RenderError(dataclasses.replace(exc.errors[0], line=None)) from None

    def render_texts(self, where: str, texts: list[str], vars_: dict[str, Any]) -> list[str]:
        """Templates promptfoo renders outside a prompt (an http provider's body, query and url) with one call's vars,
        in the same sandbox and under the same bounds, values printed as nunjucks prints them (null as nothing, true
        as `true`, a list joined with commas). RenderError names `where` and the template's line."""
        if not texts:
            return []
        reply = self._run([([(self._key(None, t), None, t) for t in texts], vars_)], js_values=True)[0]
        if "error" in reply:
            line = reply["error"]["line"]
            raise RenderError(SourceError(where, str(reply["error"]["message"]) + (f" (template line {line})" if line else "")))
        return list(reply["ok"])

    def prefetch(self, jobs: Iterable[tuple[PromptSpec, dict[str, Any]]]) -> None:
        """Render these (prompt, vars) pairs in a few round trips to the worker; `render` then
        answers them from memory. Rendering a suite case by case would cost a round trip each."""
        pending = list({self._job_key(prompt, vars_): (prompt, vars_) for prompt, vars_ in jobs}.items())
        for start in range(0, len(pending), BATCH):
            batch = pending[start:start + BATCH]
            replies = self._run([(self._items(prompt), vars_) for _, (prompt, vars_) in batch])
            for (key, _), reply in zip(batch, replies):
                self._done[key] = reply

    def _run(self, jobs: list[tuple[list[tuple[int, str | None, str]], dict[str, Any]]], js_values: bool = False) -> list[dict]:
        """Replies to `jobs` in order; fewer when the worker had to be replaced part-way (the rest
        are rendered again on demand)."""
        bounds = self.bounds
        if bounds.left_s() <= 0:
            return [_failure(
                f"not rendered: the renders of this review used their time budget of {bounds.budget_s:g} s "
                f"(raise `limits.render_budget_s` in {CONFIG_PATH})"
            )]
        worker = _POOL.take(bounds.memory_mb)
        sent = []
        for items, vars_ in jobs:
            sent.append(([(key, source, None if key in worker.known else text) for key, source, text in items], vars_))
            for key, _source, text in items:
                if key not in worker.known:
                    worker.known.add(key)
                    worker.text_bytes += len(text)
        request = {
            "token": self._token,
            "jobs": sent,
            "timeout_s": bounds.timeout_s,
            "max_bytes": bounds.max_rendered_bytes,
            "memory_mb": bounds.memory_mb,
            "config": CONFIG_PATH,
            "filters": sorted(self.filters),
            "js_values": js_values,
        }
        replies: list[dict] = []
        try:
            worker.conn.send(request)
            while len(replies) < len(jobs) and not (replies and replies[-1].get("recycle")):
                started = time.monotonic()
                try:
                    replies += self._await(worker, started + bounds.timeout_s + GRACE_S)
                finally:
                    bounds.charge(time.monotonic() - started)
                if bounds.left_s() <= 0:
                    break
        except _Hung:
            worker.close()
            return replies + [_failure(
                f"rendering took longer than {bounds.timeout_s:g} s and was stopped "
                f"(raise `limits.render_timeout_s` in {CONFIG_PATH} if the template is meant to take that long)"
            )]
        except (EOFError, OSError, ValueError, KeyError, TypeError) as exc:
            worker.close()
            return replies + [_failure(f"the render worker stopped ({type(exc).__name__}); the prompt was not rendered")]
        except BaseException:
            worker.close()  # the conversation is cut mid-way (e.g. reading an include failed): start afresh
            raise
        if len(replies) < len(jobs) or replies[-1].get("recycle"):
            worker.close()  # it is still rendering the rest of the batch, or its heap is spent
        else:
            _POOL.give(worker)
        return replies

    def _await(self, worker: _Process, deadline: float) -> list[dict]:
        """The next replies from the worker, serving its file reads meanwhile; _Hung past `deadline`."""
        max_reply = 6 * self.bounds.max_rendered_bytes * BATCH + MB  # JSON escapes at most 6 bytes per byte
        while True:
            left = deadline - time.monotonic()
            if left <= 0 or not worker.conn.poll(left):
                raise _Hung
            message = json_loads(worker.conn.recv_bytes(max_reply), max_depth=render_worker.MAX_FILTER_DEPTH + 3)
            if "filter" in message:  # its time is the template's: the deadline is not moved
                worker.conn.send(self._filter(str(message["filter"]), message.get("args")))
                continue
            if "read" not in message:
                return list(message["done"])
            started = time.monotonic()
            worker.conn.send(self._file(str(message["read"])))
            deadline += time.monotonic() - started  # reading the tree is not the template's time

    def _filter(self, name: str, args: Any) -> tuple[str, Any]:
        """A template's call of a nunjucks filter, run in the sandbox: ("value", what it returned) or ("error", why)."""
        code = self.filters.get(name)
        if code is None or not isinstance(args, list):
            return "error", f"no nunjucks filter named {name!r}"
        try:
            value = transform_sync(code, args, {}, self.code_limits)
        except SandboxError as exc:
            return "error", f"nunjucks filter {name} ({code.file}): {exc.message}"
        return "value", value

    def _file(self, path: str) -> tuple[str, Any]:
        try:
            return "file", read_bounded(self.tree, normalize(path), self.bounds.max_file_bytes)
        except FileTooLarge as exc:
            return "refused", (
                f"included file {exc.path} is {exc.size:,} bytes, over the limit of {exc.limit:,} "
                f"(raise `limits.max_prompt_bytes` in {CONFIG_PATH})"
            )

    def _error(self, error: dict, prompt: PromptSpec, where: str) -> SourceError:
        message, line = str(error["message"]), error["line"]
        if error["file"]:  # a prompt file or an included file
            return SourceError(str(error["file"]), message, line)
        if prompt.format == "chat":  # the line is within the message's content, not the file
            at = f", line {line}" if line is not None else ""
            owners = [i for i, (_, content) in enumerate(prompt.messages) for _ in _templates(content)]
            index = int(error["index"])
            return SourceError(where, f"message {(owners[index] if index < len(owners) else index) + 1}{at}: {message}")
        return SourceError(where, message, line)

    def dependencies(self, prompt: PromptSpec) -> tuple[str, ...]:
        """Files a prompt reads: its own file and every statically named include/import/extends."""
        if prompt.code is not None:  # a prompt function: its own file (it imports nothing)
            return (prompt.source,) if prompt.source else ()
        seen: list[str] = []
        todo: list[tuple[str | None, str]] = [(prompt.source, prompt.template)]
        if prompt.format == "chat":
            todo += [(None, text) for _, c in prompt.messages for text in _templates(c)]
        if prompt.source:
            seen.append(prompt.source)
        while todo:
            source, text = todo.pop()
            try:
                names = meta.find_referenced_templates(self.env.parse(text))
            except jinja2.TemplateSyntaxError:
                continue
            for name in names:
                if name is None:
                    continue  # dynamic include: the rendered output comparison still catches it
                path = self.env.join_path(name, source) if source else normalize(name)
                if path in seen:
                    continue
                seen.append(path)
                raw = self.files.read(path)
                if raw is not None:
                    todo.append((path, raw.decode("utf-8", errors="replace")))
        return tuple(seen)
