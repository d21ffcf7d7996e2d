"""Limits: a PR with more files than GitHub lists is reviewed from the two commits' trees, and says
which limit it hit when even those listings are cut; a binary file matching the prompt patterns
gets a clear message and does not stop the review."""

from __future__ import annotations

from tests.reliability.common import (APPROVAL_CHECK, BAD_PROMPT, EVALS_CHECK, FILES, REPO,
                                      assert_nothing_left_in_progress, bot_comments, runs_by_name, tiny_stack)

# Sorted before "prompts/…", so GitHub's 3,000-file listing ends before the prompt change.
BULK = {f"aa/generated/f{i:04d}.txt": f"{i}\n" for i in range(3005)}


def test_prompt_change_past_the_3000_listed_files_is_reviewed_like_in_a_small_pr(tmp_path, model):
    with tiny_stack(tmp_path, model.url) as s:
        pr = s.sim.open_pull(REPO, "huge", {**BULK, "prompts/greet.txt": BAD_PROMPT}, "Huge", "dave")
        s.wait_idle()
        runs = runs_by_name(s.sim, pr.head_sha)
        evals, approval = runs[EVALS_CHECK], runs[APPROVAL_CHECK]
        assert evals.conclusion == "failure" and evals.title.startswith("8 of 8 cases regressed")
        # The prompt's owner must still approve: a truncated listing never makes approval easier.
        assert approval.conclusion != "success" and "erin" in approval.summary
        (comment,) = bot_comments(s.sim, pr.number)
        assert "prompts/greet.txt" in comment.body
        assert "no longer changes prompt files" not in comment.body
        assert "more files than GitHub lists" not in comment.body
        assert_nothing_left_in_progress(s.sim)


def test_owners_file_edit_past_the_3000_listed_files_needs_its_owners(tmp_path, model):
    with tiny_stack(tmp_path, model.url) as s:
        config = FILES[".github/prompt-review.yml"].replace(".github/PROMPTOWNERS", "zz/OWNERS")
        s.sim.push_branch(REPO, "main", {".github/prompt-review.yml": config, "zz/OWNERS": "prompts/** @erin\nzz/OWNERS @erin\n"})
        # Both sort after the 3,000 listed "aa/" files: the PR hands the prompts to its author unseen by the listing.
        changes = {**BULK, "prompts/notes.md": "Be brief.\n", "zz/OWNERS": "prompts/** @dave\nzz/OWNERS @dave\n"}
        pr = s.sim.open_pull(REPO, "owners", changes, "Take over prompts", "dave")
        s.wait_idle()
        runs = runs_by_name(s.sim, pr.head_sha)
        approval = runs[APPROVAL_CHECK]
        assert approval.conclusion != "success"
        assert "zz/OWNERS" in approval.summary and "erin" in approval.summary
        assert_nothing_left_in_progress(s.sim)


def test_pr_past_the_listing_in_a_repository_too_large_for_tree_listings_names_the_limit(tmp_path, model):
    with tiny_stack(tmp_path, model.url) as s:
        s.sim.tree_entry_limit = 1000  # GitHub's is 100,000 entries; same cut, smaller repository
        pr = s.sim.open_pull(REPO, "huge", {**BULK, "prompts/greet.txt": BAD_PROMPT}, "Huge", "dave")
        s.wait_idle()
        runs = runs_by_name(s.sim, pr.head_sha)
        evals, approval = runs[EVALS_CHECK], runs[APPROVAL_CHECK]
        assert evals.conclusion == "failure"
        assert "more files than GitHub lists" in evals.title
        assert "3,000" in evals.summary and "100,000 entries" in evals.summary and "Split" in evals.summary
        assert approval.conclusion == "failure"  # approval cannot be judged on a partial file list
        (comment,) = bot_comments(s.sim, pr.number)
        assert "3,000" in comment.body and "Split" in comment.body
        assert_nothing_left_in_progress(s.sim)


def test_binary_file_named_like_a_prompt_gets_a_clear_message_and_the_review_completes(tmp_path, model):
    with tiny_stack(tmp_path, model.url) as s:
        binary = bytes(range(256)) * 40
        pr = s.sim.open_pull(REPO, "bin", {"prompts/logo.prompt": binary, "prompts/greet.txt": BAD_PROMPT}, "Bin", "dave")
        s.wait_idle()
        runs = runs_by_name(s.sim, pr.head_sha)
        assert {r.status for r in runs.values()} == {"completed"}
        (comment,) = bot_comments(s.sim, pr.number)
        assert "`prompts/logo.prompt` is not a text file" in comment.body.replace("\\", "")
        assert "binary" in comment.body
        assert "8 of 8 cases regressed" in runs[EVALS_CHECK].title  # the text prompt was still reviewed
        footer = comment.body.rsplit("<sub>", 1)[1]
        logo = footer.split("`prompts/logo.prompt`", 1)[1].split("·", 1)[0]
        assert logo.strip() == "`new` → `binary, not reviewed`"  # added, and binary: not `new` → `deleted`



def test_small_pr_in_a_repository_too_large_for_tree_listings_is_still_reviewed(tmp_path, model):
    with tiny_stack(tmp_path, model.url) as s:
        s.sim.tree_entry_limit = 2  # the config, suite and prompt all fall past the cut
        pr = s.sim.open_pull(REPO, "bad", {"prompts/greet.txt": BAD_PROMPT}, "Bad", "dave")
        s.wait_idle()
        runs = runs_by_name(s.sim, pr.head_sha)
        assert runs[EVALS_CHECK].title.startswith("8 of 8 cases regressed")
        assert runs[APPROVAL_CHECK].conclusion != "success" and "erin" in runs[APPROVAL_CHECK].summary
