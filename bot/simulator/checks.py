"""Check runs in the simulator: GitHub's validation rules, create/update semantics and JSON."""

from __future__ import annotations

from typing import Any

from bot.simulator.shapes import WEB, node_id, pull_minimal, user
from bot.simulator.records import AppRecord, CheckRun

STATUSES = {"queued", "in_progress", "completed", "waiting", "requested", "pending"}
CONCLUSIONS = {"action_required", "cancelled", "failure", "neutral", "success", "skipped", "stale", "timed_out"}
ANNOTATION_LEVELS = {"notice", "warning", "failure"}
MAX_OUTPUT = 65535
MAX_ANNOTATIONS = 50


class Invalid(Exception):
    """A 422 from GitHub: `message` is what GitHub's body says."""


def validate(body: dict[str, Any], creating: bool) -> None:
    if creating:
        for key in ("name", "head_sha"):
            if not isinstance(body.get(key), str) or not body[key]:
                raise Invalid(f"Invalid request.\n\n\"{key}\" wasn't supplied.")
    status, conclusion = body.get("status"), body.get("conclusion")
    if status is not None and status not in STATUSES:
        raise Invalid(f"Invalid request.\n\n{status!r} is not a member of {sorted(STATUSES)}.")
    if conclusion is not None and conclusion not in CONCLUSIONS:
        raise Invalid(f"Invalid request.\n\n{conclusion!r} is not a member of {sorted(CONCLUSIONS)}.")
    if status == "completed" and conclusion is None and creating:
        raise Invalid("Invalid request.\n\nNo subschema in \"anyOf\" matched.\n\"conclusion\" wasn't supplied.")
    output = body.get("output")
    if output is not None:
        if not isinstance(output, dict) or not isinstance(output.get("summary"), str):
            raise Invalid("Invalid request.\n\n\"summary\" wasn't supplied.")
        for key in ("summary", "text", "title"):
            if isinstance(output.get(key), str) and len(output[key]) > MAX_OUTPUT:
                raise Invalid(f"Invalid request.\n\nOnly {MAX_OUTPUT} characters are allowed; "
                              f"{len(output[key])} were supplied. (output.{key})")
        annotations = output.get("annotations") or []
        if len(annotations) > MAX_ANNOTATIONS:
            raise Invalid(f"Invalid request.\n\nOnly {MAX_ANNOTATIONS} annotations are allowed per request; "
                          f"{len(annotations)} were supplied.")
        for a in annotations:
            missing = [k for k in ("path", "start_line", "end_line", "annotation_level", "message") if k not in a]
            if missing or a.get("annotation_level") not in ANNOTATION_LEVELS:
                raise Invalid(f"Invalid request.\n\nInvalid annotation: missing or bad {missing or ['annotation_level']}.")
    actions = body.get("actions") or []
    if len(actions) > 3:
        raise Invalid("Invalid request.\n\nOnly 3 actions are allowed per check run.")
    for act in actions:
        for key, limit in (("label", 20), ("description", 40), ("identifier", 20)):
            if not isinstance(act.get(key), str) or len(act[key]) > limit:
                raise Invalid(f"Invalid request.\n\nAction {key} must be a string of at most {limit} characters.")


def apply(run: CheckRun, body: dict[str, Any], now: str) -> None:
    """Apply a validated create/update body to `run` as GitHub does."""
    for key in ("name", "details_url", "external_id", "started_at"):
        if key in body:
            setattr(run, key, body[key])
    if body.get("status"):
        run.status = body["status"]
    if body.get("conclusion") is not None:
        run.conclusion = body["conclusion"]
        run.status = "completed"  # a conclusion implies completed
    if run.status == "completed":
        run.completed_at = body.get("completed_at") or run.completed_at or now
    if run.started_at is None:
        run.started_at = now
    output = body.get("output")
    if output:
        run.title = output.get("title", run.title)
        run.summary = output.get("summary", run.summary)
        run.text = output.get("text", run.text)
        run.annotations.extend(output.get("annotations") or [])  # annotations accumulate across updates
    if "actions" in body:
        run.actions = [dict(a) for a in body["actions"]]


def integration(api: str, app: AppRecord) -> dict[str, Any]:
    return {
        "id": app.id, "slug": app.slug, "node_id": node_id("Integration", app.id), "client_id": app.client_id,
        "owner": user(api, app.owner), "name": app.name, "description": app.description or None,
        "external_url": app.external_url or f"{WEB}/apps/{app.slug}", "html_url": f"{WEB}/apps/{app.slug}",
        "created_at": app.created_at, "updated_at": app.created_at, "permissions": dict(app.permissions),
        "events": list(app.events),
    }


def check_run_json(api: str, run: CheckRun, app: AppRecord, pulls: list) -> dict[str, Any]:
    """`pulls`: open PullRequests whose head is this run's SHA (GitHub lists them)."""
    url = f"{api}/repos/{run.repo.full_name}/check-runs/{run.id}"
    return {
        "id": run.id, "head_sha": run.head_sha, "node_id": node_id("CheckRun", run.id),
        "external_id": run.external_id or "", "url": url,
        "html_url": f"{WEB}/{run.repo.full_name}/runs/{run.id}", "details_url": run.details_url or f"{WEB}/apps/{app.slug}",
        "status": run.status, "conclusion": run.conclusion, "started_at": run.started_at,
        "completed_at": run.completed_at,
        "output": {"title": run.title, "summary": run.summary, "text": run.text,
                   "annotations_count": len(run.annotations), "annotations_url": f"{url}/annotations"},
        "name": run.name, "check_suite": {"id": run.suite.id}, "app": integration(api, app),
        "pull_requests": [pull_minimal(api, p) for p in pulls],
    }
