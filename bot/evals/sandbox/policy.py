"""Which code may run: the base branch's (reviewed and merged, like the config) always; the PR's own
only for same-repository PRs when the base config's `evals.run_pr_code` allows it; a fork's never.
"""

from __future__ import annotations

from enum import Enum

from bot.core.config import EvalsConfig


class Origin(str, Enum):
    BASE = "base"  # the exact code (inline text, or the referenced file's bytes) is on the base branch
    PR = "pr"  # added or changed by the pull request


def origin_of(code: str | bytes, base_code: str | bytes | None) -> Origin:
    """Code is the base's when the base branch has the very same text at the same place (the same
    assertion value, or the same file path with the same bytes); anything else is the PR's."""
    return Origin.BASE if base_code is not None and code == base_code else Origin.PR


def may_run(origin: Origin | str, same_repo: bool, config: EvalsConfig, what: str = "code") -> tuple[bool, str]:
    """(allowed, reason). `what` names the code for the message, e.g. 'javascript assertion'.

    The reason of a refusal names the rule, so the case error says which rule refused it."""
    origin = Origin(origin)
    if origin is Origin.BASE:
        return True, f"{what} from the base branch (reviewed and merged) runs in the sandbox"
    if not same_repo:
        return False, (
            f"refused: executes code from a fork's pull request ({what}) — code from forks never runs; "
            "only the base branch's code does"
        )
    if config.run_pr_code == "never":
        return False, (
            f"refused: executes code from the PR ({what}) — allowed from the base branch only "
            "(evals.run_pr_code: never in the base branch's .github/prompt-review.yml)"
        )
    return True, f"{what} from this repository's PR runs in the sandbox (evals.run_pr_code: same-repo)"
