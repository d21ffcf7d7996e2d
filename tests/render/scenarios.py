"""The review results the golden files are rendered from (one function per scenario)."""

from __future__ import annotations

import dataclasses
from functools import lru_cache

from bot.core.config import parse_config
from bot.core.errors import SourceError, UserError
from bot.core.result import Acceptance, EvalsSkip, Problem
from bot.core.semdiff import diff_texts
from tests.render import builders as b
from tests.render.example import EXAMPLE, SYSTEM, example_result, tree

S = b.CaseStatus
BASE_PROMPT = (EXAMPLE / SYSTEM).read_text()
EXPRESS = BASE_PROMPT.replace("costs $15.", "costs $15 and is available for orders placed before 2 pm.")


def _fixed_wall(result):
    """Wall time is the one non-deterministic figure of a real run."""
    stats = dataclasses.replace(result.evals.stats, wall_s=3.4)
    return dataclasses.replace(result, evals=dataclasses.replace(result.evals, stats=stats))


@lru_cache(maxsize=1)
def friendlier():
    return _fixed_wall(example_result("friendlier"))


def friendlier_accepted():
    r = friendlier()
    by = "carol"
    return dataclasses.replace(
        r, approval=b.approval(regressed=True, accepted_by=by, approved_by=["carol", "erin"]),
        accepted_regression=Acceptance(by, b.ACCEPTED_AT, tuple(c.key for c in r.evals.cases(S.REGRESSED))),
    )


def all_pass():
    prompt = b.prompt_change(SYSTEM, BASE_PROMPT, EXPRESS, semdiff=diff_texts(SYSTEM, BASE_PROMPT, EXPRESS))
    cases = [
        b.case(f"shipping-{i:03}", S.STILL_PASSING, description=f"shipping {i:03}: express delivery time", metric="shipping",
               base=b.side(True, "Express shipping takes 1 to 2 business days and costs $15."),
               head=b.side(True, "Express shipping takes 1 to 2 business days and costs $15."))
        for i in range(1, 36)
    ]
    cases.append(b.case("tone-007", S.FIXED, description="tone 007: upset customer", metric="tone",
                        base=b.side(False, "Please calm down.", ['not-icontains "calm down"']),
                        head=b.side(True, "I'm sorry for the trouble.")))
    report = b.report([b.suite_report(cases, unaffected=264)], cache_hits=35)
    return b.result([prompt], evals=report, approval=b.approval(approved_by=["erin"]))


def formatting_only():
    base, head = tree(), tree("reflow")
    before, after = base.read(SYSTEM).decode(), head.read(SYSTEM).decode()
    from bot.core.semdiff import diff_prompt

    prompt = b.prompt_change(SYSTEM, before, after, semdiff=diff_prompt(SYSTEM, base, head))
    return b.result([prompt], evals=None, evals_skipped_reason="formatting-only change",
                    evals_skipped=EvalsSkip.FORMATTING_ONLY, approval=b.approval())


def config_error():
    try:
        parse_config("evals:\n  fail_on: sometimes\n  budget: {max_calls: -5}\napproval:\n  required_approvals: two\n")
    except UserError as exc:
        errors = tuple(exc.errors)
    problem = Problem(
        title=".github/prompt-review.yml is invalid",
        detail="prompt-review read this file from the base branch and could not use it. Fix the lines below "
               "on the base branch (`prompt-review check-config` shows the same errors locally), then push again.",
        errors=errors,
    )
    prompt = b.prompt_change(SYSTEM, BASE_PROMPT, EXPRESS, semdiff=diff_texts(SYSTEM, BASE_PROMPT, EXPRESS))
    return b.result([prompt], problems=(problem,), evals=None, approval=None)


