"""Run the affected cases of every suite on base and head and compare them.

Each (side, case, repeat) is one job keyed by a content hash; identical jobs run once, cached
jobs never reach a model. Concurrency is bounded by a semaphore; budget and cancellation stop
the run between calls and leave a partial report in which unfinished cases are `skipped`.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass

import httpx

from bot.core.compare import CaseStatus, SideResult, Tally, bootstrap_interval, compare_case, decide_verdict, side_passed, tally
from bot.core.errors import SourceError
from bot.core.files import FileTree, matches
from bot.evals.assertions import AssertionBroken, score_output
from bot.evals.patterns import RegexClock
from bot.evals.cache import ResultCache
from bot.evals.grading import DEFAULT_GRADER, ModelGrader
from bot.evals.loader import load_suite
from bot.evals.providers import BudgetExhausted, Caller, Cancelled, Meter, ProviderError
from bot.evals.select import CaseInput, PlannedCase, SuitePlan, digest, plan_suite
from bot.evals.suite import SUITE_NAMES
from bot.evals.types import CaseResult, EvalReport, EvalRequest, EvalStats, StatusCounts, SuiteReport

CACHE_VERSION = 1


def cache_key(case: CaseInput, repeat: int) -> str:
    """Content hash of everything that determines one run's result."""
    return digest({"v": CACHE_VERSION, "run": case.fingerprint(), "repeat": repeat})


@dataclass
class _Job:
    case: CaseInput
    repeat: int
    result: dict | None = None  # cached shape: passed, score, output, failed, tokens_in, tokens_out, cost_usd
    error: str | None = None  # provider gave up (the case is `error`)
    stopped: str | None = None  # budget or cancellation (the case is `skipped`)
    cached: bool = False


def discover(base: FileTree, head: FileTree, suites: list[str] | None) -> list[str]:
    if suites is not None:
        return list(dict.fromkeys(suites))
    patterns = [f"**/{n}" for n in SUITE_NAMES]
    found = [p for p in head.paths() if matches(p, patterns)] + [p for p in base.paths() if matches(p, patterns)]
    return sorted(dict.fromkeys(found))


