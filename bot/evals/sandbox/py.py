"""python assertions in a child interpreter under limits: an empty environment, a scratch directory
removed afterwards, RLIMIT_CPU/AS/FSIZE/NOFILE/NPROC, a wall-clock deadline that kills the process
group, an output cap, and — where the platform allows — fresh network, mount and IPC namespaces with
the scratch directory as its root and the user `nobody`. An audit hook refuses sockets, processes,
ctypes and files outside the scratch directory in every mode. docs/sandbox.md says what each mode
isolates.

Semantics follow promptfoo: an inline value is an expression (one line) or the body of
`def main(output, context)` (several lines); `file://x.py[:name]` calls `name` (default
`get_assert`) with (output, context). Only the standard library is importable.
"""

from __future__ import annotations

import json
import marshal
import os
import selectors
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from enum import Enum
from functools import cache
from pathlib import Path
from typing import Any

from bot.core import safejson
from bot.evals.sandbox.bridge import MAX_REQUEST_BYTES, MAX_URL_CHARS, Request, Send
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

LANGUAGE = "Python"
# PyCode.function of a file run as a script (promptfoo's Python prompt without a function): sys.argv[1] is the JSON of
# the value given, what it prints is the result (py_child.SCRIPT)
SCRIPT = "__main__"
EXEC = "__exec__"  # PyCode.function of a file run by promptfoo's exec provider: argv the args given, its stdout/stderr/status returned
CHILD = str(Path(__file__).with_name("py_child.py"))
STARTUP_GRACE_S = 2.0  # interpreter start-up on a loaded machine; the code itself gets `timeout_s`
FILE_BYTES = 1_000_000  # one file the code writes in its scratch directory
REFUSED_STATUS = 71  # py_child.REFUSED_STATUS
FRAME = b"\x1e"  # py_child.FRAME: what begins a line of the code's request to the bridge
MAX_FRAME_BYTES = 2 * MAX_REQUEST_BYTES  # one request's line: its body, headers and the JSON around them
SHIMS = Path(__file__).with_name("py_shims")
MAX_ANSWER_DEPTH = 64


class Isolation(str, Enum):
    JAIL = "jail"  # root: new net/mount/IPC/PID namespaces, chroot into a tmpfs (scratch + stdlib read-only), nobody
    USERJAIL = "userjail"  # not root: the same inside an unprivileged user namespace, every capability dropped
    HOOK = "hook"  # no namespaces available: the audit hook and resource limits only


@cache
def shim_sources() -> dict[str, str]:
    """The sandbox's own modules by name (py_shims/requests_exceptions.py is `requests.exceptions`, urllib_request.py
    the `urllib.request` of provider calls; _prompt_review_sdk.py what the model SDKs share)."""
    return {p.stem.replace("_", ".", 1) if p.stem.startswith(("requests_", "urllib_")) else p.stem: p.read_text(encoding="utf-8")
            for p in sorted(SHIMS.glob("*.py"))}


# Packages outside the standard library that suite Python code may import in the sandbox: pure Python, read from
# prompt-review's own installation (PyYAML, a dependency: `yaml.safe_load` of a test's fixture is common in suite code;
# its C speed-ups are left out, and it falls back to its Python parser as it does without libyaml)
LIBRARIES = ("yaml",)


@cache
def library_modules(name: str) -> tuple[tuple[str, str, str], ...]:
    """A library of LIBRARIES as (module name, path under the library's folder, text) for each of its modules."""
    import importlib.util

    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        return ()
    folder = Path(next(iter(spec.submodule_search_locations)))
    return tuple((name if p.stem == "__init__" else f"{name}.{p.stem}", f"{name}/{p.name}", p.read_text(encoding="utf-8"))
                 for p in sorted(folder.glob("*.py")))


@dataclass(frozen=True)
class PyModule:
    """One imported module: its dotted name, its repo path ('' for a folder without __init__.py: a namespace
    package) and its text."""

    name: str
    path: str
    written: str

    @property
    def package(self) -> bool:
        return not self.path or self.path.endswith("/__init__.py")


@dataclass(frozen=True)
class PyCode:
    """One python assertion's code: an inline value, or a file's text and the function to call."""

    source: str
    file: str | None = None  # the file's repo path for file:// refs (messages, tracebacks)
    function: str | None = None  # default get_assert
    # the repository's modules it imports (bot.evals.sandbox.py_modules.link_python), handed to the child by name; part
    # of its identity (bot.evals.suite.required)
    modules: tuple[PyModule, ...] = ()
    # imports found neither in the standard library, the sandbox's modules nor the repository: (file, line, name)
    unresolved: tuple[tuple[str, int, str], ...] = field(default=(), compare=False)
    libraries: tuple[str, ...] = ()  # the LIBRARIES it imports (handed to the child as modules, not the repository's)

    @classmethod
    def inline(cls, value: str) -> PyCode:
        return cls(value)


