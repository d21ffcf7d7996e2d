"""Per-call overhead of code assertions (issue #20): a suite may hold thousands of them.

    PYTHONPATH=$PWD .venv/bin/python bench/sandbox.py [N]

Prints, for JavaScript (embedded QuickJS, a fresh runtime per call) and Python (a child process per
call, in each isolation mode the machine allows), the mean and p95 milliseconds of one trivial
assertion call, sequentially and with `concurrency` calls in flight (as the runner does).
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import time

from bot.evals.sandbox import CodeLimits, JsCode, PyCode, run_code
from bot.evals.sandbox.py import available, isolation, run_python

OUTPUT = "Refunds are possible within 30 days of delivery. " * 20
CONTEXT = {"vars": {"question": "Can I get a refund?", "days": 30}, "prompt": "You are a support bot."}


def _sequential(call, n: int) -> list[float]:
    times = []
    for _ in range(n):
        started = time.perf_counter()
        call()
        times.append((time.perf_counter() - started) * 1000)
    return times


async def _concurrent(code, n: int, concurrency: int) -> float:
    gate = asyncio.Semaphore(concurrency)

    async def one():
        async with gate:
            await run_code(code, OUTPUT, CONTEXT)

    started = time.perf_counter()
    await asyncio.gather(*(one() for _ in range(n)))
    return (time.perf_counter() - started) * 1000 / n


def _line(name: str, times: list[float], per_call_concurrent: float | None = None) -> None:
    p95 = sorted(times)[int(len(times) * 0.95) - 1]
    extra = f"   {per_call_concurrent:7.2f} ms/call at concurrency 8" if per_call_concurrent is not None else ""
    print(f"{name:<34} mean {statistics.mean(times):7.2f} ms   p95 {p95:7.2f} ms{extra}")


def main(n: int = 200) -> None:
    limits = CodeLimits()
    js = JsCode.inline("const words = output.split(' ');\nreturn {pass: words.includes('30'), score: 1, reason: 'ok'};")
    from bot.evals.sandbox.js import run_javascript

    times = _sequential(lambda: run_javascript(js, OUTPUT, CONTEXT, None, limits), n * 10)
    _line("javascript (QuickJS, in process)", times, asyncio.run(_concurrent(js, n * 10, 8)))
    py = PyCode.inline("words = output.split(' ')\nreturn {'pass': '30' in words, 'score': 1, 'reason': 'ok'}")
    for mode in available():
        times = _sequential(lambda: run_python(py, OUTPUT, CONTEXT, None, limits, mode), n)
        concurrent = asyncio.run(_concurrent(py, n, 8)) if mode is isolation() else None
        _line(f"python ({mode.value})", times, concurrent)
    print(f"({n * 10} javascript and {n} python calls per row; python's default mode here: {isolation().value})")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 200)
