"""Ablation: which of a PR's prompt changes caused each cluster of regressed (or fixed) cases.

For a sample of a cluster's cases, the head is rebuilt with one change reverted at a time (most
likely first, by the free lexical hints) and the sample re-run; a change whose revert turns the
whole sample back is the cause. When no single change does, delta debugging finds a minimal set.
Every call goes through the same Caller, cache keys and budget as the review's eval run, and
stops when the review is cancelled.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace

import httpx

from bot.core.compare import side_passed
from bot.core.config import Budget, EvalsConfig, LimitsConfig
from bot.core.explain import (
    Cause, ChangeRef, Cluster, Explanation, RevertError, candidate_changes, cluster_cases, rank_changes, revert,
)
from bot.core.explain.model import ClusterKind
from bot.core.files import FileTree, normalize
from bot.core.result import PromptChange
from bot.evals.cache import ResultCache
from bot.evals.grading import ModelGrader
from bot.evals.generators import CodePolicy
from bot.evals.loaded import LoadedSuites
from bot.evals.patterns import RegexClock
from bot.evals.providers import Caller, Meter
from bot.evals.render import RenderBounds, Renderer
from bot.evals.runner import CaseRun, cached_result, run_case, store_result
from bot.evals.sandbox import CodeLimits
from bot.evals.select import CaseInput, base_only_gate, expand, stable_test_ids
from bot.evals.types import CaseResult, EvalReport


@dataclass(frozen=True)
class ExplainRequest:
    base: FileTree
    head: FileTree
    prompts: tuple[PromptChange, ...]
    config: EvalsConfig = field(default_factory=EvalsConfig)
    limits: LimitsConfig = field(default_factory=LimitsConfig)
    env: Mapping[str, str] = field(default_factory=dict)
    loaded: LoadedSuites | None = None  # the review's parsed suites (None: parse them here)


class OverlayTree:
    """A tree with some files replaced: the head with one change reverted."""

    def __init__(self, tree: FileTree, files: Mapping[str, bytes]):
        self.tree = tree
        self.files = {normalize(p): v for p, v in files.items()}

    def paths(self) -> list[str]:
        return sorted(set(self.tree.paths()) | set(self.files))

    def read(self, path: str) -> bytes | None:
        key = normalize(path)
        return self.files[key] if key in self.files else self.tree.read(path)


class _Stopped(Exception):
    """The budget ran out or the review was cancelled: what is known so far is reported."""


def _sample(cluster: Cluster, n: int) -> tuple[str, ...]:
    """The representative plus members spread evenly over the cluster."""
    keys = cluster.cases
    if len(keys) <= n:
        return keys
    step = len(keys) / n
    return tuple(dict.fromkeys(keys[int(i * step)] for i in range(n)))


def _restores(kind: ClusterKind, passed: bool) -> bool:
    return passed if kind is ClusterKind.REGRESSED else not passed


def _cases_word(n: int) -> str:
    return f"{n} sampled case{'s' if n != 1 else ''}"


class _Ablation:
    def __init__(self, request: ExplainRequest, cache: ResultCache, caller: Caller, cancelled: Callable[[], bool]):
        self.request = request
        self.cache = cache
        self.caller = caller
        self.grader = ModelGrader(caller)
        self.cancelled = cancelled
        self.clock = RegexClock(request.config.regex_timeout_s, request.config.regex_budget_s)
        self.bounds = RenderBounds(request.limits)
        # without the review's suites: the base's generators run, the PR's own do not (the request does not say whose PR it is)
        self.loaded = request.loaded if request.loaded is not None else LoadedSuites(
            request.limits, CodePolicy(request.base, same_repo=False, limits=request.limits))
        self.semaphore = asyncio.Semaphore(request.config.concurrency)
        self.inputs: dict[tuple[frozenset[str], str], dict[str, CaseInput]] = {}
        self.verdicts: dict[tuple[frozenset[str], str], bool | None] = {}
        self.hits = 0

    def tree(self, changes: Sequence[ChangeRef]) -> FileTree:
        """The head with `changes` reverted (RevertError when one cannot be located)."""
        by_file: dict[str, list[ChangeRef]] = {}
        for c in changes:
            by_file.setdefault(c.file, []).append(c)
        files = {}
        for path, group in by_file.items():
            base, head = self.request.base.read(path), self.request.head.read(path)
            if head is None:  # a deleted file comes back whole
                if base is None:
                    raise RevertError(f"{path} exists on neither side")
                files[path] = base
                continue
            if base is None:
                raise RevertError(f"{path} is new in this PR: reverting one of its changes leaves no prompt")
            text = revert(base.decode("utf-8", "replace"), head.decode("utf-8", "replace"), group)
            files[path] = text.encode()
        return OverlayTree(self.request.head, files)

    def case_inputs(self, ids: frozenset[str], tree: FileTree, suite_path: str, keys: Sequence[str]) -> dict[str, CaseInput]:
        memo = (ids, suite_path)
        if memo not in self.inputs:
            suite, _ = self.loaded.load(tree, suite_path)
            found: dict[str, CaseInput] = {}
            if suite is not None:
                full_ids = stable_test_ids(suite.tests)
                wanted = {k[len(suite_path) + 2:].rsplit("::", 2)[0] for k in keys}
                picked = [(t, i) for t, i in zip(suite.tests, full_ids) if i in wanted]
                id_of = {id(t): i for t, i in picked}
                base_suite = self.loaded.load(self.request.base, suite_path)[0]  # only its code runs here
                cases, _ = expand(replace(suite, tests=tuple(t for t, _ in picked)), Renderer(tree, self.bounds),
                                  gate=base_only_gate(base_suite, CodeLimits.from_config(self.request.limits)))
                for c in cases.values():
                    key = f"{suite_path}::{id_of[id(c.test)]}::{c.prompt.label}::{c.provider.slot}"
                    found[key] = replace(c, key=key)
            self.inputs[memo] = found
        return self.inputs[memo]

    async def verdict(self, ids: frozenset[str], inp: CaseInput | None, tree: FileTree) -> bool | None:
        """Whether the case passes with these changes reverted (None: it could not run). With
        `evals.repeats: k` it runs k times, like the review, and passes on a strict majority."""
        if inp is None or inp.error is not None:
            return None
        memo = (ids, inp.key)
        if memo not in self.verdicts:
            runs = await asyncio.gather(*(self.run(inp, r, tree) for r in range(max(1, self.request.config.repeats))))
            self.verdicts[memo] = None if None in runs else side_passed(sum(bool(r) for r in runs), len(runs))
        return self.verdicts[memo]

    async def run(self, inp: CaseInput, repeat: int, tree: FileTree) -> bool | None:
        """One repeat of one case on `tree` (the head with changes reverted): from the cache when the review (or an
        earlier revert) ran it — for code that reads the repository, only while what it read is the same in `tree`."""
        job = CaseRun.on(inp, repeat, tree)
        hit = cached_result(self.cache, job)
        if hit is not None:
            self.hits += 1
            return bool(hit.get("passed"))
        async with self.semaphore:
            await run_case(job, self.caller, self.grader, self.cancelled, self.clock, CodeLimits.from_config(self.request.limits))
        if job.stopped:
            raise _Stopped(job.stopped)
        if job.result is None:
            return None
        store_result(self.cache, job)
        return bool(job.result.get("passed"))

    async def restored(self, cluster: Cluster, sample: Sequence[str], changes: Sequence[ChangeRef]) -> int:
        """How many sampled cases the revert of `changes` turns back; the first case is a probe, so
        a wrong candidate costs one call."""
        ids = frozenset(c.id for c in changes)
        tree = self.tree(changes)
        inputs = self.case_inputs(ids, tree, cluster.suite, sample)
        first = await self.verdict(ids, inputs.get(sample[0]), tree)
        if first is None or not _restores(cluster.kind, first):
            return 0
        rest = await asyncio.gather(*(self.verdict(ids, inputs.get(k), tree) for k in sample[1:]))
        return 1 + sum(1 for v in rest if v is not None and _restores(cluster.kind, v))


def _candidates(cluster: Cluster, changes: tuple[ChangeRef, ...]) -> tuple[ChangeRef, ...]:
    """The changes in files the cluster's cases depend on (all of them when none is named)."""
    files = set(cluster.files)
    own = tuple(c for c in changes if c.file in files or c.prompt in files)
    return own or changes


