"""Logging set-up: text or JSON lines, each carrying the delivery id and owner/repo#pr in context."""

from __future__ import annotations

import contextvars
import json
import logging
import re
from contextlib import contextmanager

delivery_var: contextvars.ContextVar[str | None] = contextvars.ContextVar("delivery", default=None)
pr_var: contextvars.ContextVar[str | None] = contextvars.ContextVar("pr", default=None)

_SECRETS: set[str] = set()
_TOKEN_RE = re.compile(r"(gh[opsu]_[A-Za-z0-9]{8,}|ghs_[A-Za-z0-9]+|eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+)")


def register_secret(value: str | None) -> None:
    """Values that must never reach a log line (webhook secret, keys, tokens)."""
    if value and len(value) >= 6:
        _SECRETS.add(value)


def redact(text: str) -> str:
    for secret in _SECRETS:
        text = text.replace(secret, "[redacted]")
    return _TOKEN_RE.sub("[redacted]", text)


class _ContextFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.delivery = delivery_var.get()
        record.pr = pr_var.get()
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        data = {
            "ts": self.formatTime(record, "%Y-%m-%dT%H:%M:%S"),
            "level": record.levelname,
            "logger": record.name,
            "msg": redact(record.getMessage()),
            "delivery": getattr(record, "delivery", None),
            "pr": getattr(record, "pr", None),
        }
        if record.exc_info:
            data["exc"] = redact(self.formatException(record.exc_info))
        return json.dumps(data)


class TextFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        ctx = " ".join(f"{k}={v}" for k, v in (("delivery", getattr(record, "delivery", None)), ("pr", getattr(record, "pr", None))) if v)
        line = f"{self.formatTime(record, '%H:%M:%S')} {record.levelname:<7} {record.name}: {record.getMessage()}"
        if ctx:
            line += f" [{ctx}]"
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return redact(line)


def configure(fmt: str = "text", level: str = "INFO") -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    handler.addFilter(_ContextFilter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for noisy in ("httpx", "httpcore", "uvicorn.access", "alembic"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


@contextmanager
def context(delivery: str | None = None, pr: str | None = None):
    tokens = []
    if delivery is not None:
        tokens.append((delivery_var, delivery_var.set(delivery)))
    if pr is not None:
        tokens.append((pr_var, pr_var.set(pr)))
    try:
        yield
    finally:
        for var, token in reversed(tokens):
            var.reset(token)
