"""Bypass 1: a PR that touches no file matched by `prompts.include` used to pass before the verdict
was looked at. What is under review is every file a suite depends on; the verdict decides."""

from __future__ import annotations

from tests.gate.conftest import RULE, WEAK, prompt_text, suite_text


def test_a_model_upgrade_that_regresses_is_blocked(gate_repo):
    # Only the suite's provider changes: the gpt-4.1 family wraps JSON in a fence, breaking is-json.
    tests = "".join(
        f"  - description: json {i}\n    vars: {{question: 'q{i}'}}\n    assert: [{{type: is-json}}]\n" for i in range(3)
    )
    gate_repo.commit({"prompts/support.txt": '{{ question }} Reply with "ok"\n', "evals/promptfooconfig.yaml": suite_text(tests)})
    examples = "examples/support-bot"  # the support bot answers JSON when asked: reuse its prompt
    from pathlib import Path

    root = Path(__file__).resolve().parents[2] / examples
    chat = (root / "prompts/support/chat.json").read_text()
    system = (root / "prompts/support/system.md").read_text()
    suite = (
        "prompts: [file://../prompts/support/chat.json]\nproviders: [openai:chat:gpt-4o-mini]\n"
        "defaultTest:\n  vars: {system_prompt: file://../prompts/support/system.md}\n"
        "tests:\n  - description: order status as json\n    vars: {question: 'Where is my order #A12345? Answer in JSON.'}\n"
        "    assert: [{type: is-json}]\n"
    )
    gate_repo.commit({"prompts/support/chat.json": chat, "prompts/support/system.md": system, "evals/promptfooconfig.yaml": suite})
    gate_repo.commit({"evals/promptfooconfig.yaml": suite.replace("gpt-4o-mini", "gpt-4.1-mini")}, "upgrade the model")
    r = gate_repo.review()
    assert r.status == 1, r.stderr
    assert r.data["conclusion"] == "failure" and "no prompt files changed" not in r.data["title"]
    assert [c["status"] for c in r.cases()] == ["regressed"]
    assert [p["path"] for p in r.data["prompts"]] == ["evals/promptfooconfig.yaml"]


def test_a_rule_removed_from_an_included_file_is_blocked_and_the_file_is_named(gate_repo):
    gate_repo.commit({
        "partials/rules.txt": f'Reply with "{RULE}"',
        "prompts/support.txt": "{{ question }} {% include 'partials/rules.txt' %}\n",
    })
    gate_repo.commit({"partials/rules.txt": f'Reply with "{WEAK}"'}, "soften the shared rules")
    r = gate_repo.review(markdown=True)
    assert r.status == 1, r.stderr
    assert len(r.cases("regressed")) == 5
    (change,) = r.data["prompts"]
    assert change["path"] == "partials/rules.txt" and change["why"].startswith("included by a prompt of evals/promptfooconfig.yaml")
    assert "partials/rules.txt" in r.markdown and "included by a prompt of" in r.markdown


def test_a_prompt_outside_the_patterns_that_a_suite_renders_is_reviewed(gate_repo):
    gate_repo.commit({
        "src/system_prompt.txt": prompt_text(),
        "evals/promptfooconfig.yaml": suite_text(prompt_ref="file://../src/system_prompt.txt"),
    })
    gate_repo.commit({"src/system_prompt.txt": prompt_text(WEAK)}, "friendlier")
    r = gate_repo.review()
    assert r.status == 1, r.stderr
    assert len(r.cases("regressed")) == 5
    assert r.data["prompts"][0]["why"] == "prompt of evals/promptfooconfig.yaml"


def test_a_pr_that_breaks_a_suite_outright_fails_as_a_configuration_error(gate_repo):
    gate_repo.commit({"evals/promptfooconfig.yaml": suite_text() + "  - [unclosed\n"}, "break the suite")
    r = gate_repo.review()
    assert r.status == 2, (r.status, r.stderr)
    assert r.data["conclusion"] == "failure"
    assert "evals/promptfooconfig.yaml" in r.stderr


def test_a_pr_that_changes_nothing_under_review_still_passes(gate_repo):
    gate_repo.commit({"README.md": "docs only\n"})
    r = gate_repo.review()
    assert (r.status, r.data["conclusion"], r.data["title"]) == (0, "success", "no prompt files changed")


def test_check_config_lists_every_file_under_review_and_why(gate_repo):
    import subprocess
    import sys

    gate_repo.commit({
        "partials/rules.txt": "Rules.",
        "prompts/support.txt": "{{ question }} {% include 'partials/rules.txt' %}\n",
        "prompts/unused.txt": "not rendered by any suite\n",
    })
    out = subprocess.run([sys.executable, "-m", "bot", "check-config", str(gate_repo.root)], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    listed = dict(line.strip().split(": ", 1) for line in out.stdout.split("under review")[1].splitlines()[1:])
    assert listed == {
        "evals/promptfooconfig.yaml": "suite",
        "partials/rules.txt": "included by a prompt of evals/promptfooconfig.yaml",
        "prompts/support.txt": "prompt of evals/promptfooconfig.yaml",
        "prompts/unused.txt": "matches prompts.include",
    }