def _works(cmd: list[str]) -> bool:
    try:
        return subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, timeout=10, env={}).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


@cache
def available() -> tuple[Isolation, ...]:
    """The modes this machine allows, strongest first (probed once per process)."""
    modes = []
    if shutil.which("unshare") and sys.platform.startswith("linux"):
        if os.geteuid() == 0 and _works([*_command(Isolation.JAIL)[:-5], "true"]):
            modes.append(Isolation.JAIL)
        if _works([*_command(Isolation.USERJAIL)[:-5], "true"]):
            modes.append(Isolation.USERJAIL)
    return (*modes, Isolation.HOOK)


def isolation() -> Isolation:
    """The strongest mode this machine allows: what every call uses unless told otherwise."""
    return available()[0]


_NAMESPACES = ["--net", "--mount", "--ipc", "--pid", "--fork", "--propagation", "private"]


def _command(mode: Isolation) -> list[str]:
    python = [sys.executable, "-I", "-S", "-B", CHILD]
    unshare = shutil.which("unshare") or "unshare"
    if mode is Isolation.JAIL:
        return [unshare, *_NAMESPACES, "--", *python]
    if mode is Isolation.USERJAIL:
        return [unshare, "--user", "--map-root-user", *_NAMESPACES, "--", *python]
    return python


def run_python(
    code: PyCode,
    output: Any,
    context: dict[str, Any],
    threshold: float | None = None,
    limits: CodeLimits | None = None,
    mode: Isolation | None = None,
    audit_hook: bool = True,
    files: RepoFiles | None = None,
) -> CodeResult:
    """Judge `output` with `code` in a fresh child process (reading the repository through `files`, when given).
    Raises SandboxError when a limit stopped it.

    `audit_hook=False` exists for the tests that check what the kernel alone enforces in a jail."""
    answer = _evaluate(code, output, context, limits or CodeLimits(), mode, audit_hook, files=files)
    if "threw" in answer:
        return threw(LANGUAGE, _clip(str(answer["threw"]), 2000) + _at(answer))
    if answer.get("type") == "NoneType":
        return CodeResult(False, 0.0, "Python code returned None (a function body needs `return`)")
    return judge(answer.get("value"), threshold, LANGUAGE)


def transform_python(
    code: PyCode, output: Any, context: dict[str, Any], limits: CodeLimits | None = None, mode: Isolation | None = None,
    files: RepoFiles | None = None,
) -> Any:
    """What `code` returns for `output` (a `transform`/`transformVars`), as a JSON value. Code that
    throws is a SandboxError (Fault.THREW): promptfoo errors the case too. With `files` (code run while a suite
    loads), the code reads the repository through it: py_child._RepoFiles asks, `files` answers and records."""
    answer = _evaluate(code, output, context, limits or CodeLimits(), mode, True, files=files)
    if "threw" in answer:
        message = f"Python code threw an error: {_clip(str(answer['threw']), 2000)}{_at(answer)}"
        raise SandboxError(Fault.THREW, message)
    return answer.get("value")


def call_python_provider(code: PyCode, args: list[Any], limits: CodeLimits | None = None, env: dict[str, str] | None = None,
                         send: Send | None = None, files: RepoFiles | None = None) -> Any:
    """What a provider written in Python returns for `args` (promptfoo's call_api(prompt, options, context)), as a
    JSON value; `async def` is run to its end. It runs like an assertion (standard library only), and with `send`
    it has the sandbox's own modules (py_shims: `openai`, `anthropic`, `requests`, `httpx`, `urllib.request`, `dotenv`),
    whose requests `send` answers: the only way out of the sandbox, which still has no network of its own. `env` is the code's os.environ (the credentials'
    placeholders). The waits for answers do not count against the time limit. Code that throws is a SandboxError
    (Fault.THREW): the case is an error, as in promptfoo; `send` raising ends the call with its error."""
    answer = _evaluate(code, None, {}, limits or CodeLimits(), None, True, args, env, send, files)
    if "threw" in answer:
        raise SandboxError(Fault.THREW, f"the provider's code threw an error: {_clip(str(answer['threw']), 2000)}{_at(answer)}")
    return answer.get("value")


