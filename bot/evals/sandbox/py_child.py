"""The child side of a python assertion, run as `python -I -S -B py_child.py` with an empty environment
in a fresh scratch directory (see bot/evals/sandbox/py.py and docs/sandbox.md). Standard library only:
nothing of the service is importable here.

Order matters: read the request, close the way back to the parent's stdout, (as root inside fresh
mount/network namespaces) put the scratch directory on a small tmpfs, bind the standard library
read-only into it, chroot there and become `nobody`; then resource limits; then the audit hook;
only then the user's code.
"""

import _signal  # the C module: `signal` imports enum, which costs more than the assertion
import marshal
import os
import resource
import sys

NOBODY = 65534
REFUSED_STATUS = 71
SCRATCH_BYTES = 16 * 1024 * 1024
MAX_WRITES = 64  # files opened for writing, so a loop of small files cannot fill a disk either


class _Printed:
    """sys.stdout/sys.stderr for the user's code: counted, kept nowhere; past the cap the call stops."""

    def __init__(self, cap, report):
        self.cap, self.report, self.size = cap, report, 0

    def write(self, text):
        self.size += len(text)
        if self.size > self.cap:
            self.report({"fault": "output"}, 0)
        return len(text)

    def flush(self):
        pass


class _Captured(_Printed):
    """sys.stdout for a script run as a prompt: what it prints is kept (up to the cap) and is its answer."""

    def __init__(self, cap, report):
        super().__init__(cap, report)
        self.parts = []

    def write(self, text):
        self.parts.append(str(text))
        return super().write(text)


SCRIPT = "__main__"  # py.SCRIPT: run the file as a script, not a function of it


class _ScriptExit(Exception):
    """The script ended with a non-zero exit status (promptfoo's Python runner then fails the prompt)."""


def _main(request, report, argv):
    """The file run as `__main__` with `argv`: (what it printed, what it printed on stderr, the status it exited with:
    None when it did not call sys.exit, 1 for an exit with a message)."""
    out, err = _Captured(request["output_bytes"], report), _Captured(request["output_bytes"], report)
    sys.stdout, sys.stderr = out, err
    sys.argv = argv
    scope = {"__name__": "__main__", "__file__": request.get("here") or request["file"]}
    code = None
    try:
        exec(compile(request["source"], request["file"], "exec"), scope)
    except SystemExit as done:
        code = done.code if isinstance(done.code, int) or done.code is None else 1
    return "".join(out.parts), "".join(err.parts), code


def _script(request, report):
    """promptfoo's legacy Python prompt: the file run as `__main__` with the context's JSON as sys.argv[1]; what
    it printed is the prompt as python-shell's text mode hands it over: its lines (split at "\n") that are not
    empty, joined by "\n" (an empty line is never pushed by its splitter)."""
    out, _, status = _main(request, report, [request["file"], _json(request["output"])])
    if status is not None and status != 0:
        raise _ScriptExit("the script exited with status " + int.__repr__(status))
    return "\n".join(line for line in out.split("\n") if line)


EXEC = "__exec__"  # py.EXEC: run the file as a script with request["args"] as its arguments (promptfoo's exec provider)


def _exec(request, report):
    """promptfoo's exec provider: the file run as `__main__` with its arguments; {stdout, stderr, code} of what it
    printed and the status it exited with (None: it did not call sys.exit)."""
    out, err, code = _main(request, report, [request["file"], *[str(a) for a in request["args"]]])
    return {"stdout": out, "stderr": err, "code": code}


_ESCAPES = {i: "\\u%04x" % i for i in range(32)}
_ESCAPES.update({ord('"'): '\\"', ord("\\"): "\\\\"})


class _TooDeep(ValueError):
    """The returned value nests deeper than the parent reads (py.MAX_ANSWER_DEPTH)."""


def _json(value, depth=0):
    """JSON text for the answer, without importing json (its import costs more than most assertions)."""
    if depth > 64:
        raise _TooDeep("too deep")
    if value is None or value is True or value is False:
        return {None: "null", True: "true", False: "false"}[value]
    if isinstance(value, int):
        return int.__repr__(value)
    if isinstance(value, float):
        return float.__repr__(value) if value - value == 0 else ("NaN" if value != value else ("-" if value < 0 else "") + "Infinity")
    if isinstance(value, str):
        return '"' + value.translate(_ESCAPES) + '"'
    if isinstance(value, dict):
        return "{" + ",".join(_json(str(k), depth + 1) + ":" + _json(v, depth + 1) for k, v in value.items()) + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ",".join(_json(v, depth + 1) for v in value) + "]"
    return _json(str(value), depth + 1)


