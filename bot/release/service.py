"""The one code path behind every deployment, rollback and version record — the CLI (through the API),
the `/prompt-review deploy` comment and the check-run button all end here. GitHub is read through the
App's installation; the decisions are bot.core.release's."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.engine import Engine

from bot.core.config import CONFIG_PATH, RepoConfig, parse_config
from bot.core.errors import UserError
from bot.core.guard import GuardPolicy
from bot.core.files import is_prompt
from bot.core.release import (
    VERSION_CHARS, ManifestPrompt, Ownership, Plan, Refusal, ReleaseError, ReviewFacts, describe, etag, may_move,
    plan_deploy, plan_rollback, short,
)
from bot.core.result import APPROVAL_CHECK, EVALS_CHECK
from bot.github.client import GitHubApp, GitHubError, InstallationClient
from bot.pipeline import github as gh
from bot.pipeline.stages import load_owners, owner_teams
from bot.pipeline.trees import GitHubTree
from bot.release import rollout, store, variants
from bot.release.models import Deployment

log = logging.getLogger("prompt_review.release")
MAX_BRANCH_COMMITS = 1000  # how far back along the default branch a --ref is looked for
DEPLOY_ACTIONS = [
    {"label": "Deploy to staging", "description": "Move the staging label here", "identifier": "deploy_staging"},
    {"label": "Deploy to production", "description": "Owners: move production here", "identifier": "deploy_production"},
]
DEPLOY_ACTION, ROLLBACK_ACTION = "deploy_", "rollback_"  # a button's identifier: one of these + the label
MAX_ACTIONS = 3  # GitHub's limit per check run; a button's label and identifier are at most 20 characters


def check_actions(deployed: set[str]) -> list[dict]:
    """The merged PR's evals check buttons: "Deploy to staging/production", and "Roll back <label>" for
    each label a deployment from this PR's version moved (production first). Past GitHub's three, a
    label that already got this PR loses its deploy button before any rollback button is dropped."""
    rollbacks = [{"label": f"Roll back {label}", "description": f"Restore {label} before its last deployment"[:40],
                  "identifier": ROLLBACK_ACTION + label}
                 for label in sorted(deployed, key=lambda x: (x != "production", x != "staging", x))
                 if len(f"Roll back {label}") <= 20]
    deploys = list(DEPLOY_ACTIONS)
    if len(deploys) + len(rollbacks) > MAX_ACTIONS:
        deploys = [a for a in deploys if a["identifier"].removeprefix(DEPLOY_ACTION) not in deployed]
    return (deploys + rollbacks)[:MAX_ACTIONS]


@dataclass(frozen=True)
class RepoAt:
    """A commit of the default branch: its prompts (path → blob sha), with the config and owners of the branch head."""

    repo: str
    commit: str
    prompts: dict[str, str]
    config: RepoConfig
    tree: GitHubTree


def protected_labels(config: RepoConfig) -> tuple[str, ...]:
    return tuple(config.release.protected_labels)


class Release:
    def __init__(self, engine: Engine, app: GitHubApp, web_url: str = "https://github.com"):
        self.engine, self.app, self.web_url = engine, app, web_url
        self._blobs: dict[str, bytes] = {}

    # --- GitHub ---------------------------------------------------------------------------------
    def installation(self, repo: str) -> InstallationClient:
        try:
            data = self.app.request("GET", f"/repos/{repo}/installation", auth=f"Bearer {self.app.jwt()}").json()
        except GitHubError as exc:
            if exc.status == 404:
                raise ReleaseError(Refusal.UNKNOWN_REF, f"prompt-review is not installed on {repo}") from None
            raise
        return self.app.installation(int(data["id"]))

    def identify(self, user_token: str) -> str:
        """The login behind a GitHub user token (GET /user); GitHubError 401 when it is not valid."""
        return str(self.app.request("GET", "/user", auth=f"token {user_token}").json()["login"])

    def default_branch(self, client: InstallationClient, repo: str) -> str:
        return str(client._call("GET", f"/repos/{repo}").json().get("default_branch") or "main")

    def branch_commits(self, client: InstallationClient, repo: str, limit: int = MAX_BRANCH_COMMITS) -> list[dict]:
        return list(client._paginate(f"/repos/{repo}/commits", params={"sha": self.default_branch(client, repo)}, limit=limit))

    def resolve(self, client: InstallationClient, repo: str, ref: str | None) -> str:
        """A commit of the default branch for `ref` (None or the branch name: its head; else a SHA or prefix)."""
        branch = self.default_branch(client, repo)
        wanted = (ref or branch).removeprefix("refs/heads/")
        commits = self.branch_commits(client, repo, limit=1 if wanted == branch else MAX_BRANCH_COMMITS)
        if wanted == branch and commits:
            return commits[0]["sha"]
        hits = [c["sha"] for c in commits if len(wanted) >= 7 and c["sha"].startswith(wanted.lower())]
        if len(hits) != 1:
            raise ReleaseError(Refusal.UNKNOWN_REF, f"{ref!r} is not a commit of {repo}'s default branch {branch} "
                                                    f"(give a SHA on it, or {branch})")
        return hits[0]

    def at(self, client: InstallationClient, repo: str, commit: str) -> RepoAt:
        tree = GitHubTree(client, repo, commit, self._blobs)
        try:
            config = parse_config(tree.read(CONFIG_PATH))
        except UserError as exc:
            raise ReleaseError(Refusal.UNKNOWN_REF, f"{CONFIG_PATH} at {commit[:12]} is invalid: {exc}") from None
        prompts = {p: sha for p, sha in tree.blob_shas().items()
                   if p in set(tree.paths()) and is_prompt(p, config.prompts.include, config.prompts.exclude)}
        return RepoAt(repo, commit, prompts, config, tree)

    def ownership(self, client: InstallationClient, head: RepoAt, actor: str, paths: list[str]) -> Ownership:
        owners = load_owners(head.tree, head.config)
        by_path = {p: owners.owners_for(p) for p in paths}
        teams = gh.team_resolver(client)(owner_teams(owners, paths))
        has_write = client.permission(head.repo, actor) in ("admin", "maintain", "write")
        return Ownership(by_path, teams, has_write)

    # --- versions -------------------------------------------------------------------------------
    def review_facts(self, client: InstallationClient, repo: str, commit: str) -> tuple[ReviewFacts | None, dict]:
        """The merged PR whose merge made `commit`, with its final check conclusions and scores."""
        pulls = client._call("GET", f"/repos/{repo}/commits/{commit}/pulls").json()
        pull = next((p for p in pulls if p.get("merged_at") and commit in (p.get("merge_commit_sha"), p["head"]["sha"])), None)
        if pull is None:
            return None, {}
        head = pull["head"]["sha"]
        runs = {r["name"]: r.get("conclusion") for name in (EVALS_CHECK, APPROVAL_CHECK)
                for r in client.check_runs_for(repo, head, name)[:1]}
        from sqlalchemy import select
        from sqlalchemy.orm import Session

        from bot.service.db import ReviewRecord

        with Session(self.engine) as session:
            rates = session.scalar(select(ReviewRecord.pass_rates).where(
                ReviewRecord.repo == repo, ReviewRecord.pr == pull["number"], ReviewRecord.head_sha == head
            ).order_by(ReviewRecord.id.desc()).limit(1))
        return ReviewFacts(pull["number"], head, runs.get(EVALS_CHECK), runs.get(APPROVAL_CHECK)), rates or {}

    def record_push(self, client: InstallationClient, repo: str, before: str | None, after: str,
                    author: str | None, when: datetime | None) -> list[store.NewVersion]:
        """Each prompt whose blob differs between `before` and `after` gets a version at `after`."""
        head = self.at(client, repo, after)
        old = self.at(client, repo, before).prompts if before and set(before) != {"0"} else {}
        changed = {p: sha for p, sha in head.prompts.items() if old.get(p) != sha}
        if not changed:
            return []
        facts, scores = self.review_facts(client, repo, after)
        from bot.core.release import UNREVIEWED

        versions = [store.NewVersion(repo, p, sha, after, author, when, facts or UNREVIEWED, scores)
                    for p, sha in sorted(changed.items())]
        store.record_versions(self.engine, versions)
        if facts is not None and facts.head_sha and facts.pr is not None:
            self._offer_buttons(client, repo, facts.pr, facts.head_sha)
        return versions

    def _offer_buttons(self, client: InstallationClient, repo: str, pr: int, head_sha: str) -> None:
        """The merged PR's evals check gets its deploy buttons, and a rollback button per label it reached."""
        try:
            actions = check_actions(store.labels_deployed_from(self.engine, repo, pr))
            for run in client.check_runs_for(repo, head_sha, EVALS_CHECK)[:1]:
                client.update_check_run(repo, run["id"], {"actions": actions})
        except GitHubError as exc:
            log.warning("could not add deploy buttons on %s@%s: %s", repo, head_sha[:12], exc)

    def _refresh_buttons(self, client: InstallationClient, repo: str, d: Deployment, reviews: dict[str, ReviewFacts]) -> None:
        """After a deployment: the PRs whose versions it moved (or that asked for it) offer its rollback."""
        heads = {r.pr: r.head_sha for r in reviews.values() if r.pr is not None and r.head_sha}
        if d.pr is not None and d.pr not in heads:
            heads.update(store.pr_heads(self.engine, repo, [d.pr]))
        for pr, head_sha in sorted(heads.items()):
            self._offer_buttons(client, repo, pr, head_sha)

    def sync(self, client: InstallationClient, repo: str, limit: int = 100) -> int:
        """Backfill: versions for the last `limit` commits of the default branch, oldest first."""
        commits = list(reversed(self.branch_commits(client, repo, limit=limit + 1)))
        recorded = 0
        for parent, commit in zip([None, *commits], commits):
            if parent is None and len(commits) > limit:
                continue  # the extra oldest commit only serves as the first one's parent
            info = commit.get("commit") or {}
            when = _parse_time((info.get("author") or {}).get("date"))
            author = (commit.get("author") or {}).get("login") or (info.get("author") or {}).get("name")
            versions = self.record_push(client, repo, parent["sha"] if parent else None, commit["sha"], author, when)
            recorded += len(versions)
        return recorded

    # --- deployments ------------------------------------------------------------------------------
    def deploy(self, repo: str, label: str, *, actor: str, via: str, ref: str | None = None, prompts: tuple[str, ...] = (),
               reason: str | None = None, pr: int | None = None, client: InstallationClient | None = None,
               percent: float | None = None, steps: tuple[float, ...] = (), interval: float | None = None) -> Deployment:
        client = client or self.installation(repo)
        commit = self.resolve(client, repo, ref)
        target = self.at(client, repo, commit)
        branch_head = self.resolve(client, repo, None)
        head = target if branch_head == commit else self.at(client, repo, branch_head)
        current = {p.path: p.version for p in store.pointers(self.engine, repo, label)}
        only = prompts
        reviews_needed = [p for p in (only or target.prompts) if p in target.prompts]
        reviews = {p: store.review_of(self.engine, repo, p, target.prompts[p]) for p in reviews_needed}
        plan = plan_deploy(label, commit, target.prompts, current, only, reviews, protected_labels(head.config), reason)
        self._authorize(client, head, actor, plan)
        self._cache_contents(client, repo, [m.to_version for m in plan.moves if m.to_version])
        self._record_variants(target)
        if percent is not None:  # a guarded rollout: the pointer stays, the manifest carries the split
            introduced = next((r.pr for m in plan.moves if (r := reviews.get(m.path)) and r.pr), pr)
            _r, d = rollout.start(self.engine, repo, plan, percent=percent, steps=steps or (100.0,),
                                  interval=interval or rollout.DEFAULT_INTERVAL_SECONDS, actor=actor, via=via,
                                  reason=reason, pr=introduced, directions=head.config.rollout.scores)
            self._mirror(client, repo, d, plan)
            return d
        if rollout.active(self.engine, repo, label) is not None:
            raise rollout.RolloutError(409, f"{label} has an active rollout: abort it first "
                                            f"(prompt-review rollout abort {label} --repo {repo})")
        d = store.apply(self.engine, repo, plan, kind="deploy", actor=actor, via=via, reason=reason, pr=pr)
        self._mirror(client, repo, d, plan)
        self._refresh_buttons(client, repo, d, {m.path: reviews[m.path] for m in plan.moves if m.path in reviews})
        return d

    def rollback(self, repo: str, label: str, *, actor: str, via: str, reason: str | None = None,
                 client: InstallationClient | None = None) -> Deployment:
        client = client or self.installation(repo)
        if rollout.active(self.engine, repo, label) is not None:  # rolling back a split = aborting it
            r, d = rollout.set_state(self.engine, repo, label, "abort", actor, via, reason)
            self._mirror(client, repo, d, rollout.mirror_plan(r, d))
            return d
        # rollout events are audit rows without pointer moves: nothing for a rollback to restore
        undone, plan = plan_rollback(label, [p for p in store.past_deployments(self.engine, repo, label) if p.moves])
        head = self.at(client, repo, self.resolve(client, repo, None))
        self._authorize(client, head, actor, plan)
        d = store.apply(self.engine, repo, plan, kind="rollback", actor=actor, via=via, reason=reason, reverts=undone.id)
        self._mirror(client, repo, d, plan)
        return d

    def _authorize(self, client: InstallationClient, head: RepoAt, actor: str, plan: Plan) -> None:
        allowed, why = may_move(actor, [m.path for m in plan.moves], self.ownership(client, head, actor, [m.path for m in plan.moves]))
        if not allowed:
            raise ReleaseError(Refusal.NOT_OWNER, why)

    def _cache_contents(self, client: InstallationClient, repo: str, shas: list[str]) -> None:
        have = store.blobs(self.engine, repo, shas)
        for sha in shas:
            if sha not in have:
                store.store_blob(self.engine, repo, sha, self._blobs.get(sha) or client.blob(repo, sha))

    def _mirror(self, client: InstallationClient, repo: str, d: Deployment, plan: Plan) -> None:
        """GitHub's Deployments API shows the move on the repository and the PR (environment prompts/<label>).
        The label has moved whatever GitHub answers: a failed mirror is logged, not undone."""
        try:
            body = {
                "ref": d.commit_sha, "environment": f"prompts/{d.label}", "auto_merge": False, "required_contexts": [],
                "description": f"{d.kind} by {d.actor} via {d.via}"[:140],
                "payload": {"deployment_id": d.id, "kind": d.kind,
                            "versions": {m.path: short(m.to_version) for m in plan.moves}},
                "production_environment": d.label == "production", "transient_environment": False,
            }
            created = client._call("POST", f"/repos/{repo}/deployments", json=body).json()
            state, description = rollout.github_status(d, len(plan.moves))
            client._call("POST", f"/repos/{repo}/deployments/{created['id']}/statuses",
                         json={"state": state, "description": description[:140]})
            store.set_github_deployment(self.engine, d.id, int(created["id"]))
        except (GitHubError, KeyError) as exc:
            log.warning("deployment %s of %s: mirroring to GitHub failed: %s", d.id, repo, exc)

    # --- manifest ----------------------------------------------------------------------------------
    def manifest(self, repo: str, label: str, model: str | None = None) -> dict:
        """All prompts at the label; with `model`, each prompt that has per-model variants is served by the
        variant for that model (bot.release.variants), named in its `variant` field."""
        points = store.pointers(self.engine, repo, label)
        if not points:
            names = store.label_names(self.engine, repo)
            raise ReleaseError(Refusal.UNKNOWN_LABEL, f"no label {label!r} in {repo}; labels: {', '.join(names) or 'none yet'}",
                               {"labels": names})
        latest = max(p.deployment_id for p in points)
        d = store.deployment(self.engine, latest)
        contents = store.blobs(self.engine, repo, [p.version for p in points])
        split = rollout.splits(self.engine, repo, label)
        candidates = store.blobs(self.engine, repo, [s.candidate for s in split.values()])
        commit_sha = d.commit_sha if d else None
        groups = variants.from_json(store.variants_at(self.engine, repo, commit_sha))
        prompts = []
        for p in points:
            text = contents.get(p.version, b"").decode("utf-8", "replace")
            fmt, declared, params = describe(p.path, text)
            # a deployed version is a blob sha, never empty: `short` without its None case
            prompts.append(ManifestPrompt(p.path, p.version[:VERSION_CHARS], text, fmt, declared, params))
        marks = [(f"{path}#rollout", f"{s.rollout_id}:{s.percent:g}:{s.state}") for path, s in split.items()]
        files = {m.path: {"path": m.path, "version": m.version, "content": m.content, "format": m.format, "model": m.model,
                          "params": dict(m.params), "rollout": _split_json(split.get(m.path), candidates)} for m in prompts}
        items = []
        for path in files:
            group = variants.group_of(path, groups)
            chosen = variants.choose(path, model, group, files)
            served = {**files[chosen], "path": path, "variants": [v.as_json() for v in group], "variant": None}
            if model is not None:
                served["variant"] = {"path": chosen, "version": files[chosen]["version"],
                                     "for_model": any(v.path == chosen and v.serves(model) for v in group)}
            items.append(served)
        pins = [(m.path, m.version) for m in prompts] + marks + ([("#model", model)] if model is not None else [])
        return {
            "repo": repo, "label": label, "commit": commit_sha, "model": model,
            "prompts": items,
            "etag": etag(repo, label, commit_sha, pins),
        }

    def _record_variants(self, at: RepoAt) -> None:
        """The variant groups of the suites at a deployed commit, kept once per commit for the manifest."""
        if store.variants_at(self.engine, at.repo, at.commit) is None:
            store.store_variants(self.engine, at.repo, at.commit, variants.to_json(variants.groups_at(at.tree, at.config)))

    # --- rollouts --------------------------------------------------------------------------------------
    def rollout_action(self, repo: str, label: str, verb: str, *, actor: str, via: str, reason: str | None = None) -> Deployment:
        client = self.installation(repo)
        r = rollout.active(self.engine, repo, label)
        if r is None:
            raise rollout.RolloutError(404, f"{label} has no active rollout in {repo}")
        head = self.at(client, repo, self.resolve(client, repo, None))
        self._authorize(client, head, actor, rollout.completion_plan(r))
        r, d = rollout.set_state(self.engine, repo, label, verb, actor, via, reason)
        self._mirror(client, repo, d, rollout.mirror_plan(r, d))
        return d

    def guard_tick(self, now: datetime | None = None, policy: GuardPolicy = GuardPolicy()) -> list[rollout.TickResult]:
        """One pass of the guard: abort (and tell the PR) or advance every running rollout that is due."""
        return rollout.tick(self.engine, now, policy, notify=self._notify_abort, complete=self._complete,
                            mirror=self._mirror_move)

    def _mirror_move(self, r, d: Deployment) -> None:
        """A guard step or abort, shown on GitHub like every other move of the label."""
        try:
            client = self.installation(r.repo)
        except (GitHubError, ReleaseError) as exc:
            log.warning("rollout #%s: mirroring %s to GitHub failed: %s", r.id, d.kind, exc)
            return
        self._mirror(client, r.repo, d, rollout.mirror_plan(r, d))

    def _complete(self, r, reason: str) -> Deployment:
        d = rollout.complete_locally(self.engine, r, reason)
        try:
            self._mirror(self.installation(r.repo), r.repo, d, rollout.completion_plan(r))
        except GitHubError as exc:
            log.warning("rollout #%s completed; mirroring failed: %s", r.id, exc)
        return d

    def _notify_abort(self, r, text: str) -> None:
        if r.pr is None:
            return
        try:
            self.installation(r.repo).create_comment(r.repo, r.pr, text)
        except (GitHubError, ReleaseError) as exc:
            log.warning("rollout #%s aborted; telling #%s failed: %s", r.id, r.pr, exc)


def _split_json(split: rollout.Split | None, candidates: dict[str, bytes]) -> dict | None:
    """The manifest's `rollout` field: the arms in a fixed order (control first), each with its share."""
    if split is None:
        return None
    return {"id": split.rollout_id, "state": split.state, "arms": [
        {"name": rollout.CONTROL, "version": short(split.control), "percent": 100.0 - split.percent},
        {"name": rollout.CANDIDATE, "version": short(split.candidate), "percent": split.percent, "commit": split.commit,
         "content": candidates.get(split.candidate, b"").decode("utf-8", "replace")},
    ]}


def _parse_time(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
