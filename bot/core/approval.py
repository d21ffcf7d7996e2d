"""The approval verdict behind the `prompt-review/approval` check run: owners + reviews + eval outcome in, verdict out.

Pure: the caller resolves team members, write access and which head SHAs count as fresh.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Literal

from bot.core import markdown as md
from bot.core.config import CONFIG_PATH, ApprovalConfig
from bot.core.errors import SourceError
from bot.core.files import matches, normalize
from bot.core.owners import OwnersFile

Conclusion = Literal["success", "action_required", "failure"]


@dataclass(frozen=True)
class Review:
    """One submitted pull request review, as GitHub lists it."""

    user: str
    state: str  # 'APPROVED' | 'CHANGES_REQUESTED' | 'COMMENTED' | 'DISMISSED' (anything else is ignored)
    submitted_at: datetime
    commit_id: str


@dataclass(frozen=True)
class ApprovalInput:
    changed_prompts: tuple[str, ...]
    changed_files: tuple[str, ...]  # every file of the PR: edits of the config or owners file need their owners
    author: str
    reviews: tuple[Review, ...]
    # Head SHAs at or after the latest push that changed prompt files; None = every approval is fresh.
    fresh_commits: frozenset[str] | None
    owners: OwnersFile  # parsed from the BASE branch
    config: ApprovalConfig  # from the BASE branch
    config_path: str = CONFIG_PATH
    # 'org/team' -> member logins. An email owner counts only when the caller maps it here too
    # ('docs@example.com' -> the logins it belongs to); unmapped emails and teams match nobody.
    team_members: Mapping[str, frozenset[str]] = field(default_factory=dict)
    write_access: frozenset[str] = frozenset()  # reviewers with write/maintain/admin on the repo
    evals_regressed: bool = False
    regression_accepted_by: str | None = None


@dataclass(frozen=True)
class IgnoredApproval:
    user: str
    reason: str  # plain words: "is the author", "is not an owner", "has no write access"


@dataclass(frozen=True)
class PromptApproval:
    """The approval state of one changed file (a prompt, the config or the owners file)."""

    path: str
    kind: Literal["prompt", "config", "owners file"]
    owners: tuple[str, ...] | None  # None: no rule matched; (): a rule without owners matched
    rule_line: int | None
    rule_pattern: str | None
    approvers: Literal["owners", "write access", "anyone"]  # whose approvals count
    required: int
    approved_by: tuple[str, ...]
    stale_approvals: tuple[str, ...]
    changes_requested_by: tuple[str, ...]
    ignored_approvals: tuple[IgnoredApproval, ...]
    unresolved_owners: tuple[str, ...]  # emails/teams the caller could not map to logins
    approver_count: int | None  # how many people could approve (known for owners only)
    satisfiable: bool  # False: not enough people exist who could ever approve
    satisfied: bool
    missing: str  # plain text, NOT markdown-safe (contains raw @handles); the summary escapes its own copy
    raised_by_regression: bool = False  # `required` is higher than the path's own count because evals regressed


@dataclass(frozen=True)
class ApprovalVerdict:
    conclusion: Conclusion
    title: str
    prompts: tuple[PromptApproval, ...]
    summary_markdown: str
    owners_errors: tuple[SourceError, ...] = ()


def evaluate_approval(inp: ApprovalInput) -> ApprovalVerdict:
    cfg = inp.config
    latest = latest_reviews(inp.reviews)
    teams = {_key(name): frozenset(m.lower() for m in members) for name, members in inp.team_members.items()}
    write = frozenset(u.lower() for u in inp.write_access)
    gate = inp.evals_regressed and not inp.regression_accepted_by

    governance = _governance_files(inp)
    entries: list[PromptApproval] = []
    for path in dict.fromkeys(normalize(p) for p in inp.changed_prompts):
        if path not in governance:
            entry = _evaluate(inp, path, "prompt", latest, teams, write, _count_for(path, cfg, gate))
            if gate and entry.required > _count_for(path, cfg, False):
                entry = replace(entry, raised_by_regression=True)
                entry = replace(entry, missing="; ".join(_missing_parts(entry, lambda h: h)))
            entries.append(entry)
    for path, kind in governance.items():
        # Rule files are not prompts: the regression gate does not apply, but at least one approval does.
        entries.append(_evaluate(inp, path, kind, latest, teams, write, max(1, _count_for(path, cfg, False))))

    conclusion = _conclusion(entries)
    return ApprovalVerdict(
        conclusion=conclusion,
        title=_title(entries, conclusion),
        prompts=tuple(entries),
        summary_markdown=_summary(inp, entries, gate),
        owners_errors=inp.owners.errors,
    )


def latest_reviews(reviews: Iterable[Review]) -> dict[str, Review]:
    """Each reviewer's latest APPROVED/CHANGES_REQUESTED review (key: lower-cased login).

    Comments do not change a reviewer's state; a DISMISSED review removes it (GitHub's own rule).
    """
    state: dict[str, Review] = {}
    for review in sorted(reviews, key=lambda r: r.submitted_at):
        key = review.user.lower()
        if review.state in ("APPROVED", "CHANGES_REQUESTED"):
            state[key] = review
        elif review.state == "DISMISSED":
            state.pop(key, None)
    return state


def can_accept_regression(
    user: str,
    affected_prompts: Iterable[str],
    owners: OwnersFile,
    team_members: Mapping[str, frozenset[str]],
    *,
    author: str | None = None,
    allow_author: bool = False,
) -> tuple[bool, str]:
    """May `user` accept an eval regression? Only an owner of every owned affected prompt may.

    Unowned affected prompts do not block an owner of the others; if no affected prompt has an
    owner there is nobody to accept for, so the answer is no. Returns (allowed, plain reason).
    """
    prompts = list(dict.fromkeys(normalize(p) for p in affected_prompts))
    if not prompts:
        return False, "no changed prompt is affected by the regression, so there is nothing to accept"
    if author is not None and not allow_author and user.lower() == author.lower():
        return False, f"@{user} is the author of this pull request and authors may not accept their own regression"
    teams = {_key(name): frozenset(m.lower() for m in members) for name, members in team_members.items()}
    owned = [(p, o) for p in prompts if (o := owners.owners_for(p))]
    if not owned:
        return False, (
            f"none of the affected prompts has an owner in {owners.file}, so nobody can accept this regression"
        )
    not_owner = [(p, o) for p, o in owned if user.lower() not in _resolve(o, teams)[0]]
    if not_owner:
        listed = ", ".join(f"{p} (owners: {' '.join(o)})" for p, o in not_owner)
        return False, f"@{user} is not an owner of {listed}"
    return True, f"@{user} owns {', '.join(p for p, _ in owned)}"


# --- evaluation -------------------------------------------------------------------------------


def _governance_files(inp: ApprovalInput) -> dict[str, Literal["config", "owners file"]]:
    """The rule files this PR edits; they are read from the base, so editing them needs their owners."""
    changed = {normalize(p) for p in inp.changed_files}
    found: dict[str, Literal["config", "owners file"]] = {}
    if normalize(inp.config_path) in changed:
        found[normalize(inp.config_path)] = "config"
    for owners_path in (inp.config.owners_file, inp.owners.file):
        if normalize(owners_path) in changed:
            found.setdefault(normalize(owners_path), "owners file")
    return found


def _count_for(path: str, cfg: ApprovalConfig, regression_gate: bool) -> int:
    count = cfg.required_approvals
    for rule in cfg.rules:  # the last matching block wins, like the owners file
        if matches(path, rule.paths):
            count = rule.required_approvals
    # An unaccepted regression raises the bar; it never lowers a stricter per-path count.
    return max(count, cfg.required_approvals_on_regression) if regression_gate else count


def _evaluate(
    inp: ApprovalInput,
    path: str,
    kind: Literal["prompt", "config", "owners file"],
    latest: Mapping[str, Review],
    teams: Mapping[str, frozenset[str]],
    write: frozenset[str],
    required: int,
) -> PromptApproval:
    rule = inp.owners.rule_for(path)
    owners = None if rule is None else rule.owners
    unresolved: tuple[str, ...] = ()
    if owners:
        approvers: Literal["owners", "write access", "anyone"] = "owners"
        pool, unresolved = _resolve(owners, teams)
    elif kind != "prompt" or inp.config.unowned == "require_write_access":
        approvers, pool = "write access", write
    else:
        approvers, pool, required = "anyone", frozenset(), 0

    author = inp.author.lower()
    approved, stale, blocked, ignored = [], [], [], []
    for login, review in latest.items():
        eligible = approvers == "anyone" or login in pool
        if review.state == "CHANGES_REQUESTED":
            # GitHub does not dismiss a request for changes on push, so neither do we.
            if eligible and approvers != "anyone" and login != author:
                blocked.append(review.user)
            continue
        if not eligible:
            reason = "is not an owner" if approvers == "owners" else "has no write access"
            ignored.append(IgnoredApproval(review.user, reason))
        elif login == author and not inp.config.allow_author:
            ignored.append(IgnoredApproval(review.user, "is the author"))
        elif inp.config.dismiss_on_push and inp.fresh_commits is not None and review.commit_id not in inp.fresh_commits:
            stale.append(review.user)
        else:
            approved.append(review.user)

    # Write access is resolved only for the reviewers, so only an owners pool has a known size.
    capacity = len(pool - ({author} if not inp.config.allow_author else set()))
    satisfiable = approvers != "owners" or capacity >= required
    satisfied = len(approved) >= required and not blocked
    entry = PromptApproval(
        path=path, kind=kind, owners=owners,
        rule_line=None if rule is None else rule.line, rule_pattern=None if rule is None else rule.pattern,
        approvers=approvers, required=required,
        approved_by=tuple(approved), stale_approvals=tuple(stale), changes_requested_by=tuple(blocked),
        ignored_approvals=tuple(ignored), unresolved_owners=unresolved,
        approver_count=capacity if approvers == "owners" else None,
        satisfiable=satisfiable, satisfied=satisfied, missing="",
    )
    return replace(entry, missing="; ".join(_missing_parts(entry, lambda h: h)))


def _resolve(owners: Iterable[str], teams: Mapping[str, frozenset[str]]) -> tuple[frozenset[str], tuple[str, ...]]:
    """Owner entries -> lower-cased logins, plus the entries nobody could be resolved for."""
    logins: set[str] = set()
    unresolved: list[str] = []
    for owner in owners:
        if owner.startswith("@") and "/" not in owner:
            logins.add(owner[1:].lower())
        elif _key(owner) in teams:
            logins |= teams[_key(owner)]
        else:
            unresolved.append(owner)
    return frozenset(logins), tuple(unresolved)


def _key(name: str) -> str:
    return name.removeprefix("@").lower()


def _missing_parts(entry: PromptApproval, h) -> list[str]:
    """What still stands between this file and `satisfied`; `h` formats handles (plain or code)."""
    if entry.satisfied:
        return []
    parts: list[str] = []
    short = entry.required - len(entry.approved_by)
    if short > 0:
        who = " or ".join(h(o) for o in entry.owners or ()) if entry.approvers == "owners" else "someone with write access"
        why = f" ({entry.required} while the eval regression stands)" if entry.raised_by_regression else ""
        parts.append(f"needs {short} more approval{'s' if short != 1 else ''} from {who}{why}")
    parts += [f"{h('@' + u)} requested changes" for u in entry.changes_requested_by]
    parts += [f"{h('@' + u)}'s approval predates the last push" for u in entry.stale_approvals]
    if short > 0:
        parts += [f"{h('@' + i.user)}'s approval does not count: {i.reason}" for i in entry.ignored_approvals]
    parts += [
        f"{h(o)} has no members this app can see"
        if o.startswith("@")
        else f"{h(o)} matches no GitHub user this app can see"
        for o in entry.unresolved_owners
    ]
    if not entry.satisfiable:
        n = entry.approver_count or 0
        who = "nobody" if n == 0 else f"only {n} {'person' if n == 1 else 'people'}"
        needed = f"{entry.required} approval{'s are' if entry.required != 1 else ' is'} required"
        parts.append(f"{who} can approve but {needed}")
    return parts


def _conclusion(entries: list[PromptApproval]) -> Conclusion:
    # Check-run semantics: `action_required` says a person must act (reviewers approve, the author
    # answers a change request) and branch protection treats it as not passing, which is exactly
    # "waiting for approvals". `failure` is kept for what no review can fix: a count larger than
    # the number of people who could approve (fix PROMPTOWNERS or the config on the base branch).
    if all(e.satisfied for e in entries):
        return "success"
    if any(not e.satisfiable for e in entries):
        return "failure"
    return "action_required"


def _title(entries: list[PromptApproval], conclusion: Conclusion) -> str:
    if not entries:
        return "No prompt changes need approval"
    total = len(entries)
    noun = "change" if total == 1 else "changes"
    if conclusion == "success":
        prompt = "prompt " if all(e.kind == "prompt" for e in entries) else ""
        return f"Approved: {total} {prompt}{noun}"
    waiting = sum(not e.satisfied for e in entries)
    title = f"{waiting} of {total} {noun} waiting for approval"
    if any(e.changes_requested_by for e in entries):
        title += "; changes requested"
    if conclusion == "failure":
        title += "; cannot be satisfied with the current owners"
    return title


# --- rendering --------------------------------------------------------------------------------


def _summary(inp: ApprovalInput, entries: list[PromptApproval], gate: bool) -> str:
    cfg = inp.config
    lines: list[str] = []
    if not entries:
        lines.append("This pull request changes no prompt, config or owners file, so no approval is needed.")
    if inp.evals_regressed and inp.regression_accepted_by:
        lines.append(f"Evals regressed; the regression was accepted by {md.code('@' + inp.regression_accepted_by)}.")
    elif gate:
        lines.append(
            f"Evals regressed and nobody has accepted the regression, so each changed prompt needs "
            f"{cfg.required_approvals_on_regression} owner approvals."
        )
    if any(e.kind != "prompt" for e in entries):
        lines.append(
            "This pull request edits the approval rules. They are read from the base branch, so the "
            "owners of those files (as listed on the base) must approve."
        )
    if entries:
        lines += ["", "| | File | Owners | Needs | Approved by | Missing |", "|---|---|---|---|---|---|"]
        for e in entries:
            icon = "✅" if e.satisfied else ("❌" if not e.satisfiable or e.changes_requested_by else "⏳")
            # GFM splits cells on '|' even inside code spans: the spans of a cell escape it.
            missing = "; ".join(_missing_parts(e, _table_code))
            approved = _handles(e.approved_by, in_table=True) or "—"
            cells = [icon, _table_code(e.path), _owners_cell(inp, e), str(e.required), approved, missing]
            lines.append("| " + " | ".join(cells) + " |")
    policy = "no approval is needed" if cfg.unowned == "allow" else "anyone with write access may approve"
    lines += [
        "",
        f"Rules: {cfg.required_approvals} owner approval(s) per changed prompt"
        f"{'' if cfg.allow_author else '; the author’s own approval does not count'}"
        f"{'; approvals given before the latest push that changed prompts do not count' if cfg.dismiss_on_push else ''}"
        f"; unowned prompts: {policy}.",
    ]
    if not inp.owners.exists:
        lines += ["", f"{md.code(inp.owners.file)} does not exist on the base branch, so every prompt is unowned."]
    if inp.owners.errors:
        lines += ["", f"**Problems in {md.code(inp.owners.file)}** (these lines are ignored, as GitHub does):"]
        lines += [f"- line {err.line}: {md.inline(err.message)}" for err in inp.owners.errors]
    return "\n".join(lines).strip() + "\n"


def _owners_cell(inp: ApprovalInput, e: PromptApproval) -> str:
    if e.owners:
        return (f"{_handles(e.owners, in_table=True)} ({_table_code(inp.owners.file)} line {e.rule_line}: "
                f"{_table_code(e.rule_pattern or '')})")
    reason = "no owners" if e.owners == () else "unowned"
    return f"{reason}: anyone with write access" if e.approvers == "write access" else f"{reason}: no approval needed"


# User-controlled text (logins, team names, paths, patterns) goes into code spans, where markdown
# and @mentions are inert; free text goes through markdown.inline. Both are the renderer's escaping.


def _handles(handles: Iterable[str], in_table: bool = False) -> str:
    return ", ".join(md.code(h if "@" in h else "@" + h, in_table=in_table) for h in handles)


def _table_code(text: str) -> str:
    return md.code(text, in_table=True)


__all__ = [
    "ApprovalInput",
    "ApprovalVerdict",
    "IgnoredApproval",
    "PromptApproval",
    "Review",
    "can_accept_regression",
    "evaluate_approval",
    "latest_reviews",
]
