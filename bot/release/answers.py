"""How the release endpoints answer a refusal: one exception for request problems, one table from a
typed release refusal to its HTTP status, one JSON shape ({"error": "...", ...}) for all of them."""

from __future__ import annotations

import logging

from bot.core.release import Refusal, ReleaseError
from bot.github.client import GitHubError
from bot.release import rollout

log = logging.getLogger("prompt_review.release")

STATUS = {
    Refusal.BAD_LABEL: 422, Refusal.UNKNOWN_LABEL: 404, Refusal.UNKNOWN_PROMPT: 404, Refusal.UNKNOWN_REF: 404,
    Refusal.NOT_OWNER: 403, Refusal.REVIEW_DID_NOT_PASS: 409, Refusal.NOTHING_TO_MOVE: 409,
    Refusal.NOTHING_TO_RESTORE: 409,
}


class Problem(Exception):
    """A request the endpoint refuses (bad token, bad body, unknown thing), with its status and words."""

    def __init__(self, status: int, message: str, **extra: object):
        super().__init__(message)
        self.status, self.message, self.extra = status, message, extra


def refusal(exc: Exception) -> tuple[int, dict] | None:
    """(status, JSON body) for an exception a release endpoint answers in words; None for any other."""
    if isinstance(exc, Problem):
        return exc.status, {"error": exc.message, **exc.extra}
    if isinstance(exc, ReleaseError):
        return STATUS[exc.kind], {"error": exc.message, "refusal": exc.kind.value, **exc.details}
    if isinstance(exc, rollout.RolloutError):
        return exc.status, {"error": exc.message}
    if isinstance(exc, GitHubError):
        log.warning("release request: %s", exc)
        return 502, {"error": f"GitHub answered {exc.status} to {exc.method} {exc.path.split('?')[0]}"}
    return None


def bearer(header: str) -> str | None:
    """The token of an `Authorization: Bearer …` (or `token …`) header value."""
    scheme, _, value = header.partition(" ")
    return value.strip() if scheme.lower() in ("bearer", "token") and value.strip() else None
