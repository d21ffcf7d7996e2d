"""The guard's error rates: how often it aborts an A/A rollout (false aborts, however often it looks) and
how many calls per arm it needs to abort a real drop, for the default policy (mSPRT, alpha 0.05, τ = 0.2 sd,
minimum 200 calls per arm), looking every 100 calls per arm, on simulated task-success traffic.

Run: .venv/bin/python bench/guard.py [--runs 400 --max 10000]
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys

from bot.core.guard import Action, ArmStats, GuardPolicy, Moments, evaluate

LOOK = 100


def run(rng: random.Random, pa: float, pb: float, max_n: int, policy: GuardPolicy) -> int | None:
    a = b = Moments()
    prior: dict[str, float] = {}
    for n in range(LOOK, max_n + 1, LOOK):
        sa = float(sum(rng.random() < pa for _ in range(LOOK)))
        sb = float(sum(rng.random() < pb for _ in range(LOOK)))
        a, b = a + Moments(LOOK, sa, sa), b + Moments(LOOK, sb, sb)
        d = evaluate(ArmStats(n, 0, Moments(), {"task_success": a}), ArmStats(n, 0, Moments(), {"task_success": b}), policy, prior)
        prior = d.p_values()
        if d.action is Action.ABORT:
            return n
    return None


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--runs", type=int, default=400)
    p.add_argument("--max", type=int, default=10_000, help="calls per arm each simulated rollout lasts")
    args = p.parse_args()
    rng, policy = random.Random(1), GuardPolicy()
    print(f"policy: alpha {policy.alpha}, tau {policy.tau} sd, minimum {policy.min_per_arm} per arm; a look every {LOOK} calls per arm")
    for pa, pb in ((0.8, 0.8), (0.5, 0.5), (0.81, 0.74), (0.81, 0.78), (0.95, 0.85)):
        hits = [run(rng, pa, pb, args.max, policy) for _ in range(args.runs)]
        caught = sorted(h for h in hits if h is not None)
        rate = len(caught) / args.runs
        if pa == pb:
            print(f"A/A {pa:.2f}: false aborts {rate:.1%} of {args.runs} rollouts ({args.max // LOOK} looks each)")
        else:
            p95 = caught[int(0.95 * len(caught)) - 1] if len(caught) >= 20 else None
            print(f"{pa:.2f} → {pb:.2f}: aborted {rate:.1%} within {args.max:,} per arm; median {statistics.median(caught) if caught else '-':,} "
                  f"calls per arm, p95 {p95 if p95 is not None else '-'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
