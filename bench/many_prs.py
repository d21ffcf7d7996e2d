"""200 PRs opened at once against the GitHub simulator with the scripted model: all reviewed,
none lost, none duplicated (one comment and two check runs per PR, each created once).

Prints wall time from the first `opened` delivery until the queue is idle, and the counts.
Run: .venv/bin/python bench/many_prs.py [--prs 200 --workers 4 --db-url postgresql+psycopg://...]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.core.result import APPROVAL_CHECK, COMMENT_MARKER, EVALS_CHECK  # noqa: E402
from bot.modelserver.app import create_app as create_model_app  # noqa: E402
from bot.serving import start_in_thread  # noqa: E402
from tests.reliability.common import BAD_PROMPT, REPO, tiny_stack  # noqa: E402


def prompt_for(i: int) -> str:
    # Every PR has its own prompt text, so no two reviews share cached head results.
    return BAD_PROMPT.replace("goodbye", f"goodbye {i}") if i % 2 else f'Reply with "hello {i}". The user is {{{{name}}}}.\n'


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--prs", type=int, default=200)
    ap.add_argument("--workers", type=int, default=4, help="worker threads in the service")
    ap.add_argument("--db-url", default=None, help="default: a fresh SQLite file")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp, start_in_thread(create_model_app()) as model, \
            tiny_stack(Path(tmp), model.url, db_url=args.db_url, workers=args.workers) as s:
        t0 = time.perf_counter()
        with ThreadPoolExecutor(max_workers=32) as pool:
            prs = list(pool.map(lambda i: s.sim.open_pull(REPO, f"pr-{i}", {"prompts/greet.txt": prompt_for(i)},
                                                          f"PR {i}", "dave"), range(args.prs)))
        opened = time.perf_counter() - t0
        s.wait_idle(timeout=1800)
        wall = time.perf_counter() - t0
        lost, duplicated, hanging, wrong = [], [], [], []
        for i, pr in enumerate(prs):
            runs = s.sim.check_runs(REPO, pr.head_sha)
            names = Counter(r.name for r in runs)
            comments = [c for c in s.sim.comments(REPO, pr.number) if c.body.startswith(COMMENT_MARKER)]
            if not runs or not comments:
                lost.append(pr.number)
            if any(n > 1 for n in names.values()) or len(comments) > 1:
                duplicated.append(pr.number)
            if any(r.status != "completed" for r in runs):
                hanging.append(pr.number)
            by_name = {r.name: r for r in runs}
            expected = "failure" if i % 2 else "success"
            if set(by_name) != {EVALS_CHECK, APPROVAL_CHECK} or by_name[EVALS_CHECK].conclusion != expected:
                wrong.append(pr.number)
        check_posts = len([c for c in s.sim.calls_to("POST", r"/check-runs$") if c.status < 300])
        comment_posts = len([c for c in s.sim.calls_to("POST", r"/issues/\d+/comments$") if c.status < 300])
    print(f"{args.prs} PRs opened in {opened:.1f}s; all reviewed after {wall:.1f}s wall "
          f"({args.prs / wall:.1f} PRs/s) with {args.workers} workers on {'SQLite' if not args.db_url else 'PostgreSQL'}")
    print(f"lost: {len(lost)}  duplicated: {len(duplicated)}  left in progress: {len(hanging)}  wrong verdict: {len(wrong)}")
    print(f"check runs created: {check_posts} (expected {2 * args.prs}); comments created: {comment_posts} (expected {args.prs})")
    bad = lost or duplicated or hanging or wrong or check_posts != 2 * args.prs or comment_posts != args.prs
    if bad:
        print("FAILED:", {"lost": lost[:10], "duplicated": duplicated[:10], "hanging": hanging[:10], "wrong": wrong[:10]})
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
