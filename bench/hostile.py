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


def all_cases() -> list[tuple[str, str]]:
    found = []
    for info in sorted(pkgutil.iter_modules([str(ROOT / "bench")]), key=lambda i: i.name):
        if info.name.startswith("hostile_"):
            module = importlib.import_module(info.name)
            found += [(info.name, name) for name, _ in module.CASES]
    return found


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
            res = json.loads(line) if line.startswith("{") else {"ok": False, "message": proc.stderr.strip()[-300:]}
        except subprocess.TimeoutExpired:
            res = {"ok": False, "message": f"killed after {HARD_KILL_S:.0f} s"}
        wall = res.get("wall_s", time.monotonic() - started)
        rss = res.get("rss_mb", float("nan"))
        good = res.get("ok") and wall < TARGET_S and rss < TARGET_MB
        worst = worst or (0 if good else 1)
        mark = "ok  " if good else "MISS"
        print(f"{case:<44} {wall:7.2f} {rss:7.0f}  {mark} {res.get('message', '')[:110]}")
    print(f"\ntargets: clear error, < {TARGET_S:.0f} s, < {TARGET_MB} MB each; {'all met' if not worst else 'some missed'}")
    return worst


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