async def run_evals(
    request: EvalRequest,
    cache: ResultCache,
    progress: Callable[[int, int], None] | None = None,
    cancelled: Callable[[], bool] | None = None,
) -> EvalReport:
    started = time.monotonic()
    errors: list[SourceError] = []
    plans: list[SuitePlan] = []
    broken: dict[str, str] = {}
    notes: dict[str, list[str]] = {}
    for path in discover(request.base, request.head, request.suites):
        base_suite, base_errors = load_suite(request.base, path) if request.base.read(path) is not None else (None, [])
        head_suite, head_errors = load_suite(request.head, path) if request.head.read(path) is not None else (None, [])
        notes[path] = []
        if head_errors:
            errors.extend(head_errors)
            broken[path] = "the suite has errors; nothing was run"
            plans.append(SuitePlan(path, path))
            continue
        if base_errors:
            notes[path].append("the base version of this suite could not be loaded; its cases count as new")
        plan = plan_suite(path, request.base, request.head, base_suite, head_suite, request.formatting_only)
        errors.extend(plan.errors)
        plans.append(plan)

    repeats = request.config.repeats
    jobs: dict[str, _Job] = {}
    case_jobs: dict[tuple[str, str], list[str]] = {}  # (case key, side) → job keys
    for plan in plans:
        for case in plan.cases:
            if case.skip:
                continue
            for side, inp in (("base", case.base), ("head", case.head)):
                if inp is None or inp.error is not None or (side == "base" and case.head is None):
                    continue  # removed cases are reported, not re-run
                keys = [cache_key(inp, r) for r in range(repeats)]
                for r, k in enumerate(keys):
                    jobs.setdefault(k, _Job(inp, r))
                case_jobs[(case.key, side)] = keys

    meter = Meter(request.config.budget)
    is_cancelled = cancelled or (lambda: False)
    total, done = len(jobs), 0
    if progress:
        progress(0, total)
    async with httpx.AsyncClient() as client:
        caller = Caller.for_run(client, request.env, request.config, meter, is_cancelled)
        grader = ModelGrader(caller)
        semaphore = asyncio.Semaphore(request.config.concurrency)
        regexes = RegexClock(request.config.regex_timeout_s, request.config.regex_budget_s)  # shared by the review

        async def run(key: str, job: _Job) -> None:
            nonlocal done
            hit = cache.get(key)
            if hit is not None:
                job.result, job.cached = hit, True
            else:
                async with semaphore:
                    await _execute(job, caller, grader, is_cancelled, regexes)
                if job.result is not None:
                    cache.put(key, job.result)
            done += 1
            if progress:
                progress(done, total)

        await asyncio.gather(*(run(k, j) for k, j in jobs.items()))

    suites = tuple(_suite_report(p, jobs, case_jobs, repeats, request, broken.get(p.path), notes.get(p.path, [])) for p in plans)
    all_cases = [c for s in suites for c in s.cases]
    total_tally = sum((_tally(s.cases) for s in suites), Tally())
    was_cancelled = is_cancelled() or any(j.stopped == "cancelled" for j in jobs.values())
    verdict = decide_verdict(
        total_tally,
        [s.pass_rate_head for s in suites],
        request.config,
        config_errors=len(errors),
        budget_note=meter.exhausted,
        cancelled=was_cancelled,
    )
    stats = EvalStats(
        model_calls=meter.calls,
        cache_hits=sum(1 for j in jobs.values() if j.cached),
        tokens_in=meter.tokens_in,
        tokens_out=meter.tokens_out,
        cost_usd=round(meter.cost_usd, 6),
        cases_run=sum(1 for c in all_cases if c.status is not CaseStatus.SKIPPED and c.status is not CaseStatus.REMOVED),
        cases_skipped=sum(1 for c in all_cases if c.status is CaseStatus.SKIPPED),
        cases_unaffected=sum(s.unaffected for s in suites),
        wall_s=time.monotonic() - started,
        unpriced_models=tuple(sorted(meter.unpriced)),
    )
    return EvalReport(suites, tuple(errors), stats, verdict, meter.exhausted, was_cancelled)


async def _execute(job: _Job, caller: Caller, grader: ModelGrader, cancelled: Callable[[], bool], regexes: RegexClock) -> None:
    case = job.case
    try:
        if cancelled():
            raise Cancelled()
        completion = await caller.complete(case.provider, case.messages or ())
        outcome = await score_output(
            case.asserts, case.test.threshold, completion.text, grader, case.test.grader or DEFAULT_GRADER, regexes
        )
    except BudgetExhausted as exc:
        job.stopped = str(exc)
        return
    except Cancelled:
        job.stopped = "cancelled"
        return
    except (ProviderError, AssertionBroken) as exc:
        job.error = str(exc)  # not cached: an error is retried on the next run
        return
    job.result = {
        "passed": outcome.passed,
        "score": outcome.score,
        "output": completion.text,
        "failed": list(outcome.failed),
        "tokens_in": completion.tokens_in,
        "tokens_out": completion.tokens_out,
    }


def _side(keys: list[str] | None, jobs: dict[str, _Job]) -> SideResult | str | None:
    """The aggregated side, a 'stopped' note (budget/cancel), or None when the side did not run."""
    if not keys:
        return None
    runs = [jobs[k] for k in keys]
    stopped = next((j.stopped for j in runs if j.stopped), None)
    if stopped:
        return stopped
    failed_run = next((j for j in runs if j.error), None)
    if failed_run is not None:
        return SideResult(False, 0.0, "", error=failed_run.error, runs=len(runs), passes=0)
    results = [j.result or {} for j in runs]
    passes = sum(1 for r in results if r.get("passed"))
    first_fail = next((r for r in results if not r.get("passed")), None)
    return SideResult(
        passed=side_passed(passes, len(runs)),
        score=sum(float(r.get("score", 0.0)) for r in results) / len(results),
        output=str(results[0].get("output", "")),
        failed_assertions=tuple(first_fail.get("failed", ())) if first_fail else (),
        runs=len(runs),
        passes=passes,
        tokens_in=sum(int(r.get("tokens_in", 0)) for r in results),
        tokens_out=sum(int(r.get("tokens_out", 0)) for r in results),
        cached=all(j.cached for j in runs),
    )