def _answerer(fd):
    def report(answer, status):
        data = _json(answer).encode("utf-8", "replace")
        while data:
            data = data[os.write(fd, data):]
        os._exit(status)

    return report


FRAME = b"\x1e"  # py.FRAME: a line the code's request takes to the parent, before the answer


def _bridge(request_fd, answer_fd):
    """`fetch` for the sandbox's `openai`, `anthropic`, `requests` and `httpx`: the request goes to the parent as one line, which
    sends it where the rules allow (bot.evals.providers_code.Bridge) and writes back one line: {status,
    statusText, headers, body} or {error}. A request the rules refuse ends the call in the parent."""
    sent = [0]

    def fetch(method, url, headers=None, body=None, timeout=None):
        sent[0] += 1
        if body is not None and not isinstance(body, str):
            raise TypeError("the request body must be text (str) in the sandbox")
        frame = {"id": sent[0], "kind": "fetch", "url": str(url), "method": str(method).upper(),
                 "headers": {str(k): str(v) for k, v in (headers or {}).items()}, "body": body,
                 "timeout": float(timeout) * 1000 if isinstance(timeout, (int, float)) and not isinstance(timeout, bool) else None}
        return _exchange(request_fd, answer_fd, frame)

    return fetch


def _exchange(request_fd, answer_fd, frame):
    """One question to the parent on the bridge (a line that begins with FRAME) and its answer (a line of JSON)."""
    import json

    data = FRAME + _json(frame).encode("utf-8", "replace") + b"\n"
    while data:
        data = data[os.write(request_fd, data):]
    line = bytearray()
    while not line.endswith(b"\n"):
        chunk = os.read(answer_fd, 1 << 20)
        if not chunk:
            raise ConnectionError("the sandbox's network bridge closed")
        line += chunk
    return json.loads(line.decode("utf-8"))


