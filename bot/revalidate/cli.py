"""`prompt-review revalidate`: run a revision's suites with repeats and compare with a baseline file.

Exit status: 0 nothing regressed (or the baseline was written) · 1 cases regressed against the
baseline (named on stdout) · 2 a configuration or baseline-file error · 3 could not check.
A change of the model or fingerprint a provider reports is printed whatever the status.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from bot.core.compare import Block
from bot.core.errors import UserError
from bot.core.render import escape
from bot.core.variants import VariantGroup
from bot.jsonable import to_jsonable
from bot.pipeline.trees import GitError, GitTree
from bot.revalidate.baseline import Baseline, BaselineError, Revalidation, baseline_from, compare_with_baseline, parse_baseline
from bot.revalidate.run import run_revision

EXIT_OK, EXIT_REGRESSED, EXIT_CONFIG, EXIT_COULD_NOT_CHECK = 0, 1, 2, 3
JSON_SCHEMA = "prompt-review/revalidate@1"


def add_verb(sub) -> None:
    p = sub.add_parser("revalidate", help="re-run a revision's suites with repeats and compare with a baseline (any CI, on a schedule)")
    p.add_argument("--repo", default=".", help="path to the git repository (default: .)")
    p.add_argument("--ref", default="HEAD", help="revision to run (default: HEAD)")
    p.add_argument("--suite", action="append", default=None, help="suite file (repeatable); overrides `suites`")
    p.add_argument("--baseline", required=True, help="baseline JSON file: read, or written when absent")
    p.add_argument("--bless", action="store_true", help="write this run as the new baseline")
    p.add_argument("--repeats", type=int, default=None, help="runs per case (default: revalidate.repeats, else evals.repeats)")
    p.add_argument("--format", choices=["text", "markdown", "json"], default="text")


def status_of(reval: Revalidation) -> int:
    blocks = set(reval.verdict.blocks)
    if Block.SUITE_ERRORS in blocks:
        return EXIT_CONFIG
    if reval.regressed and Block.REGRESSIONS in blocks:
        return EXIT_REGRESSED
    if Block.COULD_NOT_CHECK in blocks:
        return EXIT_COULD_NOT_CHECK
    return EXIT_REGRESSED if reval.verdict.blocking else EXIT_OK


def text_report(reval: Revalidation, sha: str, markdown: bool = False) -> str:
    bullet = "- " if markdown else "  "
    lines = [f"revalidate {sha[:7]} against baseline {reval.baseline_sha[:7]}: {reval.verdict.headline}"]
    if markdown:
        lines[0] = "### " + lines[0]
    for change in reval.changes:
        lines.append(f"{bullet}model changed: {change.describe()}")
    grouped: set[str] = set()
    for o in reval.outcomes:
        if not o.regressed:
            continue
        group = reval.variant_group(o.suite)
        if group is not None and o.suite not in grouped:  # a prompt with its per-model variants, as the review shows them
            grouped.add(o.suite)
            lines.append(f"{'#### ' if markdown else ''}{o.suite}: one prompt, a variant per model")
            lines += [f"{bullet}{_code(v.path, markdown)} on {', '.join(_code(m, markdown) for m in v.models)}" for v in group.variants]
        variant = f" (variant {_code(p, markdown)})" if group is not None and (p := _variant_of(group, o.model)) else ""
        lines.append(f"{'#### ' if markdown else ''}{o.suite} · {o.model}{variant}: {len(o.regressed)} regressed"
                     f" (pass rate {_pct(o.tally.pass_rate_base)} → {_pct(o.tally.pass_rate_head)})")
        for c in o.regressed:
            b, n = c.base, c.now
            runs = f"{b.passes}/{b.runs} → {n.passes}/{n.runs} passed" if b and n else ""
            failed = "; ".join(n.failed_assertions) if n else ""
            lines.append(f"{bullet}REGRESSED {c.key} — {c.description} ({runs}){': failing ' + failed if failed else ''}")
    if reval.verdict.could_not_check:
        lines.append(f"could not check: {reval.verdict.could_not_check}")
    return "\n".join(lines) + "\n"


def _variant_of(group: VariantGroup, model: str) -> str | None:
    return next((v.path for v in group.variants if model in v.models), None)


def _code(text: str, markdown: bool) -> str:
    return escape.code(text) if markdown else text


def _pct(rate: float | None) -> str:
    return "—" if rate is None else f"{rate * 100:.1f}%"


def revalidate_command(args: argparse.Namespace) -> int:
    path = Path(args.baseline)
    baseline: Baseline | None = None
    try:
        if path.exists() and not args.bless:
            baseline = parse_baseline(path.read_text(encoding="utf-8"), args.baseline)
        tree = GitTree(args.repo, args.ref)
        run = run_revision(tree, os.environ, args.suite, args.repeats)
    except (BaselineError, GitError) as exc:
        print(f"prompt-review revalidate: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    except UserError as exc:
        for error in exc.errors:
            print(f"prompt-review revalidate: {error}", file=sys.stderr)
        return EXIT_CONFIG
    report = run.report
    for error in report.errors:
        print(f"prompt-review revalidate: {error}", file=sys.stderr)
    if report.errors:
        return EXIT_CONFIG
    if baseline is None:
        if report.verdict.could_not_check:
            print(f"prompt-review revalidate: could not check: {report.verdict.could_not_check}", file=sys.stderr)
            return EXIT_COULD_NOT_CHECK  # a baseline of errors would bless nothing
        fresh = baseline_from(report, tree.sha, args.ref, run.repeats)
        path.write_text(fresh.dumps(), encoding="utf-8")
        cases = len(fresh.cases)
        print(f"prompt-review revalidate: wrote baseline {args.baseline}: {cases} cases at {tree.sha[:7]} "
              f"({run.repeats} run{'s' if run.repeats != 1 else ''} each); "
              + "; ".join(f"{m}: {s.describe()}" for m, s in sorted(fresh.models.items())))
        return EXIT_OK
    reval = compare_with_baseline(baseline, report, tree.sha, run.config.evals)
    status = status_of(reval)
    if args.format == "json":
        json.dump({"schema": JSON_SCHEMA, "exit_status": status, "sha": tree.sha, "baseline_sha": baseline.sha,
                   "headline": reval.verdict.headline, "regressed": [c.key for c in reval.regressed],
                   "model_changes": to_jsonable(reval.changes), "outcomes": to_jsonable(reval.outcomes)}, sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        sys.stdout.write(text_report(reval, tree.sha, markdown=args.format == "markdown"))
    return status
