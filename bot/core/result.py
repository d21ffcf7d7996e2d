"""What one review produced — the single input of every renderer (comment, check outputs, CLI)
and what the service stores as a snapshot (versioned JSON, see bot.core.snapshot)."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum

from bot.core.approval import ApprovalVerdict
from bot.core.errors import SourceError
from bot.core.explain.model import Explanation
from bot.core.report import EvalReport
from bot.core.semdiff import PromptDiff

COMMENT_MARKER = "<!-- prompt-review:comment -->"
EVALS_CHECK = "prompt-review/evals"
APPROVAL_CHECK = "prompt-review/approval"


@dataclass(frozen=True)
class ChangedFile:
    path: str
    status: str  # added | modified | removed | renamed
    previous_path: str | None = None


@dataclass(frozen=True)
class PromptChange:
    """One changed prompt file: its plain unified diff and its semantic diff."""

    path: str
    status: str
    previous_path: str | None
    unified_diff: str  # plain text, unescaped
    lines_added: int
    lines_removed: int
    base_hash: str | None  # short content hash: the prompt version on each side
    head_hash: str | None
    semdiff: PromptDiff | None = None
    # Why a side that exists has no hash: "binary", "too large", "not UTF-8" (it was not reviewed).
    base_unread: str | None = None
    head_unread: str | None = None
    # Why this file is under review: "matches prompts.include", "prompt of evals/x/promptfooconfig.yaml", …
    why: str = "matches prompts.include"


class EvalsSkip(str, Enum):
    """Why evals did not run at all. Only a change shown to be formatting-only may pass unrun."""

    WAITING_FOR_LABEL = "waiting_for_label"  # a fork PR: evals spend money only after a maintainer's label
    FORMATTING_ONLY = "formatting_only"


class ProblemKind(str, Enum):
    """What kind of problem: decisions (exit status, whether to go on) branch on this, not on titles."""

    CONFIG_INVALID = "config_invalid"  # the base branch's .github/prompt-review.yml does not parse
    FILES_TRUNCATED = "files_truncated"  # GitHub could not list every changed file
    TOO_MANY_FILES = "too_many_files"  # more reviewed files than limits.max_files
    UNREADABLE = "unreadable"  # a reviewed file is binary, not UTF-8 or over limits.max_prompt_bytes
    SEMDIFF_FAILED = "semdiff_failed"


@dataclass(frozen=True)
class Problem:
    """Something that went wrong, said in plain words with what the user should do."""

    title: str
    detail: str
    errors: tuple[SourceError, ...] = ()
    blocking: bool = True
    kind: ProblemKind = ProblemKind.CONFIG_INVALID


@dataclass(frozen=True)
class Acceptance:
    """An owner accepted this head's blocking cases with the check-run button (audited)."""

    by: str  # login
    at: str  # ISO time
    cases: tuple[str, ...] = ()  # the case keys accepted
    models: tuple[str, ...] = ()  # models (provider slots) accepted as a whole; see render.conclusion


@dataclass(frozen=True)
class Links:
    evals_check: str | None = None
    approval_check: str | None = None
    review_page: str | None = None  # the service's /ui/ page of the full review, when its public URL is set


@dataclass(frozen=True)
class ReviewResult:
    repo: str
    pr: int | None
    base_sha: str
    head_sha: str
    prompts: tuple[PromptChange, ...]
    files_changed: int
    files_truncated: bool = False  # GitHub lists at most 3,000 files of a PR
    problems: tuple[Problem, ...] = ()
    evals: EvalReport | None = None  # None: nothing under review changed, or evals did not run
    evals_skipped_reason: str | None = None  # e.g. "formatting-only change", "fork PR waiting for label"
    evals_skipped: EvalsSkip | None = None  # what the conclusion decides on; the reason is its words
    approval: ApprovalVerdict | None = None
    accepted_regression: Acceptance | None = None
    superseded_by: str | None = None
    # Which change broke (or fixed) which cases: clusters and their causes (None: nothing regressed or fixed).
    explanation: Explanation | None = None
    links: Links = field(default_factory=Links)

    @property
    def touches_prompts(self) -> bool:
        """A file under review changed (a prompt, what a suite renders or reads, or a suite)."""
        return bool(self.prompts)

    @property
    def config_invalid(self) -> bool:
        return any(p.blocking and p.kind is ProblemKind.CONFIG_INVALID for p in self.problems)