class _RepoFiles:
    """The repository, read-only, for code that runs while its suite loads (bot.evals.sandbox.repo_files): the scratch
    directory stands for the repository's root (the code runs in its suite's folder there, its `__file__` under it), and
    a read of a file the code has not written there asks the parent for the repository's file, one line each way on
    the bridge. `open` for reading, `os.stat`/`os.lstat` (and so os.path and pathlib), `os.listdir` and `os.scandir`
    see the repository through it; writes stay in the scratch directory and are thrown away."""

    def __init__(self, root, request_fd, answer_fd, refuse):
        self.root, self.request_fd, self.answer_fd, self.refuse = root, request_fd, answer_fd, refuse
        self.open, self.stat, self.lstat, self.listdir, self.scandir = open, os.stat, os.lstat, os.listdir, os.scandir

    def inside(self, path):
        """The repository path `path` names when it is under the scratch directory ('' for its root), else None."""
        if isinstance(path, int) or not isinstance(path, (str, bytes, os.PathLike)):
            return None
        full = os.path.abspath(os.fsdecode(path))
        if full == self.root:
            return ""
        return full[len(self.root) + 1:] if full.startswith(self.root + "/") else None

    def repo_path(self, path):
        """The repository path `path` names, when it is under the scratch directory and not a file the code wrote."""
        where = self.inside(path)
        if where is None:
            return None
        try:
            self.lstat(os.path.join(self.root, where))
            return None  # the code's own file (or a folder the sandbox made): the real one
        except OSError:
            return where

    def realpath(self, path):
        """os.path.realpath on the real file system: with the real os.lstat, not the stand-in's."""
        patched = os.lstat
        os.lstat = self.lstat
        try:
            return os.path.realpath(path)
        finally:
            os.lstat = patched

    def ask(self, op, path):
        answer = _exchange(self.request_fd, self.answer_fd, {"fs": op, "path": "/repo/" + path})
        if "refused" in answer:
            self.refuse("reading the repository: " + str(answer["refused"]))
        if "error" in answer:
            import errno

            code = {"ENOENT": errno.ENOENT, "EISDIR": errno.EISDIR, "ENOTDIR": errno.ENOTDIR}.get(answer["error"], errno.EINVAL)
            kind = {errno.ENOENT: FileNotFoundError, errno.EISDIR: IsADirectoryError,
                    errno.ENOTDIR: NotADirectoryError}.get(code, OSError)
            raise kind(code, os.strerror(code), os.path.join(self.root, path))
        return answer

    def install(self):
        import builtins
        import io

        reader = self

        def open_(file, mode="r", buffering=-1, encoding=None, errors=None, newline=None, closefd=True, opener=None):
            where = reader.repo_path(file) if not any(c in mode for c in "wax+") else None
            if where is None:
                return reader.open(file, mode, buffering, encoding, errors, newline, closefd, opener)
            answer = reader.ask("read", where)
            if "base64" in answer:
                import base64

                raw = base64.b64decode(answer["base64"])
            else:
                raw = answer["text"].encode("utf-8")
            buffer = io.BytesIO(raw)
            buffer.name = os.fsdecode(file)  # a text wrapper's name is its buffer's
            return buffer if "b" in mode else io.TextIOWrapper(buffer, encoding=encoding or "utf-8", errors=errors,
                                                               newline=newline)

        def stat_(path, *args, dir_fd=None, follow_symlinks=True):
            where = reader.repo_path(path) if dir_fd is None else None
            if where is None:
                return reader.stat(path, *args, dir_fd=dir_fd, follow_symlinks=follow_symlinks)
            answer = reader.ask("stat", where)
            mode = 0o100644 if answer.get("type") == "file" else 0o40755
            return os.stat_result((mode, 0, 0, 1, 0, 0, int(answer.get("size") or 0), 0, 0, 0))

        def lstat_(path, *, dir_fd=None):
            return stat_(path, dir_fd=dir_fd, follow_symlinks=False)

        def entries(path):
            """A folder's [name, is_dir] in the repository and in the scratch directory together (the code's own files
            and folders, and those the sandbox made, beside the repository's); None outside the scratch directory."""
            where = reader.inside("." if path is None else path)
            if where is None:
                return None
            real = os.path.join(reader.root, where)
            try:
                with reader.scandir(real) as listing:
                    own = {entry.name: entry.is_dir() for entry in listing}
            except OSError:
                own = None
            try:
                found = dict(reader.ask("list", where)["entries"])
            except OSError:
                if own is None:
                    raise
                found = {}
            found.update(own or {})
            return sorted(found.items())

        def listdir_(path=None):
            found = entries(path)
            return reader.listdir(path if path is not None else ".") if found is None else [name for name, _ in found]

        def scandir_(path=None):
            found = entries(path)
            if found is None:
                return reader.scandir(path if path is not None else ".")
            base = os.fsdecode(path if path is not None else ".")
            return _Listing([_Entry(name, os.path.join(base, name), is_dir, stat_) for name, is_dir in found])

        builtins.open = io.open = open_
        os.stat, os.lstat, os.listdir, os.scandir = stat_, lstat_, listdir_, scandir_


class _Entry:
    """os.DirEntry for a file or folder of the repository."""

    def __init__(self, name, path, is_dir, stat):
        self.name, self.path, self._dir, self._stat = name, path, is_dir, stat

    def is_dir(self, *, follow_symlinks=True):
        return self._dir

    def is_file(self, *, follow_symlinks=True):
        return not self._dir

    def is_symlink(self):
        return False

    def is_junction(self):
        return False

    def inode(self):
        return 0

    def stat(self, *, follow_symlinks=True):
        return self._stat(self.path)

    def __fspath__(self):
        return self.path


class _Listing(list):
    """What os.scandir returns: an iterator that is also a context manager."""

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def close(self):
        pass


class _Shims:
    """Modules by name, found before anything else: the sandbox's own (bot/evals/sandbox/py_shims: `openai`,
    `anthropic`, `requests`, `httpx`; `_prompt_review_bridge` is the bridge's `fetch`) and the repository's modules the
    code imports (bot/evals/sandbox/py_modules.py), each run from its text under its repository path."""

    def __init__(self, sources, files, fetch, root=None):
        self.sources, self.files, self.fetch, self.root = sources, files, fetch, root

    def find_spec(self, name, path=None, target=None):
        if name not in self.sources and not (name == "_prompt_review_bridge" and self.fetch is not None):
            return None
        from importlib.machinery import ModuleSpec

        file = self.files.get(name)
        package = (file is not None and (not file or file.endswith("/__init__.py"))) or \
            any(other.startswith(name + ".") for other in self.sources)
        return ModuleSpec(name, self, origin=file or "sandbox:" + name, is_package=package)

    def create_module(self, spec):
        return None

    def exec_module(self, module):
        if module.__name__ == "_prompt_review_bridge":
            module.fetch = self.fetch
            return
        file = self.files.get(module.__name__)
        if file:
            module.__file__ = os.path.join(self.root, file) if self.root else file  # under the repository's stand-in
        exec(compile(self.sources[module.__name__], file or "<sandbox's " + module.__name__ + ">", "exec"), module.__dict__)


