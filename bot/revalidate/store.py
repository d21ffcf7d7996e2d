"""Where re-validation keeps its state: the blessed baselines (rows of the audit table, action
`revalidate_baseline`: blessing one is an audited act; the default branch's and each label's apart, by
`details.label`), the marker that finds a (suite, model)'s issue again, and what the default branch and
a label hold on GitHub and in the release tables.
"""

from __future__ import annotations

import logging

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.github.client import InstallationClient
from bot.revalidate.baseline import Baseline, BaselineError, parse_baseline

log = logging.getLogger("prompt_review")
BASELINE_ACTION = "revalidate_baseline"


# -- the baseline store ----------------------------------------------------------------------------
# The default branch's baseline and each label's are kept apart (details.label; None: the default branch).
BASELINES_LOOKED_AT = 200


def load_baseline(engine, repo: str, label: str | None = None) -> Baseline | None:
    with Session(engine) as session:
        rows = session.scalars(select_baseline(repo)).all()
    row = next((r for r in rows if (r.details or {}).get("label") == label), None)
    if row is None:
        return None
    try:
        return parse_baseline(row.details.get("baseline", ""), f"{repo} baseline #{row.id}")
    except BaselineError as exc:
        log.warning("ignoring a stored baseline: %s", exc)
        return None


def load_baselines(engine, repo: str) -> dict[str | None, Baseline]:
    """The latest baseline of each scope stored for the repo: the default branch's (None) and each label's."""
    with Session(engine) as session:
        rows = session.scalars(select_baseline(repo)).all()
    latest: dict[str | None, tuple[int, dict]] = {}
    for r in rows:  # newest first
        latest.setdefault((r.details or {}).get("label"), (r.id, r.details or {}))
    out = {}
    for label, (row_id, details) in latest.items():
        try:
            out[label] = parse_baseline(details.get("baseline", ""), f"{repo} baseline #{row_id}")
        except BaselineError as exc:
            log.warning("ignoring a stored baseline: %s", exc)
    return out


def select_baseline(repo: str):
    from bot.service.db import AuditEntry

    return (select(AuditEntry).where(AuditEntry.repo == repo, AuditEntry.action == BASELINE_ACTION)
            .order_by(AuditEntry.id.desc()).limit(BASELINES_LOOKED_AT))


def save_baseline(engine, repo: str, baseline: Baseline, actor: str, why: str, label: str | None = None) -> None:
    from bot.service.db import AuditEntry

    with Session(engine) as session, session.begin():
        session.add(AuditEntry(repo=repo, pr=0, head_sha=baseline.sha, action=BASELINE_ACTION, actor=actor,
                               details={"why": why, "baseline": baseline.dumps(), **({"label": label} if label else {})}))


def marker(suite: str, model: str, label: str | None = None) -> str:
    return f"<!-- prompt-review:revalidate suite={suite} model={model}{f' label={label}' if label else ''} -->"


def default_branch_head(client: InstallationClient, repo: str) -> str:
    branch = client._call("GET", f"/repos/{repo}").json().get("default_branch") or "main"
    (head,) = client._paginate(f"/repos/{repo}/commits", params={"sha": branch}, limit=1)
    return str(head["sha"])


def label_files(client: InstallationClient, engine, repo: str, label: str) -> dict[str, bytes]:
    """The prompt files as label `label` serves them: path → the content of the version it points to."""
    from bot.release import store as release_store

    pointed = {p.path: p.version for p in release_store.pointers(engine, repo, label)}
    known = release_store.blobs(engine, repo, sorted(set(pointed.values())))
    files = {}
    for path, version in pointed.items():
        if version not in known:
            known[version] = client.blob(repo, version)
            release_store.store_blob(engine, repo, version, known[version])
        files[path] = known[version]
    return files
