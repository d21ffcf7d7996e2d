"""The promptfoo-format suites in bench/suites load and run through the eval engine against
the scripted model server with the verdicts `promptfoo eval` 0.121.20 gave on the same server
(see bench/vs_promptfoo.py and docs/promptfoo-compat.md); their PR variants regress only the
cases of the changed prompt.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest

from bot.core.files import MemoryTree
from bot.evals import CaseStatus, EvalRequest, MemoryCache, NoCache, run_evals
from bot.evals.loader import load_suite

SUITES = Path(__file__).resolve().parents[2] / "bench" / "suites"
SUITE = "promptfooconfig.yaml"


def tree(name: str, with_pr: bool = False) -> MemoryTree:
    root = SUITES / name
    files = {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file() and p.relative_to(root).parts[0] != "pr"}
    if with_pr:
        files.update({p.relative_to(root / "pr").as_posix(): p.read_bytes() for p in (root / "pr").rglob("*") if p.is_file()})
    return MemoryTree(files)


def run(url: str, base: MemoryTree, head: MemoryTree, cache=None):
    env = {"OPENAI_BASE_URL": f"{url}/v1", "OPENAI_API_KEY": "test", "ANTHROPIC_BASE_URL": url, "ANTHROPIC_API_KEY": "test"}
    request = EvalRequest(base=base, head=head, suites=[SUITE], env=env)
    return asyncio.run(run_evals(request, NoCache() if cache is None else cache))


def head_failures(report) -> set[tuple[str, str, str]]:
    return {(c.description, c.prompt_label, c.provider_id.rsplit(":", 1)[-1]) for c in report.cases() if c.head and not c.head.passed}


def calls(url: str) -> int:
    return httpx.get(f"{url}/_control/stats").json()["requests"]


@pytest.mark.parametrize("name, cases", [("chat-json", 24), ("assertions", 36), ("code", 18), ("compare", 26), ("chain", 3),
                                         ("vision", 14), ("tools", 16), ("metrics", 40), ("markup", 29), ("graded", 32),
                                         ("callbacks", 20)])
def test_bench_suite_loads_without_errors(name, cases):
    suite, errors = load_suite(tree(name), SUITE)
    assert errors == []
    assert len(suite.tests) * len(suite.prompts) * len(suite.providers) == cases


def test_chat_json_suite_fails_exactly_the_fenced_json_cases_of_the_gpt_4_1_model(server_url):
    report = run(server_url, MemoryTree({}), tree("chat-json"))
    assert report.errors == ()
    assert len(report.cases()) == 24
    fenced = {"in-window refund as JSON with a schema", "shipping answer equals a JSON object", "refund reply starts like a JSON object"}
    assert head_failures(report) == {(d, p, "gpt-4.1-mini") for d in fenced for p in ("refunds-chat", "shipping-chat")}


def test_assertions_suite_fails_levenshtein_threshold_and_equals_cases_only(server_url):
    report = run(server_url, MemoryTree({}), tree("assertions"))
    assert report.errors == ()
    assert len(report.cases()) == 36
    failing = {"levenshtein beyond default threshold fails", "weighted score misses the test threshold", "not-equals and a failing equals"}
    assert head_failures(report) == {(d, p, "gpt-4o-mini") for d in failing for p in ("echo", "polite")}
    weight_zero = [c for c in report.cases() if c.description == "a failing assertion with weight 0"]
    assert len(weight_zero) == 2 and all(c.head.passed for c in weight_zero)  # promptfoo passes these too


def test_metrics_suite_fails_exactly_the_cases_promptfoo_fails(server_url):
    report = run(server_url, MemoryTree({}), tree("metrics"))
    assert report.errors == ()
    assert len(report.cases()) == 40
    failing = {"bleu below the default threshold fails", "gleu below the default threshold fails", "rouge-n below the default threshold fails",
               "word-count above a maximum fails", "not-word-count of the exact count fails", "csv bleu and gleu"}
    assert head_failures(report) == {(d, p, "gpt-4o-mini") for d in failing for p in ("echo", "polite")}


def test_metrics_pr_adding_an_exclamation_mark_regresses_the_cases_promptfoo_fails_on_it(server_url):
    report = run(server_url, tree("metrics"), tree("metrics", with_pr=True))
    assert {c.prompt_label for c in report.cases()} == {"polite"}
    regressed = {c.description for c in report.cases(CaseStatus.REGRESSED)}
    # "!" sticks to the last word for bleu/gleu and is its own token for rouge-n; word counts stay
    assert regressed == {"bleu of a templated reference", "gleu ignores case and trailing dots", "bleu against the best of several references"}


def test_chat_json_pr_runs_only_the_changed_prompt_and_regresses_its_json_cases(server_url):
    report = run(server_url, tree("chat-json"), tree("chat-json", with_pr=True))
    assert report.stats.cases_unaffected == 12
    assert {c.prompt_label for c in report.cases()} == {"shipping-chat"}
    regressed = {(c.description, c.provider_id) for c in report.cases(CaseStatus.REGRESSED)}
    assert regressed == {
        ("out-of-window refund embedded JSON", "openai:chat:gpt-4o-mini"),
        ("out-of-window refund embedded JSON", "openai:chat:gpt-4.1-mini"),
        ("in-window refund as JSON with a schema", "openai:chat:gpt-4o-mini"),
        ("shipping answer equals a JSON object", "openai:chat:gpt-4o-mini"),
        ("refund reply starts like a JSON object", "openai:chat:gpt-4o-mini"),
    }


def test_assertions_pr_with_a_warm_cache_sends_only_the_changed_prompts_head_cases_to_the_model(server_url):
    cache = MemoryCache()
    run(server_url, MemoryTree({}), tree("assertions"), cache)  # main's full run fills the cache
    httpx.post(f"{server_url}/_control/reset").raise_for_status()
    report = run(server_url, tree("assertions"), tree("assertions", with_pr=True), cache)
    assert calls(server_url) == 18
    assert {c.prompt_label for c in report.cases()} == {"polite"}
    regressed = {c.description for c in report.cases(CaseStatus.REGRESSED)}
    assert regressed == {"equals the phrase", "anchored regex", "levenshtein within threshold", "csv morning"}


def test_code_suite_fails_exactly_the_cases_promptfoo_fails(server_url):
    # javascript/python assertions, not- forms, numeric scores and transforms; promptfoo 0.121.20 on the
    # same server fails these three and passes the other 15 (bench/vs_promptfoo.py --suite code)
    report = run(server_url, MemoryTree({}), tree("code"))
    assert report.errors == ()
    failing = {"javascript numeric score against a threshold (fails)", "javascript that throws fails even negated",
               "python file named function fails"}
    assert head_failures(report) == {(d, "echo", "gpt-4o-mini") for d in failing}
    assert not any(c.head.error for c in report.cases())


def test_code_suite_pr_regresses_the_cases_whose_code_sees_the_changed_output(server_url):
    report = run(server_url, tree("code"), tree("code", with_pr=True))
    regressed = {c.description for c in report.cases(CaseStatus.REGRESSED)}
    assert regressed == {"javascript reads context vars", "not-javascript on a number", "python function body with json",
                         "test transform then javascript", "transformVars shapes the prompt"}


def test_compare_suite_passes_exactly_the_cases_promptfoo_passes(server_url):
    # is-sql / contains-sql, select-best, max-score and conversation-relevance; promptfoo 0.121.20 on the
    # same server passes these 15 of 26 (bench/vs_promptfoo.py --suite compare)
    report = run(server_url, MemoryTree({}), tree("compare"))
    assert report.errors == () and not any(c.head.error for c in report.cases())
    passing = {(c.description, c.prompt_label) for c in report.cases() if c.head.passed}
    assert passing == {
        ("is-sql on a select and on prose", "first"), ("not-is-sql", "first"), ("is-sql allowed tables", "first"),
        ("is-sql allowed columns", "first"), ("is-sql dropped comma and dialects", "second"), ("contains-sql", "first"),
        ("select-best the funniest", "second"), ("select-best the most facts", "first"), ("select-best about today", "first"),
        ("max-score average", "second"), ("max-score weighted sum with threshold", "first"),
        ("conversation-relevance of one turn", "first"), ("conversation-relevance of one turn", "second"),
        ("conversation-relevance of a conversation", "first"), ("conversation-relevance of a conversation", "second"),
    }


def test_compare_suite_pr_reruns_the_compared_cases_of_the_unchanged_prompt_and_flips_the_select_best_winner(server_url):
    report = run(server_url, tree("compare"), tree("compare", with_pr=True))
    assert {c.description for c in report.cases(CaseStatus.REGRESSED)} == {"select-best about today"}
    assert {c.description for c in report.cases(CaseStatus.FIXED)} == {"select-best about today"}
    pulled_in = {c.description for c in report.cases() if c.prompt_label == "first"}
    assert pulled_in == {"select-best the funniest", "select-best the most facts", "select-best about today",
                         "max-score average", "max-score weighted sum with threshold"}


def test_chain_suite_passes_as_promptfoo_and_its_pr_regresses_the_test_that_reads_a_changed_output(server_url):
    # options.storeOutputAs; promptfoo 0.121.20 passes all 3, and 2 of 3 on the PR head (bench/vs_promptfoo.py --suite chain)
    assert all(c.head.passed for c in run(server_url, MemoryTree({}), tree("chain")).cases())
    report = run(server_url, tree("chain"), tree("chain", with_pr=True))
    assert {c.description: c.status for c in report.cases()} == {
        "pick a fruit": CaseStatus.STILL_PASSING, "give a reason": CaseStatus.REGRESSED, "rebut the reason": CaseStatus.STILL_PASSING,
    }


def passing(report) -> set[tuple[str, str]]:
    return {(c.description, c.prompt_label if c.prompt_label != "ask" else c.provider_id.split(":")[0]) for c in report.cases() if c.head.passed}


def test_vision_suite_passes_exactly_the_cases_where_promptfoo_sent_the_expected_pictures(server_url):
    # image var files as data: URLs in image_url parts; the scripted model names the digest of each image it
    # was given. promptfoo 0.121.20 on the same server passes these 10 of 14 (bench/vs_promptfoo.py --suite vision)
    report = run(server_url, MemoryTree({}), tree("vision"))
    assert report.errors == () and not any(c.head.error for c in report.cases())
    assert passing(report) == {
        ("the red picture arrives", "describe"), ("the red picture arrives", "pair"),
        ("the blue picture arrives", "describe"), ("the blue picture arrives", "pair"),
        ("javascript counts the pictures the model saw", "pair"), ("the reference card reaches the model", "pair"),
        ("the answer starts with the colour and the red picture follows", "describe"),
        ("the answer starts with the colour and the red picture follows", "pair"),
        ("javascript reads the colour var and rules out the blue picture", "describe"),
        ("javascript reads the colour var and rules out the blue picture", "pair"),
    }


def test_vision_pr_changing_one_image_and_one_prompt_reruns_their_cases_and_passes_what_promptfoo_passes(server_url):
    # pr/ re-exports images/red.png and rewords the pair prompt: the blue picture's describe cases are unaffected
    report = run(server_url, tree("vision"), tree("vision", with_pr=True))
    assert report.stats.cases_unaffected == 3
    assert passing(report) == {("javascript counts the pictures the model saw", "pair"), ("the reference card reaches the model", "pair"),
                               ("javascript reads the colour var and rules out the blue picture", "describe")}
    assert {(c.description, c.prompt_label) for c in report.cases(CaseStatus.REGRESSED)} == {
        ("the red picture arrives", "describe"), ("the red picture arrives", "pair"), ("the blue picture arrives", "pair"),
        ("the answer starts with the colour and the red picture follows", "describe"),
        ("the answer starts with the colour and the red picture follows", "pair"),
        ("javascript reads the colour var and rules out the blue picture", "pair"),
    }


def test_tools_suite_passes_exactly_the_cases_promptfoo_passes(server_url):
    # OpenAI tool_calls (text checks on their compact JSON, code on the array) and Claude tool_use blocks
    # (their JSON text); promptfoo 0.121.20 passes these 8 of 16 (bench/vs_promptfoo.py --suite tools)
    report = run(server_url, MemoryTree({}), tree("tools"))
    assert report.errors == () and not any(c.head.error for c in report.cases())
    assert passing(report) == {
        ("weather by the tool's name", "openai"), ("weather by the tool's description", "openai"),
        ("weather by the tool's description", "anthropic"), ("a flight with its passengers", "openai"),
        ("a plain question is answered in text", "openai"), ("a plain question is answered in text", "anthropic"),
        ("two tools in one request", "openai"), ("weather without a unit", "openai"),
    }
    not_form = [c for c in report.cases() if c.description.startswith("not-is-valid-openai-tools-call")]
    assert len(not_form) == 2 and not any(c.head.passed for c in not_form)  # promptfoo ignores the not- of this type


def test_tools_pr_rewording_a_tool_and_adding_a_required_argument_regresses_what_promptfoo_fails(server_url):
    # pr/ rewords get_weather's description (no longer "weather") and adds a required date no request gives
    report = run(server_url, tree("tools"), tree("tools", with_pr=True))
    assert {(c.description, c.provider_id.split(":")[0]) for c in report.cases(CaseStatus.REGRESSED)} == {
        ("weather by the tool's name", "openai"), ("weather by the tool's description", "openai"),
        ("weather by the tool's description", "anthropic"), ("two tools in one request", "openai"),
        ("weather without a unit", "openai"),
    }
    assert passing(report) == {("a flight with its passengers", "openai"), ("a plain question is answered in text", "openai"),
                               ("a plain question is answered in text", "anthropic")}


def test_markup_suite_fails_exactly_the_cases_promptfoo_fails(server_url):
    # is-xml/contains-xml with required elements, is-html/contains-html, is-refusal; promptfoo 0.121.20 on the
    # same server fails these nine of 29 (bench/vs_promptfoo.py --suite markup)
    report = run(server_url, MemoryTree({}), tree("markup"))
    assert report.errors == () and not any(c.head.error for c in report.cases())
    failing = {"is-xml missing a required element (fails)", "is-xml on an unbound namespace prefix (fails)",
               "is-xml with an internal DTD subset (fails)", "contains-xml without any element (fails)",
               "is-html on loose text beside a tag (fails)", "is-xml on an entity bomb and an undeclared entity (fails)",
               "is-html on text after a closing paragraph (fails)", "contains-xml with a mismatched closing tag (fails)",
               "is-html on a title before text (fails)"}
    assert head_failures(report) == {(d, "echo", "gpt-4o-mini") for d in failing}


def test_markup_pr_appending_an_apology_regresses_the_cases_it_breaks(server_url):
    report = run(server_url, tree("markup"), tree("markup", with_pr=True))
    regressed = {c.description for c in report.cases(CaseStatus.REGRESSED)}
    # the trailing words make the XML two things and leave loose text beside the HTML; a closing "Sorry." is
    # no refusal (it counts only as an opening), as promptfoo's PR-head verdicts agree
    assert regressed == {"is-xml on a document with required elements", "is-html on a fragment and contains-html",
                         "is-xml with a bound namespace prefix and a declaration",
                         "is-html on a custom element and contains-html on an entity with a br",
                         "is-html on a table and a list with a comment"}


def test_graded_suite_fails_exactly_the_cases_promptfoo_fails(server_url):
    # llm-rubric (thresholds, a custom rubricPrompt), factuality (with a category scored 0), model-graded-closedqa,
    # g-eval (steps then a 0-10 score; two criteria averaged; not-; its own step prompts), answer-relevance
    # (generated questions against the query by embedding), context-recall/-relevance/-faithfulness (sentences
    # attributed, extracted, statements judged; custom prompts), each tool with its own grader prompts;
    # promptfoo 0.121.20 on the same server passes these 18 of 32 and fails the rest (bench/vs_promptfoo.py --suite graded)
    report = run(server_url, MemoryTree({}), tree("graded"))
    assert report.errors == () and not any(c.head.error for c in report.cases())
    passing = {c.description for c in report.cases() if c.head and c.head.passed}
    assert passing == {"llm-rubric met", "llm-rubric met above its threshold", "factuality, a consistent subset",
                       "closed QA met", "a custom rubric prompt",
                       "g-eval met", "g-eval partly met, at its threshold", "g-eval with two criteria, averaged",
                       "not-g-eval on a criterion not met", "g-eval with its own steps and evaluation prompts",
                       "answer relevance on topic", "answer relevance off topic, at the default threshold",
                       "context recall, every sentence attributed", "context recall with its own prompt",
                       "context relevance, every sentence needed", "context relevance on a context of lines",
                       "context faithfulness, supported", "context faithfulness with its own prompts"}


def test_graded_pr_appending_an_apology_fixes_the_checks_that_ask_for_one_and_regresses_a_faithfulness_check(server_url):
    report = run(server_url, tree("graded"), tree("graded", with_pr=True))
    assert {c.description for c in report.cases(CaseStatus.FIXED)} == {"llm-rubric on an apology", "g-eval on an apology"}
    # "Sorry." is a third statement the context does not support: 1 of 3 is under the threshold 0.5 (promptfoo agrees)
    assert {c.description for c in report.cases(CaseStatus.REGRESSED)} == {"context faithfulness with its own prompts"}


def test_callbacks_suite_fails_exactly_the_cases_promptfoo_fails(server_url):
    # functionToolCallbacks on the scripted model's tool calls (OpenAI chat, the responses API) and assertScoringFunction
    # (JavaScript, Python); promptfoo 0.121.20 on the same server fails these seven and passes the other 13
    # (bench/vs_promptfoo.py --suite callbacks)
    report = run(server_url, MemoryTree({}), tree("callbacks"))
    assert report.errors == ()
    failing = {"a wrong expectation fails", "the lowest named score decides", "a scoring function that throws fails the test"}
    # the responses API leaves a call whose callback threw as its JSON text, not the calls' array
    assert head_failures(report) == {(d, "ask", m) for d in failing for m in ("gpt-4o-mini", "gpt-4.1-mini")} | {
        ("a callback that throws leaves the calls", "ask", "gpt-4.1-mini")}
    outputs = {(c.description, c.provider_id): c.head.output for c in report.cases() if c.head}
    assert outputs[("two calls, results joined", "openai:chat:gpt-4o-mini")] == "3\n12"
    assert outputs[("two calls, results joined", "openai:responses:gpt-4.1-mini")] == "3\n12"


def test_callbacks_pr_changing_a_file_callback_reruns_the_providers_cases_and_regresses_those_it_answers(server_url):
    report = run(server_url, tree("callbacks"), tree("callbacks", with_pr=True))
    assert {"provider tool callback multiply_numbers changed"} <= {r for c in report.cases() for r in c.reasons}
    regressed = {c.description for c in report.cases(CaseStatus.REGRESSED)}
    # promptfoo fails these two of each provider on the PR head
    assert regressed == {"one call, a file callback", "two calls, results joined"}
    assert len(report.cases(CaseStatus.REGRESSED)) == 4


def test_pyproviders_suite_fails_exactly_the_cases_promptfoo_fails(server_url):
    # Python providers with openai, anthropic, requests, httpx and urllib over the sandbox's bridge; promptfoo 0.121.20,
    # running the real libraries on the same server, fails these four and passes the other 24
    # (bench/vs_promptfoo.py --suite pyproviders): httpx's answer is upper case, urllib's title case
    report = run(server_url, MemoryTree({}), tree("pyproviders"))
    assert report.errors == ()
    assert not any(c.head.error for c in report.cases()), [c.head.error for c in report.cases() if c.head.error]
    assert len(report.cases()) == 28
    assert head_failures(report) == {("pear", "reply", "httpx_call"), ("exact", "reply", "httpx_call"),
                                     ("pear", "reply", "urllib_call"), ("exact", "reply", "urllib_call")}