def budget_hit():
    passing = [
        b.case(f"account-{i:03}", S.STILL_PASSING, description=f"account {i:03}: password reset", metric="account",
               base=b.side(True, "You can reset your password at acme.example/reset."),
               head=b.side(True, "You can reset your password at acme.example/reset."))
        for i in range(1, 61)
    ]
    skipped = [b.case(f"shipping-{i:03}", S.SKIPPED, description=f"shipping {i:03}: tracking", metric="shipping",
                      reasons=("not run: budget exhausted",)) for i in range(1, 41)]
    report = b.report([b.suite_report(passing + skipped)], budget="budget exhausted: 120 model calls (max_calls 120)")
    prompt = b.prompt_change(SYSTEM, BASE_PROMPT, EXPRESS, semdiff=diff_texts(SYSTEM, BASE_PROMPT, EXPRESS))
    return b.result([prompt], evals=report, approval=b.approval(approved_by=["erin"]))


def many_regressions(n: int = 300):
    long_base = "I'm sorry, but this order is not eligible for a refund. " * 40
    long_head = "Great news! You're eligible for a refund — start at acme.example/returns. " * 40
    cases = [
        b.case(f"refund-{i:03}", S.REGRESSED, description=f"refund_out_of_window {i:03}: order delivered {31 + i} days ago",
               metric="refund_eligibility" if i % 3 else "json_format",
               base=b.side(True, long_base), head=b.side(False, long_head, ['icontains "not eligible"', 'regex "within 30 days\\b"']))
        for i in range(1, n + 1)
    ]
    cases += [b.case(f"tone-{i:03}", S.STILL_FAILING, description=f"tone {i:03}", metric="tone",
                     base=b.side(False, "Please calm down.", ['not-icontains "calm down"']),
                     head=b.side(False, "Please calm down.", ['not-icontains "calm down"'])) for i in range(1, 60)]
    report = b.report([b.suite_report(cases)])
    after = BASE_PROMPT.replace("- Refunds are only possible within 30 days of delivery.\n", "")
    prompt = b.prompt_change(SYSTEM, BASE_PROMPT, after, semdiff=diff_texts(SYSTEM, BASE_PROMPT, after))
    return b.result([prompt], evals=report, approval=b.approval(regressed=True))


def no_prompts_any_more():
    return b.result([], evals=None, approval=None)


def superseded():
    return dataclasses.replace(all_pass(), superseded_by="3333333cccccccccccccccccccccccccccccccccc")


def fork_waiting():
    prompt = b.prompt_change(SYSTEM, BASE_PROMPT, EXPRESS, semdiff=diff_texts(SYSTEM, BASE_PROMPT, EXPRESS))
    return b.result([prompt], evals=None, approval=b.approval(),
                    evals_skipped_reason="pull request from a fork: waiting for a maintainer to add the prompt-review:run-evals label")


def suite_error():
    error = SourceError("evals/support/promptfooconfig.yaml", "python assertions are never run: prompt-review does not execute code from pull requests", 21, "tests[3].assert[0].type")
    report = b.report([b.suite_report([])], errors=(error,))
    prompt = b.prompt_change(SYSTEM, BASE_PROMPT, EXPRESS, semdiff=diff_texts(SYSTEM, BASE_PROMPT, EXPRESS))
    return b.result([prompt], evals=report, approval=b.approval())


def binary_prompt_added():
    """A binary file added under the prompt patterns next to a text prompt change: reported, not reviewed."""
    logo = "prompts/support/logo.prompt"
    binary = dataclasses.replace(b.prompt_change(logo, None, ""), head_hash=None, head_unread="binary", unified_diff="",
                                 lines_added=0, lines_removed=0)
    problem = Problem(title=f"`{logo}` is not a text file",
                      detail="It matches the prompt patterns but contains binary data; it was not diffed.",
                      errors=(SourceError(logo, "binary content"),), blocking=False)
    r = all_pass()
    return dataclasses.replace(r, prompts=r.prompts + (binary,), problems=(problem,))


