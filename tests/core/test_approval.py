"""Approval rules: who must approve a changed prompt, and what the approval check run says."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

from bot.core.approval import ApprovalInput, Review, can_accept_regression, evaluate_approval, latest_reviews
from bot.core.config import ApprovalConfig, parse_config
from bot.core.owners import parse_owners

T0 = datetime(2024, 5, 1, 12, 0, tzinfo=timezone.utc)

OWNERS = parse_owners(
    "# prompt owners\n"
    "/prompts/ @acme/prompt-owners\n"
    "/prompts/support/ @acme/support-prompts\n"
    "/prompts/experiments/\n"
    "/prompts/legal/ @lea\n"
    "/.github/ @acme/admins\n"
)
TEAMS = {
    "acme/prompt-owners": frozenset({"paula", "pete"}),
    "acme/support-prompts": frozenset({"alice", "bob", "carol", "dave"}),
    "acme/admins": frozenset({"root"}),
}
SUPPORT = "prompts/support/system.md"


def review(user: str, state: str = "APPROVED", minute: int = 0, commit: str = "head2") -> Review:
    return Review(user=user, state=state, submitted_at=T0 + timedelta(minutes=minute), commit_id=commit)


def approval_input(**overrides) -> ApprovalInput:
    prompts = overrides.pop("changed_prompts", (SUPPORT,))
    values = dict(
        changed_prompts=prompts,
        changed_files=overrides.pop("changed_files", prompts),
        author="dave",
        reviews=(),
        fresh_commits=frozenset({"head2"}),
        owners=OWNERS,
        config=ApprovalConfig(),
        team_members=TEAMS,
        write_access=frozenset({"walt", "alice", "bob", "root"}),
    )
    values.update(overrides)
    return ApprovalInput(**values)


def only(verdict):
    (entry,) = verdict.prompts
    return entry


# --- owners and counts --------------------------------------------------------------------------


def test_an_owning_team_members_approval_satisfies_the_prompt():
    verdict = evaluate_approval(approval_input(reviews=(review("alice"),)))
    assert verdict.conclusion == "success"
    assert verdict.title == "Approved: 1 prompt change"
    entry = only(verdict)
    assert entry.owners == ("@acme/support-prompts",)
    assert (entry.rule_line, entry.rule_pattern) == (3, "/prompts/support/")
    assert entry.approved_by == ("alice",)
    assert entry.satisfied and entry.missing == ""


def test_without_reviews_the_check_waits_for_the_owners():
    verdict = evaluate_approval(approval_input())
    assert verdict.conclusion == "action_required"
    assert verdict.title == "1 of 1 change waiting for approval"
    assert only(verdict).missing == "needs 1 more approval from @acme/support-prompts"


def test_team_names_and_logins_match_case_insensitively():
    teams = {"@ACME/Support-Prompts": frozenset({"Alice"})}
    verdict = evaluate_approval(approval_input(team_members=teams, reviews=(review("ALICE"),)))
    assert verdict.conclusion == "success"


def test_an_approval_from_someone_who_is_not_an_owner_does_not_count():
    entry = only(evaluate_approval(approval_input(reviews=(review("paula"),))))
    assert not entry.satisfied
    assert entry.missing == (
        "needs 1 more approval from @acme/support-prompts; @paula's approval does not count: is not an owner"
    )


def test_each_changed_prompt_needs_its_own_owners():
    verdict = evaluate_approval(
        approval_input(changed_prompts=(SUPPORT, "prompts/billing.md"), reviews=(review("alice"),))
    )
    support, billing = verdict.prompts
    assert support.satisfied
    assert not billing.satisfied and billing.owners == ("@acme/prompt-owners",)
    assert verdict.conclusion == "action_required"
    assert verdict.title == "1 of 2 changes waiting for approval"


def test_required_approvals_sets_how_many_owners_must_agree():
    config = ApprovalConfig(required_approvals=2)
    one = only(evaluate_approval(approval_input(config=config, reviews=(review("alice"),))))
    assert one.missing == "needs 1 more approval from @acme/support-prompts"
    two = evaluate_approval(approval_input(config=config, reviews=(review("alice"), review("bob"))))
    assert two.conclusion == "success"


def test_per_path_rule_blocks_override_the_count_and_the_last_matching_block_wins():
    config = parse_config(
        "approval:\n"
        "  rules:\n"
        "    - {paths: ['prompts/**'], required_approvals: 3}\n"
        "    - {paths: ['prompts/support/**'], required_approvals: 2}\n"
    ).approval
    verdict = evaluate_approval(
        approval_input(config=config, changed_prompts=(SUPPORT, "prompts/billing.md", "other/x.prompt"))
    )
    assert [p.required for p in verdict.prompts] == [2, 3, 1]


def test_a_per_path_block_can_waive_approval():
    config = ApprovalConfig.model_validate({"rules": [{"paths": ["prompts/support/**"], "required_approvals": 0}]})
    assert evaluate_approval(approval_input(config=config)).conclusion == "success"


# --- regressions ----------------------------------------------------------------------------------


def test_an_unaccepted_regression_raises_the_count_to_required_approvals_on_regression():
    one = evaluate_approval(approval_input(evals_regressed=True, reviews=(review("alice"),)))
    assert only(one).required == 2 and one.conclusion == "action_required"
    assert "needs 2 owner approvals" in one.summary_markdown
    two = evaluate_approval(approval_input(evals_regressed=True, reviews=(review("alice"), review("bob"))))
    assert two.conclusion == "success"


def test_the_missing_approvals_say_the_regression_raised_the_count():
    one = evaluate_approval(approval_input(evals_regressed=True, reviews=(review("alice"),)))
    assert only(one).raised_by_regression and "(2 while the eval regression stands)" in only(one).missing
    plain = evaluate_approval(approval_input())
    assert not only(plain).raised_by_regression and "regression" not in only(plain).missing


def test_an_accepted_regression_restores_the_normal_count():
    verdict = evaluate_approval(
        approval_input(evals_regressed=True, regression_accepted_by="carol", reviews=(review("alice"),))
    )
    assert only(verdict).required == 1 and verdict.conclusion == "success"
    assert "regression was accepted by `@carol`" in verdict.summary_markdown


# --- who counts -----------------------------------------------------------------------------------


def test_the_authors_own_approval_never_counts_by_default():
    entry = only(evaluate_approval(approval_input(author="alice", reviews=(review("alice"),))))
    assert not entry.satisfied
    assert entry.missing == (
        "needs 1 more approval from @acme/support-prompts; @alice's approval does not count: is the author"
    )


def test_allow_author_lets_an_owning_author_approve():
    config = ApprovalConfig(allow_author=True)
    verdict = evaluate_approval(approval_input(config=config, author="alice", reviews=(review("alice"),)))
    assert verdict.conclusion == "success"


def test_an_approval_before_the_last_prompt_push_is_stale_and_named():
    reviews = (review("alice", commit="head1"),)
    entry = only(evaluate_approval(approval_input(reviews=reviews)))
    assert entry.stale_approvals == ("alice",) and entry.approved_by == ()
    assert entry.missing == "needs 1 more approval from @acme/support-prompts; @alice's approval predates the last push"


def test_approvals_on_any_fresh_commit_count():
    reviews = (review("alice", commit="head1"),)
    verdict = evaluate_approval(approval_input(reviews=reviews, fresh_commits=frozenset({"head1", "head2"})))
    assert verdict.conclusion == "success"


def test_without_dismiss_on_push_old_approvals_still_count():
    config = ApprovalConfig(dismiss_on_push=False)
    verdict = evaluate_approval(approval_input(config=config, reviews=(review("alice", commit="head1"),)))
    assert verdict.conclusion == "success"


def test_unknown_fresh_commits_treat_every_approval_as_fresh():
    verdict = evaluate_approval(approval_input(fresh_commits=None, reviews=(review("alice", commit="head1"),)))
    assert verdict.conclusion == "success"


def test_only_each_reviewers_latest_non_comment_review_counts():
    approved_then_commented = (review("alice", minute=1), review("alice", "COMMENTED", minute=2))
    assert evaluate_approval(approval_input(reviews=approved_then_commented)).conclusion == "success"
    approved_then_blocked = (review("alice", minute=1), review("alice", "CHANGES_REQUESTED", minute=2))
    assert only(evaluate_approval(approval_input(reviews=approved_then_blocked))).changes_requested_by == ("alice",)


def test_review_order_is_by_submission_time_not_list_order():
    reviews = (review("alice", minute=5), review("alice", "CHANGES_REQUESTED", minute=1))
    assert latest_reviews(reviews)["alice"].state == "APPROVED"


def test_a_dismissed_review_removes_the_reviewers_approval():
    reviews = (review("alice", minute=1), review("alice", "DISMISSED", minute=2))
    assert latest_reviews(reviews) == {}
    assert evaluate_approval(approval_input(reviews=reviews)).conclusion == "action_required"


def test_changes_requested_by_an_owner_blocks_even_with_enough_approvals():
    reviews = (review("alice"), review("bob", "CHANGES_REQUESTED", commit="head1"))
    verdict = evaluate_approval(approval_input(reviews=reviews))
    entry = only(verdict)
    assert entry.approved_by == ("alice",) and entry.changes_requested_by == ("bob",)
    assert entry.missing == "@bob requested changes"
    assert verdict.conclusion == "action_required"
    assert verdict.title == "1 of 1 change waiting for approval; changes requested"


def test_changes_requested_blocks_until_that_owner_approves():
    reviews = (review("alice"), review("bob", "CHANGES_REQUESTED", minute=1), review("bob", minute=2))
    entry = only(evaluate_approval(approval_input(reviews=reviews)))
    assert entry.satisfied and entry.approved_by == ("alice", "bob")


def test_changes_requested_by_a_non_owner_does_not_block():
    reviews = (review("alice"), review("paula", "CHANGES_REQUESTED"))
    assert evaluate_approval(approval_input(reviews=reviews)).conclusion == "success"


# --- unowned prompts --------------------------------------------------------------------------------


def test_an_unowned_prompt_needs_an_approval_from_someone_with_write_access():
    verdict = evaluate_approval(approval_input(changed_prompts=("other/x.prompt",), reviews=(review("paula"),)))
    entry = only(verdict)
    assert entry.owners is None and entry.approvers == "write access"
    assert entry.missing == (
        "needs 1 more approval from someone with write access; @paula's approval does not count: has no write access"
    )
    ok = evaluate_approval(approval_input(changed_prompts=("other/x.prompt",), reviews=(review("walt"),)))
    assert ok.conclusion == "success"


def test_a_pattern_without_owners_makes_a_prompt_unowned():
    entry = only(evaluate_approval(approval_input(changed_prompts=("prompts/experiments/new.md",))))
    assert entry.owners == () and entry.approvers == "write access" and entry.rule_line == 4


def test_unowned_allow_needs_no_approval():
    config = ApprovalConfig(unowned="allow")
    verdict = evaluate_approval(approval_input(config=config, changed_prompts=("other/x.prompt",)))
    assert verdict.conclusion == "success" and only(verdict).required == 0


def test_a_missing_owners_file_leaves_every_prompt_unowned_and_says_so():
    verdict = evaluate_approval(approval_input(owners=parse_owners(None), reviews=(review("walt"),)))
    assert verdict.conclusion == "success"
    assert "`.github/PROMPTOWNERS` does not exist on the base branch" in verdict.summary_markdown


# --- editing the rules themselves ------------------------------------------------------------------


def test_editing_the_owners_file_needs_the_base_owners_of_that_file():
    files = (SUPPORT, ".github/PROMPTOWNERS")
    verdict = evaluate_approval(approval_input(changed_files=files, reviews=(review("alice"),)))
    prompt, governance = verdict.prompts
    assert (governance.path, governance.kind) == (".github/PROMPTOWNERS", "owners file")
    assert governance.owners == ("@acme/admins",)
    assert prompt.satisfied and not governance.satisfied
    assert "edits the approval rules" in verdict.summary_markdown
    done = evaluate_approval(approval_input(changed_files=files, reviews=(review("alice"), review("root"))))
    assert done.conclusion == "success"


def test_editing_an_unowned_config_needs_write_access_even_when_unowned_prompts_are_allowed():
    owners = parse_owners("/prompts/ @acme/prompt-owners\n")
    config = ApprovalConfig(unowned="allow")
    files = (".github/prompt-review.yml",)
    verdict = evaluate_approval(approval_input(owners=owners, config=config, changed_prompts=(), changed_files=files))
    entry = only(verdict)
    assert (entry.kind, entry.approvers, entry.required) == ("config", "write access", 1)
    assert verdict.conclusion == "action_required"
    ok = evaluate_approval(
        approval_input(owners=owners, config=config, changed_prompts=(), changed_files=files, reviews=(review("walt"),))
    )
    assert ok.conclusion == "success"


def test_a_relocated_owners_file_is_protected_too():
    config = ApprovalConfig(owners_file="OWNERS.prompts")
    owners = parse_owners("* @acme/admins\n", file="OWNERS.prompts")
    verdict = evaluate_approval(
        approval_input(config=config, owners=owners, changed_prompts=(), changed_files=("OWNERS.prompts",))
    )
    assert only(verdict).kind == "owners file" and verdict.conclusion == "action_required"


def test_rule_files_need_an_approval_even_when_prompts_need_none():
    config = ApprovalConfig(required_approvals=0)
    files = (".github/prompt-review.yml",)
    verdict = evaluate_approval(approval_input(config=config, changed_prompts=(), changed_files=files))
    assert only(verdict).required == 1


# --- impossible requirements, teams and emails --------------------------------------------------------


def test_a_count_larger_than_the_owners_fails_with_an_explanation():
    config = ApprovalConfig(required_approvals=2)
    verdict = evaluate_approval(
        approval_input(config=config, changed_prompts=("prompts/legal/terms.md",), reviews=(review("lea"),))
    )
    entry = only(verdict)
    assert verdict.conclusion == "failure" and not entry.satisfiable
    assert entry.missing == "needs 1 more approval from @lea; only 1 person can approve but 2 approvals are required"


def test_an_email_owner_counts_only_when_the_caller_maps_it():
    owners = parse_owners("/prompts/ docs@example.com\n")
    unmapped = evaluate_approval(approval_input(owners=owners, reviews=(review("erin"),)))
    assert only(unmapped).unresolved_owners == ("docs@example.com",)
    assert unmapped.conclusion == "failure"
    assert "docs@example.com matches no GitHub user" in only(unmapped).missing
    mapped = evaluate_approval(
        approval_input(owners=owners, team_members={"docs@example.com": frozenset({"erin"})}, reviews=(review("erin"),))
    )
    assert mapped.conclusion == "success"


def test_a_team_whose_members_are_unknown_cannot_approve_and_is_named():
    entry = only(evaluate_approval(approval_input(team_members={}, reviews=(review("alice"),))))
    assert entry.unresolved_owners == ("@acme/support-prompts",) and not entry.satisfiable
    assert "@acme/support-prompts has no members this app can see" in entry.missing


# --- the check-run text ------------------------------------------------------------------------------


def test_no_prompt_changes_is_success():
    verdict = evaluate_approval(approval_input(changed_prompts=(), changed_files=("README.md",)))
    assert (verdict.conclusion, verdict.title, verdict.prompts) == ("success", "No prompt changes need approval", ())


def test_summary_lists_owners_rule_approvers_and_whats_missing():
    reviews = (review("alice", commit="head1"), review("bob"))
    config = ApprovalConfig(required_approvals=2)
    summary = evaluate_approval(approval_input(config=config, reviews=reviews)).summary_markdown
    row = next(line for line in summary.splitlines() if "prompts/support/system.md" in line)
    assert "`@acme/support-prompts` (`.github/PROMPTOWNERS` line 3: `/prompts/support/`)" in row
    assert "| `@bob` |" in row
    assert "needs 1 more approval from `@acme/support-prompts`; `@alice`'s approval predates the last push" in row


def test_owners_file_errors_appear_in_the_summary_with_line_numbers():
    owners = parse_owners("/prompts/ @acme/prompt-owners\n!/prompts/secret.md @x\n")
    verdict = evaluate_approval(approval_input(owners=owners))
    assert verdict.owners_errors[0].line == 2
    assert "**Problems in `.github/PROMPTOWNERS`**" in verdict.summary_markdown
    assert "- line 2: " in verdict.summary_markdown


def _outside_code_spans(markdown: str) -> str:
    return re.sub(r"(`+)(?:(?!\1).)*?\1", "", markdown)


def test_summary_never_pings_anyone_or_breaks_the_table():
    owners = parse_owners("/prompts/ @acme/prompt-owners\n/prompts/x @evil\n[x] @someone\n")
    path = "prompts/a|b`c@d.md"
    verdict = evaluate_approval(
        approval_input(owners=owners, changed_prompts=(path,), reviews=(review("paula"), review("mallory")))
    )
    summary = verdict.summary_markdown
    assert re.search(r"@\w", _outside_code_spans(summary)) is None
    row = next(line for line in summary.splitlines() if "a\\|b" in line)
    assert row.count("|") - row.count("\\|") == 7  # six cells, no cell split by the path's pipe
    assert "``prompts/a\\|b`c@d.md``" in row


# --- accepting a regression ---------------------------------------------------------------------------


def test_an_owner_of_the_affected_prompt_may_accept_a_regression():
    allowed, reason = can_accept_regression("Carol", [SUPPORT], OWNERS, TEAMS)
    assert allowed and reason == f"@Carol owns {SUPPORT}"


def test_anyone_else_is_refused_with_the_reason():
    allowed, reason = can_accept_regression("paula", [SUPPORT], OWNERS, TEAMS)
    assert not allowed
    assert reason == f"@paula is not an owner of {SUPPORT} (owners: @acme/support-prompts)"


def test_accepting_needs_ownership_of_every_owned_affected_prompt():
    affected = [SUPPORT, "prompts/legal/terms.md", "other/x.prompt"]
    allowed, reason = can_accept_regression("alice", affected, OWNERS, TEAMS)
    assert not allowed and "prompts/legal/terms.md (owners: @lea)" in reason
    assert can_accept_regression("alice", [SUPPORT, "other/x.prompt"], OWNERS, TEAMS)[0]


def test_nobody_can_accept_when_no_affected_prompt_has_owners():
    allowed, reason = can_accept_regression("walt", ["other/x.prompt"], OWNERS, TEAMS)
    assert not allowed and "none of the affected prompts has an owner in .github/PROMPTOWNERS" in reason


def test_an_owning_author_may_not_accept_their_own_regression_by_default():
    assert not can_accept_regression("alice", [SUPPORT], OWNERS, TEAMS, author="alice")[0]
    assert can_accept_regression("alice", [SUPPORT], OWNERS, TEAMS, author="alice", allow_author=True)[0]
