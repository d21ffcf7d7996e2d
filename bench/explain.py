"""What ablation adds to a review: extra model calls and wall time on the 300-case example
(examples/support-bot, the "friendlier" PR), against the scripted model server on loopback.

Targets: at most 50 extra model calls and at most 1.5x the review's wall time without ablation.
Run: python bench/explain.py [--runs N]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time

from bot.core.config import EvalsConfig
from bot.core.semdiff import diff_prompt
from bot.evals import EvalRequest, MemoryCache, run_evals
from bot.evals.explain import ExplainRequest, explain
from bot.modelserver.app import create_app
from bot.serving import start_in_thread
from tests.render import builders as b
from tests.render.example import SYSTEM, tree


def one_review(url: str, with_explain: bool) -> tuple[float, int, int]:
    """(wall seconds, eval calls, ablation calls) of one uncached review."""
    base, head = tree(), tree("friendlier")
    env = {"OPENAI_BASE_URL": url + "/v1", "OPENAI_API_KEY": "bench"}
    config = EvalsConfig()
    started = time.monotonic()
    prompt = b.prompt_change(SYSTEM, base.read(SYSTEM).decode(), head.read(SYSTEM).decode(),
                             semdiff=diff_prompt(SYSTEM, base, head))
    cache = MemoryCache()
    report = asyncio.run(run_evals(EvalRequest(base=base, head=head, config=config,
                                               suites=["evals/support/promptfooconfig.yaml"], env=env), cache))
    extra = 0
    if with_explain:
        ex = asyncio.run(explain(ExplainRequest(base=base, head=head, prompts=(prompt,), config=config, env=env), report, cache))
        extra = ex.calls if ex else 0
    return time.monotonic() - started, report.stats.model_calls, extra


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with start_in_thread(create_app()) as server:
        one_review(server.url, True)  # warm up the render worker
        plain = [one_review(server.url, False) for _ in range(args.runs)]
        explained = [one_review(server.url, True) for _ in range(args.runs)]
    wall_plain = statistics.median(w for w, _, _ in plain)
    wall_explained = statistics.median(w for w, _, _ in explained)
    calls, extra = plain[0][1], explained[0][2]
    ratio = wall_explained / wall_plain
    print(f"review without ablation: {calls} model calls, median {wall_plain:.2f}s over {args.runs} runs")
    print(f"review with ablation:    {calls} + {extra} model calls, median {wall_explained:.2f}s")
    print(f"extra calls {extra} (target ≤ 50) {'ok' if extra <= 50 else 'OVER'}; "
          f"wall {ratio:.2f}x (target ≤ 1.5x) {'ok' if ratio <= 1.5 else 'OVER'}")


if __name__ == "__main__":
    main()
