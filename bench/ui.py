"""How fast the /ui/ pages answer with a year of per-minute rollups for 50 prompts (issue #23's target:
< 200 ms a page). Run: .venv/bin/python bench/ui.py [--prompts 50] [--days 365] [--samples 20]

Generates, in a temporary SQLite database: 50 prompts of one repository, each with 2 versions, 2 reviews,
2 deployments, and one row per minute per prompt of production rollups (volume, errors, latency, a score;
the version changes half way). The telemetry issue owns the real rollups table; this bench stands in for
it behind bot.ui.metrics.MetricsSource, both reading the minute rows directly (GROUP BY into the chart's
buckets) and reading an hourly roll-up of them. A page's time is the server's work for it: storage reads,
the timeline, change points, SVG charts and the template (the GitHub access check is cached for 60 s and
not included). Prints p50/p95 per page and source."""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import jinja2  # noqa: E402
from sqlalchemy import text  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

from bot import templates_dir  # noqa: E402
from bot.release.models import Deployment, LabelMove, LabelPointer, PromptVersion  # noqa: E402
from bot.service.db import ReviewRecord, make_engine  # noqa: E402
from bot.service.migrate import upgrade  # noqa: E402
from bot.ui import data  # noqa: E402
from bot.ui.routes import _charts  # noqa: E402
from bot.ui.timeline import EventKind, Point, Series  # noqa: E402

REPO = "acme/bench"
NOW = datetime(2026, 6, 1, tzinfo=timezone.utc)
TARGET_MS = 200


