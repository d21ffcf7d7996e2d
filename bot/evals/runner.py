"""Run the affected cases of every suite on base and head and compare them.

Each (side, case, repeat) is one job keyed by a content hash; identical jobs run once, cached
jobs never reach a model. Concurrency is bounded by a semaphore; budget and cancellation stop
the run between calls and leave a partial report in which unfinished cases are `skipped`.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace

import httpx

from bot.core.compare import (
    CaseStatus, ErrorCause, SideResult, Tally, bootstrap_interval, compare_case, decide_verdict, side_passed, tally,
)
from bot.core.config import CONFIG_PATH, EvalsConfig, LimitsConfig
from bot.core.errors import CheckError, SourceError
from bot.core.files import FileTree, matches
from bot.core.matrix import model_tallies
from bot.evals import case_reads
from bot.evals.assertions import AssertionBroken, CodeContext, score_output
from bot.evals.patterns import RegexClock
from bot.evals.cache import ResultCache
from bot.evals.comparisons import Compared, compare, comparison
from bot.evals.grading import DEFAULT_GRADER, ModelGrader
from bot.evals.http_raw import REQUEST_FILE
from bot.evals.generators import CodePolicy
from bot.evals.loaded import LoadedSuites
from bot.evals.providers import BudgetExhausted, Caller, Cancelled, Completion, Meter, ProviderError
from bot.evals.providers_code import call_code_provider
from bot.evals.render import RenderBounds, Renderer
from bot.core.report import PromptVariant
from bot.evals.variants import suite_variants
from bot.evals.sandbox import CodeLimits, JsCode, Origin, may_run
from bot.evals.provider_output import provider_output
from bot.evals.providers_parts import listed
from bot.evals.sources import is_code_ref
from bot.evals.sandbox.repo_files import RepoFiles
from bot.evals.select import (
    CaseInput, PlannedCase, SuitePlan, case_readers, checks_changed, digest, plan_suite, with_compared_cases,
    with_stored_outputs,
)
from bot.evals.suite import SUITE_NAMES, Code, Suite
from bot.evals.types import CaseResult, Dependency, EvalReport, EvalRequest, EvalStats, StatusCounts, SuiteReport

CACHE_VERSION = 1


def _cacheable(result: dict) -> bool:
    """Not an http provider's answer with an error status: promptfoo caches no such answer, so the next run asks again."""
    http = (result.get("metadata") or {}).get("http") if isinstance(result.get("metadata"), dict) else None
    return not (isinstance(http, dict) and isinstance(http.get("status"), int) and http["status"] >= 400)


def cache_key(case: CaseInput, repeat: int) -> str:
    """Content hash of everything that determines one run's result."""
    return digest({"v": CACHE_VERSION, "run": case.fingerprint(), "repeat": repeat})


