"""The release half's decisions: which label moves a deployment makes, whether it may, what a
rollback restores, what a manifest says. Pure: facts in, a plan or a typed refusal out."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import Enum

from bot.core.files import normalize
from bot.core.semdiff.parse import parse

LABEL = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")
VERSION_CHARS = 12  # a version is named by its blob sha's first 12 hex digits
PASSING = frozenset({"success", "neutral", "skipped"})
DEFAULT_PROTECTED = ("production",)


class Via(str, Enum):
    """Through which path a label moved (stored with every move)."""

    CLI = "cli"
    API = "api"
    COMMENT = "comment"
    BUTTON = "button"
    GUARD = "guard"


class Refusal(str, Enum):
    """Why a deployment or rollback was refused — typed, so callers choose the HTTP status from it."""

    BAD_LABEL = "bad_label"  # not [a-z0-9-]+
    UNKNOWN_LABEL = "unknown_label"  # rollback or manifest of a label that never existed
    UNKNOWN_PROMPT = "unknown_prompt"  # --prompt names no prompt at the ref
    UNKNOWN_REF = "unknown_ref"  # the ref is no commit of the default branch
    NOT_OWNER = "not_owner"  # the actor does not own every prompt being moved
    REVIEW_DID_NOT_PASS = "review_did_not_pass"  # protected label, failing/absent review, no override reason
    NOTHING_TO_MOVE = "nothing_to_move"  # every pointer is already there
    NOTHING_TO_RESTORE = "nothing_to_restore"  # rollback with no earlier pointers


class ReleaseError(Exception):
    """A deployment, rollback or manifest request that cannot be done; str() is safe to show users."""

    def __init__(self, kind: Refusal, message: str, details: Mapping[str, object] | None = None):
        self.kind, self.message, self.details = kind, message, dict(details or {})
        super().__init__(message)


@dataclass(frozen=True)
class ReviewFacts:
    """The final review of the merged PR a version came from (None fields: not known)."""

    pr: int | None
    head_sha: str | None
    evals: str | None  # the prompt-review/evals check conclusion
    approval: str | None  # the prompt-review/approval check conclusion

    @property
    def passed(self) -> bool:
        return self.evals in PASSING and self.approval in PASSING

    def why_not(self) -> str:
        if self.pr is None:
            return "it was committed without a reviewed pull request"
        parts = []
        if self.evals not in PASSING:
            parts.append(f"evals {self.evals or 'did not finish'}")
        if self.approval not in PASSING:
            parts.append(f"approval {self.approval or 'missing'}")
        return f"the review of #{self.pr} did not pass ({', '.join(parts)})"


UNREVIEWED = ReviewFacts(None, None, None, None)


@dataclass(frozen=True)
class Move:
    """One label pointer of one prompt, from → to (None: the label had no version of that prompt)."""

    path: str
    from_version: str | None
    to_version: str | None


@dataclass(frozen=True)
class Plan:
    label: str
    commit: str
    moves: tuple[Move, ...]
    override: bool  # a protected label was moved past a review that did not pass, with a reason
    blocked: tuple[str, ...] = ()  # the versions (path@version: why) the override covers


@dataclass(frozen=True)
class Ownership:
    """Who owns what, resolved for one actor: owners per path (None = unowned), team members, write access."""

    owners: Mapping[str, tuple[str, ...] | None]
    team_members: Mapping[str, frozenset[str]] = field(default_factory=dict)
    has_write: bool = False


def short(version: str | None) -> str | None:
    return version[:VERSION_CHARS] if version else None


def check_label(label: str) -> str:
    if not LABEL.fullmatch(label or ""):
        raise ReleaseError(Refusal.BAD_LABEL, f"label {label!r} is not valid: use lowercase letters, digits and '-' "
                                              "(e.g. production, staging, canary-eu)")
    return label


def may_move(actor: str, paths: Iterable[str], ownership: Ownership, act: str = "deploy") -> tuple[bool, str]:
    """Like approvals: the owners of every prompt being moved; write access where a prompt is unowned."""
    who = actor.lower()
    teams = {name.lower().lstrip("@"): {m.lower() for m in members} for name, members in ownership.team_members.items()}
    refused = []
    for path in paths:
        owners = ownership.owners.get(path)
        if not owners:
            if not ownership.has_write:
                refused.append(f"{path} (unowned: needs write access)")
            continue
        people = {o[1:].lower() for o in owners if o.startswith("@") and "/" not in o}
        for o in owners:
            if o.startswith("@") and "/" in o:
                people |= teams.get(o[1:].lower(), set())
        if who not in people:
            refused.append(f"{path} (owners: {' '.join(owners)})")
    if refused:
        return False, f"@{actor} may not {act}: not an owner of " + ", ".join(refused)
    return True, ""


def plan_deploy(
    label: str,
    commit: str,
    at_commit: Mapping[str, str],
    current: Mapping[str, str],
    only: Iterable[str] = (),
    reviews: Mapping[str, ReviewFacts] | None = None,
    protected: Iterable[str] = DEFAULT_PROTECTED,
    reason: str | None = None,
) -> Plan:
    """The moves that put `label` on the prompt versions at `commit` (path → blob sha), all prompts or
    `only` some. A move onto a version whose review did not pass is refused for a protected label
    unless a reason is given (an owner's override, recorded)."""
    check_label(label)
    wanted = [normalize(p) for p in only]
    unknown = [p for p in wanted if p not in at_commit]
    if unknown:
        raise ReleaseError(Refusal.UNKNOWN_PROMPT, f"no prompt {', '.join(unknown)} at {commit[:12]}; prompts there: "
                                                   + (", ".join(sorted(at_commit)) or "none"))
    paths = sorted(set(wanted) if wanted else at_commit)
    moves = tuple(Move(p, current.get(p), at_commit[p]) for p in paths if current.get(p) != at_commit[p])
    if not moves:
        raise ReleaseError(Refusal.NOTHING_TO_MOVE, f"{label} already points at the versions at {commit[:12]}")
    reviews = reviews or {}
    blocked = tuple(
        f"{m.path}@{short(m.to_version)}: {reviews.get(m.path, UNREVIEWED).why_not()}"
        for m in moves if not reviews.get(m.path, UNREVIEWED).passed
    )
    override = False
    if blocked and label in set(protected):
        if not (reason or "").strip():
            raise ReleaseError(
                Refusal.REVIEW_DID_NOT_PASS,
                f"{label} is protected and " + "; ".join(blocked)
                + ". An owner may override with a reason (--reason TEXT); it is recorded.",
                {"blocked": list(blocked)},
            )
        override = True
    return Plan(label, commit, moves, override, blocked if override else ())


@dataclass(frozen=True)
class PastDeployment:
    """A deployment of one label, as stored: its moves and whether a later rollback already undid it."""

    id: int
    label: str
    commit: str
    moves: tuple[Move, ...]
    rolled_back: bool
    is_rollback: bool


def plan_rollback(label: str, history: Iterable[PastDeployment]) -> tuple[PastDeployment, Plan]:
    """Undo the latest deployment of `label` not undone yet (a second rollback goes one further back)."""
    check_label(label)
    past = [d for d in history if d.label == label]
    if not past:
        raise ReleaseError(Refusal.UNKNOWN_LABEL, f"label {label} has never been deployed")
    target = next((d for d in sorted(past, key=lambda d: d.id, reverse=True) if not d.is_rollback and not d.rolled_back), None)
    if target is None or all(m.from_version is None for m in target.moves):
        raise ReleaseError(Refusal.NOTHING_TO_RESTORE, f"nothing precedes the first deployment of {label}: there is no earlier version to restore")
    moves = tuple(Move(m.path, m.to_version, m.from_version) for m in target.moves if m.from_version is not None)
    before = [d for d in past if d.id < target.id]
    restored_from = max(before, key=lambda d: d.id).commit if before else target.commit
    return target, Plan(label, restored_from, moves, override=False)


# --- manifest ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class ManifestPrompt:
    path: str
    version: str  # 12 hex
    content: str
    format: str
    model: str | None
    params: Mapping[str, object]


_MODEL_KEYS = ("model", "model.id", "model.name", "model.configuration.model", "model.configuration.azure_deployment")
_PARAM_PREFIXES = ("model.parameters.", "config.", "parameters.")
_TOP_PARAMS = ("temperature", "max_tokens", "top_p", "seed", "stop")


def describe(path: str, text: str) -> tuple[str, str | None, dict[str, object]]:
    """(format, model, params) a prompt file declares (front matter, Prompty, Dotprompt, chat JSON/YAML)."""
    parsed = parse(path, text)
    values = {key: s.value for key, s in parsed.settings.items()}
    model = next((v for k in _MODEL_KEYS if isinstance(v := values.get(k), str)), None)
    params: dict[str, object] = {}
    for key, value in values.items():
        prefix = next((p for p in _PARAM_PREFIXES if key.startswith(p)), None)
        name = key[len(prefix):] if prefix else key if key in _TOP_PARAMS else None
        if name and (value is None or isinstance(value, (str, int, float, bool))):
            params[name] = value
    return parsed.format, model, params


def etag(repo: str, label: str, commit: str | None, versions: Iterable[tuple[str, str]]) -> str:
    digest = hashlib.sha256(json.dumps([repo, label, commit, sorted(versions)]).encode()).hexdigest()
    return f'"{digest[:32]}"'


def parse_command(body: str) -> tuple[str, str, str | None] | None:
    """`/prompt-review deploy LABEL [reason…]` or `/prompt-review rollback LABEL [reason…]` on the first
    line of a comment → (verb, label, reason); None when the comment is no such command."""
    first = (body or "").strip().splitlines()[0].strip() if (body or "").strip() else ""
    match = re.match(r"/prompt-review\s+(deploy|rollback)\s+(\S+)\s*(.*)\Z", first)
    if not match:
        return None
    reason = match.group(3).strip().strip('"').strip() or None
    return match.group(1), match.group(2), reason
