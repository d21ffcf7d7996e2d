"""What the local review cache knows about a prompt's versions, for `prompt-review history --repo-dir`.

`prompt-review review` caches each case's result under a hash of everything that decides it (the rendered
messages, provider, assertions; bot.evals.runner.cache_key). So for each version of the prompt the suites
of that commit are planned again — rendered, never run, no code executed, no model called — and each case
that uses the prompt is looked up: a case whose result is cached was reviewed at that version, with that
verdict and score."""

from __future__ import annotations

from dataclasses import dataclass

from bot.core.config import CONFIG_PATH, parse_config
from bot.core.errors import UserError
from bot.core.files import FileTree, MemoryTree
from bot.evals.cache import ResultCache
from bot.evals.loader import load_suite
from bot.evals.render import RenderBounds
from bot.evals.runner import cache_key, discover
from bot.evals.sandbox import CodeLimits
from bot.evals.select import plan_suite

MAX_VERSIONS = 50  # newest versions of a prompt whose suites are planned again for the cache


@dataclass(frozen=True)
class CachedSuite:
    suite: str
    cases: int  # cases of the suite that use the prompt
    cached: int  # of them, how many have every repeat in the cache
    passed: int  # of the cached, how many passed every repeat
    mean_score: float | None

    @property
    def pass_rate(self) -> float | None:
        return self.passed / self.cached if self.cached else None

    def describe(self) -> str:
        if not self.cached:
            return f"review cache: {self.suite}: none of {self.cases} cases using it is cached"
        score = f", mean score {self.mean_score:.2f}" if self.mean_score is not None else ""
        missing = f"; {self.cases - self.cached} not cached" if self.cached < self.cases else ""
        return f"review cache: {self.suite}: {self.passed} of {self.cached} cached cases pass{score}{missing}"


def _no_code(what: str) -> tuple[bool, str]:
    return False, "history only looks results up; it runs no code"


def cached_suites(tree: FileTree, path: str, cache: ResultCache) -> tuple[CachedSuite, ...]:
    """Per suite of the revision whose cases use `path`: how many of those cases the cache has, and passed."""
    try:
        config = parse_config(tree.read(CONFIG_PATH))
    except UserError:
        return ()  # a broken config reviewed nothing; the timeline still shows the version
    repeats = max(config.evals.repeats, 1)
    empty = MemoryTree({})
    out = []
    for suite_path in discover(empty, tree, config.suites):
        suite, errors = load_suite(tree, suite_path, config.limits)
        if suite is None or errors:
            continue
        plan = plan_suite(suite_path, empty, tree, None, suite, bounds=RenderBounds(config.limits), pr_code=_no_code,
                          code_limits=CodeLimits.from_config(config.limits))
        cases = [c.head for c in plan.cases if c.head is not None and c.head.error is None and path in c.head.deps]
        if not cases:
            continue
        cached = passed = 0
        scores: list[float] = []
        for case in cases:
            hits = [cache.get(cache_key(case, r)) for r in range(repeats)]
            if any(h is None for h in hits):
                continue
            cached += 1
            passed += all(bool(h.get("passed")) for h in hits if h is not None)
            scores.extend(float(h["score"]) for h in hits if h is not None and isinstance(h.get("score"), (int, float)))
        out.append(CachedSuite(suite_path, len(cases), cached, passed, sum(scores) / len(scores) if scores else None))
    return tuple(out)
