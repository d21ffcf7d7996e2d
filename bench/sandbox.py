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
    files()


def files(folders: int = 10, per_folder: int = 20) -> None:
    """A test generator reading a dataset of `folders` × `per_folder` JSON files (docs/sandbox.md, reading the
    repository's files): JavaScript runs again for each question it had no answer for (the rest of a folder is answered
    ahead), Python asks over the bridge once per lookup."""
    from bot.core.files import MemoryTree
    from bot.evals.sandbox import transform_sync
    from bot.evals.sandbox.js import FilesTable
    from bot.evals.sandbox.repo_files import RepoFiles

    tree = MemoryTree({f"evals/data/d{f}/r{i}.json": '{"word": "w%d"}' % i for f in range(folders) for i in range(per_folder)})
    js = JsCode("const fs = require('fs');\nmodule.exports.__pr_call = async () => { const out = [];\n"
                "  for (const d of fs.readdirSync('data')) for (const f of fs.readdirSync('data/' + d))\n"
                "    out.push({vars: JSON.parse(fs.readFileSync(`data/${d}/${f}`, 'utf8'))});\n  return out; };\n",
                file="evals/gen.js", function="__pr_call")
    py = PyCode("import json, os\n\ndef __pr_call(output, context):\n    return [{'vars': json.load(open(f'data/{d}/{f}'))}"
                " for d in sorted(os.listdir('data')) for f in sorted(os.listdir(f'data/{d}'))]\n",
                file="evals/gen.py", function="__pr_call")
    runs = [0]
    answered = FilesTable.answer_missing

    def counted(self, engine):  # type: ignore[no-untyped-def]
        again = answered(self, engine)
        runs[0] += 1
        return again

    FilesTable.answer_missing = counted  # type: ignore[method-assign]
    for name, code in (("javascript", js), ("python", py)):
        runs[0] = 0
        reader = RepoFiles(tree, "evals")
        started = time.perf_counter()
        tests = transform_sync(code, [], {}, CodeLimits(), reader)
        took = (time.perf_counter() - started) * 1000
        how = f"{runs[0]} runs" if name == "javascript" else "1 run"
        print(f"{name} generator reading {len(tests)} files in {folders} folders: {took:8.1f} ms, {how}, "
              f"{len(reader.touched)} paths under review")
    FilesTable.answer_missing = answered  # type: ignore[method-assign]


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 200)
