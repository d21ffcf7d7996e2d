"""The baseline file and the comparison of a fresh run with it. Pure: values in, values out.

A baseline is what a revision's suites did when someone blessed it: per case its pass count over
the repeats and an output excerpt, per model what the provider said answered (`model`,
`system_fingerprint`). A later run is compared case by case with the same statistics as a review
(a regression is base pass → now fail; flaky ones block only when significant), per model.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from bot.core.compare import CaseStatus, SideResult, Tally, Verdict, compare_case, decide_verdict, tally
from bot.core.config import EvalsConfig
from bot.core.explain.cluster import cluster_cases
from bot.core.explain.model import ClusterKind
from bot.core.matrix import model_of, model_tallies
from bot.core.report import CaseResult, EvalReport
from bot.core.variants import VariantGroup, variant_groups

SCHEMA = "prompt-review/baseline@1"
EXCERPT = 400


class Seen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    model: str | None = None  # as the provider reported it
    system_fingerprint: str | None = None

    def describe(self) -> str:
        return f"model {self.model or '?'}, system_fingerprint {self.system_fingerprint or '?'}"


class BaselineCase(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    suite: str
    model: str  # provider slot
    description: str = ""
    passed: bool
    passes: int = Field(ge=0)
    runs: int = Field(ge=1)
    score: float = 0.0
    output: str = ""
    failed: tuple[str, ...] = ()


class Baseline(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    schema_: str = Field(SCHEMA, alias="schema")
    sha: str
    ref: str = ""
    repeats: int = Field(1, ge=1)
    models: dict[str, Seen] = Field(default_factory=dict)  # provider slot → what answered
    cases: dict[str, BaselineCase] = Field(default_factory=dict)  # case key → result

    def dumps(self) -> str:
        return json.dumps(self.model_dump(by_alias=True, mode="json"), indent=2, sort_keys=True) + "\n"


class BaselineError(Exception):
    """The baseline file cannot be used; the message names the file and what is wrong."""


def parse_baseline(text: str, file: str) -> Baseline:
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise BaselineError(f"{file}: not JSON ({exc})") from None
    if not isinstance(data, dict) or data.get("schema") != SCHEMA:
        raise BaselineError(f"{file}: not a prompt-review baseline (expected \"schema\": \"{SCHEMA}\")")
    try:
        return Baseline.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        raise BaselineError(f"{file}: {'.'.join(str(p) for p in err['loc'])}: {err['msg']}") from None


def seen_models(report: EvalReport) -> dict[str, Seen]:
    """Per model, what the provider reported most often over this run's answers."""
    votes: dict[str, Counter[tuple[str | None, str | None]]] = {}
    for c in report.cases():
        if c.head is not None and not c.head.error:
            votes.setdefault(model_of(c), Counter())[(c.head.reported_model, c.head.system_fingerprint)] += 1
    return {m: Seen(model=v.most_common(1)[0][0][0], system_fingerprint=v.most_common(1)[0][0][1]) for m, v in votes.items()}


def baseline_from(report: EvalReport, sha: str, ref: str, repeats: int) -> Baseline:
    cases = {}
    for c in report.cases():
        h = c.head
        if h is None or h.error:
            continue  # a case that could not run has no verdict to keep
        cases[c.key] = BaselineCase(suite=c.suite, model=model_of(c), description=c.description, passed=h.passed,
                                    passes=h.passes, runs=max(1, h.runs), score=h.score, output=h.output[:EXCERPT],
                                    failed=tuple(h.failed_assertions))
    return Baseline(schema=SCHEMA, sha=sha, ref=ref, repeats=repeats, models=seen_models(report), cases=cases)


@dataclass(frozen=True)
class ModelChange:
    model: str  # provider slot
    before: Seen
    now: Seen

    def describe(self) -> str:
        parts = []
        if self.before.model != self.now.model:
            parts.append(f"model {self.before.model or '?'} → {self.now.model or '?'}")
        if self.before.system_fingerprint != self.now.system_fingerprint:
            parts.append(f"system_fingerprint {self.before.system_fingerprint or '?'} → {self.now.system_fingerprint or '?'}")
        return f"{self.model}: " + "; ".join(parts)


@dataclass(frozen=True)
class Compared:
    key: str
    suite: str
    model: str
    description: str
    status: CaseStatus
    base: SideResult | None
    now: SideResult | None
    flaky: bool = False