def _error_side(inp: CaseInput | None) -> SideResult | None:
    if inp is None or inp.error is None:
        return None
    return SideResult(False, 0.0, "", error=str(inp.error), runs=0, passes=0)


def _case_result(case: PlannedCase, jobs, case_jobs) -> CaseResult:
    inp = case.head or case.base
    assert inp is not None
    base = _error_side(case.base) or _side(case_jobs.get((case.key, "base")), jobs)
    head = _error_side(case.head) or _side(case_jobs.get((case.key, "head")), jobs)
    reasons = case.reasons
    if case.skip:
        status, base, head, reasons = CaseStatus.SKIPPED, None, None, reasons + (case.skip,)
    elif (case.base and case.base.error) or (case.head and case.head.error):
        status = CaseStatus.ERROR  # a template that cannot render is an error whatever the other side did
        base = None if isinstance(base, str) else base
        head = None if isinstance(head, str) else head
    elif isinstance(base, str) or isinstance(head, str):
        note = base if isinstance(base, str) else head
        status, reasons = CaseStatus.SKIPPED, reasons + (f"not run: {note}",)
        base = None if isinstance(base, str) else base
        head = None if isinstance(head, str) else head
    elif case.head is None:
        status, base = CaseStatus.REMOVED, None
    else:
        status = compare_case(base, head)
    flaky = bool((base and base.flaky) or (head and head.flaky))
    metric = next((a.metric for a in inp.asserts if a.metric), None)
    return CaseResult(
        key=case.key,
        suite=inp.key.split("::", 1)[0],
        description=inp.description,
        vars=dict(inp.test.vars),
        prompt_label=inp.prompt.label,
        provider_id=inp.provider.id,
        status=status,
        reasons=reasons,
        flaky=flaky,
        metric=metric,
        tags=dict(inp.test.metadata),
        base=base,
        head=head,
    )


def _tally(cases: tuple[CaseResult, ...]) -> Tally:
    return tally([(c.status, c.flaky, c.head) for c in cases])


def _suite_report(plan: SuitePlan, jobs, case_jobs, repeats, request: EvalRequest, broken: str | None, notes: list[str]) -> SuiteReport:
    if broken:
        return SuiteReport(plan.path, plan.description, skipped_reason=broken, notes=tuple(notes))
    cases = tuple(_case_result(c, jobs, case_jobs) for c in plan.cases)
    t = _tally(cases)
    counts = StatusCounts(**{s.value: sum(1 for c in cases if c.status is s) for s in CaseStatus})
    pairs = [(c.base.passed, c.head.passed) for c in cases if c.base and c.head and not c.base.error and not c.head.error]
    skipped_reason = None
    if not plan.cases:
        skipped_reason = "nothing this suite depends on changed"
    elif all(c.skip for c in plan.cases):
        skipped_reason = "only formatting changed in the prompts this suite uses"
    return SuiteReport(
        path=plan.path,
        description=plan.description,
        cases=cases,
        counts=counts,
        unaffected=plan.unaffected,
        pass_rate_base=t.pass_rate_base,
        pass_rate_head=t.pass_rate_head,
        p_value=t.p_value,
        interval=bootstrap_interval(pairs, confidence=1 - request.config.significance) if pairs else None,
        skipped_reason=skipped_reason,
        notes=tuple(notes),
    )
