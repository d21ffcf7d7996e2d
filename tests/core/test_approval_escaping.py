"""The approval check's summary escapes what it quotes from the PR's repository with the renderer's
escaping layer: an owners-file line cannot turn into a link, an issue reference or reordered text."""

from __future__ import annotations

from bot.core.approval import ApprovalInput, evaluate_approval
from bot.core.config import ApprovalConfig
from bot.core.owners import parse_owners

ZWJ = "\u200d"


def test_an_owners_file_error_cannot_link_reference_or_reorder_the_approval_summary():
    hostile = "https://evil.example/#12\u202eexe.txt"
    owners = parse_owners(f"/prompts/ @erin\n/docs/ {hostile}\n")
    verdict = evaluate_approval(ApprovalInput(
        changed_prompts=("prompts/a.txt",), changed_files=("prompts/a.txt",), author="dave", reviews=(),
        fresh_commits=frozenset(), owners=owners, config=ApprovalConfig(), team_members={},
        write_access=frozenset(),
    ))
    (line,) = [x for x in verdict.summary_markdown.splitlines() if x.startswith("- line 2:")]
    shown = line.replace("\\", "")  # the text GitHub shows, backslash escapes undone
    assert "https://" not in shown and f"https:{ZWJ}//" in shown  # GitHub autolinks bare URLs
    assert "#12" not in shown and f"#{ZWJ}12" in shown  # and turns #12 into a link to issue 12
    assert "\u202e" not in line  # a right-to-left override would show the path reversed