class SqlRollups:
    """A MetricsSource over (prompt, version, minute, n, errors, latency_sum, score_sum) tables: given
    several (step in minutes → table), it reads the coarsest one whose step fits the chart's bucket."""

    def __init__(self, engine, tables: dict[int, str], ids: dict[str, int]):
        self.engine, self.tables, self.ids = engine, tables, ids

    def series(self, repo, path, start, end, buckets):
        t0, t1 = int(start.timestamp() // 60), int(end.timestamp() // 60)
        width = max(1, (t1 - t0) // buckets)
        self.table = self.tables[max(step for step in self.tables if step <= width)]
        sql = text(f"SELECT version, (minute - :t0) / :w AS b, SUM(n), SUM(errors), SUM(latency_sum), SUM(score_sum) "
                   f"FROM {self.table} WHERE prompt = :p AND minute BETWEEN :t0 AND :t1 GROUP BY version, b ORDER BY version, b")
        with self.engine.connect() as c:
            rows = c.execute(sql, {"t0": t0, "t1": t1, "w": width, "p": self.ids[path]}).all()
        out: dict[tuple[str, str], list[Point]] = {}
        for version, b, n, errors, latency, score in rows:
            at = datetime.fromtimestamp((t0 + b * width) * 60, timezone.utc)
            for metric, value in (("volume", n), ("error_rate", errors / n), ("latency_ms", latency / n),
                                  ("task_success", score / n)):
                out.setdefault((metric, version), []).append(Point(at, float(value)))
        return [Series(metric=m, version=v, points=tuple(p)) for (m, v), p in out.items()]


def generate(engine, prompts: int, days: int) -> dict[str, int]:
    rng = random.Random(7)
    minutes = days * 24 * 60
    start = int((NOW - timedelta(days=days)).timestamp() // 60)
    ids = {}
    with engine.begin() as c:
        c.execute(text("CREATE TABLE rollups_minute (prompt INTEGER, version TEXT, minute INTEGER, n INTEGER, errors INTEGER, "
                       "latency_sum REAL, score_sum REAL, PRIMARY KEY (prompt, minute, version)) WITHOUT ROWID"))
    with Session(engine) as s, s.begin():
        for i in range(prompts):
            path = f"prompts/p{i:02}.md"
            ids[path] = i
            v1, v2 = f"{i:04x}" + "a" * 36, f"{i:04x}" + "b" * 36
            for n, (v, pr) in enumerate(((v1, 2 * i + 1), (v2, 2 * i + 2))):
                at = NOW - timedelta(days=days) + timedelta(days=n * days / 2)
                s.add(PromptVersion(repo=REPO, path=path, version=v, commit_sha=f"{i:04x}{n}" + "c" * 35, author="dev",
                                    committed_at=at, pr=pr, pr_head_sha="d" * 40, evals="success", approval="success",
                                    scores={"evals/suite.yaml": [0.9, 0.92 - 0.05 * n]}))
                s.add(ReviewRecord(repo=REPO, pr=pr, base_sha="e" * 40, head_sha="d" * 40, prompt_hashes={path: v[:12]},
                                   models=["openai:chat:gpt-4o"], pass_rates={"evals/suite.yaml": [0.9, 0.92 - 0.05 * n]},
                                   conclusion="success", created_at=at))
                d = Deployment(repo=REPO, label="production", commit_sha="c" * 40, kind="deploy", actor="dev", via="cli",
                               created_at=at + timedelta(minutes=5))
                s.add(d)
                s.flush()
                s.add(LabelMove(deployment_id=d.id, repo=REPO, label="production", path=path,
                                from_version=v1 if n else None, to_version=v, created_at=d.created_at))
            s.add(LabelPointer(repo=REPO, label="production", path=path, version=v2, deployment_id=d.id))
    half = minutes // 2
    for i in range(prompts):
        rows = []
        for m in range(minutes):
            n = 40 + rng.randrange(20)
            late = m >= half
            rows.append((i, "b" if late else "a", start + m, n, rng.randrange(3), n * (420 + rng.random() * 60 + (40 if late else 0)),
                         n * (0.90 - (0.06 if late else 0) + rng.random() * 0.02)))
        with engine.begin() as c:
            c.exec_driver_sql("INSERT INTO rollups_minute VALUES (?,?,?,?,?,?,?)", rows)
    with engine.begin() as c:
        c.execute(text("CREATE TABLE rollups_hour (prompt INTEGER, version TEXT, minute INTEGER, n INTEGER, errors INTEGER, "
                       "latency_sum REAL, score_sum REAL, PRIMARY KEY (prompt, minute, version)) WITHOUT ROWID"))
        c.execute(text("INSERT INTO rollups_hour SELECT prompt, version, minute / 60 * 60, SUM(n), SUM(errors), SUM(latency_sum), "
                       "SUM(score_sum) FROM rollups_minute GROUP BY prompt, version, minute / 60 * 60"))
        c.execute(text("CREATE TABLE rollups_day (prompt INTEGER, version TEXT, minute INTEGER, n INTEGER, errors INTEGER, "
                       "latency_sum REAL, score_sum REAL, PRIMARY KEY (prompt, minute, version)) WITHOUT ROWID"))
        c.execute(text("INSERT INTO rollups_day SELECT prompt, version, minute / 1440 * 1440, SUM(n), SUM(errors), "
                       "SUM(latency_sum), SUM(score_sum) FROM rollups_hour GROUP BY prompt, version, minute / 1440 * 1440"))
    return ids


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--prompts", type=int, default=50)
    ap.add_argument("--days", type=int, default=365)
    ap.add_argument("--samples", type=int, default=20)
    ap.add_argument("--db", default=None, help="keep the generated data in this SQLite file and reuse it on the next run")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(args.db) if args.db else Path(tmp) / "bench.db"
        reuse = db.exists()
        engine = make_engine(f"sqlite:///{db}")
        if reuse:
            ids = {f"prompts/p{i:02}.md": i for i in range(args.prompts)}
        else:
            upgrade(engine)
            t = time.perf_counter()
            ids = generate(engine, args.prompts, args.days)
            rows = args.prompts * args.days * 1440
            print(f"generated {rows:,} minute rollups for {args.prompts} prompts over {args.days} days "
                  f"in {time.perf_counter() - t:.0f} s")
        pages = jinja2.Environment(loader=jinja2.FileSystemLoader(templates_dir()), autoescape=True,
                                   undefined=jinja2.StrictUndefined)
        pages.filters["q"] = lambda s: s
        repo = type("Access", (), {"full_name": REPO})()
        paths = sorted(ids)
        rng = random.Random(1)
        results = {}
        for name, tables in (("prompt page, minute rows", {1: "rollups_minute"}),
                             ("prompt page, + hourly roll-up", {1: "rollups_minute", 60: "rollups_hour"}),
                             ("prompt page, + daily roll-up", {1: "rollups_minute", 60: "rollups_hour", 1440: "rollups_day"})):
            source = SqlRollups(engine, tables, ids)
            times, found = [], 0
            for _ in range(args.samples):
                path = rng.choice(paths)
                t = time.perf_counter()
                tl = data.timeline(engine, REPO, path, source, now=NOW)
                html = pages.get_template("ui/prompt.html.j2").render(
                    person=None, repo=repo, t=tl, path=path, charts=_charts(tl), allowed=True, why="", done=None, kinds=EventKind)
                times.append((time.perf_counter() - t) * 1000)
                found += bool(tl.shifts) and "<svg" in html
            results[name] = times
            print(f"  ({found}/{args.samples} pages found a shift and drew charts)")
        times = []
        for _ in range(args.samples):
            t = time.perf_counter()
            pages.get_template("ui/repo.html.j2").render(person=None, repo=repo, view=data.repo_view(engine, REPO))
            times.append((time.perf_counter() - t) * 1000)
        results[f"repo page ({args.prompts} prompts)"] = times
        for name, ts in results.items():
            ts.sort()
            p95 = ts[min(len(ts) - 1, int(len(ts) * 0.95))]
            print(f"{name:34} p50 {statistics.median(ts):7.1f} ms   p95 {p95:7.1f} ms   "
                  f"{'meets' if p95 < TARGET_MS else 'misses'} the {TARGET_MS} ms target")
        engine.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
