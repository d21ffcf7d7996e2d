"""Release work the webhook causes, run by the worker as jobs of kind `release`:

- `push` to the default branch → record the new prompt versions (with the merged PR's review);
- the App installed on a repo → record versions from its recent history (`backfill_commits` setting);
- `/prompt-review deploy LABEL [reason]` or `rollback LABEL` commented on a merged PR → move the label,
  answered with a reaction and a reply;
- a "Deploy to …" or "Roll back …" button on the merged PR's evals check → move the label (a rollback
  button appears once a deployment of that label moved this PR's version).

`bot.release.intake.release_job_for` decides (pure, payload in); `run_release_job` does the work.
"""

from __future__ import annotations

import logging
from bot.core.release import ReleaseError, Via, parse_command
from bot.release import rollout
from bot.release.intake import KIND, release_job_for  # noqa: F401 (re-exported)
from bot.release.service import Release, _parse_time

log = logging.getLogger("prompt_review.release")


def run_release_job(worker, job) -> None:
    """Called by the worker for jobs of kind `release` (worker is bot.service.worker.Worker)."""
    release = Release(worker.engine, worker.app, worker.settings.github_web_url)
    client = worker.app.installation(job.installation_id)
    op = job.payload.get("op")
    if op == "push":
        when = _parse_time(job.payload.get("timestamp"))
        versions = release.record_push(client, job.repo, job.payload.get("before"), job.head_sha,
                                       job.payload.get("author"), when)
        log.info("push %s@%s: %d prompt version(s) recorded", job.repo, job.head_sha[:12], len(versions))
    elif op == "sync":  # installed on the repo: its recent history becomes versions
        limit = worker.settings.backfill_commits
        if limit:
            recorded = release.sync(client, job.repo, limit=limit)
            log.info("installed on %s: %d prompt version(s) recorded from %d commit(s)", job.repo, recorded, limit)
    elif op == "command":
        _command(release, client, job)
    elif op == "button":
        _button(release, client, job)


def _merged_pull(client, repo: str, number: int) -> dict | None:
    pull = client.pull(repo, number)
    return pull if pull.get("merged") or pull.get("merged_at") else None


def _pr_prompts(release: Release, client, repo: str, pull: dict, commit: str) -> tuple[str, ...]:
    """The prompts the PR brought (their blob differs between its base and `commit`): a comment or button
    deploys what its PR changed, nothing else."""
    after = release.at(client, repo, commit).prompts
    before = release.at(client, repo, pull["base"]["sha"]).prompts
    return tuple(sorted(p for p, sha in after.items() if before.get(p) != sha))


def _command(release: Release, client, job) -> None:
    verb, label, reason = parse_command(job.payload.get("body") or "")  # type: ignore[misc]
    sender, comment_id = job.payload.get("sender") or "", job.payload.get("comment_id")
    pull = _merged_pull(client, job.repo, job.pr)
    try:
        if pull is None:
            raise _Refused(f"#{job.pr} is not merged: only a merged pull request's prompts can be deployed")
        if verb == "rollback":
            d = release.rollback(job.repo, label, actor=sender, via=Via.COMMENT.value, reason=reason, client=client)
        else:
            commit = pull.get("merge_commit_sha") or pull["head"]["sha"]
            prompts = _pr_prompts(release, client, job.repo, pull, commit)
            if not prompts:
                raise _Refused(f"#{job.pr} changed no prompt that is still at its merge commit")
            d = release.deploy(job.repo, label, actor=sender, via=Via.COMMENT.value, ref=commit, prompts=prompts,
                               reason=reason, pr=job.pr, client=client)
    except (ReleaseError, rollout.RolloutError, _Refused) as exc:
        _react(client, job.repo, comment_id, "-1")
        client.create_comment(job.repo, job.pr, f"@\u200d{sender}: `{verb} {label}` refused: {exc}")
        return
    _react(client, job.repo, comment_id, "rocket")
    moved = ", ".join(f"`{m}`" for m in _moved(release, d)) or "nothing"
    override = f" (override: {d.reason})" if d.override else ""
    client.create_comment(job.repo, job.pr, f"{'Rolled back' if d.kind == 'rollback' else 'Deployed'} **{label}** "
                                            f"at `{d.commit_sha[:12]}`: {moved}{override}. Deployment #{d.id}.")


def _button(release: Release, client, job) -> None:
    """A button on the merged PR's evals check: "Deploy to <label>" or "Roll back <label>"."""
    verb, label = job.payload.get("verb") or "deploy", job.payload.get("label") or ""
    sender = job.payload.get("sender") or ""
    pulls = client._call("GET", f"/repos/{job.repo}/commits/{job.head_sha}/pulls").json()
    pull = next((p for p in pulls if p.get("merged_at")), None)
    if pull is None:
        log.info("%s button on %s@%s: no merged PR; ignored", verb, job.repo, job.head_sha[:12])
        return
    commit = pull.get("merge_commit_sha") or job.head_sha
    try:
        if verb == "rollback":
            d = release.rollback(job.repo, label, actor=sender, via=Via.BUTTON.value, client=client)
        else:
            prompts = _pr_prompts(release, client, job.repo, pull, commit)
            d = release.deploy(job.repo, label, actor=sender, via=Via.BUTTON.value, ref=commit, prompts=prompts,
                               pr=pull["number"], client=client)
    except (ReleaseError, rollout.RolloutError) as exc:
        what = f"roll back of **{label}**" if verb == "rollback" else f"deploy to **{label}**"
        client.create_comment(job.repo, pull["number"], f"@\u200d{sender}: {what} refused: {exc}")
        return
    done = "Rolled back" if d.kind == "rollback" else "Deployed"
    moved = ", ".join(f"`{m}`" for m in _moved(release, d)) or "nothing"
    client.create_comment(job.repo, pull["number"], f"{done} **{label}** at `{d.commit_sha[:12]}`: {moved} "
                                                    f"(button, @\u200d{sender}). Deployment #{d.id}.")


def _moved(release: Release, d) -> list[str]:
    from bot.release import store

    for dep, moves in store.history(release.engine, d.repo, d.label):
        if dep.id == d.id:
            return [f"{m.path}@{(m.to_version or 'none')[:12]}" for m in moves]
    return []


def _react(client, repo: str, comment_id, content: str) -> None:
    if isinstance(comment_id, int):
        try:
            client._call("POST", f"/repos/{repo}/issues/comments/{comment_id}/reactions", json={"content": content})
        except Exception as exc:  # a missing reaction is cosmetic; the reply says what happened
            log.warning("could not react to comment %s: %s", comment_id, exc)


class _Refused(Exception):
    pass


__all__ = ["release_job_for", "run_release_job", "KIND"]
