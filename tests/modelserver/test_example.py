"""The support-bot example repository: generated cases, config, owners and the two pull requests."""

from __future__ import annotations

import importlib.util
import json
import re

import pytest
import yaml

from bot.core.config import parse_config
from bot.core.owners import parse_owners
from bot.evals.loader import load_suite

from .conftest import EXAMPLE, SYSTEM, example_tree, load_cases, system_prompt

SUITE = "evals/support/promptfooconfig.yaml"
DETERMINISTIC = {"icontains", "not-icontains", "regex", "starts-with", "is-json"}
EXPECTED_COUNTS = {
    "refund_in_window": 40, "refund_out_of_window": 41, "damaged_item": 34, "digital_goods": 30, "shipping": 35,
    "account": 35, "tone": 25, "refusal_offtopic": 20, "refusal_unsafe": 20, "json_format": 20,
}


@pytest.fixture(scope="module")
def generator():
    spec = importlib.util.spec_from_file_location("support_bot_generate_cases", EXAMPLE / "generate_cases.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_generator_reproduces_the_committed_cases_byte_for_byte(generator):
    committed = (EXAMPLE / "evals" / "support" / "cases.yaml").read_text(encoding="utf-8")
    assert generator.render(generator.build_cases()) == committed
    assert generator.main(["--check"]) == 0


def test_cases_cover_every_category_with_unique_descriptions():
    cases = load_cases()
    counts: dict[str, int] = {}
    for case in cases:
        counts[case["metadata"]["category"]] = counts.get(case["metadata"]["category"], 0) + 1
    assert counts == EXPECTED_COUNTS
    assert len({c["description"] for c in cases}) == 300
    assert len({c["vars"]["question"] for c in cases}) > 250  # a few short questions legitimately repeat


def test_out_of_window_refunds_really_are_past_30_days_and_in_window_ones_are_not():
    cases = load_cases()
    out_days = [c["metadata"]["delivered_days_ago"] for c in cases if c["metadata"]["category"] == "refund_out_of_window"]
    in_days = [c["metadata"]["delivered_days_ago"] for c in cases if c["metadata"]["category"] == "refund_in_window"]
    assert min(out_days) == 31 and max(in_days) == 30 and min(in_days) >= 1


def test_cases_use_only_deterministic_assertions_each_with_a_metric_and_portable_regexes():
    for case in load_cases():
        for a in case["assert"]:
            assert a["type"] in DETERMINISTIC, case["description"]
            assert a["metric"], case["description"]
            if a["type"] == "regex":
                assert "(?" not in a["value"], "inline flags are not valid JavaScript regexes (promptfoo)"
                re.compile(a["value"])


def test_suite_loads_in_the_eval_engine_with_300_tests():
    suite, errors = load_suite(example_tree(), SUITE)
    assert errors == []
    assert len(suite.tests) == 300
    assert [p.id for p in suite.providers] == ["openai:chat:gpt-4o-mini"]


def test_suite_stays_inside_the_promptfoo_subset():
    data = yaml.safe_load((EXAMPLE / SUITE).read_text(encoding="utf-8"))
    assert set(data) == {"description", "prompts", "providers", "defaultTest", "tests"}
    assert data["tests"] == "file://cases.yaml"
    assert data["defaultTest"]["vars"]["system_prompt"] == "file://../../prompts/support/system.md"
    chat = json.loads((EXAMPLE / "prompts" / "support" / "chat.json").read_text(encoding="utf-8"))
    assert [m["role"] for m in chat] == ["system", "user"] and chat[1]["content"] == "{{ question }}"


def test_repo_config_and_prompt_owners_parse():
    config = parse_config((EXAMPLE / ".github" / "prompt-review.yml").read_text(encoding="utf-8"))
    assert config.suites == [SUITE] and config.evals.fail_on == "regression"
    owners = parse_owners((EXAMPLE / ".github" / "PROMPTOWNERS").read_text(encoding="utf-8"))
    assert owners.errors == ()
    assert owners.owners_for(SYSTEM) == ("@acme/support-prompts",)
    assert owners.owners_for(".github/prompt-review.yml") == ("@alice",)


def test_friendlier_pull_drops_the_refund_sentence_and_rewords_the_tone():
    base, head = system_prompt(), system_prompt("friendlier")
    sentence = "Refunds are only possible within 30 days of delivery."
    assert sentence in base and sentence not in head
    assert "Be polite, concise and professional." in base and "Be warm, upbeat and friendly." in head


def test_reflow_pull_changes_only_whitespace():
    base, head = system_prompt(), system_prompt("reflow")
    assert base != head and base.split() == head.split()


@pytest.mark.parametrize("pull", ["friendlier", "reflow"])
def test_pull_requests_describe_themselves(pull):
    pr = json.loads((EXAMPLE / "pulls" / pull / "pr.json").read_text(encoding="utf-8"))
    assert pr["title"] and pr["body"] and pr["author"] and pr["head_branch"] and pr["base_branch"] == "main"
    changed = sorted(p.relative_to(EXAMPLE / "pulls" / pull).as_posix()
                     for p in (EXAMPLE / "pulls" / pull).rglob("*") if p.is_file() and p.name != "pr.json")
    assert changed == [SYSTEM]
