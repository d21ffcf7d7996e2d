"""PromptClient: prompts by label from the prompt-review service, and never an app outage because of it.

Where a prompt comes from, in order: the in-memory manifest (refreshed in the background once older than
`ttl`; stale is served meanwhile), the server (first use of a label), the on-disk snapshot of the last
manifest the server gave (`cache_dir`), the bundle written at build time (`prompt-review bundle`).
Each is a real version with its path, version and commit: a fallback is never an anonymous string.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import httpx

from prompt_review_sdk import assign
from prompt_review_sdk.render import render
from prompt_review_sdk.reporter import Reporter

log = logging.getLogger("prompt_review_sdk")
BUNDLE_SCHEMA = "prompt-review/bundle@1"
CONTROL = "control"
RETRY_SECONDS = 5.0  # after a failed fetch, the next attempt (in the background) — at most the ttl


class PromptUnavailable(Exception):
    """No source has this prompt: the server is unreachable and neither a snapshot nor the bundle has it."""


@dataclass(frozen=True)
class Prompt:
    path: str
    content: str
    version: str
    commit: str | None
    label: str
    repo: str
    arm: str | None = None  # control | candidate during a rollout; None otherwise
    rollout_id: int | None = None
    model: str | None = None
    params: Mapping[str, Any] = field(default_factory=dict)
    source: str = "server"  # server | snapshot | bundle: where this manifest came from
    variant: str | None = None  # get(..., model=M): the file that serves M (this path, or a per-model variant)

    def render(self, **variables: Any) -> str:
        return render(self.content, variables)

    def attributes(self) -> dict[str, Any]:
        """The attribution fields, named as span attributes (OpenTelemetry GenAI + prompt_review.*)."""
        out: dict[str, Any] = {
            "prompt_review.repo": self.repo, "prompt_review.prompt.path": self.path,
            "prompt_review.prompt.version": self.version, "prompt_review.label": self.label,
            "prompt_review.source": self.source,
        }
        if self.commit:
            out["prompt_review.prompt.commit"] = self.commit
        if self.variant:
            out["prompt_review.prompt.variant"] = self.variant
        if self.arm:
            out["prompt_review.arm"] = self.arm
            out["prompt_review.rollout.id"] = self.rollout_id
        if self.model:
            out["gen_ai.request.model"] = self.model
        return out


@dataclass
class _Choice:
    """One prompt of a manifest: its arms as ready-made Prompt objects (control first) and their shares."""

    prompts: tuple[Prompt, ...]
    percents: tuple[float, ...]
    rollout_id: int | None


@dataclass
class _Manifest:
    data: dict
    etag: str | None
    next_check: float  # time.monotonic() after which a get refreshes it in the background
    source: str
    choices: dict[str, _Choice]
    groups: dict[str, tuple[tuple[str, frozenset[str]], ...]] = field(default_factory=dict)


def _groups(data: dict) -> dict[str, tuple[tuple[str, frozenset[str]], ...]]:
    """Per prompt, its per-model variants as the manifest lists them: (file, names of the models it runs on)."""
    return {p["path"]: tuple((str(v["path"]), frozenset(str(m) for m in v.get("models") or [])) for v in p["variants"])
            for p in data.get("prompts") or [] if p.get("variants")}


def _variant_for(path: str, model: str, group: tuple[tuple[str, frozenset[str]], ...], present: Mapping[str, object]) -> str:
    """The service's rule (bot/release/variants.py): the prompt itself when it runs on `model` or no variant
    is declared for it, else the first variant (in the suite's order) that runs on it and is at the label."""
    if any(p == path and model in models for p, models in group):
        return path
    return next((p for p, models in group if model in models and p in present), path)


def _manifest(data: dict, etag: str | None, next_check: float, source: str) -> _Manifest:
    return _Manifest(data, etag, next_check, source, _choices(data, source), _groups(data))


def _choices(data: dict, source: str) -> dict[str, _Choice]:
    repo, label, commit = data.get("repo") or "", data.get("label") or "", data.get("commit")
    out = {}
    for p in data.get("prompts") or []:
        base = Prompt(p["path"], p.get("content") or "", p["version"], commit, label, repo, None, None, p.get("model"),
                      dict(p.get("params") or {}), source)
        roll = p.get("rollout")
        if not roll or not roll.get("arms"):
            out[p["path"]] = _Choice((base,), (100.0,), None)
            continue
        arms = []
        for arm in roll["arms"]:
            same = arm["version"] == p["version"]
            arms.append(Prompt(p["path"], p.get("content") or "" if same else arm.get("content") or "", arm["version"],
                               commit if same else arm.get("commit") or commit, label, repo, arm.get("name") or CONTROL,
                               roll.get("id"), p.get("model"), dict(p.get("params") or {}), source))
        out[p["path"]] = _Choice(tuple(arms), tuple(float(a.get("percent") or 0) for a in roll["arms"]), roll.get("id"))
    return out


class PromptClient:
    """Thread-safe. `token` is a read token (manifest); `telemetry_token` a write token (record/score)."""

    def __init__(self, server: str | None = None, token: str | None = None, *, repo: str | None = None,
                 bundle: str | os.PathLike | None = None, cache_dir: str | os.PathLike | None = None, ttl: float = 60.0,
                 telemetry_token: str | None = None, timeout: float = 5.0, flush_interval: float = 1.0,
                 max_queue: int = 10_000, transport: httpx.BaseTransport | None = None):
        self.server = (server or "").rstrip("/") or None
        self.ttl, self.timeout = ttl, timeout
        self._bundle = self._read_bundle(bundle) if bundle else None
        named = repo or (self._bundle or {}).get("repo")
        if not named:
            raise ValueError("give repo='OWNER/NAME' (or a bundle that names it)")
        self.repo: str = str(named)
        self.cache_dir = Path(cache_dir) if cache_dir else None
        self._http = httpx.Client(base_url=self.server or "http://unused.invalid", timeout=timeout, transport=transport,
                                  headers={"Authorization": f"Bearer {token}"} if token else {})
        self._manifests: dict[str, _Manifest] = {}
        self._refreshing: set[str] = set()
        self._lock = threading.Lock()
        self._down = False  # in an outage: logged once when it starts, once when it ends
        self._reporter = Reporter(self.server, telemetry_token, flush_interval=flush_interval, max_queue=max_queue,
                                  timeout=timeout, transport=transport) if telemetry_token and self.server else None

    # --- the hot path -----------------------------------------------------------------------------
    def get(self, path: str, label: str = "production", unit: str | None = None, model: str | None = None) -> Prompt:
        """The prompt at `path` for `label`; with `model`, the per-model variant that runs on that model
        (the prompt itself when none is declared for it), named in Prompt.variant."""
        m = self._manifests.get(label)
        if m is None:
            m = self._first_load(label)
        elif self.server and time.monotonic() >= m.next_check and label not in self._refreshing:
            self._refresh_in_background(label)
        choice = m.choices.get(path)
        if choice is None:
            raise PromptUnavailable(f"{self.repo} has no prompt {path} at label {label} ({m.source}); it has: "
                                    + ", ".join(sorted(m.choices)))
        if model is None:
            return self._pick(path, choice, unit)
        served = _variant_for(path, model, m.groups.get(path, ()), m.choices)
        return replace(self._pick(served, m.choices[served], unit), path=path, variant=served)

    def _pick(self, path: str, choice: _Choice, unit: str | None) -> Prompt:
        if choice.rollout_id is None:
            return choice.prompts[0]
        b = assign.bucket(self.repo, path, choice.rollout_id, unit) if unit is not None else assign.random_bucket()
        return choice.prompts[assign.pick(choice.percents, b)]

    # --- sources ----------------------------------------------------------------------------------
    def _first_load(self, label: str) -> _Manifest:
        with self._lock:
            m = self._manifests.get(label)
            if m is not None:
                return m
            m = self._fetch(label, None) if self.server else None
            if m is None:
                m = self._fallback(label)
            self._manifests[label] = m
            return m

    def _refresh_in_background(self, label: str) -> None:
        with self._lock:
            if label in self._refreshing:
                return
            self._refreshing.add(label)
        threading.Thread(target=self._refresh, args=(label,), name=f"prompt-review-refresh-{label}", daemon=True).start()

    def _refresh(self, label: str) -> None:
        try:
            current = self._manifests.get(label)
            fresh = self._fetch(label, current)
            if fresh is not None:
                self._manifests[label] = fresh
            elif current is not None:  # keep serving it; ask again after a pause, not on every call
                current.next_check = time.monotonic() + min(self.ttl, RETRY_SECONDS)
        finally:
            with self._lock:
                self._refreshing.discard(label)

    def refresh(self, label: str = "production") -> bool:
        """Fetch now (blocking); True when the server answered."""
        fresh = self._fetch(label, self._manifests.get(label))
        if fresh is not None:
            self._manifests[label] = fresh
        return fresh is not None

    def _fetch(self, label: str, current: _Manifest | None) -> _Manifest | None:
        headers = {"If-None-Match": current.etag} if current is not None and current.etag and current.source == "server" else {}
        try:
            response = self._http.get(f"/v1/repos/{self.repo}/manifest", params={"label": label}, headers=headers)
        except httpx.HTTPError as exc:
            self._outage(f"cannot reach {self.server}: {exc}")
            return None
        if response.status_code == 304 and current is not None:
            self._recovered()
            return _Manifest(current.data, current.etag, time.monotonic() + self.ttl, current.source, current.choices,
                             current.groups)
        if response.status_code != 200:
            try:
                why = response.json().get("error")
            except ValueError:
                why = response.text[:200]
            self._outage(f"{self.server} answered {response.status_code} for {label}: {why}")
            return None
        try:
            data = response.json()
            m = _manifest(data, response.headers.get("etag") or data.get("etag"), time.monotonic() + self.ttl, "server")
        except (ValueError, KeyError, TypeError) as exc:
            self._outage(f"{self.server} sent a manifest this SDK cannot read: {exc}")
            return None
        self._recovered()
        self._write_snapshot(label, data)
        return m

    def _fallback(self, label: str) -> _Manifest:
        snap = self._read_snapshot(label)
        if snap is not None:
            return _manifest(snap, snap.get("etag"), time.monotonic() + RETRY_SECONDS, "snapshot")
        if self._bundle is not None and self._bundle.get("label") == label:
            return _manifest(self._bundle, None, time.monotonic() + RETRY_SECONDS, "bundle")
        raise PromptUnavailable(f"label {label} of {self.repo}: the server is unreachable and there is no snapshot"
                                + (f" or bundle of that label (the bundle is of {self._bundle.get('label')})" if self._bundle
                                   else " and no bundle (PromptClient(bundle=...), written by `prompt-review bundle`)"))

    def _outage(self, why: str) -> None:
        if not self._down:
            self._down = True
            log.warning("prompt-review: %s; serving cached prompts until it is back", why)

    def _recovered(self) -> None:
        if self._down:
            self._down = False
            log.warning("prompt-review: %s reachable again", self.server)

    def _snapshot_path(self, label: str) -> Path | None:
        if self.cache_dir is None:
            return None
        return self.cache_dir / self.repo.replace("/", "__") / f"{label}.json"

    def _write_snapshot(self, label: str, data: dict) -> None:
        target = self._snapshot_path(label)
        if target is None:
            return
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            with tempfile.NamedTemporaryFile("w", dir=target.parent, delete=False, suffix=".tmp", encoding="utf-8") as f:
                json.dump(data, f)
            os.replace(f.name, target)  # atomic: a crash never leaves half a snapshot
        except OSError as exc:
            log.warning("prompt-review: cannot write the snapshot %s: %s", target, exc)

    def _read_snapshot(self, label: str) -> dict | None:
        target = self._snapshot_path(label)
        try:
            return json.loads(target.read_text(encoding="utf-8")) if target is not None and target.exists() else None
        except (OSError, ValueError):
            return None

    @staticmethod
    def _read_bundle(path) -> dict:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        if data.get("schema") != BUNDLE_SCHEMA:
            raise ValueError(f"{path} is not a {BUNDLE_SCHEMA} bundle (schema: {data.get('schema')!r})")
        return data

    # --- telemetry ----------------------------------------------------------------------------------
    def record(self, prompt: Prompt, *, latency_ms: float | None = None, model: str | None = None,
               requested_model: str | None = None, system_fingerprint: str | None = None,
               input_tokens: int | None = None, output_tokens: int | None = None, cost_usd: float | None = None,
               error: str | None = None, scores: Mapping[str, float] | None = None, end_time: float | None = None) -> None:
        """Queue one model call made with `prompt` (never blocks, never raises; sent in batches)."""
        if self._reporter is not None:
            self._reporter.span(prompt, latency_ms=latency_ms, model=model, requested_model=requested_model,
                                system_fingerprint=system_fingerprint, input_tokens=input_tokens,
                                output_tokens=output_tokens, cost_usd=cost_usd, error=error, scores=scores,
                                end_time=end_time)

    def score(self, prompt: Prompt, name: str, value: float, *, model: str | None = None, time_: float | None = None) -> None:
        """Queue a score that arrives later (thumbs, task success) for the call made with `prompt`."""
        if self._reporter is not None:
            self._reporter.score(prompt, name, value, model=model, when=time_)

    def flush(self, timeout: float = 10.0) -> bool:
        return self._reporter.flush(timeout) if self._reporter is not None else True

    def close(self) -> None:
        if self._reporter is not None:
            self._reporter.close()
        self._http.close()

    def __enter__(self) -> PromptClient:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class AsyncPromptClient:
    """The same client for asyncio apps: `await client.get(...)`. A cached get never awaits the network;
    fetches run in a worker thread so the event loop is never blocked by them."""

    def __init__(self, *args, **kwargs):
        self._sync = PromptClient(*args, **kwargs)

    async def get(self, path: str, label: str = "production", unit: str | None = None, model: str | None = None) -> Prompt:
        if label in self._sync._manifests:
            return self._sync.get(path, label, unit, model)
        import asyncio

        return await asyncio.to_thread(self._sync.get, path, label, unit, model)

    def record(self, prompt: Prompt, **kwargs) -> None:
        self._sync.record(prompt, **kwargs)

    def score(self, prompt: Prompt, name: str, value: float, **kwargs) -> None:
        self._sync.score(prompt, name, value, **kwargs)

    async def flush(self, timeout: float = 10.0) -> bool:
        import asyncio

        return await asyncio.to_thread(self._sync.flush, timeout)

    async def aclose(self) -> None:
        import asyncio

        await asyncio.to_thread(self._sync.close)
