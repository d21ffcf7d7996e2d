"""Mutable state of one scripted server: queued faults, request counters, flaky-call counters.

Driven through the `/_control/*` endpoints so tests can make the server misbehave on cue
(429 with Retry-After, 5xx, a delay past the client's timeout) and count what it was asked.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections import Counter
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator


class FaultSpec(BaseModel):
    """One injected fault, served to the next `count` matching requests, in the order queued."""

    model_config = ConfigDict(extra="forbid")
    status: int | None = Field(None, ge=400, le=599, description="HTTP status to answer with instead of a reply")
    count: int = Field(1, ge=1, description="how many requests this fault applies to")
    retry_after: float | None = Field(None, ge=0, description="seconds, sent as Retry-After (and retry-after-ms)")
    delay_ms: float | None = Field(None, ge=0, description="stall this long first; past a client timeout it times out")
    model: str | None = Field(None, description="only requests whose model contains this text")
    message: str | None = Field(None, description="error message; a realistic default otherwise")
    # Hostile bodies (bot.modelserver.hostile), for tests of the reviewer's defences:
    drip_ms: float | None = Field(None, gt=0, description="send the body one byte every drip_ms (a slow-loris endpoint)")
    pad_bytes: int | None = Field(None, ge=1, description="pad the answer (or the error body) to this many bytes, streamed")
    nest: int | None = Field(None, ge=1, description="answer with a JSON document nested this deep")

    @property
    def hostile(self) -> bool:
        return bool(self.drip_ms or self.pad_bytes or self.nest)

    @model_validator(mode="after")
    def _does_something(self) -> "FaultSpec":
        if self.status is None and self.delay_ms is None and not self.hostile:
            raise ValueError("a fault needs a status, a delay_ms, or both, or a hostile body (drip_ms, pad_bytes, nest)")
        return self


class Rewrite(BaseModel):
    """Replace `old` with `new` in answers, only to prompts containing `when` (any prompt without it)."""

    model_config = ConfigDict(extra="forbid")
    old: str = Field(min_length=1)
    new: str
    when: str | None = None


class Drift(BaseModel):
    """The model behind a name changed: other answers and another reported model/fingerprint, same name.
    What re-validation exists to notice (an alias re-pointed, a snapshot updated)."""

    model_config = ConfigDict(extra="forbid")
    model: str = Field(min_length=1, description="the requested model name this applies to (exact)")
    system_fingerprint: str | None = Field(None, description="reported instead of the default fp_scripted")
    reported_model: str | None = Field(None, description="the `model` the answer reports instead of the requested name")
    rewrites: list[Rewrite] = Field(default_factory=list)

    def apply(self, text: str, messages: Any) -> str:
        prompt = json.dumps(messages, default=str)
        for r in self.rewrites:
            if r.when is None or r.when in prompt:
                text = text.replace(r.old, r.new)
        return text


class ServerState:
    """Thread-safe because uvicorn may run handlers concurrently with control calls from tests."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        with self._lock:
            self._faults: list[list[Any]] = []  # [spec, remaining]
            self._by_model: Counter[str] = Counter()
            self._answered: Counter[str] = Counter()
            self._by_endpoint: Counter[str] = Counter()
            self._seen_prompts: Counter[str] = Counter()
            self._answered_prompts: Counter[str] = Counter()
            self._faults_served = 0
            self._drifts: dict[str, Drift] = {}

    def set_drift(self, drift: Drift) -> None:
        with self._lock:
            self._drifts[drift.model] = drift

    def drift(self, model: str) -> Drift | None:
        with self._lock:
            return self._drifts.get(model)

    def add_fault(self, spec: FaultSpec) -> int:
        with self._lock:
            self._faults.append([spec, spec.count])
            return sum(remaining for _, remaining in self._faults)

    def record(self, endpoint: str, model: str, messages: Any) -> str:
        """Count a request; returns the key of its exact prompt for `answered`."""
        key = hashlib.sha256(json.dumps([endpoint, model, messages], sort_keys=True, default=str).encode()).hexdigest()
        with self._lock:
            self._by_model[model] += 1
            self._by_endpoint[endpoint] += 1
            self._seen_prompts[key] += 1
        return key

    def take_fault(self, model: str) -> FaultSpec | None:
        with self._lock:
            for entry in self._faults:
                spec, remaining = entry
                if spec.model is None or spec.model in model:
                    entry[1] = remaining - 1
                    if entry[1] == 0:
                        self._faults.remove(entry)
                    self._faults_served += 1
                    return spec
            return None

    def answered(self, model: str, key: str) -> int:
        """Count an answer; returns how many times this prompt was answered before (the flaky call index)."""
        with self._lock:
            self._answered[model] += 1
            previous = self._answered_prompts[key]
            self._answered_prompts[key] += 1
            return previous

    def stats(self) -> dict[str, Any]:
        with self._lock:
            return {
                "requests": sum(self._by_model.values()),
                "by_model": dict(self._by_model),
                "answered_by_model": dict(self._answered),
                "by_endpoint": dict(self._by_endpoint),
                "distinct_prompts": len(self._seen_prompts),
                "repeated_prompts": sum(n - 1 for n in self._seen_prompts.values()),
                "faults_served": self._faults_served,
                "faults_pending": sum(remaining for _, remaining in self._faults),
                "drifted_models": sorted(self._drifts),
            }
