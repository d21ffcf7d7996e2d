"""Eval engine speed: N cases at concurrency C against a model server answering after L seconds.

Prints wall time against the physical limit ceil(N/C)·L for (1) a cold head-only run (new suite)
and (2) a run on a changed prompt with the base side cached. Target: ≤ 1.2× the limit, zero
repeated base-side calls. Run: .venv/bin/python bench/evals.py [--n 300 --c 8 --latency 0.05]
"""

from __future__ import annotations

import argparse
import asyncio
import math

from fastapi import FastAPI, Request

from bot.core.config import Budget, EvalsConfig
from bot.core.files import MemoryTree
from bot.evals import EvalRequest, MemoryCache, run_evals
from bot.serving import start_in_thread


def model_app(latency: float, calls: list[str]) -> FastAPI:
    app = FastAPI()

    @app.post("/v1/chat/completions")
    async def chat(request: Request):
        body = await request.json()
        system = body["messages"][0]["content"]
        calls.append(system)
        await asyncio.sleep(latency)
        text = "Refunds within 30 days." if "30 days" in system else "Sure, any time!"
        return {"choices": [{"message": {"role": "assistant", "content": text}}], "usage": {"prompt_tokens": 20, "completion_tokens": 6}}

    return app


def repo(url: str, n: int, system: str) -> MemoryTree:
    tests = "".join(
        f"  - description: case {i}\n    vars: {{question: 'question number {i}'}}\n"
        f"    assert: [{{type: {'icontains' if i % 2 else 'not-icontains'}, value: {'30 days' if i % 2 else 'error'}}}]\n"
        for i in range(n)
    )
    suite = f"prompts: [file://system.json]\nproviders:\n  - id: openai:chat:bench\n    config: {{apiBaseUrl: '{url}'}}\ntests:\n{tests}"
    chat = '[{"role": "system", "content": "' + system + '"}, {"role": "user", "content": "{{ question }}"}]'
    return MemoryTree({"evals/promptfooconfig.yaml": suite, "evals/system.json": chat})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=300)
    parser.add_argument("--c", type=int, default=8)
    parser.add_argument("--latency", type=float, default=0.05)
    args = parser.parse_args()
    calls: list[str] = []
    server = start_in_thread(model_app(args.latency, calls))
    url = f"{server.url}/v1"
    limit = math.ceil(args.n / args.c) * args.latency
    config = EvalsConfig(concurrency=args.c, budget=Budget(max_calls=10 * args.n))
    cache = MemoryCache()
    strict, friendly = repo(url, args.n, "Refunds only within 30 days."), repo(url, args.n, "Be friendly!")
    try:
        print(f"N={args.n} C={args.c} L={args.latency * 1000:.0f} ms  limit ceil(N/C)·L = {limit:.3f} s")
        runs = [
            ("cold, head only (new suite)", MemoryTree({}), strict),
            ("changed prompt, base cached", strict, friendly),
        ]
        for name, base, head in runs:
            calls.clear()
            # The operator lets the suite reach the loopback server (a PR alone could not).
            env = {"PROMPT_REVIEW_ALLOWED_MODEL_URLS": url, "PROMPT_REVIEW_ALLOW_PRIVATE_MODEL_URLS": "1"}
            request = EvalRequest(base=base, head=head, config=config, env=env)
            report = asyncio.run(run_evals(request, cache))
            s = report.stats
            base_calls = sum(1 for c in calls if "30 days" in c) if base.paths() else 0
            print(
                f"{name:30s} wall {s.wall_s:6.3f} s = {s.wall_s / limit if limit else 0:4.2f}× limit · model calls {s.model_calls}"
                f" · cache hits {s.cache_hits} · base-side calls {base_calls} · {report.verdict.headline}"
            )
    finally:
        server.stop()


if __name__ == "__main__":
    main()
