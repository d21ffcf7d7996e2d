"""Ablation names the change that caused a cluster, even when the lexical hints point elsewhere;
it is budgeted and can be switched off. Real suite, real prompt files, the scripted model on loopback."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from bot.core.config import EvalsConfig
from bot.core.files import MemoryTree
from bot.core.semdiff import diff_prompt
from bot.evals import EvalRequest, MemoryCache, run_evals
from bot.evals.explain import ExplainRequest, explain
from bot.modelserver.app import create_app
from bot.serving import start_in_thread
from tests.render import builders as b
from tests.render.example import SYSTEM, tree

SUITE = "evals/support/promptfooconfig.yaml"
RULE = "- Refunds are only possible within 30 days of delivery.\n"
# Quotes the failing assertions ("not eligible", "within 30 days") word for word, but the scripted
# model reads no refund window from it: removing it changes nothing.
DECOY = "- Say plainly when something is not eligible, and promise nothing within 30 days that we cannot keep.\n"
TONE = "- Never blame the customer.\n"
# The real culprit shares few words with the assertions: the model takes the first refund window
# it reads, so this sentence, placed before the rule, makes every late refund "eligible".
CULPRIT = "- Refunds for gift cards are possible within 365 days of delivery.\n"


@pytest.fixture(scope="module")
def model_url():
    with start_in_thread(create_app()) as server:
        yield server.url


def _review(base_text: str, head_text: str, url: str, config: EvalsConfig):
    base, head = tree(), tree()
    base._files[SYSTEM], head._files[SYSTEM] = base_text.encode(), head_text.encode()
    prompt = b.prompt_change(SYSTEM, base_text, head_text, semdiff=diff_prompt(SYSTEM, base, head))
    env = {"OPENAI_BASE_URL": url + "/v1", "OPENAI_API_KEY": "test-key"}
    cache = MemoryCache()
    report = asyncio.run(run_evals(EvalRequest(base=base, head=head, config=config, suites=[SUITE], env=env), cache))
    request = ExplainRequest(base=base, head=head, prompts=(prompt,), config=config, env=env)
    return report, asyncio.run(explain(request, report, cache))


def _two_edits() -> tuple[str, str]:
    original = tree().read(SYSTEM).decode()
    base = original.replace(TONE, TONE + DECOY)
    head = original.replace(RULE, CULPRIT + RULE)
    return base, head


def test_ablation_names_the_edit_that_broke_the_cases_when_lexical_overlap_points_at_the_other(model_url):
    base, head = _two_edits()
    report, ex = _review(base, head, model_url, EvalsConfig())
    assert len(report.cases(b.CaseStatus.REGRESSED)) == 41
    (cluster,) = ex.clusters
    cause = ex.cause_of(cluster.id)
    # The free hints rank the decoy first (it quotes the assertions) ...
    assert "promise nothing" in ex.change(cause.hints[0].change).before
    # ... and the ablation names the gift-card sentence, with its evidence.
    assert cause.determined and len(cause.changes) == 1
    named = ex.change(cause.changes[0])
    assert "365 days" in (named.after or "") and named.type == "instruction_added"
    assert cause.evidence == "reverting it alone restores 5 of 5 sampled cases"
    assert 0 < ex.calls <= 50


def test_with_repeats_the_ablation_runs_each_sampled_case_as_often_as_the_review_does(model_url):
    base, head = _two_edits()
    _, once = _review(base, head, model_url, EvalsConfig())
    report, thrice = _review(base, head, model_url, EvalsConfig.model_validate({"repeats": 3}))
    assert all(c.head.runs == 3 for c in report.cases(b.CaseStatus.REGRESSED))
    assert thrice.causes == once.causes
    assert thrice.calls == 3 * once.calls


def test_a_second_run_of_the_ablation_is_served_from_the_cache(model_url):
    base, head = _two_edits()
    base_tree, head_tree = tree(), tree()
    base_tree._files[SYSTEM], head_tree._files[SYSTEM] = base.encode(), head.encode()
    prompt = b.prompt_change(SYSTEM, base, head, semdiff=diff_prompt(SYSTEM, base_tree, head_tree))
    env = {"OPENAI_BASE_URL": model_url + "/v1", "OPENAI_API_KEY": "test-key"}
    cache = MemoryCache()
    report = asyncio.run(run_evals(EvalRequest(base=base_tree, head=head_tree, suites=[SUITE], env=env), cache))
    request = ExplainRequest(base=base_tree, head=head_tree, prompts=(prompt,), env=env)
    first = asyncio.run(explain(request, report, cache))
    before = httpx.get(model_url + "/_control/stats").json()["requests"]
    again = asyncio.run(explain(request, report, cache))
    assert httpx.get(model_url + "/_control/stats").json()["requests"] == before
    assert again.calls == 0 and again.cache_hits > 0 and again.causes == first.causes


def test_explain_false_makes_no_model_call_and_says_why_no_cause_is_named(model_url):
    base, head = _two_edits()
    report, ex = _review(base, head, model_url, EvalsConfig.model_validate({"explain": False}))
    assert ex.calls == 0 and len(ex.clusters) == 1
    (cause,) = ex.causes
    assert not cause.determined and "evals.explain: false" in cause.evidence
    assert cause.hints  # the free pass still runs


def test_the_explain_budget_stops_the_ablation_and_says_so(model_url):
    base, head = _two_edits()
    report, ex = _review(base, head, model_url, EvalsConfig.model_validate({"explain": {"sample": 5, "max_calls": 1}}))
    assert ex.calls <= 1
    (cause,) = ex.causes
    assert not cause.determined and "budget" in cause.evidence