def _evaluate(
    code: PyCode, output: Any, context: dict[str, Any], limits: CodeLimits, mode: Isolation | None, audit_hook: bool,
    args: list[Any] | None = None, env: dict[str, str] | None = None, send: Send | None = None,
    files: RepoFiles | None = None,
) -> dict[str, Any]:
    """{"type", "value"} or {"threw", "line"}; limits and refusals raise SandboxError (a bound the code hit reading the
    repository through `files`, a call's own bounds, is said as such)."""
    if files is not None:
        files.begin()
    try:
        return _evaluate_once(code, output, context, limits, mode, audit_hook, args, env, send, files)
    except SandboxError:
        if files is not None:
            files.raise_refusal()
        raise


def _evaluate_once(
    code: PyCode, output: Any, context: dict[str, Any], limits: CodeLimits, mode: Isolation | None, audit_hook: bool,
    args: list[Any] | None, env: dict[str, str] | None, send: Send | None, files: RepoFiles | None,
) -> dict[str, Any]:
    mode = mode or isolation()
    request = {
        "repo": {"cwd": files.cwd} if files is not None else None,
        "args": args,
        "shims": shim_sources() if send is not None else None,
        "modules": [[m.name, m.path, m.written] for m in code.modules]
                   + [list(m) for library in code.libraries for m in library_modules(library)] or None,
        "kind": "file" if code.file else "inline",
        "file": code.file,
        "function": code.function,
        "source": code.source,
        "output": output,
        "context": context,
        "isolation": mode.value,
        "audit_hook": audit_hook,
        "cpu_s": limits.timeout_s,
        "memory_bytes": limits.memory_mb * 1024 * 1024,
        "output_bytes": limits.max_output_bytes,
        "file_bytes": FILE_BYTES,
    }
    with tempfile.TemporaryDirectory(prefix="prompt-review-code-") as scratch:
        plain = json.loads(json.dumps(request, default=str))  # plain values only: marshal is the child's fast reader
        Path(scratch, "request.marshal").write_bytes(marshal.dumps(plain))
        started = time.monotonic()
        answer, status, stopped = _run(_command(mode), scratch, limits, env or {}, send, files)
        if stopped is None and not answer and time.monotonic() - started >= limits.timeout_s:
            stopped = Fault.TIMEOUT  # killed at the hard CPU limit after ignoring the soft one
    return _answer(answer, status, stopped, code, limits)


def _run(cmd: list[str], scratch: str, limits: CodeLimits, env: dict[str, str], send: Send | None,
         files: RepoFiles | None = None) -> tuple[bytes, int, Fault | None]:
    """(what the child answered, its exit status, the fault we stopped it for, if any). With `send` (a provider's
    network) or `files` (the repository, read-only), the lines the child writes before its answer that begin with
    FRAME are its requests, each answered on its stdin."""
    bridged = send is not None or files is not None
    proc = subprocess.Popen(
        cmd,
        cwd=scratch,
        env=env,
        stdin=subprocess.PIPE if bridged else subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        process_group=0,
        close_fds=True,
    )
    deadline = time.monotonic() + limits.timeout_s + STARTUP_GRACE_S
    data = bytearray()  # a request being read, then the answer
    stopped = None
    assert proc.stdout is not None
    with selectors.DefaultSelector() as sel:
        sel.register(proc.stdout, selectors.EVENT_READ)
        try:
            while True:
                left = deadline - time.monotonic()
                if left <= 0:
                    stopped = Fault.TIMEOUT
                    break
                if not sel.select(left):
                    continue
                chunk = os.read(proc.stdout.fileno(), 65536)
                if not chunk:
                    break
                data += chunk
                while bridged and data.startswith(FRAME) and b"\n" in data:
                    line, _, rest = bytes(data).partition(b"\n")
                    data = bytearray(rest)
                    waited = time.monotonic()
                    reply = _answer_request(line[len(FRAME):], send, files)
                    deadline += time.monotonic() - waited  # the code's time limit counts its own running only
                    if not _write(proc, reply, deadline):
                        stopped = Fault.TIMEOUT
                        break
                if stopped is not None:
                    break
                bound = MAX_FRAME_BYTES if bridged and data.startswith(FRAME) else limits.max_output_bytes
                if len(data) > bound:
                    stopped = Fault.OUTPUT
                    break
        finally:
            if stopped is not None or proc.poll() is None:
                _kill(proc)
            try:
                status = proc.wait(timeout=limits.timeout_s + STARTUP_GRACE_S)
            except subprocess.TimeoutExpired:
                _kill(proc)
                status = proc.wait()
            proc.stdout.close()
            if proc.stdin is not None:
                try:
                    proc.stdin.close()
                except BrokenPipeError:
                    pass
    return bytes(data), status, stopped