def _stdlib_dirs():
    """sys.path's directories as written (the jail recreates them at the same places), outermost only."""
    dirs = []
    for entry in sorted({os.path.abspath(p) for p in sys.path if p and os.path.isdir(p)}, key=len):
        if not any(entry == d or entry.startswith(d + os.sep) for d in dirs):
            dirs.append(entry)
    return dirs


def _jail(scratch, stdlib, as_root):
    """Inside fresh mount, network, IPC and PID namespaces: a tmpfs root holding /scratch (the cwd) and
    the stdlib read-only, chroot into it; then lose every privilege — as real root by becoming nobody,
    as the mapped root of a user namespace by dropping every capability."""
    import ctypes  # only here, before any user code; removed from sys.modules below

    libc = ctypes.CDLL(None, use_errno=True)
    ms_rdonly, ms_nosuid, ms_nodev, ms_remount, ms_bind, ms_rec = 1, 2, 4, 32, 4096, 16384

    def check(result, what):
        if result != 0:
            raise OSError(ctypes.get_errno(), what)

    def mount(source, target, fstype, flags, data):
        check(libc.mount(source, target, fstype, flags, data), "mount " + target.decode())

    mount(b"none", scratch.encode(), b"tmpfs", ms_nosuid | ms_nodev, b"size=%d,mode=0755" % SCRATCH_BYTES)
    for d in stdlib:
        target = (scratch + d).encode()
        os.makedirs(target, mode=0o755, exist_ok=True)
        mount(d.encode(), target, None, ms_bind | ms_rec, None)
        mount(None, target, None, ms_bind | ms_remount | ms_rdonly | ms_nosuid | ms_nodev, None)
    os.mkdir(scratch + "/scratch", 0o755)
    if as_root:
        os.chown(scratch + "/scratch", NOBODY, NOBODY)
    os.chroot(scratch)
    os.chdir("/scratch")
    if as_root:
        os.setgroups([])
        os.setgid(NOBODY)
        os.setuid(NOBODY)  # drops every capability
    else:
        pr_capbset_drop, pr_set_no_new_privs = 24, 38
        for cap in range(64):
            libc.prctl(pr_capbset_drop, cap, 0, 0, 0)  # fails past the last capability: ignored

        class Header(ctypes.Structure):
            _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]

        class Data(ctypes.Structure):
            _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32), ("inheritable", ctypes.c_uint32)]

        check(libc.capset(ctypes.byref(Header(0x20080522, 0)), (Data * 2)()), "capset")
        check(libc.prctl(pr_set_no_new_privs, 1, 0, 0, 0), "no_new_privs")
    for name in [m for m in sys.modules if m == "ctypes" or m.startswith(("ctypes.", "_ctypes"))]:
        del sys.modules[name]


def _limits(request):
    cpu = max(1, int(request["cpu_s"] + 0.999))
    memory = request["memory_bytes"]
    for limit, value in (
        (resource.RLIMIT_CPU, (cpu, cpu + 1)),
        (resource.RLIMIT_AS, (memory, memory)),
        (resource.RLIMIT_FSIZE, (request["file_bytes"], request["file_bytes"])),
        (resource.RLIMIT_NOFILE, (64, 64)),
        (resource.RLIMIT_NPROC, (0, 0)),  # not enforced for root: only when we are not (jail or non-root service)
        (resource.RLIMIT_CORE, (0, 0)),
    ):
        resource.setrlimit(limit, value)


