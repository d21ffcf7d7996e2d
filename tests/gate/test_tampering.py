"""Bypass 2: a PR that weakens the prompt *and* edits the suite so the failures disappear. The base's
checks judge the head too; loosened or deleted checks count as regressions until a suite owner accepts."""

from __future__ import annotations

import pytest

from tests.gate.conftest import QUESTIONS, WEAK, prompt_text, suite_text


def _tests(assertion: str, extra: str = "") -> str:
    return "".join(
        f"  - description: case {i}\n    vars: {{question: \"{q}\"}}\n    assert: [{assertion}]\n{extra}"
        for i, q in enumerate(QUESTIONS, 1)
    )


TAMPERED_SUITES = {
    "assertion weakened": suite_text(_tests("{type: icontains, value: refund}")),
    "threshold 0": suite_text(_tests("{type: icontains, value: 30 days}", "    threshold: 0\n")),
    "weight 0": suite_text(_tests("{type: icontains, value: 30 days, weight: 0}", "    threshold: 0\n")),
    "rule moved into the vars": suite_text("".join(
        f"  - description: case {i}\n    vars: {{question: \"{q}\", must: always}}\n    assert: [{{type: icontains, value: '{{{{ must }}}}'}}]\n"
        for i, q in enumerate(QUESTIONS, 1)
    )),
}


@pytest.mark.parametrize("how", sorted(TAMPERED_SUITES))
def test_a_loosened_check_beside_a_weakened_prompt_is_blocked_and_shown(gate_repo, how):
    gate_repo.commit({"prompts/support.txt": prompt_text(WEAK), "evals/promptfooconfig.yaml": TAMPERED_SUITES[how]})
    r = gate_repo.review(markdown=True)
    assert r.status == 1, (how, r.stderr)
    loosened = [c for c in r.cases() if c["loosened"]]
    assert len(loosened) == 5, how
    assert all(c["head_under_base"]["passed"] is False for c in loosened)
    assert "Checks loosened in this PR" in r.markdown
    # The suite is under review like a prompt, so its owners are asked too (see test_owners).
    assert "evals/promptfooconfig.yaml" in [p["path"] for p in r.data["prompts"]]


def test_deleting_the_tests_is_blocked(gate_repo):
    gate_repo.commit({"prompts/support.txt": prompt_text(WEAK),
                      "evals/promptfooconfig.yaml": suite_text(_tests("{type: icontains, value: 30 days}").split("  - description: case 2")[0])})
    r = gate_repo.review()
    assert r.status == 1, r.stderr
    assert sorted(c["loosened"] for c in r.cases() if c["loosened"]) == ["case deleted"] * 4


def test_deleting_the_suite_is_blocked(gate_repo):
    gate_repo.commit({"prompts/support.txt": prompt_text(WEAK), "evals/promptfooconfig.yaml": None})
    r = gate_repo.review()
    assert r.status == 1, r.stderr
    assert [c["loosened"] for c in r.cases()] == ["suite deleted"] * 5


def test_pointing_tests_at_another_file_is_blocked(gate_repo):
    other = "- description: trivial\n  vars: {question: hi}\n  assert: [{type: icontains, value: hi}]\n"
    gate_repo.commit({"prompts/support.txt": prompt_text(WEAK), "evals/other.yaml": other,
                      "evals/promptfooconfig.yaml": suite_text().split("tests:")[0] + "tests: file://other.yaml\n"})
    r = gate_repo.review()
    assert r.status == 1, r.stderr
    assert len([c for c in r.cases() if c["loosened"] == "case deleted"]) == 5


def test_renamed_test_descriptions_still_compare_base_and_head(gate_repo):
    renamed = suite_text().replace("description: case", "description: renamed case")
    gate_repo.commit({"prompts/support.txt": prompt_text(WEAK), "evals/promptfooconfig.yaml": renamed})
    r = gate_repo.review()
    assert r.status == 1, r.stderr
    assert len(r.cases("regressed")) == 5 and not r.cases("new")


def test_an_edited_inline_prompt_is_still_compared_with_its_base(gate_repo):
    inline = suite_text(prompt_ref=repr(prompt_text().strip()))
    gate_repo.commit({"evals/promptfooconfig.yaml": inline}, "inline prompt")
    gate_repo.commit({"evals/promptfooconfig.yaml": inline.replace("only possible within 30 days of delivery", "always possible")})
    r = gate_repo.review()
    assert r.status == 1, r.stderr
    assert len(r.cases("regressed")) == 5 and not r.cases("new")


def test_tightened_checks_need_nothing(gate_repo):
    tighter = suite_text(_tests("{type: icontains, value: 30 days}") .replace("[{type: icontains, value: 30 days}]",
                                                                             "[{type: icontains, value: 30 days}, {type: icontains, value: delivery}]"))
    gate_repo.commit({"evals/promptfooconfig.yaml": tighter})
    r = gate_repo.review()
    assert r.status == 0, r.stderr
    assert not [c for c in r.cases() if c["loosened"]]


def test_pointing_the_provider_at_another_server_cannot_pass(gate_repo):
    # The PR weakens the prompt and sends the cases to a server of its choosing (which would answer
    # whatever passes): the request is refused, so the cases could not be checked — never a pass.
    redirected = suite_text(provider="{id: 'openai:chat:gpt-4o', config: {apiBaseUrl: 'http://127.0.0.1:9/v1'}}")
    gate_repo.commit({"prompts/support.txt": prompt_text(WEAK), "evals/promptfooconfig.yaml": redirected})
    r = gate_repo.review()
    assert r.status == 3, r.stderr
    assert r.data["conclusion"] == "failure" and r.data["title"].startswith("could not check")
    assert "evals.allowed_base_urls" in r.data["title"] or "PROMPT_REVIEW_ALLOWED_MODEL_URLS" in r.data["title"]
