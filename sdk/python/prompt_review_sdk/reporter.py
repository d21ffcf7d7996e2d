"""Batched, non-blocking telemetry: record() and score() only append to a bounded in-memory queue; a
background thread sends OTLP/HTTP JSON spans to POST /v1/traces and scores to POST /v1/scores. When the
service is down, batches wait (bounded: the oldest are dropped and counted) and the outage is logged once."""

from __future__ import annotations

import collections
import logging
import os
import threading
import time
from typing import TYPE_CHECKING, Any

import httpx

if TYPE_CHECKING:
    from prompt_review_sdk.client import Prompt

log = logging.getLogger("prompt_review_sdk")
BATCH = 512


def _attr(key: str, value: Any) -> dict:
    v: dict[str, Any]
    if isinstance(value, bool):
        v = {"boolValue": value}
    elif isinstance(value, int):
        v = {"intValue": str(value)}
    elif isinstance(value, float):
        v = {"doubleValue": value}
    else:
        v = {"stringValue": str(value)}
    return {"key": key, "value": v}


class Reporter:
    def __init__(self, server: str, token: str, *, flush_interval: float = 1.0, max_queue: int = 10_000,
                 timeout: float = 5.0, transport: httpx.BaseTransport | None = None):
        self._http = httpx.Client(base_url=server, timeout=timeout, transport=transport,
                                  headers={"Authorization": f"Bearer {token}"})
        self._spans: collections.deque = collections.deque(maxlen=max_queue)
        self._scores: collections.deque = collections.deque(maxlen=max_queue)
        self.dropped = 0
        self.sent_spans = 0
        self.sent_scores = 0
        self._interval = flush_interval
        self._wake = threading.Event()
        self._idle = threading.Event()
        self._idle.set()
        self._stop = False
        self._down = False
        self._thread = threading.Thread(target=self._run, name="prompt-review-telemetry", daemon=True)
        self._thread.start()

    # --- producers (the app's threads): append only ---------------------------------------------------
    def span(self, prompt: Prompt, *, latency_ms=None, model=None, requested_model=None, system_fingerprint=None,
             input_tokens=None, output_tokens=None, cost_usd=None, error=None, scores=None, end_time=None) -> None:
        end = int((end_time if end_time is not None else time.time()) * 1e9)
        start = end - int((latency_ms or 0.0) * 1e6)
        attrs = dict(prompt.attributes())
        if requested_model or prompt.model:
            attrs["gen_ai.request.model"] = requested_model or prompt.model
        if model:
            attrs["gen_ai.response.model"] = model
        if system_fingerprint:
            attrs["gen_ai.openai.response.system_fingerprint"] = system_fingerprint
        if input_tokens is not None:
            attrs["gen_ai.usage.input_tokens"] = int(input_tokens)
        if output_tokens is not None:
            attrs["gen_ai.usage.output_tokens"] = int(output_tokens)
        if cost_usd is not None:
            attrs["prompt_review.cost_usd"] = float(cost_usd)
        if error:
            attrs["error.type"] = str(error)
        for name, value in (scores or {}).items():
            attrs[f"prompt_review.score.{name}"] = float(value)
        span = {"traceId": os.urandom(16).hex(), "spanId": os.urandom(8).hex(), "name": f"chat {prompt.path}",
                "kind": 3, "startTimeUnixNano": str(start), "endTimeUnixNano": str(end),
                "attributes": [_attr(k, v) for k, v in attrs.items() if v is not None],
                "status": {"code": 2, "message": str(error)} if error else {}}
        self._push(self._spans, span)

    def score(self, prompt: Prompt, name: str, value: float, *, model=None, when=None) -> None:
        item = {"path": prompt.path, "version": prompt.version, "label": prompt.label, "arm": prompt.arm,
                "model": model or prompt.model, "name": name, "value": float(value)}
        if when is not None:
            item["time"] = when
        self._push(self._scores, item)

    def _push(self, queue: collections.deque, item: dict) -> None:
        if len(queue) == queue.maxlen:
            self.dropped += 1  # the deque drops the oldest: a long outage costs old telemetry, never memory
        queue.append(item)
        self._idle.clear()
        if len(queue) >= BATCH:
            self._wake.set()

    # --- the sender thread ---------------------------------------------------------------------------
    def _run(self) -> None:
        while True:
            self._wake.wait(self._interval)
            self._wake.clear()
            self._send_all()
            if self._stop:
                return

    def _take(self, queue: collections.deque) -> list:
        out: list = []
        while queue and len(out) < BATCH:
            out.append(queue.popleft())
        return out

    def _send_all(self) -> None:
        while self._spans or self._scores:
            spans, scores = self._take(self._spans), self._take(self._scores)
            ok = True
            if spans:
                body = {"resourceSpans": [{"resource": {"attributes": [_attr("service.name", "prompt-review-sdk")]},
                                           "scopeSpans": [{"scope": {"name": "prompt_review_sdk"}, "spans": spans}]}]}
                ok = self._post("/v1/traces", body)
                if ok:
                    self.sent_spans += len(spans)
            if ok and scores:
                ok = self._post("/v1/scores", {"scores": scores})
                if ok:
                    self.sent_scores += len(scores)
            if not ok:  # put them back in front, and try again at the next interval
                self._spans.extendleft(reversed(spans))
                self._scores.extendleft(reversed(scores))
                return
        self._idle.set()

    def _post(self, path: str, body: dict) -> bool:
        try:
            response = self._http.post(path, json=body)
        except httpx.HTTPError as exc:
            return self._failed(f"cannot reach the service: {exc}", retry=True)
        if response.status_code >= 500 or response.status_code == 429:
            return self._failed(f"{path} answered {response.status_code}", retry=True)
        if response.status_code >= 400:  # a bad batch is not retried forever: say why once and drop it
            log.warning("prompt-review telemetry: %s refused a batch (%s): %s", path, response.status_code, response.text[:300])
            return True
        if self._down:
            self._down = False
            log.warning("prompt-review telemetry: the service is reachable again")
        return True

    def _failed(self, why: str, retry: bool) -> bool:
        if not self._down:
            self._down = True
            log.warning("prompt-review telemetry: %s; keeping up to %s items until it is back", why, self._spans.maxlen)
        return not retry

    def flush(self, timeout: float = 10.0) -> bool:
        """Send what is queued now; True when everything was accepted within `timeout`."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self._spans and not self._scores and self._idle.is_set():
                return True
            self._wake.set()
            time.sleep(0.01)
        return False

    def close(self) -> None:
        self.flush(timeout=2.0)
        self._stop = True
        self._wake.set()
        self._thread.join(timeout=5)
        self._http.close()
