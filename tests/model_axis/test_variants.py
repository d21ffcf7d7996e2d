"""Per-model prompt variants (a provider's `prompts:` selects the prompts it runs): which file serves which
model, and the comment's order that puts a prompt's changed variants together."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.core.files import MemoryTree
from bot.core.result import APPROVAL_CHECK, COMMENT_MARKER, EVALS_CHECK
from bot.core.report import PromptVariant
from bot.core.variants import VariantGroup, group_order
from bot.evals.loader import load_suite
from bot.evals.variants import suite_variants
from bot.modelserver.app import create_app
from bot.serving import start_in_thread
from bot.service.db import ReviewRecord
from tests.model_axis.common import CLAUDE, FILES, MINI, model_env
from tests.service.harness import stack

SUITE = """\
prompts:
  - file://../prompts/greet.txt
  - file://../prompts/greet.claude.txt
providers:
  - id: openai:chat:gpt-4o-mini
    prompts: [prompts/greet.txt]
  - id: anthropic:messages:claude-3-5-haiku-latest
    prompts: [prompts/greet.claude.txt]
tests:
  - vars: {name: Ann}
    assert: [{type: icontains, value: hello}]
"""


def test_each_variant_file_is_known_with_the_models_that_run_it():
    tree = MemoryTree({**FILES, "prompts/greet.claude.txt": "Say hello to {{name}}.\n", "evals/promptfooconfig.yaml": SUITE})
    suite, errors = load_suite(tree, "evals/promptfooconfig.yaml")
    assert errors == []
    assert suite_variants(suite) == (PromptVariant("prompts/greet.txt", (MINI,)), PromptVariant("prompts/greet.claude.txt", (CLAUDE,)))


def test_a_suite_whose_providers_run_every_prompt_has_no_variants():
    suite, _ = load_suite(MemoryTree(FILES), "evals/promptfooconfig.yaml")
    assert suite_variants(suite) == ()


def test_changed_variants_are_shown_together_after_the_first_of_them():
    group = VariantGroup("evals/s.yaml", (PromptVariant("a.txt", (MINI,)), PromptVariant("b.txt", (CLAUDE,))))
    order = group_order(["b.txt", "faq.txt", "a.txt"], [group])
    assert order == [("b.txt", group), ("a.txt", group), ("faq.txt", None)]


def test_a_review_of_one_variant_runs_it_on_its_model_only_shows_it_with_its_siblings_and_needs_its_own_owner(tmp_path):
    """End to end (simulator, scripted model server, the real service): the PR edits the claude variant."""
    repo = "acme/greet"
    files = {**FILES, "evals/promptfooconfig.yaml": SUITE, "prompts/greet.claude.txt": 'Reply with "hello", briefly. The user is {{name}}.\n',
             ".github/PROMPTOWNERS": "/prompts/greet.txt @erin\n/prompts/greet.claude.txt @carl\n"}
    with start_in_thread(create_app()) as models, stack(tmp_path, env=model_env(models.url), revalidate_interval_seconds=0) as running:
        sim = running.sim
        sim.create_org("acme")
        sim.create_repo("acme", "greet", files)
        sim.install("acme")
        running.wait_idle()
        pr = sim.open_pull(repo, "claude", {"prompts/greet.claude.txt": 'Reply with "hello", kindly. The user is {{name}}.\n'}, "Kinder", "dave")
        running.wait_idle()
        with Session(running.service.engine) as session:
            (record,) = session.scalars(select(ReviewRecord).where(ReviewRecord.pr == pr.number)).all()
        assert record.models == [CLAUDE]  # the evals of the variant, on the model that runs it
        (comment,) = [c.body for c in sim.comments(repo, pr.number) if c.body.startswith(COMMENT_MARKER)]
        assert "### 🔀 One prompt, a variant per model (`evals/promptfooconfig.yaml`)" in comment
        assert f"- `prompts/greet.txt` on `{MINI}`\n- `prompts/greet.claude.txt` on `{CLAUDE}` · changed" in comment
        assert f"#### 📝 `prompts/greet.claude.txt`\n\nVariant for `{CLAUDE}`." in comment
        checks = {r.name: r for r in sim.check_runs(repo, pr.head_sha)}
        assert checks[EVALS_CHECK].conclusion == "success" and checks[APPROVAL_CHECK].conclusion != "success"

        sim.submit_review(repo, pr.number, "erin", "approve")  # owns the other variant: does not count
        running.wait_idle()
        assert {r.name: r for r in sim.check_runs(repo, pr.head_sha)}[APPROVAL_CHECK].conclusion != "success"
        sim.submit_review(repo, pr.number, "carl", "approve")
        running.wait_idle()
        assert {r.name: r for r in sim.check_runs(repo, pr.head_sha)}[APPROVAL_CHECK].conclusion == "success"
