"""Errors a user can hit, carrying the file and line they come from."""

from __future__ import annotations

from dataclasses import dataclass


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