_DENIED = (
    "socket.",  # any socket: create, bind, connect, getaddrinfo…
    "os.system", "os.exec", "os.posix_spawn", "os.spawn", "os.fork", "os.forkpty", "os.kill", "os.killpg",
    "subprocess.Popen", "pty.spawn", "signal.pthread_kill",
    "ctypes.", "code.__new__", "gc.get_referrers", "gc.get_referents", "gc.get_objects",
    "os.symlink", "os.link", "os.chroot", "os.setuid", "os.setgid", "os.putenv", "os.unsetenv",
)  # fmt: skip
_DENIED_IMPORTS = {"ctypes", "_ctypes", "_posixsubprocess", "_socket", "socket", "ssl", "_ssl", "mmap", "resource"}
_LIST_EVENTS = {"os.listdir", "os.scandir"}  # the import system lists package directories of the stdlib
_PATH_EVENTS = {
    "os.chdir", "os.chmod", "os.chown", "os.remove", "os.rename", "os.rmdir",
    "os.mkdir", "os.truncate", "os.utime", "shutil.rmtree", "shutil.copyfile", "shutil.move",
}  # fmt: skip


def _hook(report, readable, writable, realpath=os.path.realpath):
    """Refuse what the code may not do; a refusal ends the process at once (it cannot be caught). `realpath` resolves
    a path on the real file system (not the repository's stand-in, _RepoFiles)."""
    writes = [0]
    readable = [realpath(r) for r in readable]
    writable = [realpath(r) for r in writable]

    def inside(path, roots):
        if isinstance(path, int):
            return True  # an fd the process already has
        real = realpath(os.fsdecode(path))
        return any(real == r or real.startswith(r.rstrip("/") + "/") for r in roots)

    def refuse(what):
        report({"refused": what}, REFUSED_STATUS)

    def hook(event, args):
        if event.startswith(_DENIED):
            refuse(event)
        elif event == "import" and args[0].partition(".")[0] in _DENIED_IMPORTS:
            refuse("import " + args[0])
        elif event == "open":
            path, mode, flags = args
            write = (mode is not None and any(c in mode for c in "wax+")) or (flags or 0) & (os.O_WRONLY | os.O_RDWR)
            if path is None:
                return
            if write:
                writes[0] += 1
                if writes[0] > MAX_WRITES or not inside(path, writable):
                    refuse("open " + os.fsdecode(path) + " for writing")
            elif not inside(path, readable):
                refuse("open " + os.fsdecode(path))
        elif event in _LIST_EVENTS:
            if args and isinstance(args[0], (str, bytes, os.PathLike)) and not inside(args[0], readable):
                refuse(event + " " + os.fsdecode(args[0]))
        elif event in _PATH_EVENTS:
            for path in args[:2]:
                if isinstance(path, (str, bytes, os.PathLike)) and not inside(path, writable):
                    refuse(event + " " + os.fsdecode(path))

    return hook


class _LazyJson:
    """promptfoo's inline code has `json` imported; importing it only when used keeps small calls fast
    (tens of milliseconds in this bare child: `python -I -S -B -X importtime -c "import json"`)."""

    def __getattr__(self, name):
        import json

        return getattr(json, name)


def _function(request):
    """promptfoo's rules: a one-line value is `return <it>`, several lines are the body of
    `def main(output, context)`; a file defines the named function (default get_assert)."""
    if request["kind"] == "file":
        filename, source, name = request["file"], request["source"], request["function"] or "get_assert"
    else:
        value = request["source"].rstrip()
        if "\n" in value:
            indent = "    "
            for line in value.split("\n"):
                stripped = line.lstrip()
                if stripped and line != stripped:
                    indent = line[: len(line) - len(stripped)]
                    break
            body = "\n".join(indent + line for line in value.split("\n"))
        else:
            body = "    return " + value.strip()
        filename, name = "<assertion>", "main"
        source = "def main(output, context):\n" + body + "\n"
    scope = {"__name__": "__assertion__", "__file__": request.get("here") or filename, "json": _LazyJson()}
    exec(compile(source, filename, "exec"), scope)
    fn = scope.get(name)
    if not callable(fn):
        return None, name
    return fn, name


def _line(exc, filename):
    tb, line = exc.__traceback__, None
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == filename:
            line = tb.tb_lineno
        tb = tb.tb_next
    if line is None and isinstance(exc, SyntaxError) and exc.filename == filename:
        line = exc.lineno
    if line is not None and filename == "<assertion>":
        line -= 1  # the inline value starts on line 2 of the generated `def main`
    return line


def _jsonable(value):
    if hasattr(type(value), "__dataclass_fields__"):  # promptfoo's GradingResult dataclass, or the user's own
        # only when needed: dataclasses (with inspect, re, …) costs tens of milliseconds to import in
        # this bare child (`python -I -S -B -X importtime -c "import dataclasses"`), more than a small assertion runs
        import dataclasses

        return dataclasses.asdict(value)
    return value


