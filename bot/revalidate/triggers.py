"""What starts a `revalidate` job in the service: a repo's cron schedule coming due, and a review whose
provider answered under another `model`/`system_fingerprint` than the repo's blessed baseline.

Each cause is claimed once, by name, in the `service_state` table (its primary key decides) in the
same transaction that queues the job: several web and worker processes may look at the same moment,
one of them queues the run and the others find the name taken. A firing is named by (repo, the cron
time it belongs to); a model change by (repo, the models as they answer now) — a change is one run,
however many reviews notice it, and a second change is another run.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections import Counter
from collections.abc import Mapping
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.core.config import CONFIG_PATH, RevalidateConfig, parse_config
from bot.core.errors import UserError
from bot.core.matrix import model_of
from bot.core.report import EvalReport
from bot.github.client import GitHubApp, GitHubError, InstallationClient
from bot.revalidate.baseline import ModelChange, Seen, model_changes
from bot.revalidate.store import load_baselines

log = logging.getLogger("prompt_review.revalidate")
KIND = "revalidate"


def _claim_and_enqueue(engine: Engine, claim: str, about: dict, repo: str, installation_id: int, payload: dict) -> bool:
    """Queue a revalidate job unless `claim` was taken before (by this or another process). True when queued."""
    from bot.service.db import Job, KeyValue, utcnow

    name = "revalidate:" + hashlib.sha256(claim.encode()).hexdigest()[:40]  # the name column holds 100 characters
    now = utcnow()
    try:
        with Session(engine) as session, session.begin():
            if session.get(KeyValue, name) is not None:
                return False
            session.add(KeyValue(name=name, value={**about, "repo": repo, "at": now.isoformat()}))
            session.flush()  # the unique name is checked here, before the job is added
            session.add(Job(kind=KIND, key=f"{repo}#0", repo=repo, pr=0, installation_id=installation_id,
                            head_sha="", payload=payload, state="queued", attempts=0, available_at=now,
                            cancel_requested=False, check_runs={}, created_at=now))
    except IntegrityError:
        return False  # another process claimed it first
    return True


# -- the schedule ----------------------------------------------------------------------------------
def last_firing(schedule: str, now: datetime) -> datetime:
    """The latest time at or before `now` that the cron `schedule` (UTC) names."""
    from croniter import croniter

    return croniter(schedule, now + timedelta(seconds=1)).get_prev(datetime)  # (get_prev alone is strictly before)


def installed_repos(engine: Engine) -> list[tuple[int, str]]:
    from bot.service.db import Installation

    with Session(engine) as session:
        rows = session.execute(select(Installation.id, Installation.repos).where(Installation.active.is_(True))).all()
    return sorted({(int(i), str(r)) for i, repos in rows for r in (repos or [])}, key=lambda x: x[1])


def default_branch_config(client: InstallationClient, repo: str) -> RevalidateConfig | None:
    """The `revalidate` section of the default branch's repo config (None: absent or the config is invalid)."""
    branch = client._call("GET", f"/repos/{repo}").json().get("default_branch") or "main"
    try:
        return parse_config(client.file(repo, CONFIG_PATH, branch)).revalidate
    except UserError as exc:
        log.warning("%s: no scheduled re-validation, its repo config is invalid: %s", repo, exc)
        return None


def schedule_pass(app: GitHubApp, engine: Engine, now: datetime) -> list[str]:
    """Queue a run for each installed repo whose `revalidate.schedule` fired since its last run; the repos queued.

    Only the latest firing counts: a service that was down over several firings runs once when back."""
    queued = []
    for installation_id, repo in installed_repos(engine):
        try:
            reval = default_branch_config(app.installation(installation_id), repo)
        except (GitHubError, OSError) as exc:
            log.warning("%s: could not read its repo config for the re-validation schedule: %s", repo, exc)
            continue
        if reval is None or not reval.schedule:
            continue
        fired = last_firing(reval.schedule, now)
        if _claim_and_enqueue(engine, f"schedule\n{repo}\n{fired.isoformat()}", {"schedule": reval.schedule, "fired": fired.isoformat()},
                              repo, installation_id, {"trigger": "schedule", "fired": fired.isoformat()}):
            log.info("%s: scheduled re-validation queued (%s fired at %s)", repo, reval.schedule, fired.isoformat())
            queued.append(repo)
    return queued


# -- a model that changed behind its name ----------------------------------------------------------
def live_models(report: EvalReport) -> dict[str, Seen]:
    """Per model, what the provider reported most often in this review's fresh answers (cached results
    tell what answered back then, not now)."""
    votes: dict[str, Counter[tuple[str | None, str | None]]] = {}
    for c in report.cases():
        for side in (c.base, c.head):
            if side is not None and not side.error and not side.cached and (side.reported_model or side.system_fingerprint):
                votes.setdefault(model_of(c), Counter())[(side.reported_model, side.system_fingerprint)] += 1
    return {m: Seen(model=v.most_common(1)[0][0][0], system_fingerprint=v.most_common(1)[0][0][1]) for m, v in votes.items()}


def fingerprint_trigger(engine: Engine, repo: str, installation_id: int,
                        report: EvalReport | None) -> tuple[tuple[str | None, ModelChange], ...]:
    """Queue a revalidate run when this review saw a model answer differently named than a baseline of the
    repo says — the default branch's, or one of the labels' (`revalidate.labels`: blessed apart, they may
    still hold what answered before) — once per change; the (label, change) pairs seen, whether or not this
    call queued the run."""
    if report is None:
        return ()
    now = live_models(report)
    if not now:
        return ()
    baselines = load_baselines(engine, repo)
    found = [(label, change) for label, baseline in sorted(baselines.items(), key=lambda kv: kv[0] or "")
             for change in model_changes(baseline.models, now)]
    if not found:
        return ()
    seen = {c.model: c.now.model_dump() for _, c in found}
    against = sorted({f"{label or ''}={baselines[label].sha}" for label, _ in found})
    claim = f"fingerprint\n{repo}\n{' '.join(against)}\n{json.dumps(seen, sort_keys=True)}"
    described = [c.describe() + (f" (against the baseline of the versions `{label}` serves)" if label else "") for label, c in found]
    if _claim_and_enqueue(engine, claim, {"changes": seen}, repo, installation_id, {"trigger": "fingerprint", "changes": described}):
        log.info("%s: a model changed behind its name (%s); re-validation queued", repo, "; ".join(described))
    return tuple(found)


def changes_of(payload: Mapping) -> tuple[str, ...]:
    return tuple(str(x) for x in payload.get("changes") or ())