def _answer_request(raw: bytes, send: Send | None, files: RepoFiles | None = None) -> bytes:
    """The line that answers one request of the code's: a question about the repository's files (`files`), or a
    request for the network (`send`). A line that is neither is refused (the code wrote it itself); `send` raising (a
    request the rules refuse) ends the call."""
    try:
        r = safejson.loads(raw, 8)
        if files is not None and isinstance(r, dict) and "fs" in r:
            return files.answer(str(r["fs"]), str(r["path"])).encode("utf-8") + b"\n"
        if send is None:
            raise KeyError("fetch")
        request = Request(int(r["id"]), "fetch", str(r["url"])[:MAX_URL_CHARS + 1], str(r["method"])[:16],
                          {str(k): str(v) for k, v in dict(r["headers"]).items()},
                          r["body"] if isinstance(r["body"], str) else None,
                          float(r["timeout"]) if isinstance(r["timeout"], (int, float)) else None)
    except (ValueError, KeyError, TypeError, AttributeError, safejson.JsonTooDeep):
        raise SandboxError(Fault.REFUSED, "the code wrote to the sandbox's network bridge something that is not a request "
                                          "(use the sandbox's openai or requests module)") from None
    return send(request).as_json().encode("utf-8") + b"\n"


def _write(proc: subprocess.Popen, data: bytes, deadline: float) -> bool:
    """`data` written to the child's stdin, or False when it did not read it by `deadline` (its own time: it
    asked and does not listen). A child that ended reads nothing: its status says why."""
    assert proc.stdin is not None
    fd = proc.stdin.fileno()
    os.set_blocking(fd, False)
    view = memoryview(data)
    with selectors.DefaultSelector() as sel:
        sel.register(fd, selectors.EVENT_WRITE)
        while view:
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            if not sel.select(left):
                continue
            try:
                view = view[os.write(fd, view):]
            except BlockingIOError:
                continue
            except BrokenPipeError:
                return True
    return True


def _kill(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def _answer(raw: bytes, status: int, stopped: Fault | None, code: PyCode, limits: CodeLimits) -> dict[str, Any]:
    if stopped is Fault.TIMEOUT or status == -signal.SIGXCPU:
        raise timeout_error(limits)
    if stopped is Fault.OUTPUT:
        raise output_error(limits)
    if status == -signal.SIGXFSZ:
        raise SandboxError(Fault.OUTPUT, f"the code wrote a file larger than {FILE_BYTES:,} bytes and was stopped")
    try:
        answer = safejson.loads(raw, MAX_ANSWER_DEPTH) if raw else None
    except safejson.JsonTooDeep:
        raise too_deep_error() from None
    except ValueError:
        answer = None
    if not isinstance(answer, dict):
        how = f"signal {-status}" if status < 0 else f"exit status {status}"
        raise SandboxError(Fault.CRASHED, f"the Python process ended ({how}) without an answer")
    where = code.file or "the assertion"
    if "refused" in answer:
        raise SandboxError(
            Fault.REFUSED,
            f"the code tried `{_clip(str(answer['refused']), 200)}`, which the sandbox refuses (no network, "
            "no processes, no ctypes, no files outside its scratch directory)",
        )
    if answer.get("fault") == "cpu":
        raise timeout_error(limits)
    if answer.get("fault") == "file":
        raise SandboxError(Fault.OUTPUT, f"the code wrote a file larger than {FILE_BYTES:,} bytes and was stopped")
    if answer.get("fault") == "memory":
        raise memory_error(limits)
    if answer.get("fault") == "stack":
        raise stack_error()
    if answer.get("fault") == "deep":
        raise too_deep_error()
    if answer.get("fault") == "output":
        raise output_error(limits)
    if "missing" in answer:
        raise SandboxError(Fault.UNSUPPORTED, f"{where} defines no function {answer['missing']!r} to call")
    if "module" in answer:
        raise SandboxError(
            Fault.UNSUPPORTED,
            f"{where}{_at(answer)} imports {answer['module']!r}, which is not in Python's standard library nor the repository; "
            "the sandbox has the standard library, PyYAML (yaml) and the repository's own modules (and, for a provider, its "
            "own openai, anthropic, requests, httpx and dotenv)",
        )
    return answer


def _at(answer: dict) -> str:
    return f" (line {answer['line']})" if isinstance(answer.get("line"), int) else ""


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit] + "…"
