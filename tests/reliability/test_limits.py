"""Limits: a PR with more files than GitHub lists says so on the check and in the comment; a binary
file matching the prompt patterns gets a clear message and does not stop the review."""

from __future__ import annotations

from tests.reliability.common import (APPROVAL_CHECK, BAD_PROMPT, EVALS_CHECK, REPO, assert_nothing_left_in_progress,
                                      bot_comments, runs_by_name, tiny_stack)


def test_pr_with_more_than_3000_files_says_the_listing_limit_was_hit(tmp_path, model):
    with tiny_stack(tmp_path, model.url) as s:
        changes = {f"zz/generated/f{i:04d}.txt": f"{i}\n" for i in range(3005)}
        changes["prompts/greet.txt"] = BAD_PROMPT
        pr = s.sim.open_pull(REPO, "huge", changes, "Huge", "dave")
        s.wait_idle()
        runs = runs_by_name(s.sim, pr.head_sha)
        evals = runs[EVALS_CHECK]
        assert evals.status == "completed"
        assert "more files than GitHub lists" in evals.title
        assert "3,000" in evals.summary and "Split" in evals.summary
        assert runs[APPROVAL_CHECK].status == "completed"
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