async def _explain_cluster(ab: _Ablation, cluster: Cluster, ranked: tuple[ChangeRef, ...], hints, n: int) -> Cause:
    sample = _sample(cluster, n)
    size = len(sample)
    word = "restores" if cluster.kind is ClusterKind.REGRESSED else "undoes the fix of"
    best: tuple[int, ChangeRef | None] = (0, None)
    revertible: list[ChangeRef] = []
    for change in ranked:
        try:
            got = await ab.restored(cluster, sample, [change])
        except RevertError:
            continue
        revertible.append(change)
        if got == size:
            return Cause(cluster.id, (change.id,), True, got, size,
                         f"reverting it alone {word} {got} of {_cases_word(size)}", hints)
        if got > best[0]:
            best = (got, change)
    if len(revertible) > 1:
        # Delta debugging: revert everything, then keep only the changes the sample still needs.
        together = await ab.restored(cluster, sample, revertible)
        if together == size:
            needed = list(revertible)
            for change in list(reversed(revertible)):
                trial = [c for c in needed if c.id != change.id]
                if trial and await ab.restored(cluster, sample, trial) == size:
                    needed = trial
            if len(needed) == 1:
                only = needed[0]
                return Cause(cluster.id, (only.id,), True, size, size,
                             f"reverting it alone {word} {size} of {_cases_word(size)}", hints)
            return Cause(cluster.id, tuple(c.id for c in needed), True, size, size,
                         f"reverting these {len(needed)} changes together {word} {size} of {_cases_word(size)}; "
                         "no one of them alone does", hints)
        why = f"reverting all {len(revertible)} changes together {word} only {together} of {_cases_word(size)}"
    elif not revertible:
        why = "no change could be reverted on its own (none was found in its file)"
    else:
        why = f"reverting the only revertible change {word} {best[0]} of {_cases_word(size)}"
    if best[1] is not None and best[0]:
        why += f"; the closest, {best[1].summary!r}, {word} {best[0]}"
    return Cause(cluster.id, (), False, best[0], size, f"not determined: {why}", hints)