CLAUDE = "anthropic:messages:claude-3-5-haiku-latest"
NOT_ELIGIBLE = "I'm sorry, but this order is not eligible for a refund: refunds are only possible within 30 days of delivery."
ELIGIBLE = "Great news! You're eligible for a refund — start at acme.example/returns."


def two_models(mini_regressed: int = 0):
    """The friendlier prompt on a suite with two providers: fine on gpt-4o-mini, broken on claude
    (and on `mini_regressed` cases of gpt-4o-mini)."""
    after = BASE_PROMPT.replace("- Refunds are only possible within 30 days of delivery.\n", "")
    cases = []
    for provider in (b.PROVIDER, CLAUDE):
        for i in range(1, 5):
            broken = i <= 3 if provider == CLAUDE else i > 4 - mini_regressed
            cases.append(b.case(
                f"{b.SUITE}::refund-{i:03}::support-chat::{provider}", S.REGRESSED if broken else S.STILL_PASSING,
                description=f"refund_out_of_window {i:03}: order delivered {40 + i} days ago", metric="refund_eligibility",
                provider=provider, base=b.side(True, NOT_ELIGIBLE),
                head=b.side(False, ELIGIBLE, ['icontains "not eligible"']) if broken else b.side(True, NOT_ELIGIBLE)))
        cases.append(b.case(
            f"{b.SUITE}::tone-007::support-chat::{provider}", S.FIXED if provider == b.PROVIDER else S.STILL_PASSING,
            description="tone 007: upset customer", metric="tone", provider=provider,
            base=b.side(provider != b.PROVIDER, "Please calm down.", ['not-icontains "calm down"']),
            head=b.side(True, "I'm sorry for the trouble.")))
    report = b.report([b.suite_report(cases, unaffected=40)])
    prompt = b.prompt_change(SYSTEM, BASE_PROMPT, after, semdiff=diff_texts(SYSTEM, BASE_PROMPT, after))
    return b.result([prompt], evals=report, approval=b.approval(regressed=True))


def two_models_accepted_on_one():
    """Both models regressed; an owner accepted the regression for gpt-4o-mini only: claude's still blocks."""
    r = two_models(mini_regressed=1)
    return dataclasses.replace(r, accepted_regression=Acceptance("carol", b.ACCEPTED_AT, (), models=(b.PROVIDER,)),
                               approval=b.approval(regressed=True, accepted_by="carol", approved_by=["carol", "erin"]))


CLAUDE_VARIANT = "prompts/support/system.claude.md"
FAQ = "prompts/support/faq.md"


def per_model_variants():
    """The suite runs system.md on gpt-4o-mini and system.claude.md on claude (providers' `prompts:`);
    the PR edits the FAQ prompt and both variants: the comment shows the two variants together."""
    r = two_models()
    after = BASE_PROMPT.replace("- Refunds are only possible within 30 days of delivery.\n", "")
    claude_before = BASE_PROMPT.replace("You are", "You are, answering briefly,")
    claude_after = claude_before.replace("- Refunds are only possible within 30 days of delivery.\n", "")
    variants = (b.PromptVariant(SYSTEM, (b.PROVIDER,)), b.PromptVariant(CLAUDE_VARIANT, (CLAUDE,)))
    suites = tuple(dataclasses.replace(s, variants=variants) for s in r.evals.suites)
    prompts = [
        b.prompt_change(SYSTEM, BASE_PROMPT, after, semdiff=diff_texts(SYSTEM, BASE_PROMPT, after)),
        b.prompt_change(FAQ, "Shipping takes 3 days.\n", "Shipping takes 2 days.\n",
                        semdiff=diff_texts(FAQ, "Shipping takes 3 days.\n", "Shipping takes 2 days.\n")),
        b.prompt_change(CLAUDE_VARIANT, claude_before, claude_after, semdiff=diff_texts(CLAUDE_VARIANT, claude_before, claude_after)),
    ]
    return dataclasses.replace(r, prompts=tuple(prompts), files_changed=3, evals=dataclasses.replace(r.evals, suites=suites))
