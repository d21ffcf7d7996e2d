"""Per-call overhead of code assertions (issue #20): a suite may hold thousands of them.

    PYTHONPATH=$PWD .venv/bin/python bench/sandbox.py [N]

Prints, for JavaScript (embedded QuickJS, a fresh runtime per call) and Python (a child process per
call, in each isolation mode the machine allows), the mean and p95 milliseconds of one trivial
assertion call, sequentially and with `concurrency` calls in flight (as the runner does); then what reading the
repository costs: a generator reading a dataset, and a review of a suite whose assertion reads a file per case.
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
    case_reads()


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


def case_reads(n: int = 200) -> None:
    """A suite of `n` tests whose JavaScript assertion reads an expected-answer file per test (docs/sandbox.md, reading
    as the case runs), against the scripted model server: what a PR that changes nothing they read costs with a cold
    cache (each base runs once to learn what it reads) and a warm one (the reads are checked, nothing runs), and a PR
    changing one expected file."""
    from bot.core.config import EvalsConfig
    from bot.core.files import MemoryTree
    from bot.evals import EvalRequest, MemoryCache, run_evals
    from bot.modelserver import create_app
    from bot.serving import start_in_thread

    suite = "prompts: ['Reply with \"{{word}}\"']\nproviders: [openai:chat:gpt-4o-mini]\ndefaultTest:\n  assert:\n" \
            "    - type: javascript\n      value: file://check.js\ntests:\n" + \
            "".join(f"  - description: t{i}\n    vars: {{word: w{i}, expected: data/t{i}.json}}\n" for i in range(n))
    check = ("const fs = require('fs');\nmodule.exports = (output, context) => "
             "output.trim() === JSON.parse(fs.readFileSync(context.vars.expected, 'utf8')).answer;\n")
    files = {"evals/promptfooconfig.yaml": suite, "evals/check.js": check, **{f"evals/data/t{i}.json": f'{{"answer": "w{i}"}}'
                                                                          for i in range(n)}}
    with start_in_thread(create_app()) as server:
        env = {"OPENAI_BASE_URL": f"{server.url}/v1", "OPENAI_API_KEY": "bench"}
        cache = MemoryCache()

        def review(head_files: dict[str, str], label: str) -> None:
            request = EvalRequest(base=MemoryTree(files), head=MemoryTree(head_files), config=EvalsConfig(), env=env,
                                  suites=["evals/promptfooconfig.yaml"])
            started = time.perf_counter()
            report = asyncio.run(run_evals(request, cache))
            took = (time.perf_counter() - started) * 1000
            ran = sum(len(s.cases) for s in report.suites)
            print(f"{label:<52} {took:8.1f} ms, {report.stats.model_calls:4d} model calls, {ran} cases affected")

        unrelated = {**files, "README.md": "changed"}
        review(unrelated, f"{n} reading cases, PR changes nothing they read (cold)")
        review(unrelated, f"{n} reading cases, PR changes nothing they read (warm)")
        review({**files, "evals/data/t7.json": '{"answer": "other"}'}, f"{n} reading cases, PR changes one file (warm)")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 200)