def _free_pass(cases: Sequence[CaseResult], request: ExplainRequest) -> tuple[tuple[Cluster, ...], tuple[ChangeRef, ...], dict]:
    clusters = cluster_cases(cases)
    changes = candidate_changes(request.prompts)
    by_key = {c.key: c for c in cases}
    ranking = {}
    for cluster in clusters:
        members = [by_key[k] for k in cluster.cases[:20]]
        side = [(m.base.output if m.base else "") for m in members[:5]]
        ranking[cluster.id] = rank_changes(_candidates(cluster, changes), cluster.assertions, side)
    return clusters, changes, ranking


async def explain(
    request: ExplainRequest,
    report: EvalReport,
    cache: ResultCache,
    cancelled: Callable[[], bool] | None = None,
) -> Explanation | None:
    """Clusters of the report's regressed and fixed cases, each with its cause or why none was found.
    None when no case regressed or was fixed."""
    cases = report.cases()
    clusters, changes, ranking = _free_pass(cases, request)
    if not clusters:
        return None
    settings = request.config.explain
    is_cancelled = cancelled or (lambda: False)

    def undetermined(why: str) -> tuple[Cause, ...]:
        return tuple(Cause(c.id, (), False, evidence=f"not determined: {why}", hints=ranking[c.id][1]) for c in clusters)

    if not settings.enabled:
        return Explanation(clusters, undetermined("ablation is off (evals.explain: false)"), changes, note="ablation is off")
    if not changes:
        return Explanation(clusters, undetermined("no prompt change to revert (the suite or the model changed)"), changes)
    if report.cancelled or report.budget_exhausted:
        return Explanation(clusters, undetermined("the eval run did not finish"), changes)
    started = time.monotonic()
    budget = request.config.budget
    spent = report.stats
    room = Budget(
        max_calls=max(0, min(settings.max_calls, budget.max_calls - spent.model_calls)),
        max_tokens=None if budget.max_tokens is None else max(0, budget.max_tokens - spent.tokens_in - spent.tokens_out),
        max_usd=max(0.0, budget.max_usd - spent.cost_usd),
    )
    meter = Meter(room)
    causes: list[Cause] = []
    note = None
    async with httpx.AsyncClient() as client:
        caller = Caller.for_run(client, request.env, request.config, meter, is_cancelled)
        ab = _Ablation(request, cache, caller, is_cancelled)
        for cluster in clusters:
            ranked, hints = ranking[cluster.id]
            try:
                causes.append(await _explain_cluster(ab, cluster, ranked, hints, settings.sample))
            except _Stopped as exc:
                stopped = "the review was cancelled" if str(exc) == "cancelled" else f"the explain budget ran out ({exc})"
                note = stopped
                causes += [Cause(c.id, (), False, evidence=f"not determined: {stopped}", hints=ranking[c.id][1])
                           for c in clusters[len(causes):]]
                break
    return Explanation(clusters, tuple(causes), changes, calls=meter.calls, cache_hits=ab.hits, note=note,
                       tokens_in=meter.tokens_in, tokens_out=meter.tokens_out, cost_usd=round(meter.cost_usd, 6),
                       wall_s=time.monotonic() - started)


def with_explain_stats(report: EvalReport, explanation: Explanation | None) -> EvalReport:
    """The report with the ablation's spending added, so its stats count every call the review made
    (`explain_calls` says how many of them went to finding causes)."""
    if explanation is None or not (explanation.calls or explanation.cache_hits or explanation.wall_s):
        return report
    s = report.stats
    return replace(report, stats=replace(
        s,
        model_calls=s.model_calls + explanation.calls,
        explain_calls=s.explain_calls + explanation.calls,
        tokens_in=s.tokens_in + explanation.tokens_in,
        tokens_out=s.tokens_out + explanation.tokens_out,
        cost_usd=round(s.cost_usd + explanation.cost_usd, 6),
        wall_s=s.wall_s + explanation.wall_s,
    ))