@dataclass(frozen=True)
class RegressedCluster:
    """Regressed cases that fail the same way (same failing assertions, similar outputs), as a review clusters them."""

    assertions: tuple[str, ...]
    cases: tuple[Compared, ...]  # the representative first


@dataclass(frozen=True)
class Outcome:
    """One (suite, model): the unit an issue is filed for."""

    suite: str
    model: str
    tally: Tally
    cases: tuple[Compared, ...]
    blocking: bool
    clusters: tuple[RegressedCluster, ...] = ()  # the regressed cases, clustered, biggest first

    @property
    def regressed(self) -> tuple[Compared, ...]:
        return tuple(c for c in self.cases if c.status is CaseStatus.REGRESSED)


@dataclass(frozen=True)
class Revalidation:
    sha: str
    baseline_sha: str
    outcomes: tuple[Outcome, ...]
    changes: tuple[ModelChange, ...]
    verdict: Verdict
    variants: tuple[VariantGroup, ...] = ()  # suites whose prompt is a variant per model

    @property
    def regressed(self) -> tuple[Compared, ...]:
        return tuple(c for o in self.outcomes for c in o.regressed)

    def variant_group(self, suite: str) -> VariantGroup | None:
        return next((g for g in self.variants if g.suite == suite), None)


def _side(b: BaselineCase) -> SideResult:
    return SideResult(passed=b.passed, score=b.score, output=b.output, failed_assertions=b.failed, runs=b.runs, passes=b.passes)


def model_changes(before: Mapping[str, Seen], now: Mapping[str, Seen]) -> tuple[ModelChange, ...]:
    """Models that answered under another reported model or fingerprint than the baseline's."""
    return tuple(ModelChange(m, before[m], now[m]) for m in sorted(set(before) & set(now)) if before[m] != now[m])


def _clusters(xs: list[Compared], case_of: Mapping[str, CaseResult]) -> tuple[RegressedCluster, ...]:
    mine = {x.key: x for x in xs}
    regressed = [case_of[x.key] for x in xs if x.status is CaseStatus.REGRESSED]
    return tuple(RegressedCluster(cl.assertions, tuple(mine[k] for k in cl.cases))
                 for cl in cluster_cases(regressed) if cl.kind is ClusterKind.REGRESSED)


def compare_with_baseline(baseline: Baseline, report: EvalReport, sha: str, policy: EvalsConfig) -> Revalidation:
    now: dict[str, CaseResult] = {c.key: c for c in report.cases()}
    compared = []
    for key in list(now) + [k for k in baseline.cases if k not in now]:
        c, b = now.get(key), baseline.cases.get(key)
        base = _side(b) if b else None
        head = c.head if c is not None else None
        status = CaseStatus.ERROR if c is not None and c.status is CaseStatus.ERROR else compare_case(base, head)
        compared.append(Compared(
            key, c.suite if c else b.suite, model_of(c) if c else b.model,  # type: ignore[union-attr]
            (c.description if c else b.description) or key.split("::")[1 if key.count("::") >= 3 else 0],  # type: ignore[union-attr]
            status, base, head, bool(head and head.flaky),
        ))
    by: dict[tuple[str, str], list[Compared]] = {}
    for x in compared:
        by.setdefault((x.suite, x.model), []).append(x)

    def t(xs) -> Tally:
        return tally([(x.status, x.flaky, x.now) for x in xs])

    as_cases = [CaseResult(key=x.key, suite=x.suite, description=x.description, vars={}, prompt_label="", provider_id=x.model,
                           status=x.status, flaky=x.flaky, base=x.base, head=x.now) for x in compared]
    verdict = decide_verdict(t(compared), [], policy, per_model=model_tallies(as_cases),
                             error_causes=report.error_causes, config_errors=len(report.errors))
    case_of = {c.key: c for c in as_cases}
    outcomes = []
    for (suite, model), xs in sorted(by.items()):
        order = sorted(xs, key=lambda x: (x.status is not CaseStatus.REGRESSED, x.description))
        outcomes.append(Outcome(suite, model, t(xs), tuple(order), model in verdict.blocked_models and t(xs).regressed > 0,
                                _clusters(xs, case_of)))
    return Revalidation(sha, baseline.sha, tuple(outcomes), model_changes(baseline.models, seen_models(report)), verdict,
                        variant_groups(report))