@dataclass
class CaseRun:
    """One (case, repeat) of one side: its cached result, or why it has none."""

    case: CaseInput
    repeat: int
    result: dict | None = None  # cached shape: passed, score, output, failed, tokens_in, tokens_out, cost_usd
    error: str | None = None  # provider gave up (the case is `error`)
    error_kind: CheckError | None = None
    stopped: str | None = None  # budget or cancellation (the case is `skipped`)
    cached: bool = False
    key: str = ""  # its cache key (cache_key); jobs of code that reads the repository are per side
    # the side's tree, for a run whose code reads the repository while it runs (select.case_readers): what it read
    # is kept with the result, and a cached result counts only while those files are as they were
    tree: FileTree | None = None
    files: RepoFiles | None = None

    @classmethod
    def on(cls, case: CaseInput, repeat: int, tree: FileTree) -> CaseRun:
        """A run of `case` on `tree`: keyed by its content, and given the tree when its code reads the repository."""
        return cls(case, repeat, key=cache_key(case, repeat), tree=tree if case_readers(case) else None)


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
    warnings: list[SourceError] = []
    plans: list[SuitePlan] = []
    broken: dict[str, str] = {}
    notes: dict[str, list[str]] = {}
    dependencies: dict[tuple[str, str], Dependency] = {}
    bounds = RenderBounds(request.limits)  # every render of this review shares one time budget
    variants: dict[str, tuple[PromptVariant, ...]] = {}  # suite → its per-model prompt variants (head)
    code_limits = CodeLimits.from_config(request.limits)
    loaded = request.loaded if request.loaded is not None else LoadedSuites(
        request.limits, CodePolicy(request.base, request.same_repo, request.config, request.limits))
    for path in discover(request.base, request.head, request.suites):
        base_suite, base_errors = loaded.load(request.base, path)
        head_suite, head_errors = loaded.load(request.head, path)
        warnings.extend(loaded.warnings(request.head, path))  # the PR's own file, as its author reads it
        _add_dependencies(dependencies, path, ((request.base, base_suite), (request.head, head_suite)))
        notes[path] = []
        variants[path] = suite_variants(head_suite)
        if head_errors:
            errors.extend(head_errors)
            broken[path] = "the suite has errors; nothing was run"
            plans.append(SuitePlan(path, path))
            continue
        if base_errors:
            notes[path].append("the base version of this suite could not be loaded; its cases count as new")
        plan = plan_suite(path, request.base, request.head, base_suite, head_suite, request.formatting_only, bounds=bounds,
                          pr_code=lambda what: may_run(Origin.PR, request.same_repo, request.config, what),
                          code_limits=code_limits)
        errors.extend(plan.errors)
        for dep in read_dependencies(path, plan.reads):  # what the code rendering the cases read: under review too
            dependencies.setdefault((dep.path, path), dep)
        plans.append(plan)

    planned = sum(1 for p in plans for c in p.cases if not c.skip)
    if planned > request.limits.max_cases:  # counted before a single model call is made
        errors.append(SourceError(
            CONFIG_PATH,
            f"this review would run {planned:,} affected cases, over limits.max_cases ({request.limits.max_cases:,}); "
            f"nothing was run. Raise `limits.max_cases` in {CONFIG_PATH} or split the change",
            field="limits.max_cases",
        ))
        for plan in plans:
            broken.setdefault(plan.path, "the review has more affected cases than limits.max_cases; nothing was run")
            plan.cases = []

    repeats = request.config.repeats
    jobs: dict[str, CaseRun] = {}
    case_jobs: dict[tuple[str, str], list[str]] = {}  # (case key, side) → job keys
    chains: dict[tuple[str, str], list[tuple[str, CaseInput]]] = {}  # (suite, side) → its cases, run in order
    trees = {"base": request.base, "head": request.head}

    def job_for(inp: CaseInput, side: str, r: int) -> str:
        """The job of one run (shared by identical runs; per side when its code reads the repository)."""
        run = CaseRun.on(inp, r, trees[side])
        key = run.key if run.tree is None else f"{run.key}@{side}"
        jobs.setdefault(key, run)
        return key

    def schedule() -> None:
        for plan in plans:
            for case in plan.cases:
                if case.skip:
                    continue
                for side, inp in (("base", case.base), ("head", case.head)):
                    if inp is None or inp.error is not None or (side == "base" and case.head is None):
                        continue  # removed cases are reported, not re-run
                    if plan.chained:
                        chains.setdefault((plan.path, side), []).append((case.key, inp))
                        continue
                    case_jobs[(case.key, side)] = [job_for(inp, side, r) for r in range(repeats)]

    meter = Meter(request.config.budget)
    is_cancelled = cancelled or (lambda: False)
    total, done = 0, 0
    async with httpx.AsyncClient() as client:
        caller = Caller.for_run(client, request.env, request.config, meter, is_cancelled)
        caller.code_limits = code_limits  # a websocket provider's streamResponse runs under the review's code limits
        grader = ModelGrader(caller)
        # One regex budget and one share of the concurrency per suite: a decoy suite of slow patterns or
        # slow model calls cannot starve another suite's checks of regex time, call slots or the deadline.
        clocks = {p.path: RegexClock(request.config.regex_timeout_s, request.config.regex_budget_s) for p in plans}
        share = max(1, -(-request.config.concurrency // max(1, len(plans))))
        slots = {p.path: asyncio.Semaphore(share) for p in plans}

        def clock(case: CaseInput) -> RegexClock:
            return clocks[case.suite]

        deadline = started + request.config.total_timeout_s
        late: list[str] = []  # set once the review-wide deadline has passed

        async def run(key: str, job: CaseRun) -> None:
            nonlocal done
            hit = cached_result(cache, job)
            if hit is not None:
                job.result, job.cached = hit, True
            else:
                async with slots[job.case.suite]:
                    try:  # many slow cases cannot add up past the review's deadline
                        async with asyncio.timeout(max(0.0, deadline - time.monotonic())):
                            if late:
                                raise TimeoutError
                            await run_case(job, caller, grader, is_cancelled, clock(job.case), code_limits)
                    except TimeoutError:
                        late[:] = [_past_deadline(request.config.total_timeout_s)]
                        job.result, job.stopped = None, late[0]
                if job.result is not None and _cacheable(job.result):
                    store_result(cache, job)
            done += 1
            if progress:
                progress(done, total)

        async def run_chain(path: str, side: str, members: list[tuple[str, CaseInput]]) -> None:
            """promptfoo's storeOutputAs: the suite's cases in order, each rendered with the outputs the
            tests before it stored (per repeat); identical runs still share a job and the cache."""
            nonlocal done
            tree = request.base if side == "base" else request.head
            suite = loaded.load(tree, path)[0]  # its nunjucksFilters: these cases passed the gate with them
            renderer = Renderer(tree, bounds, suite.filters if suite is not None else (), code_limits)
            ordered = sorted(members, key=lambda m: (m[1].test.index, m[1].prompt_index))
            for r in range(repeats):
                stored: dict[str, str] = {}
                for case_key, inp in ordered:
                    run_input = with_stored_outputs(inp, stored, renderer)
                    key = job_for(run_input, side, r)
                    job = jobs[key]
                    if run_input.error is None and job.result is None and job.error is None and job.stopped is None:
                        await run(key, job)
                    else:  # not run: a render error with the stored outputs, or the same run done already
                        if run_input.error is not None:
                            job.error, job.error_kind = str(run_input.error), run_input.error_kind
                        done += 1
                        if progress:
                            progress(done, total)
                    case_jobs.setdefault((case_key, side), []).append(key)
                    name = inp.test.store_output_as
                    if name and job.result is not None and job.result.get("stored"):
                        stored[name] = str(job.result["stored"])

        # unaffected cases whose code reads the repository as it runs: their base runs first, to learn what it reads
        probes = [(plan, probe, job_for(probe.base, "base", 0)) for plan in plans for probe in plan.probes
                  if probe.base is not None and probe.base.error is None]
        total = len(probes)
        if progress and probes:
            progress(0, total)
        await asyncio.gather(*(run(key, jobs[key]) for _, _, key in probes))
        for plan, probe, key in probes:
            reasons = case_reads.read_changes(jobs[key].result, jobs[key].case, request.head)
            if reasons:
                plan.cases.append(replace(probe, reasons=reasons))
                plan.unaffected_pairs.pop(probe.key, None)
                plan.unaffected -= 1
        for plan in {id(p): p for p, _, _ in probes}.values():
            with_compared_cases(plan, plan.unaffected_pairs)  # a test's select-best sees all of its outputs
        schedule()
        todo = [(k, j) for k, j in jobs.items() if j.result is None and j.error is None and j.stopped is None]
        total += len(todo) + repeats * sum(len(m) for m in chains.values())
        if progress:
            progress(done, total)
        await asyncio.gather(*(run(k, j) for k, j in todo),
                             *(run_chain(path, side, members) for (path, side), members in chains.items()))
        compared = await _comparisons(plans, jobs, case_jobs, repeats, grader, cache)
        # A PR that changed a case's checks is judged by the base's checks too ("the base's tests judge the PR").
        under_base = {}
        for plan in plans:
            for case in plan.cases:
                if case.skip or case.base is None or case.head is None or not checks_changed(case.base, case.head):
                    continue
                head_keys = case_jobs.get((case.key, "head"))
                if head_keys and all(jobs[k].result is not None for k in head_keys):
                    head_jobs = [jobs[k] for k in head_keys]
                    under_base[case.key] = await _judge_by_base(case, head_jobs, grader, clock(case.base), code_limits,
                                                                request.base)

    for job in jobs.values():  # what code read while its case ran: under review like what rendering it read
        for dep in read_dependencies(job.case.suite, case_reads.runtime_reads(job.result, job.case)):
            dependencies.setdefault((dep.path, job.case.suite), dep)
    suites = tuple(
        replace(_suite_report(p, jobs, case_jobs, repeats, request, broken.get(p.path), notes.get(p.path, []), under_base,
                              request.head.read(p.path) is None, compared), variants=variants.get(p.path, ()))
        for p in plans
    )
    all_cases = [c for s in suites for c in s.cases]
    total_tally = sum((_tally(s.cases) for s in suites), Tally())
    was_cancelled = is_cancelled() or any(j.stopped == "cancelled" for j in jobs.values())
    stopped_early = meter.exhausted or next((j.stopped for j in jobs.values() if j.stopped and j.stopped != "cancelled"), None)
    verdict = decide_verdict(
        total_tally,
        [s.pass_rate_head for s in suites],
        request.config,
        config_errors=len(errors),
        budget_note=stopped_early,
        cancelled=was_cancelled,
        error_causes=error_causes(all_cases),
        per_model=model_tallies(all_cases),
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
    return EvalReport(
        suites, tuple(errors), stats, verdict, stopped_early, was_cancelled,
        dependencies=tuple(dependencies.values()), error_causes=error_causes(all_cases), warnings=tuple(warnings),
    )


def cached_result(cache: ResultCache, job: CaseRun) -> dict | None:
    """The job's cached result (bot.evals.case_reads.cached: for code that reads the repository, only while what it
    read is unchanged in the job's tree)."""
    return case_reads.cached(cache, job.key, job.tree, job.case)


def store_result(cache: ResultCache, job: CaseRun) -> None:
    assert job.result is not None
    case_reads.store(cache, job.key, job.result)


def _past_deadline(seconds: float) -> str:
    return (f"the review's model calls passed their deadline of {seconds:g} s (evals.total_timeout_s); "
            "raise it in .github/prompt-review.yml, or lower evals.timeout_s so a slow provider fails fast")


def find_dependencies(
    base: FileTree, head: FileTree, suites: list[str] | None, loaded: LoadedSuites | None = None
) -> tuple[Dependency, ...]:
    """What is under review: every file each suite depends on, on either side (loads the suites only,
    through `loaded` when the review goes on to run them)."""
    loaded = loaded if loaded is not None else LoadedSuites()
    found: dict[tuple[str, str], Dependency] = {}
    for path in discover(base, head, suites):
        _add_dependencies(found, path, [(tree, loaded.load(tree, path)[0]) for tree in (base, head)])
    return tuple(found.values())


def rendered_reads(
    base: FileTree, head: FileTree, suites: list[str] | None, loaded: LoadedSuites, config: EvalsConfig,
    limits: LimitsConfig, same_repo: bool,
) -> tuple[Dependency, ...]:
    """What the code rendering the cases reads (prompt functions, vars computed by code, transformVars), on either side,
    found by rendering every case under the review's code gate without calling a model — for when the review does
    not run (a fork's PR waiting for its label) and for check-config: the review finds them as it renders."""
    found: dict[tuple[str, str], Dependency] = {}
    for path in discover(base, head, suites):
        sides = [loaded.load(tree, path)[0] for tree in (base, head)]
        if not any(s is not None and renders_with_code(s) for s in sides):
            continue
        plan = plan_suite(path, base, head, sides[0], sides[1], pr_code=lambda what: may_run(Origin.PR, same_repo, config, what),
                          code_limits=CodeLimits.from_config(limits))
        for dep in read_dependencies(path, plan.reads):
            found.setdefault((dep.path, path), dep)
    return tuple(found.values())


def readers_as_cases_run(base: FileTree, head: FileTree, suites: list[str] | None, loaded: LoadedSuites) -> tuple[str, ...]:
    """The files of code, in any suite on either side, that reads the repository while its case runs (select.case_readers):
    what it reads is known only by running it, so a review that does not run (a fork's PR waiting for its label) cannot
    say a changed file is not among them."""
    found: dict[str, None] = {}
    for path in discover(base, head, suites):
        for suite in (loaded.load(tree, path)[0] for tree in (base, head)):
            if suite is not None:
                found.update(dict.fromkeys(case_reads.suite_readers(suite, path)))
    return tuple(found)


def read_dependencies(suite: str, reads: Iterable[tuple[str, str]]) -> list[Dependency]:
    """(path, the code's file) pairs of what suite code read (bot.evals.sandbox.repo_files) as dependencies of `suite`."""
    return [Dependency(path, suite, f"file read by {by}") for path, by in reads]


def renders_with_code(suite: Suite) -> bool:
    """Code runs to render the suite's cases: a prompt function, a var computed by code, transformVars."""
    return any(p.code is not None for p in suite.prompts) or any(t.var_code or t.transform_vars is not None for t in suite.tests)


def _add_dependencies(
    found: dict[tuple[str, str], Dependency], path: str, sides: Iterable[tuple[FileTree, Suite | None]]
) -> None:
    """The suite at `path` and every file it reads on each side, once per (file, suite)."""
    found.setdefault((path, path), Dependency(path, path, "suite"))
    for tree, suite in sides:
        for dep in suite_dependencies(tree, suite):
            found.setdefault((dep.path, path), dep)


def suite_dependencies(tree: FileTree, suite: Suite | None) -> list[Dependency]:
    """Every file a suite's cases read on one side: prompts and what they include, test files, var files."""
    if suite is None:
        return []
    renderer = Renderer(tree)
    # first: a test an extension hook added names the hook's file, which is the hook's before it is a test's
    out = [Dependency(f, suite.path, "extension hook") for f in suite.extensions]
    for prompt in suite.prompts:
        for i, dep in enumerate(renderer.dependencies(prompt)):
            own = i == 0 and dep == prompt.source
            out.append(Dependency(dep, suite.path, "prompt" if own else "included by a prompt"))
    every: list[Code] = []  # the code of every case, for the files it requires
    for test in suite.tests:
        if test.file and test.file != suite.path:  # a test file, or the generator whose code returned the test
            out.append(Dependency(test.file, suite.path, "test generator" if is_code_ref(test.file) else "test data"))
        out += [Dependency(f, suite.path, "var file") for f in test.var_files.values()]
        codes = [c for c in (test.transform, test.transform_vars, test.scoring) if c is not None]
        codes += [c for _, c in test.var_code]
        codes += [c for a in test.asserts for _, c in a.code_items()]
        codes += [c for _, c in test.provider.code_items()] if test.provider else []  # the test's own provider's code
        if test.provider is not None and test.provider.option(REQUEST_FILE):  # its raw request read from a file
            out.append(Dependency(test.provider.option(REQUEST_FILE), suite.path, "http request"))
        codes += [test.grader.code] if test.grader is not None and test.grader.code is not None else []  # a grader in code
        out += [Dependency(c.file, suite.path, "code") for c in codes if c.file]
        every += codes
    out += [Dependency(c.file, suite.path, "nunjucks filter") for _, c in suite.filters if c.file]
    out += [Dependency(f, suite.path, "provider setting") for f in suite.setting_files]
    for provider in suite.providers:  # a provider written in code, and the code it runs on its prompts and answers
        out += [Dependency(c.file, suite.path, "code") for _, c in provider.code_items() if c.file]
        if provider.option(REQUEST_FILE):  # an http provider's raw request read from a file
            out.append(Dependency(provider.option(REQUEST_FILE), suite.path, "http request"))
    every += [p.code for p in suite.prompts if p.code is not None] + [c for _, c in suite.filters]
    every += [c for p in suite.providers for _, c in p.code_items()]
    required = [(m.path, c.file) for c in every for m in c.modules if m.path] + list(suite.helpers)
    for path, by in dict.fromkeys(required):
        out.append(Dependency(path, suite.path, f"code required by {by}"))
    out += read_dependencies(suite.path, suite.reads)
    return out


def error_causes(cases: list[CaseResult]) -> tuple[ErrorCause, ...]:
    """Errored cases grouped by why they could not be checked, each with its first message."""
    found: dict[CheckError, list] = {}
    for c in cases:
        if c.status is not CaseStatus.ERROR:
            continue
        side = next((x for x in (c.head, c.base) if x is not None and x.error), None)
        kind = (side.error_kind if side else None) or CheckError.OTHER
        entry = found.setdefault(kind, [0, (side.error if side else None) or "the case could not run"])
        entry[0] += 1
    return tuple(ErrorCause(k, n, example) for k, (n, example) in found.items())


def code_context(case: CaseInput, limits: CodeLimits, files: RepoFiles | None = None) -> CodeContext:
    """promptfoo's `context` for the case's code: its vars, rendered prompt, test and provider."""
    messages = case.messages or ()
    prompt = messages[0][1] if len(messages) == 1 and messages[0][0] == "user" and case.prompt.format == "text" else \
        json.dumps(listed(messages), ensure_ascii=False)  # content parts as their list, not their JSON text
    vars_ = case.case_vars
    test = {"description": case.test.description, "vars": vars_, "metadata": case.test.metadata}
    shown = case.column or case.provider  # promptfoo: the suite's provider, also when the test's own answers
    provider = {"id": shown.id, "label": shown.label, "config": dict(shown.params)}
    return CodeContext(vars_, prompt, test, provider, limits, case.test.file or "suite", case.test.line, files=files)


async def _judge_by_base(case: PlannedCase, runs: list[CaseRun], grader: ModelGrader, regexes: RegexClock,
                         code_limits: CodeLimits | None = None, base_tree: FileTree | None = None) -> SideResult:
    """The head's outputs scored with the base's (rendered) assertions, threshold and grader (code that reads the
    repository reads the base's, as the base's checks do)."""
    base = case.base
    assert base is not None
    files = case_reads.view(base_tree, base) if base_tree is not None and case_readers(base) else None
    passes, first_failed = 0, None
    for job in runs:
        result = job.result or {}
        output = str(result.get("output", ""))
        logprobs = result.get("logprobs")
        measured = Completion(output, finish_reason=result.get("finish_reason"), latency_ms=result.get("latency_ms"),
                              cost_usd=result.get("cost_usd"), structured=bool(result.get("structured")),
                              logprobs=tuple(float(x) for x in logprobs) if isinstance(logprobs, list) else None)
        metadata = result.get("metadata")
        try:
            outcome = await score_output(
                base.asserts, base.test.threshold, output, grader, base.test.grader or DEFAULT_GRADER, regexes, measured,
                replace(code_context(base, code_limits or CodeLimits(), files), metadata=metadata if isinstance(metadata, dict) else None),
                base.test.transform, base.test.scoring,
            )
        except (ProviderError, AssertionBroken) as exc:
            return SideResult(False, 0.0, output, error=str(exc), error_kind=_kind(exc), runs=len(runs), passes=0)
        passes += outcome.passed
        if not outcome.passed and first_failed is None:
            first_failed = tuple(outcome.failed)
    output = str((runs[0].result or {}).get("output", ""))
    return SideResult(side_passed(passes, len(runs)), passes / len(runs), output, first_failed or (), runs=len(runs), passes=passes)


def _kind(exc: Exception) -> CheckError:
    return exc.kind if isinstance(exc, (ProviderError, AssertionBroken)) else CheckError.OTHER


async def run_case(job: CaseRun, caller: Caller, grader: ModelGrader, cancelled: Callable[[], bool], regexes: RegexClock,
                   code_limits: CodeLimits | None = None) -> None:
    """Call the model for one run and score its answer; fills `job.result`, or `job.error` (the case
    errors) or `job.stopped` (budget or cancellation: the case is skipped)."""
    case = job.case
    try:
        if cancelled():
            raise Cancelled()
        if job.tree is not None:
            job.files = case_reads.view(job.tree, case)  # a fresh reader per run: what this run read, and only that
        context = code_context(case, code_limits or CodeLimits(), job.files)
        if case.provider.code is not None:  # a provider written in code answers in the sandbox
            completion = await call_code_provider(caller, case.provider, context, case.prompt.label)
        else:
            completion = await caller.complete(case.provider, case.messages or ())
        completion = await provider_output(case.provider, completion, context, case.suite)  # before options.transform
        context = replace(context, metadata=completion.metadata)
        outcome = await score_output(
            case.asserts, case.test.threshold, completion.text, grader, case.test.grader or DEFAULT_GRADER, regexes, completion,
            context, case.test.transform, case.test.scoring,
        )
    except BudgetExhausted as exc:
        job.stopped = str(exc)
        return
    except Cancelled:
        job.stopped = "cancelled"
        return
    except (ProviderError, AssertionBroken) as exc:
        job.error, job.error_kind = str(exc), _kind(exc)  # not cached: an error is retried on the next run
        return
    job.result = {
        "passed": outcome.passed,
        "score": outcome.score,
        "output": completion.text,
        "failed": list(outcome.failed),
        # each assertion's (type, score), for a max-score that compares this case with the test's others
        **({"components": [list(c) for c in outcome.components]} if any(a.base_type == "max-score" for a in case.asserts) else {}),
        **({"stored": outcome.output} if case.test.store_output_as else {}),  # after options.transform, as promptfoo stores it
        "tokens_in": completion.tokens_in,
        "tokens_out": completion.tokens_out,
        "finish_reason": completion.finish_reason,  # for latency/cost/finish-reason assertions judged again
        **({"structured": True} if completion.structured else {}),  # code sees the answer's object
        **({"metadata": completion.metadata} if completion.metadata else {}),  # and the response's metadata
        **({"logprobs": list(completion.logprobs)} if completion.logprobs is not None else {}),  # for perplexity judged again
        "latency_ms": completion.latency_ms,
        "cost_usd": completion.cost_usd,
        **({"reported_model": completion.model} if completion.model else {}),
        **({"system_fingerprint": completion.system_fingerprint} if completion.system_fingerprint else {}),
        # what its code read of the repository as it ran, each with the state it had (RepoFiles.state)
        **({"reads": job.files.state(job.files.recorded())} if job.files is not None else {}),
    }


async def _comparisons(plans: list[SuitePlan], jobs: dict[str, CaseRun], case_jobs: dict[tuple[str, str], list[str]],
                       repeats: int, grader: ModelGrader, cache: ResultCache) -> dict[tuple[str, str], list[Compared | None]]:
    """select-best / max-score of every test that has them, per side and repeat, over the test's cases
    on that side: (case key, side) → one verdict per repeat (bot.evals.comparisons)."""
    groups: dict[tuple[str, str, int], list[tuple[str, CaseInput]]] = {}
    for plan in plans:
        for case in plan.cases:
            for side, inp in (("base", case.base), ("head", case.head)):
                if inp is not None and (case.key, side) in case_jobs and comparison(inp.asserts):
                    groups.setdefault((side, inp.suite, inp.test.index), []).append((case.key, inp))
    out: dict[tuple[str, str], list[Compared | None]] = {}
    for (side, _, _), members in groups.items():
        for r in range(repeats):
            results = [jobs[case_jobs[(key, side)][r]].result for key, _ in members]
            verdicts = await compare([inp for _, inp in members], results, grader, cache)
            for (key, _), verdict in zip(members, verdicts):
                out.setdefault((key, side), []).append(verdict)
    return out


def _compared(result: dict, verdict: Compared | None) -> dict:
    """A run's result with its test's comparison applied (promptfoo: a case not selected fails, score 0)."""
    if verdict is None or verdict.passed:
        return result
    return {**result, "passed": False, "score": 0.0, "failed": list(result.get("failed", ())) + list(verdict.failed)}


def _side(keys: list[str] | None, jobs: dict[str, CaseRun], compared: list[Compared | None] | None = None) -> SideResult | str | None:
    """The aggregated side, a 'stopped' note (budget/cancel), or None when the side did not run;
    `compared` the verdicts of the test's select-best / max-score per run."""
    if not keys:
        return None
    runs = [jobs[k] for k in keys]
    stopped = next((j.stopped for j in runs if j.stopped), None)
    if stopped:
        return stopped
    failed_run = next((j for j in runs if j.error), None)
    if failed_run is not None:
        return SideResult(False, 0.0, "", error=failed_run.error, error_kind=failed_run.error_kind, runs=len(runs), passes=0)
    verdicts = compared or [None] * len(runs)
    broken = next((v for v in verdicts if v is not None and v.error), None)
    if broken is not None:
        return SideResult(False, 0.0, str((runs[0].result or {}).get("output", "")), error=broken.error, error_kind=broken.error_kind,
                          runs=len(runs), passes=0)
    results = [_compared(j.result or {}, v) for j, v in zip(runs, verdicts)]
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
        reported_model=next((str(r["reported_model"]) for r in results if r.get("reported_model")), None),
        system_fingerprint=next((str(r["system_fingerprint"]) for r in results if r.get("system_fingerprint")), None),
    )


def _error_side(inp: CaseInput | None) -> SideResult | None:
    if inp is None or inp.error is None:
        return None
    return SideResult(False, 0.0, "", error=str(inp.error), error_kind=inp.error_kind, runs=0, passes=0)


def _case_result(case: PlannedCase, jobs, case_jobs, under_base: SideResult | None = None, suite_deleted: bool = False,
                 compared: dict[tuple[str, str], list[Compared | None]] | None = None) -> CaseResult:
    inp = case.head or case.base
    assert inp is not None
    compared = compared or {}
    base = _error_side(case.base) or _side(case_jobs.get((case.key, "base")), jobs, compared.get((case.key, "base")))
    head = _error_side(case.head) or _side(case_jobs.get((case.key, "head")), jobs, compared.get((case.key, "head")))
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
    loosened = None
    if status is CaseStatus.REMOVED:
        loosened = "suite deleted" if suite_deleted else "case deleted"
    elif (
        status is CaseStatus.STILL_PASSING and under_base is not None and base is not None
        and base.passed and not under_base.error and not under_base.passed
    ):
        loosened = ", ".join(r for r in case.reasons if not r.startswith("prompt ")) or "checks changed"
    flaky = bool((base and base.flaky) or (head and head.flaky))
    metric = next((a.metric for a in inp.asserts if a.metric), None)
    return CaseResult(
        key=case.key,
        suite=inp.suite,
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
        loosened=loosened,
        head_under_base=under_base,
    )


def _tally(cases: tuple[CaseResult, ...]) -> Tally:
    return tally([(c.status, c.flaky, c.head, c.loosened is not None) for c in cases])


def _suite_report(
    plan: SuitePlan, jobs, case_jobs, repeats, request: EvalRequest, broken: str | None, notes: list[str],
    under_base: dict[str, SideResult] | None = None, suite_deleted: bool = False,
    compared: dict[tuple[str, str], list[Compared | None]] | None = None,
) -> SuiteReport:
    if broken:
        return SuiteReport(plan.path, plan.description, skipped_reason=broken, notes=tuple(notes))
    under_base = under_base or {}
    cases = tuple(_case_result(c, jobs, case_jobs, under_base.get(c.key), suite_deleted, compared) for c in plan.cases)
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
