"""The worker: claims jobs, runs the pipeline for one PR head, publishes, and never leaves a
check run hanging — superseded work ends `cancelled`, exhausted work ends `failure` with why."""

from __future__ import annotations

import contextvars
import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import replace

import httpx
from sqlalchemy import select
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from bot import logs
from bot.core import snapshot
from bot.core.approval import can_accept_regression
from bot.revalidate.jobs import run_revalidate_job
from bot.revalidate.triggers import fingerprint_trigger
from bot.core.render import render_approval_check, render_comment, render_evals_check
from bot.core.result import APPROVAL_CHECK, EVALS_CHECK, Acceptance, ReviewResult
from bot.github.client import GitHubApp, GitHubError, InstallationClient
from bot.pipeline import github as gh
from bot.pipeline.stages import (
    Context, ReviewInput, acceptance_paths, accepted_cases, load_config, load_owners, owner_teams, review, with_approval,
)
from bot.release.jobs import run_release_job
from bot.service import queue
from bot.service.db import AuditEntry, EvalResult, ReviewRecord
from bot.service.metrics import Metrics
from bot.settings import Settings

log = logging.getLogger("prompt_review.worker")


MAX_BACKOFF_SECONDS = 10.0  # a worker notices the database is back within this
# `serve` runs web and workers in one interpreter. While deliveries wait to be stored, workers hold
# back (re-checking every YIELD_SECONDS), so acknowledging deliveries — GitHub gives up on one after
# 10 s — comes before reviewing them; they are durable and the backlog is worked off after the burst.
# After MAX_YIELD_SECONDS of holding back a worker takes a job anyway: a flood delays reviews, it
# cannot stop them.
YIELD_SECONDS = 0.02
MAX_YIELD_SECONDS = 1.0


class Superseded(Exception):
    def __init__(self, by: str):
        self.by = by
        super().__init__(by)


class LostJob(Exception):
    """This worker's lease ran out and another worker re-claimed the job: stop without publishing."""


class JobTimedOut(Exception):
    """The job ran past PROMPT_REVIEW_JOB_TIMEOUT_SECONDS; the watchdog stopped waiting for it."""


def transient(exc: BaseException) -> bool:
    """Can a retry succeed? Network and database outages and GitHub's rate limits and server errors can;
    a bug (TypeError, KeyError…) or a refusal (404, 422) would fail the same way five times."""
    if isinstance(exc, GitHubError):
        return exc.status in (0, 403, 429) or exc.status >= 500
    return isinstance(exc, (OperationalError, InterfaceError, httpx.TransportError, ConnectionError, TimeoutError))


class DbCache:
    """The eval result cache in the service database (shared by all workers)."""

    def __init__(self, engine: Engine):
        self.engine = engine

    def get(self, key: str) -> dict | None:
        with Session(self.engine) as session:
            return session.scalar(select(EvalResult.value).where(EvalResult.key == key))

    def put(self, key: str, value: dict) -> None:
        try:
            with Session(self.engine) as session, session.begin():
                if session.get(EvalResult, key) is None:
                    session.add(EvalResult(key=key, value=value))
        except Exception:  # another worker stored the same key first: same content, nothing lost
            log.debug("cache put race on %s", key)


def review_page_url(public_url: str | None, repo: str, pr: int) -> str | None:
    """The /ui/ page with the whole review (no comment size limit), when the service knows its address."""
    return f"{public_url.rstrip('/')}/ui/repos/{repo}/reviews/{pr}" if public_url else None


