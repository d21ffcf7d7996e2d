"""Errors a user can hit, carrying the file and line they come from."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


@dataclass(frozen=True)
class SourceError:
    """A problem in a user's file, phrased for the PR comment, check output or CLI stderr."""

    file: str
    message: str
    line: int | None = None
    field: str | None = None

    def __str__(self) -> str:
        where = self.file if self.line is None else f"{self.file}:{self.line}"
        field = f" ({self.field})" if self.field else ""
        return f"{where}{field}: {self.message}"


class UserError(Exception):
    """Raised with one or more SourceErrors; str() is safe to show to users."""

    def __init__(self, errors: list[SourceError] | SourceError):
        self.errors = [errors] if isinstance(errors, SourceError) else list(errors)
        super().__init__("; ".join(str(e) for e in self.errors))


class CheckError(str, Enum):
    """Why a case could not be checked — typed, so gates and messages never parse error text.

    Every kind is a reason the evals could not tell; none of them ever counts as passing.
    """

    MISSING_CREDENTIALS = "missing_credentials"  # no API key in the environment for this provider
    BAD_CREDENTIALS = "bad_credentials"  # the provider answered 401/403
    RATE_LIMITED = "rate_limited"  # 429 after every retry
    PROVIDER_DOWN = "provider_down"  # 5xx or connection failures after every retry
    TIMEOUT = "timeout"  # the call's total deadline passed
    RESPONSE_TOO_LARGE = "response_too_large"  # the answer passed the response-size limit
    BAD_RESPONSE = "bad_response"  # not JSON, wrong shape, too deeply nested
    URL_REFUSED = "url_refused"  # the PR asked to send requests where it may not
    RENDER = "render"  # the prompt or an assertion could not be rendered
    REGEX_BUDGET = "regex_budget"  # a regex assertion hit its time or the review's regex budget
    ASSERTION = "assertion"  # an assertion could not be evaluated (bad schema, grader failure)
    OTHER = "other"
