"""Hostile pull-request content, each attack in its own process: peak RSS, wall time and the
error the reviewer gave. Run: .venv/bin/python bench/hostile.py [NAME-SUBSTRING ...]

Attacks live in bench/hostile_*.py modules, each exposing CASES: a list of (name, callable).
A callable runs one attack in-process and returns the clear error it got as a string (the
message a user would read); returning None or raising anything else means "no clear error".
Target (issue #16): every case ends with a clear error in under 10 s and under 300 MB RSS.
"""

from __future__ import annotations

import importlib
import json
import pkgutil
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

TARGET_S, TARGET_MB, HARD_KILL_S = 10.0, 300, 60.0


def _modules():
    for info in sorted(pkgutil.iter_modules([str(ROOT / "bench")]), key=lambda i: i.name):
        if info.name.startswith("hostile_"):
            yield info.name, importlib.import_module(info.name)


def all_cases() -> list[tuple[str, str]]:
    return [(name, case) for name, module in _modules() for case, _ in module.CASES]


def notes() -> list[str]:
    """What the cases do not show on their own (e.g. a bound a case lowers to be measured)."""
    return [note for _, module in _modules() for note in getattr(module, "NOTES", [])]


def run_one(module_name: str, case: str) -> None:
    """Child side: run the attack, print one JSON line with its result and the peak RSS."""
    module = importlib.import_module(module_name)
    fn = dict(module.CASES)[case]
    started = time.monotonic()
    try:
        message, ok = fn(), True
    except BaseException as exc:  # noqa: BLE001 — the bench reports what escaped, whatever it is
        message, ok = f"{type(exc).__name__}: {exc}"[:300], False
    wall = time.monotonic() - started
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"ok": ok and bool(message), "message": str(message)[:300], "wall_s": wall, "rss_mb": rss_mb}))


def main(argv: list[str]) -> int:
    if argv[:1] == ["--one"]:
        run_one(argv[1], argv[2])
        return 0
    cases = [c for c in all_cases() if not argv or any(a in c[1] for a in argv)]
    worst = 0
    print(f"{'case':<44} {'wall s':>7} {'RSS MB':>7}  result")
    for module_name, case in cases:
        started = time.monotonic()
        try:
            proc = subprocess.run(
                [sys.executable, __file__, "--one", module_name, case],
                capture_output=True, text=True, timeout=HARD_KILL_S, cwd=ROOT,
            )
            line = (proc.stdout.strip().splitlines() or ["{}"])[-1]
            if line.startswith("{") and line != "{}":
                res = json.loads(line)
            else:  # the child died before reporting: say how, never an empty line
                tail = (proc.stderr.strip() or proc.stdout.strip())[-200:].replace("\n", " | ")
                res = {"ok": False, "message": f"the case's process exited {proc.returncode} without a result: {tail}"}
        except subprocess.TimeoutExpired:
            res = {"ok": False, "message": f"killed after {HARD_KILL_S:.0f} s"}
        wall = res.get("wall_s", time.monotonic() - started)
        rss = res.get("rss_mb", float("nan"))
        good = res.get("ok") and wall < TARGET_S and rss < TARGET_MB
        worst = worst or (0 if good else 1)
        mark = "ok  " if good else "MISS"
        print(f"{case:<44} {wall:7.2f} {rss:7.0f}  {mark} {res.get('message', '')[:110]}")
    print(f"\ntargets: clear error, < {TARGET_S:.0f} s, < {TARGET_MB} MB each; {'all met' if not worst else 'some missed'}")
    for note in notes():
        print(f"note: {note}")
    return worst


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