class Worker:
    def __init__(self, settings: Settings, engine: Engine, app: GitHubApp, metrics: Metrics, env: Mapping[str, str] | None = None):
        self.settings, self.engine, self.app, self.metrics = settings, engine, app, metrics
        self.env = dict(env if env is not None else os.environ)
        self.name = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self.cache = DbCache(engine)
        self.on_recovered: Callable[[], None] | None = None  # called when the loop works again after failing
        self.intake_busy: Callable[[], bool] | None = None  # `serve`: deliveries are waiting to be stored
        self.max_yield_seconds = MAX_YIELD_SECONDS
        self._stop = threading.Event()
        # job id → set once that job ran past its deadline: its thread stops at its next check and never publishes
        self._expired: dict[int, threading.Event] = {}

    # --- loop -----------------------------------------------------------------------------
    def stop(self) -> None:
        self._stop.set()

    def run_forever(self) -> None:
        log.info("worker %s started", self.name)
        failures = 0
        while not self._stop.is_set():
            self._yield_to_intake()
            try:
                did = self.run_once()
            except Exception as exc:  # database down, for instance: back off (growing) and resume
                failures += 1
                if failures == 1:
                    log.exception("worker loop error; backing off")
                else:  # one traceback per outage is enough
                    log.warning("worker loop still failing (%d attempts; backing off): %s: %s", failures, type(exc).__name__, exc)
                self._stop.wait(min(MAX_BACKOFF_SECONDS, self.settings.poll_interval_seconds * 10 * 2 ** min(failures - 1, 8)))
                continue
            if failures:
                log.warning("worker loop working again after %d failed attempts", failures)
                failures = 0
                if self.on_recovered is not None:
                    self.on_recovered()  # e.g. redeliver what GitHub could not hand us meanwhile
            if not did:
                self._stop.wait(self.settings.poll_interval_seconds)

    def _yield_to_intake(self) -> None:
        if self.intake_busy is None:
            return
        deadline = time.monotonic() + self.max_yield_seconds
        while self.intake_busy() and time.monotonic() < deadline and not self._stop.is_set():
            self._stop.wait(YIELD_SECONDS)

    def run_once(self) -> bool:
        job = queue.claim(self.engine, self.name, self.settings.job_lease_seconds)
        if job is None:
            return False
        with logs.context(delivery=job.delivery_id, pr=job.key):
            self._run(job)
        return True

    def _run(self, job: queue.ClaimedJob) -> None:
        started = time.monotonic()
        if job.attempts > self.settings.job_max_attempts:
            self._dead(job)
            return
        beat_stop = threading.Event()
        beat = threading.Thread(target=self._heartbeat, args=(job, beat_stop), daemon=True)
        beat.start()
        state = "done"
        try:
            handler = {"review": self.review_job, "approval": self.approval_job, "accept_regression": self.accept_job,
                       "release": lambda j: run_release_job(self, j), "revalidate": lambda j: run_revalidate_job(self, j)}[job.kind]
            self._run_with_deadline(job, handler)
        except JobTimedOut:
            state = "timeout"
            beat_stop.set()  # the lease is not renewed for a job nobody waits on any more
            self._timed_out(job)
        except Superseded as exc:
            state = "superseded"
            log.info("job %s superseded by %s", job.id, exc.by)
        except LostJob:
            state = "lost"
            log.warning("job %s: lease lost (the database or this worker stalled) and another worker took it; stopping", job.id)
        except Exception as exc:
            retryable = transient(exc)
            error = f"{type(exc).__name__}: {exc}"
            if retryable and job.attempts < self.settings.job_max_attempts:
                delay = self.settings.job_retry_base_seconds * 2 ** (job.attempts - 1)
                log.warning("job %s attempt %s failed (%s); retrying in %.1fs", job.id, job.attempts, error, delay)
                queue.retry_later(self.engine, job.id, self.name, logs.redact(error), delay)
                state = "retry"
            else:
                log.exception("job %s failed for good", job.id)
                self._dead(job, error)
                state = "dead"
        finally:
            beat_stop.set()
        if state in ("done", "superseded"):
            queue.finish(self.engine, job.id, self.name, state)
        self.metrics.jobs.labels(job.kind, state).inc()
        self.metrics.job_duration.labels(job.kind).observe(time.monotonic() - started)

    def _run_with_deadline(self, job: queue.ClaimedJob, handler: Callable[[queue.ClaimedJob], None]) -> None:
        """Run the handler in its own thread and wait at most job_timeout_seconds for it; raise what it
        raised, or JobTimedOut. A stage that never returns (a hung model call, a runaway computation)
        then holds a thread, not this worker: the job is told to stop (the eval runner polls
        `cancelled` between model calls, publishing re-checks) and is no longer waited on."""
        expired = self._expired[job.id] = threading.Event()
        outcome: list[BaseException | None] = []

        def work() -> None:
            try:
                handler(job)
                outcome.append(None)
            except BaseException as exc:  # noqa: BLE001 — handed to the waiting worker as is
                outcome.append(exc)
            finally:
                if self._expired.get(job.id) is expired:
                    del self._expired[job.id]

        thread = threading.Thread(target=contextvars.copy_context().run, args=(work,), name=f"job-{job.id}", daemon=True)
        thread.start()
        thread.join(self.settings.job_timeout_seconds)
        if not outcome:
            expired.set()
            raise JobTimedOut
        if outcome[0] is not None:
            raise outcome[0]

    def _timed_out(self, job: queue.ClaimedJob) -> None:
        """Stopped at its deadline: the job ends dead (a retry would most likely hang as long again) and
        its check runs fail saying why in plain words."""
        limit = f"{self.settings.job_timeout_seconds:g} s"
        error = f"the review took longer than {limit} and was stopped"
        log.error("job %s: %s (PROMPT_REVIEW_JOB_TIMEOUT_SECONDS)", job.id, error)
        if not queue.finish(self.engine, job.id, self.name, "dead", error):
            return  # another worker holds it now (our lease had run out): its outcome stands
        if job.kind != "review":
            return
        summary = (
            f"prompt-review stopped this review after {limit}, its time limit, and did not retry it.\n\n"
            "The suites under review took too long: a model provider that does not answer, or more cases than the "
            "time allows. Make the suites smaller (or lower `evals.timeout_s` in .github/prompt-review.yml so a slow "
            "call fails fast), then push a new commit or re-run it from the Checks tab. The service's operator can "
            "raise the limit with PROMPT_REVIEW_JOB_TIMEOUT_SECONDS."
        )
        try:
            client = self.app.installation(job.installation_id)
            ids = queue.check_runs_of(self.engine, job.id) or gh.start_checks(
                client, job.repo, job.head_sha, rerun=gh.rerun_key(job.payload, job.id))
            for run_id in ids.values():
                gh.close_check(client, job.repo, run_id, "failure", f"Review stopped after {limit}", summary)
        except Exception:
            log.exception("could not close the check runs of timed-out job %s", job.id)

    def _heartbeat(self, job: queue.ClaimedJob, stop: threading.Event) -> None:
        interval = max(0.5, self.settings.job_lease_seconds / 3)
        while not stop.wait(interval):
            try:
                if not queue.heartbeat(self.engine, job.id, self.name, self.settings.job_lease_seconds):
                    return  # no longer ours: the handler notices at its next check and stops
            except Exception:
                log.warning("heartbeat failed for job %s", job.id)

    def _dead(self, job: queue.ClaimedJob, error: str | None = None) -> None:
        error = logs.redact(error or "the worker running it stopped repeatedly")
        log.error("job %s is dead after %s attempts: %s", job.id, job.attempts, error)
        queue.finish(self.engine, job.id, self.name, "dead", error)
        self.metrics.jobs.labels(job.kind, "dead").inc()
        if job.kind != "review":
            return
        try:
            client = self.app.installation(job.installation_id)
            ids = job.check_runs or gh.start_checks(client, job.repo, job.head_sha, rerun=gh.rerun_key(job.payload, job.id))
            summary = (
                f"prompt-review could not complete this review after {job.attempts - (0 if error else 1)} attempts.\n\n"
                f"Last error: `{error[:500]}`\n\nRe-run it from the Checks tab (\"Re-run\"), or push a new commit."
            )
            for name, run_id in ids.items():
                gh.close_check(client, job.repo, run_id, "failure", "Review failed — re-run to try again", summary)
        except Exception:
            log.exception("could not close check runs of dead job %s", job.id)

    # --- handlers -------------------------------------------------------------------------
    def _stop_reason(self, job: queue.ClaimedJob) -> queue.StopRequest | None:
        """Why this job should stop (a newer head, the PR closed); raises LostJob when another worker holds
        it now, since only the holder may touch its check runs and comment."""
        if self._past_deadline(job):
            raise LostJob  # the watchdog stopped waiting and closed the checks: nothing more from this thread
        stop = queue.cancel_requested(self.engine, job.id, self.name)
        if stop is not None and stop.cause is queue.StopCause.LOST:
            raise LostJob
        return stop

    def _past_deadline(self, job: queue.ClaimedJob) -> bool:
        expired = self._expired.get(job.id)
        return expired is not None and expired.is_set()

    def _guard(self, job: queue.ClaimedJob) -> None:
        stop = self._stop_reason(job)
        if stop is not None:
            raise Superseded(stop.describe())

    def _close_superseded(self, client: InstallationClient, job: queue.ClaimedJob) -> None:
        for old_id, old_sha, runs in queue.superseded_runs(self.engine, job.key, job.head_sha):
            for run_id in runs.values():
                try:
                    gh.close_check(
                        client, job.repo, run_id, "cancelled", f"Superseded by {job.head_sha[:7]}",
                        f"A newer commit ({job.head_sha}) was pushed; its review replaces this one.",
                    )
                except GitHubError:
                    log.warning("could not close superseded check run %s", run_id)
            queue.clear_check_runs(self.engine, old_id)

    def review_job(self, job: queue.ClaimedJob) -> None:
        client = self.app.installation(job.installation_id)
        payload = job.payload
        if payload.get("action") == "labeled" and not payload.get("fork"):
            return  # labels only matter for fork PRs
        self._guard(job)
        pull = client.pull(job.repo, job.pr)
        if pull.get("state") == "closed":
            return
        if pull["head"]["sha"] != job.head_sha:
            raise Superseded(pull["head"]["sha"])  # a newer push's delivery will (or did) queue its own job
        self._close_superseded(client, job)
        ids = job.check_runs or gh.start_checks(
            client, job.repo, job.head_sha, details_url=gh.pull_url(self.settings.github_web_url, job.repo, job.pr),
            rerun=gh.rerun_key(job.payload, job.id),
        )
        queue.save_check_runs(self.engine, job.id, ids)
        result = self._review(client, job, pull)
        stop = self._stop_reason(job)
        if stop is not None or (result.evals is not None and result.evals.cancelled):
            by = stop.describe() if stop is not None else "a newer commit"
            for run_id in ids.values():
                gh.close_check(client, job.repo, run_id, "cancelled", f"Superseded by {by[:7]}", f"A newer commit ({by}) replaces this review.")
            queue.clear_check_runs(self.engine, job.id)
            raise Superseded(by)
        self._publish(client, job, result, ids)
        self._model_changed(job, result)

    def _model_changed(self, job: queue.ClaimedJob, result: ReviewResult) -> None:
        """A provider answered under another model or fingerprint than the repo's baseline: re-validate (once per change)."""
        try:
            fingerprint_trigger(self.engine, job.repo, job.installation_id, result.evals)
        except Exception:  # the review is published; a missed trigger is caught by the next review or the schedule
            log.exception("job %s: could not check the models it saw against the re-validation baseline", job.id)

    def _context(self, client: InstallationClient, job: queue.ClaimedJob, accepted: Acceptance | None = None) -> Context:
        return Context(
            env=self.env,
            cache=self.cache,
            cancelled=lambda: self._past_deadline(job) or queue.cancel_requested(self.engine, job.id, self.name) is not None,
            team_members=gh.team_resolver(client),
            write_access=gh.write_access_resolver(client, job.repo),
            freshness=lambda hashes: self._fresh_commits(job, hashes),
            accepted_regression=accepted,
        )

    def _input(self, client: InstallationClient, job: queue.ClaimedJob) -> ReviewInput:
        inp, _ = gh.snapshot(client, job.repo, job.pr, job.head_sha)
        payload = job.payload
        label = payload.get("label") if payload.get("action") == "labeled" else None
        return replace(inp, fork=bool(payload.get("fork")), label_added=label)

    def _review(self, client: InstallationClient, job: queue.ClaimedJob, pull: dict) -> ReviewResult:
        inp = self._input(client, job)
        self._guard(job)
        return review(inp, self._context(client, job))

    def _fresh_commits(self, job: queue.ClaimedJob, prompt_hashes: Mapping[str, str | None]) -> frozenset[str]:
        """Head SHAs since the reviewed files last changed: approvals given on them are not stale."""
        with Session(self.engine) as session:
            rows = session.execute(
                select(ReviewRecord.head_sha, ReviewRecord.prompt_hashes)
                .where(ReviewRecord.repo == job.repo, ReviewRecord.pr == job.pr)
                .order_by(ReviewRecord.id.desc())
            ).all()
        fresh = {job.head_sha}
        for sha, hashes in rows:
            if hashes != dict(prompt_hashes):
                break
            fresh.add(sha)
        return frozenset(fresh)

    def _publish(self, client: InstallationClient, job: queue.ClaimedJob, result: ReviewResult, ids: dict[str, int],
                 *, evals: bool = True, new_record: bool = True) -> None:
        """The one way a review reaches GitHub: the sticky comment, then the check runs in `ids` (the
        evals check only when `evals`), then the stored snapshot (a new row, or the latest one updated)."""
        result = replace(result, links=replace(gh.check_links(client, job.repo, ids, self.settings.github_web_url),
                                               review_page=review_page_url(self.settings.public_url, job.repo, job.pr)))
        self._guard(job)
        comment_id = None
        if result.touches_prompts or result.problems or gh.find_comment(client, job.repo, job.pr) is not None:
            comment_id = gh.upsert_comment(client, job.repo, job.pr, render_comment(result))
        # "Details" on the checks leads to the comment with the regressions and the diff, else to the PR.
        web = self.settings.github_web_url
        details = gh.comment_url(web, job.repo, job.pr, comment_id) if comment_id else gh.pull_url(web, job.repo, job.pr)
        if evals and EVALS_CHECK in ids:
            gh.complete_check(client, job.repo, ids[EVALS_CHECK], render_evals_check(result), actions=gh.accept_action(result),
                              details_url=details)
        if APPROVAL_CHECK in ids:
            gh.complete_check(client, job.repo, ids[APPROVAL_CHECK], render_approval_check(result), details_url=details)
        self._record(job, result, new_record)

    def _record(self, job: queue.ClaimedJob, result: ReviewResult, new_record: bool = True) -> None:
        report = result.evals
        with Session(self.engine) as session, session.begin():
            if not new_record:
                row = session.scalar(self._latest_query(job))
                if row is not None:
                    row.snapshot = snapshot.dump(result)
                return
            session.add(
                ReviewRecord(
                    repo=job.repo,
                    pr=job.pr,
                    base_sha=result.base_sha,
                    head_sha=result.head_sha,
                    prompt_hashes={p.path: p.head_hash for p in result.prompts},
                    models=sorted({c.provider_id for c in report.cases()}) if report else [],
                    pass_rates={s.path: [s.pass_rate_base, s.pass_rate_head] for s in report.suites} if report else {},
                    conclusion=report.verdict.conclusion if report else "none",
                    evals_blocking=bool(report and report.verdict.blocking),
                    snapshot=snapshot.dump(result),
                )
            )

    @staticmethod
    def _latest_query(job: queue.ClaimedJob):
        return (
            select(ReviewRecord)
            .where(ReviewRecord.repo == job.repo, ReviewRecord.pr == job.pr, ReviewRecord.head_sha == job.head_sha)
            .order_by(ReviewRecord.id.desc())
            .limit(1)
        )

    def _latest(self, job: queue.ClaimedJob) -> tuple[ReviewRecord, ReviewResult | None] | None:
        """This head's stored review and its snapshot (None when it predates the current snapshot schema)."""
        with Session(self.engine) as session:
            row = session.scalar(self._latest_query(job))
        return None if row is None else (row, snapshot.load(row.snapshot))

    def _accepted(self, job: queue.ClaimedJob) -> Acceptance | None:
        """This head's acceptances together (one per model's button): the latest names who and when."""
        with Session(self.engine) as session:
            rows = session.scalars(
                select(AuditEntry)
                .where(AuditEntry.repo == job.repo, AuditEntry.pr == job.pr, AuditEntry.head_sha == job.head_sha,
                       AuditEntry.action == "accept_regression")
                .order_by(AuditEntry.id.desc())
            ).all()
        if not rows:
            return None
        cases = tuple(dict.fromkeys(k for row in rows for k in row.details.get("cases", [])))
        models = tuple(dict.fromkeys(m for row in rows for m in row.details.get("models", [])))
        return Acceptance(rows[0].actor, rows[0].created_at.isoformat(), cases, models)

    def _check_runs(self, client: InstallationClient, job: queue.ClaimedJob) -> dict[str, int]:
        return {r["name"]: r["id"] for name in (EVALS_CHECK, APPROVAL_CHECK) for r in client.check_runs_for(job.repo, job.head_sha, name)}

    def _rereview(self, client: InstallationClient, job: queue.ClaimedJob) -> None:
        """The stored review of this head cannot be read (stored by an older version): review it again."""
        log.info("job %s: the stored review of %s predates this version; reviewing the head again", job.id, job.head_sha[:7])
        pull = client.pull(job.repo, job.pr)
        if pull["head"]["sha"] != job.head_sha or pull.get("state") == "closed":
            return
        ids = self._check_runs(client, job) or gh.start_checks(client, job.repo, job.head_sha)
        result = self._review(client, job, pull)
        self._publish(client, job, replace(result, accepted_regression=self._accepted(job)), ids)

    def approval_job(self, job: queue.ClaimedJob) -> None:
        """A review was submitted, edited or dismissed: re-evaluate approval only — no evals."""
        client = self.app.installation(job.installation_id)
        latest = self._latest(job)
        if latest is None:
            return  # the review job for this head has not finished; it evaluates approval itself
        record, previous = latest
        if previous is None:
            return self._rereview(client, job)
        inp = self._input(client, job)
        if inp.head_sha != job.head_sha:
            return
        config, _ = load_config(inp.base)
        result = with_approval(inp, config, previous, self._context(client, job, self._accepted(job)))
        self._publish(client, job, result, self._check_runs(client, job), evals=False, new_record=False)

    def accept_job(self, job: queue.ClaimedJob) -> None:
        """'Accept regression' pressed on the evals check: only an owner of the affected prompts may."""
        client = self.app.installation(job.installation_id)
        payload = job.payload
        if payload.get("identifier") != gh.ACCEPT_ALL and not str(payload.get("identifier") or "").startswith(gh.ACCEPT_MODEL):
            return
        latest = self._latest(job)
        if latest is None or not latest[0].evals_blocking:
            return
        record, previous = latest
        pull = client.pull(job.repo, job.pr)
        if pull["head"]["sha"] != job.head_sha:
            return  # a new push voids the button
        if previous is None:
            return self._rereview(client, job)  # the button is offered again on the fresh review
        inp = self._input(client, job)
        config, _ = load_config(inp.base)
        owners = load_owners(inp.base, config)
        affected = acceptance_paths(previous)
        user = payload.get("sender") or ""
        allowed, reason = can_accept_regression(user, affected, owners, gh.team_resolver(client)(owner_teams(owners, affected)))
        if not allowed:
            run_id = payload.get("check_run_id")
            if run_id:
                out = render_evals_check(previous)
                out = replace(out, summary=f"**Accept regression refused for @\u200d{user}:** {reason}\n\n" + out.summary)
                gh.complete_check(client, job.repo, run_id, out, actions=gh.accept_action(previous))
            return
        models = gh.accepted_models(str(payload.get("identifier")), previous)
        if models is None:
            return  # a button of another review's verdict
        cases = accepted_cases(previous)
        if payload.get("identifier") != gh.ACCEPT_ALL:  # one model's button covers that model's cases only
            cases = [key for key in cases if key.rsplit("::", 1)[-1] in models]
        with Session(self.engine) as session, session.begin():
            session.add(AuditEntry(repo=job.repo, pr=job.pr, head_sha=job.head_sha, action="accept_regression", actor=user,
                                   details={"cases": cases, "models": list(models)}))
        result = with_approval(inp, config, previous, self._context(client, job, self._accepted(job)))
        self._publish(client, job, result, self._check_runs(client, job), new_record=False)


__all__ = ["Worker", "DbCache"]
