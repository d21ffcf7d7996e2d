"""The GitHub side of the pipeline: build a snapshot of a PR, start and complete the check runs,
upsert the sticky comment. Creates are never repeated blindly: one that timed out is looked
for first, because GitHub may have applied it."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import TypeVar
from datetime import datetime, timezone

from bot.core.approval import Review
from bot.core.render.checks import CheckOutput
from bot.core.render.conclusion import unaccepted_models
from bot.core.result import APPROVAL_CHECK, COMMENT_MARKER, EVALS_CHECK, ChangedFile, Links, ReviewResult
from bot.github.client import MAX_PR_FILES, GitHubError, InstallationClient, WriteUncertain
from bot.pipeline.stages import ReviewInput
from bot.pipeline.trees import GitHubTree, changes_from_trees

T = TypeVar("T")
log = logging.getLogger("prompt_review.publish")

ANNOTATIONS_PER_REQUEST = 50  # GitHub's limit per check-run create/update
CREATE_ATTEMPTS = 3
TEAM_CACHE_SECONDS = 300.0

_team_cache: dict[tuple[int, str], tuple[float, frozenset[str]]] = {}


def snapshot(client: InstallationClient, repo: str, number: int, head_sha: str, evals_blocked_reason: str | None = None) -> tuple[ReviewInput, dict]:
    pull = client.pull(repo, number)
    files = client.pull_files(repo, number)
    changed = tuple(
        ChangedFile(path=f["filename"], status=f.get("status", "modified"), previous_path=f.get("previous_filename"))
        for f in files
    )
    reviews = []
    for r in client.reviews(repo, number):
        if not r.get("user") or not r.get("submitted_at"):
            continue
        reviews.append(
            Review(
                user=r["user"]["login"],
                state=r["state"],
                submitted_at=datetime.fromisoformat(r["submitted_at"].replace("Z", "+00:00")),
                commit_id=r.get("commit_id") or "",
            )
        )
    blobs: dict[str, bytes] = {}
    base_sha = pull["base"]["sha"]
    # Reviews and config are always judged against the PR's current head; a stale job must not publish.
    head_sha = pull["head"]["sha"] if pull.get("head") else head_sha
    base, head = GitHubTree(client, repo, base_sha, blobs), GitHubTree(client, repo, head_sha, blobs)
    incomplete = False
    if len(files) >= MAX_PR_FILES or pull.get("changed_files", 0) > len(files):
        # GitHub lists 3,000 files at most: the rest are found by comparing the two commits' trees,
        # unless GitHub cut those listings short too.
        incomplete = base.truncated or head.truncated
        if not incomplete:
            changed = changes_from_trees(changed, base.blob_shas(), head.blob_shas())
    inp = ReviewInput(
        repo=repo,
        pr=number,
        base_sha=base_sha,
        head_sha=head_sha,
        author=(pull.get("user") or {}).get("login"),
        changed=changed,
        base=base,
        head=head,
        files_truncated=incomplete,
        reviews=tuple(reviews),
        evals_blocked_reason=evals_blocked_reason,
    )
    return inp, pull


def team_resolver(client: InstallationClient):
    def resolve(teams: set[str]) -> dict[str, frozenset[str]]:
        out = {}
        now = time.monotonic()
        for team in teams:
            org, _, slug = team.partition("/")
            key = (client.installation_id, team.lower())
            cached = _team_cache.get(key)
            if cached and now - cached[0] < TEAM_CACHE_SECONDS:
                out[team] = cached[1]
                continue
            try:
                members = frozenset(client.team_members(org, slug))
            except Exception as exc:  # an unknown team approves nothing; the check output names the owners
                log.warning("cannot resolve team %s: %s", team, exc)
                members = frozenset()
            _team_cache[key] = (now, members)
            out[team] = members
        return out

    return resolve


def write_access_resolver(client: InstallationClient, repo: str):
    def resolve(users: set[str]) -> frozenset[str]:
        return frozenset(u for u in users if client.permission(repo, u) in ("admin", "maintain", "write"))

    return resolve


def start_checks(
    client: InstallationClient, repo: str, head_sha: str, details_url: str | None = None, rerun: str | None = None
) -> dict[str, int]:
    """Both check runs in_progress on the head; reuses ours if a previous attempt created them.

    `rerun` (see rerun_key) is set for a re-run someone requested: GitHub expects new check runs
    then, so only the runs an earlier attempt of that same re-run created are reused.
    """
    ids = {}
    body = {"status": "in_progress", "output": {"title": "Reviewing prompt changes…", "summary": "prompt-review is running."}}
    extra = {"details_url": details_url} if details_url else {}
    external_id = f"{repo}@{head_sha}/{rerun}" if rerun else None
    for name in (EVALS_CHECK, APPROVAL_CHECK):
        existing = [
            r for r in client.check_runs_for(repo, head_sha, name)
            if r.get("name") == name and (external_id is None or r.get("external_id") == external_id)
        ]
        if existing:
            run = existing[0]
            if run.get("status") != "completed":
                client.update_check_run(repo, run["id"], {**extra, **body})
        else:
            run = _create_check_run(client, repo, head_sha, name, {**extra, **body}, external_id)
        ids[name] = run["id"]
    return ids


def rerun_key(payload: dict, job_id: int) -> str | None:
    """The `rerun` of start_checks for a job: one key per re-request (check_run/check_suite `rerequested`),
    the same on every retry of that job."""
    return f"rerun-{job_id}" if payload.get("action") == "rerequested" else None


def pull_url(web_url: str, repo: str, number: int) -> str:
    """The PR page: the check runs' `details_url` (GitHub shows it as the run's "Details" link)."""
    return f"{web_url.rstrip('/')}/{repo}/pull/{number}"


def comment_url(web_url: str, repo: str, number: int, comment_id: int) -> str:
    """The sticky comment's link (GitHub's own `html_url` form for an issue comment)."""
    return f"{pull_url(web_url, repo, number)}#issuecomment-{comment_id}"


def _create_check_run(
    client: InstallationClient, repo: str, head_sha: str, name: str, body: dict, external_id: str | None = None
) -> dict:
    external_id = external_id or f"{repo}@{head_sha}"  # marks the runs this App created for this head

    def find() -> dict | None:
        runs = client.check_runs_for(repo, head_sha, name)
        return next((r for r in runs if r.get("name") == name and r.get("external_id") == external_id), None)

    create = {"name": name, "head_sha": head_sha, "started_at": _now(), "external_id": external_id, **body}
    return create_once(client, lambda: client.create_check_run(repo, create), find, f"check run {name}")


def create_once(client: InstallationClient, create: Callable[[], dict], find: Callable[[], dict | None], what: str) -> dict:
    """`create()`, except that after a create that timed out (WriteUncertain) the object is looked for
    with `find()` until GitHub must have finished the request, and created again only if absent."""
    for attempt in range(1, CREATE_ATTEMPTS + 1):
        try:
            return create()
        except WriteUncertain as exc:
            log.warning("creating the %s got no answer (%s); looking for it before creating it again", what, exc)
            found = _settled(client, find)
            if found is not None:
                log.info("the %s was created after all (id %s)", what, found.get("id"))
                return found
            if attempt == CREATE_ATTEMPTS:
                raise
    raise AssertionError("unreachable")


def _settled(client: InstallationClient, probe: Callable[[], T | None]) -> T | None:
    """What `probe()` finds once a request without a clear answer has had time to land: asked again with
    growing pauses until it finds something or GitHub must have finished (settle_seconds); None then."""
    deadline = time.monotonic() + client.app.settle_seconds
    pause = 0.25
    while True:
        found = probe()
        if found is not None:
            return found
        if time.monotonic() >= deadline:
            return None
        time.sleep(min(pause, max(0.0, deadline - time.monotonic())))
        pause *= 2


def complete_check(
    client: InstallationClient, repo: str, check_run_id: int, output: CheckOutput, actions: list[dict] | None = None,
    details_url: str | None = None,
) -> None:
    """Completes the run with `output`, then adds its annotations.

    The completion carries no annotations, so it may be repeated. GitHub appends the annotations of
    every request that carries them and can never remove one, so the run's annotation count is the
    position to go on from: each batch is sent once, one without a clear answer is looked for in that
    count before it is sent again, and a run completed before (re-published after an accept) only
    gets the annotations past the count it holds."""
    annotations = list(output.annotations or ())
    out = {"title": output.title[:255], "summary": output.summary}
    if output.text:
        out["text"] = output.text
    body: dict = {"status": "completed", "conclusion": output.conclusion, "completed_at": _now(), "output": out}
    if actions is not None:
        body["actions"] = actions
    if details_url:  # e.g. the sticky comment, once it exists
        body["details_url"] = details_url
    held = _annotation_count(client.update_check_run(repo, check_run_id, body))
    while held < len(annotations):
        batch = annotations[held:held + ANNOTATIONS_PER_REQUEST]
        held = _append_once(client, repo, check_run_id, out, batch, held)


def _annotation_count(run: dict) -> int:
    return int((run.get("output") or {}).get("annotations_count") or 0)


def _grown_past(count: int, held: int) -> int | None:
    return count if count > held else None


def _append_once(client: InstallationClient, repo: str, check_run_id: int, out: dict, batch: list[dict], held: int) -> int:
    """Appends `batch` to a run holding `held` annotations; returns how many it holds after."""
    for attempt in range(1, CREATE_ATTEMPTS + 1):
        try:
            return _annotation_count(client.append_annotations(repo, check_run_id, out, batch))
        except GitHubError as exc:
            if not isinstance(exc, WriteUncertain) and exc.status < 500:
                raise  # refused: nothing was added
            log.warning("adding %s annotations got no clear answer (%s); reading the count before sending them again",
                        len(batch), exc)
            grown = _settled(client, lambda: _grown_past(_annotation_count(client.check_run(repo, check_run_id)), held))
            if grown is not None:
                return grown
            if attempt == CREATE_ATTEMPTS:
                raise
    raise AssertionError("unreachable")


def close_check(client: InstallationClient, repo: str, check_run_id: int, conclusion: str, title: str, summary: str) -> None:
    client.update_check_run(
        repo,
        check_run_id,
        {"status": "completed", "conclusion": conclusion, "completed_at": _now(), "output": {"title": title, "summary": summary}},
    )


def find_comment(client: InstallationClient, repo: str, number: int) -> dict | None:
    for comment in client.comments(repo, number):
        body = comment.get("body") or ""
        user = comment.get("user") or {}
        if body.startswith(COMMENT_MARKER) and user.get("type") == "Bot":
            return comment
    return None


def upsert_comment(client: InstallationClient, repo: str, number: int, body: str, create: bool = True) -> int | None:
    existing = find_comment(client, repo, number)
    if existing is not None:
        if existing.get("body") != body:
            client.update_comment(repo, existing["id"], body)
        return existing["id"]
    if not create:
        return None
    comment = create_once(
        client, lambda: client.create_comment(repo, number, body), lambda: find_comment(client, repo, number), "sticky comment"
    )
    if comment.get("body") != body:  # found another attempt's comment (see create_once): make it current
        client.update_comment(repo, comment["id"], body)
    return comment["id"]


def check_links(client: InstallationClient, repo: str, ids: dict[str, int], web_url: str) -> Links:
    return Links(
        evals_check=f"{web_url}/{repo}/runs/{ids[EVALS_CHECK]}" if EVALS_CHECK in ids else None,
        approval_check=f"{web_url}/{repo}/runs/{ids[APPROVAL_CHECK]}" if APPROVAL_CHECK in ids else None,
    )


ACCEPT_ALL = "accept_regression"
ACCEPT_MODEL = "accept_model_"  # + the model's index in the verdict's blocked_models
MAX_ACTIONS = 3  # GitHub's limit of buttons on a check run; a label holds 20 characters, a description 40


def _short(model: str, width: int) -> str:
    name = model.rsplit(":", 1)[-1] or model  # openai:chat:gpt-4o-mini → gpt-4o-mini
    return name if len(name) <= width else name[: width - 1] + "…"


def accept_action(result: ReviewResult) -> list[dict] | None:
    """The accept buttons on a failing evals check. The gate is per model, so is the button: one per
    blocked model not yet accepted (one model: the single 'Accept regression'); past GitHub's three
    buttons the last one accepts every remaining model at once."""
    if result.evals is None or not result.evals.verdict.blocking:
        return []
    blocked = result.evals.verdict.blocked_models
    open_ = unaccepted_models(result) if result.accepted_regression else blocked
    if result.accepted_regression and not open_:
        return []
    if len(blocked) <= 1:
        return [{"label": "Accept regression", "description": "Prompt owners: accept these regressions", "identifier": ACCEPT_ALL}]
    each = open_ if len(open_) <= MAX_ACTIONS else open_[: MAX_ACTIONS - 1]
    buttons = [{"label": f"Accept {_short(m, 13)}", "description": f"Accept the regression on {_short(m, 15)}",
                "identifier": f"{ACCEPT_MODEL}{blocked.index(m)}"} for m in each]
    if len(each) < len(open_):
        buttons.append({"label": f"Accept all {len(open_)}", "description": "Accept the regression on every model",
                        "identifier": ACCEPT_ALL})
    return buttons


def accepted_models(identifier: str, result: ReviewResult) -> tuple[str, ...] | None:
    """The models a pressed accept button covers (None: not an accept button of this review)."""
    if result.evals is None:
        return None
    blocked = result.evals.verdict.blocked_models
    if identifier == ACCEPT_ALL:
        return tuple(blocked)
    index = identifier.removeprefix(ACCEPT_MODEL)
    if identifier.startswith(ACCEPT_MODEL) and index.isdigit() and int(index) < len(blocked):
        return (blocked[int(index)],)
    return None


def _now() -> str:
    return datetime.now(timezone.utc).replace(microsecond=0).isoformat().replace("+00:00", "Z")