def _drive(coroutine):
    """An `async def`'s result without asyncio (whose event loop opens a socket pair the hook refuses):
    sent None until it returns; awaiting a real future (a sleep, I/O) fails, as nothing could answer it."""
    while True:
        try:
            coroutine.send(None)
        except StopIteration as done:
            return done.value


# Standard-library modules whose C part links a system library (libz, libbz2, liblzma) that the jail does
# not hold: imported before the chroot, they are there inside it (`import base64` needs binascii → libz).
PRELOADED = ("binascii", "zlib", "_bz2", "_lzma")


def main():
    scratch = os.getcwd()
    with open("request.marshal", "rb") as f:
        request = marshal.loads(f.read())  # written by the parent from plain JSON values
    os.unlink("request.marshal")
    report_fd = os.dup(1)
    report = _answerer(report_fd)
    answer_fd = os.dup(0) if request.get("shims") or request.get("repo") else None
    null = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(null, fd)
    os.close(null)
    stdlib = _stdlib_dirs()
    if request["isolation"] in ("jail", "userjail"):
        for name in PRELOADED:
            try:
                __import__(name)
            except ImportError:
                pass
        _jail(scratch, stdlib, as_root=request["isolation"] == "jail")
        scratch = "/scratch"
    sys.stdout = sys.stderr = _Printed(request["output_bytes"], report)
    _limits(request)
    # Past the soft limits the kernel signals; answer then (PID 1 of a namespace ignores default actions,
    # and the parent cannot read unshare's exit status reliably). The hard CPU limit still kills.
    _signal.signal(_signal.SIGXCPU, lambda *_: report({"fault": "cpu"}, 0))
    _signal.signal(_signal.SIGXFSZ, lambda *_: report({"fault": "file"}, 0))  # Python ignores it; past RLIMIT_FSIZE the process should end
    sources, files = dict(request.get("shims") or {}), {}
    for name, file, text in request.get("modules") or ():
        sources[name], files[name] = text, file
    repo = request.get("repo")
    root = os.path.realpath(scratch) if repo else None
    if sources:
        fetch = _bridge(report_fd, answer_fd) if answer_fd is not None and request.get("shims") else None
        sys.meta_path.insert(0, _Shims(sources, files, fetch, root))
    if repo:  # the scratch directory stands for the repository; the code runs in its suite's folder there
        os.makedirs(os.path.join(root, repo["cwd"]), exist_ok=True)
        os.chdir(os.path.join(root, repo["cwd"]))
        reader = _RepoFiles(root, report_fd, answer_fd, lambda why: report({"refused": why}, REFUSED_STATUS))
        reader.install()
        request["here"] = os.path.join(root, request["file"]) if request.get("file") else None
    if request["audit_hook"]:
        sys.addaudithook(_hook(report, [scratch, *stdlib], [scratch], reader.realpath if repo else os.path.realpath))
    filename = request["file"] if request["kind"] == "file" else "<assertion>"
    try:
        if request["kind"] == "file" and request["function"] == SCRIPT:
            value = _script(request, report)
        elif request["kind"] == "file" and request["function"] == EXEC:
            value = _exec(request, report)
        else:
            fn, name = _function(request)
            if fn is None:
                report({"missing": name}, 0)
            args = request.get("args")
            value = fn(*args) if isinstance(args, list) else fn(request["output"], request["context"])
        if type(value).__name__ == "coroutine":  # an `async def` provider: run it here (no event loop, no I/O to wait on)
            value = _drive(value)
        value = _jsonable(value)
        answer = {"type": type(value).__name__, "value": value}
    except MemoryError:
        report({"fault": "memory"}, 0)
    except RecursionError:
        report({"fault": "stack"}, 0)
    except ModuleNotFoundError as exc:
        answer = {"module": exc.name or "", "line": _line(exc, filename)}
    except BaseException as exc:  # noqa: BLE001 - the user's error is the assertion's failure (promptfoo)
        answer = {"threw": type(exc).__name__ + ": " + str(exc)[:2000], "line": _line(exc, filename)}
    try:
        report(answer, 0)
    except _TooDeep:
        report({"fault": "deep"}, 0)
    except (TypeError, ValueError):
        report({"type": "unserializable", "value": None}, 0)


if __name__ == "__main__":
    main()
