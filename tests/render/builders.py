"""Builders of ReviewResult values from the engines' real public types, for the render tests."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timezone
from pathlib import Path

from bot.core.approval import ApprovalInput, ApprovalVerdict, Review, evaluate_approval
from bot.core.compare import CaseStatus, SideResult, decide_verdict, tally
from bot.core.config import ApprovalConfig, EvalsConfig
from bot.core.errors import SourceError
from bot.core.matrix import model_tallies
from bot.core.owners import parse_owners
from bot.core.result import Links, PromptChange, ReviewResult
from bot.core.report import PromptVariant  # noqa: F401 (for scenarios)
from bot.evals.types import CaseResult, EvalReport, EvalStats, StatusCounts, SuiteReport

BASE_SHA = "1111111aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
HEAD_SHA = "2222222bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
LINKS = Links(
    evals_check="https://github.com/acme/support/runs/1001",
    approval_check="https://github.com/acme/support/runs/1002",
)
PROVIDER = "openai:chat:gpt-4o-mini"
SUITE = "evals/support/promptfooconfig.yaml"


def side(passed: bool, output: str, failed: Sequence[str] = (), error: str | None = None) -> SideResult:
    return SideResult(passed=passed, score=1.0 if passed else 0.0, output=output,
                      failed_assertions=tuple(failed), error=error, runs=1, passes=int(passed))


def case(key: str, status: CaseStatus, *, description: str = "", vars: dict | None = None,
         metric: str | None = None, base: SideResult | None = None, head: SideResult | None = None,
         reasons: Sequence[str] = ("prompts/support/system.md changed",), flaky: bool = False,
         suite: str = SUITE, provider: str = PROVIDER) -> CaseResult:
    return CaseResult(key=key, suite=suite, description=description, vars=vars or {},
                      prompt_label="support-chat", provider_id=provider, status=status,
                      reasons=tuple(reasons), flaky=flaky, metric=metric, base=base, head=head)


def suite_report(cases: Sequence[CaseResult], *, path: str = SUITE, unaffected: int = 0,
                 config: EvalsConfig | None = None) -> SuiteReport:
    t = tally([(c.status, c.flaky, c.head) for c in cases])
    counts = StatusCounts(**{s.value: sum(c.status is s for c in cases) for s in CaseStatus})
    return SuiteReport(path=path, description="Acme Shop support bot", cases=tuple(cases), counts=counts,
                       unaffected=unaffected, pass_rate_base=t.pass_rate_base, pass_rate_head=t.pass_rate_head,
                       p_value=t.p_value)


def report(suites: Sequence[SuiteReport], *, errors: Sequence[SourceError] = (), budget: str | None = None,
           config: EvalsConfig | None = None, wall_s: float = 38.2, cache_hits: int = 0,
           warnings: Sequence[SourceError] = ()) -> EvalReport:
    cases = [c for s in suites for c in s.cases]
    total = tally([(c.status, c.flaky, c.head) for c in cases])
    verdict = decide_verdict(total, [s.pass_rate_head for s in suites], config or EvalsConfig(),
                             config_errors=len(errors), budget_note=budget, per_model=model_tallies(cases))
    ran = sum(c.status is not CaseStatus.SKIPPED for c in cases)
    stats = EvalStats(model_calls=2 * ran - cache_hits, cache_hits=cache_hits, tokens_in=900 * ran,
                      tokens_out=120 * ran, cost_usd=0.00021 * ran, cases_run=ran,
                      cases_skipped=len(cases) - ran, cases_unaffected=sum(s.unaffected for s in suites),
                      wall_s=wall_s)
    return EvalReport(suites=tuple(suites), errors=tuple(errors), stats=stats, verdict=verdict,
                      budget_exhausted=budget, warnings=tuple(warnings))


def prompt_change(path: str, before: str | None, after: str | None, *, semdiff=None) -> PromptChange:
    import difflib
    import hashlib

    a, b = (before or "").splitlines(keepends=True), (after or "").splitlines(keepends=True)
    diff = "".join(difflib.unified_diff(a, b, f"a/{path}", f"b/{path}"))
    digest = lambda t: None if t is None else hashlib.sha256(t.encode()).hexdigest()[:7]  # noqa: E731
    return PromptChange(
        path=path, status="modified" if before is not None and after is not None else ("added" if before is None else "removed"),
        previous_path=None, unified_diff=diff,
        lines_added=sum(1 for l in diff.splitlines() if l.startswith("+") and not l.startswith("+++")),
        lines_removed=sum(1 for l in diff.splitlines() if l.startswith("-") and not l.startswith("---")),
        base_hash=digest(before), head_hash=digest(after), semdiff=semdiff,
    )


OWNERS = Path(__file__).resolve().parents[2] / "examples/support-bot/.github/PROMPTOWNERS"


def approval(*, approved_by: Sequence[str] = (), regressed: bool = False, accepted_by: str | None = None,
             prompts: Sequence[str] = ("prompts/support/system.md",), author: str = "dave") -> ApprovalVerdict:
    """The real approval verdict for the example repo's owners file (@acme/support-prompts: carol, erin)."""
    reviews = tuple(Review(user=u, state="APPROVED", submitted_at=datetime(2024, 5, 2, 9, i, tzinfo=timezone.utc),
                           commit_id=HEAD_SHA) for i, u in enumerate(approved_by))
    return evaluate_approval(ApprovalInput(
        changed_prompts=tuple(prompts), changed_files=tuple(prompts), author=author, reviews=reviews,
        fresh_commits=None, owners=parse_owners(OWNERS.read_text(), ".github/PROMPTOWNERS"),
        config=ApprovalConfig(required_approvals=1, required_approvals_on_regression=2),
        team_members={"acme/support-prompts": frozenset({"carol", "erin"}), "acme/prompt-eng": frozenset({"alice"})},
        evals_regressed=regressed, regression_accepted_by=accepted_by,
    ))


def result(prompts: Sequence[PromptChange], **fields) -> ReviewResult:
    fields.setdefault("links", LINKS)
    return ReviewResult(repo="acme/support", pr=42, base_sha=BASE_SHA, head_sha=HEAD_SHA,
                        prompts=tuple(prompts), files_changed=max(1, len(prompts)), **fields)


ACCEPTED_AT = datetime(2024, 5, 2, 10, 30, tzinfo=timezone.utc).isoformat()
