"""Bypasses 2, 3 and 5 on the approval side: suites and test data are owned like prompts, a renamed
prompt keeps its base path's owners, and a push changing what a prompt includes makes approvals stale."""

from __future__ import annotations

from bot.core.approval import Review
from bot.pipeline.stages import Context, approval_stage, load_config
from bot.review import build_input
from bot.pipeline.stages import review as run_review
from tests.gate.conftest import WEAK, git, prompt_text, suite_text

OWNERS = "/prompts/ @paula\n/prompts/legal/ @lee\n/evals/ @tess\n/partials/ @paula\n"


def _approval(repo, reviews=(), fresh=None, env=None):
    inp = build_input(str(repo.root), "HEAD~1..HEAD")
    from dataclasses import replace

    inp = replace(inp, reviews=tuple(reviews))
    ctx = Context(env=env or {"OPENAI_BASE_URL": repo.model_url + "/v1", "OPENAI_API_KEY": "sk-x"}, fresh_commits=fresh)
    result = run_review(inp, ctx)
    return result, approval_stage(inp, load_config(inp.base)[0], list(result.prompts), False, ctx)


def _needs(verdict) -> dict[str, tuple[str, ...]]:
    return {e.path: tuple(e.owners or ()) for e in verdict.prompts}


def test_a_suite_edit_needs_the_suites_owners(gate_repo):
    gate_repo.commit({".github/PROMPTOWNERS": OWNERS}, "owners")
    gate_repo.commit({"evals/promptfooconfig.yaml": suite_text().replace("value: 30 days", "value: refund")})
    _, verdict = _approval(gate_repo)
    assert _needs(verdict) == {"evals/promptfooconfig.yaml": ("@tess",)}
    assert verdict.conclusion == "action_required"


def test_a_renamed_prompt_keeps_its_base_owner(gate_repo):
    legal = prompt_text() + "".join(f"Clause {i}: the customer's statutory rights are not affected.\n" for i in range(12))
    gate_repo.commit({".github/PROMPTOWNERS": OWNERS, "prompts/legal/terms.txt": legal,
                      "prompts/support.txt": None,
                      "evals/promptfooconfig.yaml": suite_text(prompt_ref="file://../prompts/legal/terms.txt")}, "legal prompt")
    gate_repo.rename("prompts/legal/terms.txt", "prompts/terms.txt")
    gate_repo.commit({"prompts/terms.txt": legal.replace("Reply", "Kindly reply"),
                      "evals/promptfooconfig.yaml": suite_text(prompt_ref="file://../prompts/terms.txt")}, "move out of legal")
    result, verdict = _approval(gate_repo)
    assert any(p.path == "prompts/terms.txt" and p.previous_path == "prompts/legal/terms.txt" for p in result.prompts)
    needs = _needs(verdict)
    assert needs["prompts/legal/terms.txt"] == ("@lee",) and needs["prompts/terms.txt"] == ("@paula",)
    # paula alone cannot approve moving the prompt out of legal's folder
    head = git(gate_repo.root, "rev-parse", "HEAD").strip()
    from datetime import datetime, timezone

    _, verdict = _approval(gate_repo, [Review("paula", "APPROVED", datetime.now(timezone.utc), head)])
    assert verdict.conclusion == "action_required" and "lee" in verdict.title + verdict.summary_markdown


def test_a_push_changing_an_included_file_changes_the_reviewed_versions(gate_repo):
    # The worker keeps approvals fresh only while the reviewed files' versions are unchanged (see
    # Worker._fresh_commits): an edit to an included file must change them.
    gate_repo.commit({"partials/rules.txt": 'Reply with "Refunds are only possible within 30 days of delivery."',
                      "prompts/support.txt": "{{ question }} {% include 'partials/rules.txt' %}\n"}, "include")
    gate_repo.commit({"prompts/support.txt": "{{ question }}  {% include 'partials/rules.txt' %}\n"}, "approved change")
    first, _ = _approval(gate_repo)
    gate_repo.commit({"partials/rules.txt": f'Reply with "{WEAK}"'}, "sneak in a weaker rule")
    inp = build_input(str(gate_repo.root), "HEAD~2..HEAD")
    second = run_review(inp, Context(env={"OPENAI_BASE_URL": gate_repo.model_url + "/v1", "OPENAI_API_KEY": "sk-x"}))
    before = {p.path: p.head_hash for p in first.prompts}
    after = {p.path: p.head_hash for p in second.prompts}
    assert before != after and "partials/rules.txt" in after
