"""Fault injection and the call log for the simulator's REST API (reliability tests).

A fault matches a method and a path regex and, for its next `times` matching calls,
delays the answer and/or replaces it with an error status (5xx, 403 secondary rate
limit with `Retry-After`, 429, or a primary limit with `x-ratelimit-remaining: 0`).
"""

from __future__ import annotations

import re
import threading
import time
from dataclasses import dataclass, field
from typing import Any, NamedTuple

_MESSAGES = {
    403: "You have exceeded a secondary rate limit. Please wait a few minutes before you try again.",
    429: "You have exceeded a secondary rate limit. Please wait a few minutes before you try again.",
    500: "Server Error",
    502: "Server Error",
    503: "Service Unavailable",
}
DOCS_RATE_LIMIT = ("https://docs.github.com/rest/using-the-rest-api/rate-limits-for-the-rest-api"
                   "#about-secondary-rate-limits")


class Call(NamedTuple):
    """One REST call the simulator answered (method, path without query, status)."""

    method: str
    path: str
    status: int


@dataclass
class Fault:
    path: str  # regex searched in the request path (e.g. r"/issues/\d+/comments$")
    method: str | None = None  # None = any method
    status: int | None = None  # None = answer normally (after `delay`)
    times: int | None = 1  # None = every matching call
    delay: float = 0.0  # seconds before answering
    retry_after: int | None = None
    primary_rate_limit: bool = False  # 403 with x-ratelimit-remaining: 0 instead of a secondary limit
    body: dict[str, Any] | None = None
    hits: int = field(default=0)

    def matches(self, method: str, path: str) -> bool:
        if self.times is not None and self.hits >= self.times:
            return False
        return (self.method is None or self.method.upper() == method.upper()) and re.search(self.path, path) is not None

    def response(self, now: float) -> tuple[int, dict[str, str], dict[str, Any]] | None:
        if self.status is None:
            return None
        headers: dict[str, str] = {}
        if self.retry_after is not None:
            headers["Retry-After"] = str(self.retry_after)
        body = self.body or {"message": _MESSAGES.get(self.status, "Error"),
                             "documentation_url": DOCS_RATE_LIMIT if self.status in (403, 429) else "https://docs.github.com/rest"}
        if self.primary_rate_limit:
            headers.update({"x-ratelimit-remaining": "0", "x-ratelimit-reset": str(int(now) + (self.retry_after or 60))})
            headers.pop("Retry-After", None)
            body = self.body or {"message": "API rate limit exceeded for installation.",
                                 "documentation_url": "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api"}
        return self.status, headers, body


class Faults:
    """The faults armed for the REST API, the log of the calls it answered and the per-credential
    rate-limit counters: what the HTTP app consults on every request (not GitHub's data, so kept
    apart from `SimState`, under a lock of its own)."""

    def __init__(self) -> None:
        self.faults: list[Fault] = []
        self.calls: list[Call] = []
        self._faults_lock = threading.Lock()
        self._delayed = 0  # delayed requests still being answered (their client may have given up)
        self._ratelimit_used: dict[str, int] = {}

    def add_fault(self, path: str, status: int | None = None, times: int | None = 1,
                  delay: float = 0.0, method: str | None = None, retry_after: int | None = None,
                  primary_rate_limit: bool = False, body: dict[str, Any] | None = None) -> Fault:
        """Make the next `times` calls matching `method` + `path` regex fail with `status` and/or wait `delay` s."""
        fault = Fault(path, method, status, times, delay, retry_after, primary_rate_limit, body)
        with self._faults_lock:
            self.faults.append(fault)
        return fault

    def clear_faults(self) -> None:
        with self._faults_lock:
            self.faults.clear()

    def take_fault(self, method: str, path: str) -> Fault | None:
        """The first armed fault for this call, counted as used."""
        with self._faults_lock:
            for f in self.faults:
                if f.matches(method, path):
                    f.hits += 1
                    return f
        return None

    def delay_started(self) -> None:
        with self._faults_lock:
            self._delayed += 1

    def delay_finished(self) -> None:
        with self._faults_lock:
            self._delayed -= 1

    def wait_for_delayed(self, timeout: float = 30.0) -> None:
        """Until every delayed request has been applied and answered, as GitHub would finish it."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._faults_lock:
                if self._delayed == 0:
                    return
            time.sleep(0.02)
        raise TimeoutError(f"{self._delayed} delayed request(s) still running after {timeout}s")

    def record_call(self, method: str, path: str, status: int) -> None:
        with self._faults_lock:
            self.calls.append(Call(method, path, status))

    def calls_to(self, method: str, path_regex: str) -> list[Call]:
        """Recorded calls with this method whose path matches the regex (e.g. to count comment posts)."""
        with self._faults_lock:
            return [c for c in self.calls if c.method == method.upper() and re.search(path_regex, c.path)]

    def rate_limit_headers(self, key: str) -> dict[str, str]:
        """x-ratelimit-* for one credential: 5000/hour, counted per token as GitHub does."""
        with self._faults_lock:
            n = self._ratelimit_used[key] = self._ratelimit_used.get(key, 0) + 1
        reset = int(time.time() // 3600 + 1) * 3600
        return {"x-ratelimit-limit": "5000", "x-ratelimit-remaining": str(max(0, 5000 - n)),
                "x-ratelimit-used": str(n), "x-ratelimit-reset": str(reset), "x-ratelimit-resource": "core"}
