"""TypeScript suite code (.ts/.mts/.cts, and .tsx) made JavaScript for the QuickJS sandbox: types stripped by
esbuild's transform (loader `ts`, or `tsx` for .tsx files — JSX becomes React.createElement calls, as esbuild's
default; CommonJS output, no bundling: the source comes on stdin, so esbuild
opens no file and resolves no import), nothing else.

esbuild runs as its own native program (Go; node is not needed), pinned in tools/esbuild/package.json and
installed by `npm ci` there. The PyPI binding esbuild_py (0.1.6) was measured first and does not fit: its
loader is fixed to JSX (TypeScript types are a syntax error to it) and it returns an empty string instead of
esbuild's errors. Everything a PR brings is hostile, and esbuild's parser is not bounded in memory (a 400 KB
file of nested parentheses took 930 MB), so the child runs under a data-segment limit (RLIMIT_DATA: Go
cannot start under an address-space limit) and a wall-clock timeout, with one OS thread's worth of
GOMAXPROCS and an empty environment. The source is already size-bounded when it is read.

    js = transpile(text, "checks/grade.ts")   # JavaScript, CommonJS exports
    # TranspileError(file, line, column, message): esbuild's first error, located in the .ts file
"""

from __future__ import annotations

import os
import shutil
import platform
import re
import resource
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

TS_EXTS = (".ts", ".mts", ".cts", ".tsx")
TSX_EXT = ".tsx"
IMPORT_META = "__pr_import_meta"
ESBUILD_ENV = "PROMPT_REVIEW_ESBUILD"  # the esbuild executable to use instead of tools/esbuild's
TIMEOUT_S = 10.0
MEMORY_BYTES = 512 * 1024 * 1024
MAX_ERROR_CHARS = 500

_MODULES = Path(__file__).resolve().parents[3] / "tools" / "esbuild" / "node_modules"
# npm installs esbuild's native binary as the optional package of this platform (no install script needed);
# esbuild/bin/esbuild is that binary only when its install script ran (else a node shim: not used)
_ARCH = {"x86_64": "x64", "amd64": "x64", "aarch64": "arm64", "arm64": "arm64"}
# esbuild's message: "✘ [ERROR] Unexpected \"=\"" then, indented, "file.ts:2:9:"
_MESSAGE = re.compile(r"\[ERROR\]\s*(?P<message>.+)")
_LOCATION = re.compile(r"^\s+(?P<file>[^\n]+?):(?P<line>\d+):(?P<column>\d+):\s*$", re.M)


@dataclass(frozen=True)
class TranspileError(Exception):
    """TypeScript esbuild could not turn into JavaScript (or could not be run): where, and why."""

    file: str
    line: int | None
    column: int | None
    message: str

    def __str__(self) -> str:
        where = self.file if self.line is None else f"{self.file}:{self.line}:{self.column}"
        return f"{where}: {self.message}"


def is_typescript(path: str) -> bool:
    return path.lower().endswith(TS_EXTS)


def esbuild_path() -> str | None:
    """The esbuild executable, or None when it is not installed (TypeScript is then refused, saying so)."""
    given = os.environ.get(ESBUILD_ENV)
    if given:
        return given if os.access(given, os.X_OK) else None
    native = _MODULES / "@esbuild" / f"{sys.platform}-{_ARCH.get(platform.machine().lower(), platform.machine())}" / "bin" / "esbuild"
    if os.access(native, os.X_OK):
        return str(native)
    return shutil.which("esbuild")  # an installed package (the container image puts the binary on PATH)


def available() -> bool:
    return esbuild_path() is not None


def _limit_child() -> None:  # pragma: no cover - runs in the child between fork and exec
    resource.setrlimit(resource.RLIMIT_DATA, (MEMORY_BYTES, MEMORY_BYTES))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def transpile(source: str, file: str, timeout_s: float = TIMEOUT_S) -> str:
    """The JavaScript (CommonJS) for TypeScript `source`, named `file` in messages. Raises TranspileError."""
    exe = esbuild_path()
    if exe is None:
        raise TranspileError(file, None, None, "TypeScript is not run here: esbuild is not installed "
                                               "(npm ci in tools/esbuild, or set " + ESBUILD_ENV + ")")
    loader = "tsx" if file.lower().endswith(TSX_EXT) else "ts"  # `<T>x` casts are JSX to the tsx loader, as in tsc
    # import.meta (empty in CommonJS) names the module: bot.evals.sandbox.js_code rewrites the name to Node's values
    args = [exe, f"--loader={loader}", "--format=cjs", "--log-level=error", "--color=false", "--log-limit=1",
            f"--define:import.meta={IMPORT_META}",
            f"--sourcefile={Path(file).name}"]
    try:
        done = subprocess.run(args, input=source.encode("utf-8"), capture_output=True, timeout=timeout_s,
                              env={"GOMAXPROCS": "1"}, preexec_fn=_limit_child, cwd="/", check=False)
    except subprocess.TimeoutExpired:
        raise TranspileError(file, None, None, f"esbuild took over {timeout_s:g}s to transpile it") from None
    if done.returncode == 0:
        return done.stdout.decode("utf-8", errors="replace")
    err = done.stderr.decode("utf-8", errors="replace")
    if "cannot allocate memory" in err or "out of memory" in err:
        raise TranspileError(file, None, None, f"esbuild needed over {MEMORY_BYTES // (1024 * 1024)} MB to transpile it")
    message, location = _MESSAGE.search(err), _LOCATION.search(err)
    text = message.group("message").strip() if message else (err.strip().splitlines() or ["esbuild failed"])[0]
    text = text[:MAX_ERROR_CHARS]
    if location is None:
        raise TranspileError(file, None, None, f"esbuild: {text}")
    raise TranspileError(file, int(location.group("line")), int(location.group("column")) + 1, f"TypeScript syntax error: {text}")
