"""JSON of the simulator's records that needs more than the record itself (the API base URL,
diff statistics, the pull requests at a commit, whether a number is an issue): shared by the
REST routes and the webhook payloads, so both describe an object the same way."""

from __future__ import annotations

from typing import Any

from bot.simulator import checks, shapes
from bot.simulator.records import CheckRun, Installation, Issue, IssueComment, PullRequest, Repo
from bot.simulator.state import SimState

NO_REACTIONS = {"total_count": 0, "+1": 0, "-1": 0, "laugh": 0, "hooray": 0, "confused": 0, "heart": 0, "rocket": 0,
                "eyes": 0}


def installation_json(s: SimState, inst: Installation) -> dict[str, Any]:
    api, app = s.api_url, s.apps[inst.app_id]
    return {
        "id": inst.id, "client_id": app.client_id, "account": shapes.user(api, inst.account),
        "repository_selection": "all" if inst.repos is None else "selected",
        "access_tokens_url": f"{api}/app/installations/{inst.id}/access_tokens",
        "repositories_url": f"{api}/installation/repositories",
        "html_url": f"{shapes.WEB}/settings/installations/{inst.id}", "app_id": app.id, "app_slug": app.slug,
        "target_id": inst.account.id, "target_type": inst.account.type, "permissions": dict(app.permissions),
        "events": list(app.events), "created_at": inst.created_at, "updated_at": inst.created_at,
        "single_file_name": None, "has_multiple_single_files": False, "single_file_paths": [],
        "suspended_by": None, "suspended_at": None,
    }


def repo_refs(s: SimState, names: list[str]) -> list[dict[str, Any]]:
    return [{"id": r.id, "node_id": shapes.node_id("Repository", r.id), "name": r.name,
             "full_name": r.full_name, "private": r.private} for r in (s.repos[n] for n in names if n in s.repos)]


def org_json(s: SimState, login: str) -> dict[str, Any]:
    a = s.account(login)
    u = f"{s.api_url}/orgs/{login}"
    return {"login": login, "id": a.id, "node_id": shapes.node_id("Organization", a.id), "url": u,
            "repos_url": f"{u}/repos", "events_url": f"{u}/events", "hooks_url": f"{u}/hooks",
            "issues_url": f"{u}/issues", "members_url": f"{u}/members{{/member}}",
            "public_members_url": f"{u}/public_members{{/member}}",
            "avatar_url": f"https://avatars.githubusercontent.com/u/{a.id}?v=4", "description": None}


def pull_json(s: SimState, p: PullRequest) -> dict[str, Any]:
    return shapes.pull_request(s.api_url, p, s.pull_stats(p))


def check_run_json(s: SimState, run: CheckRun) -> dict[str, Any]:
    return checks.check_run_json(s.api_url, run, s.apps[run.app_id], s.open_pulls_at(run.repo, run.head_sha))


def comment_json(s: SimState, c: IssueComment) -> dict[str, Any]:
    base = f"{s.api_url}/repos/{c.repo.full_name}"
    kind = "issues" if (c.repo.full_name, c.issue_number) in s.issues else "pull"
    return {
        "id": c.id, "node_id": shapes.node_id("IssueComment", c.id), "url": f"{base}/issues/comments/{c.id}",
        "html_url": f"{shapes.WEB}/{c.repo.full_name}/{kind}/{c.issue_number}#issuecomment-{c.id}", "body": c.body,
        "user": shapes.user(s.api_url, c.user), "created_at": c.created_at, "updated_at": c.updated_at,
        "issue_url": f"{base}/issues/{c.issue_number}",
        "author_association": "NONE" if c.via_app else "CONTRIBUTOR",
        "performed_via_github_app": None,
        "reactions": {"url": f"{base}/issues/comments/{c.id}/reactions", **NO_REACTIONS},
    }


def issue_json(s: SimState, i: Issue) -> dict[str, Any]:
    api, name = s.api_url, i.repo.full_name
    base = f"{api}/repos/{name}/issues/{i.number}"
    return {
        "id": i.id, "node_id": shapes.node_id("Issue", i.id), "url": base, "repository_url": f"{api}/repos/{name}",
        "labels_url": f"{base}/labels{{/name}}", "comments_url": f"{base}/comments", "events_url": f"{base}/events",
        "html_url": f"{shapes.WEB}/{name}/issues/{i.number}", "number": i.number, "state": i.state,
        "state_reason": i.state_reason, "title": i.title, "body": i.body, "user": shapes.user(api, i.user),
        "labels": [{"id": abs(hash(n)) % 10**9, "node_id": shapes.node_id("Label", abs(hash(n)) % 10**9),
                    "url": f"{api}/repos/{name}/labels/{n}", "name": n, "color": "ededed", "default": False,
                    "description": None} for n in i.labels],
        "assignee": None, "assignees": [], "milestone": None, "locked": False, "active_lock_reason": None,
        "comments": len(s.comments_on(i.repo, i.number)), "closed_at": i.closed_at, "created_at": i.created_at,
        "updated_at": i.updated_at, "closed_by": None, "author_association": "NONE",
        "timeline_url": f"{base}/timeline", "performed_via_github_app": None,
        "reactions": {"url": f"{base}/reactions", **NO_REACTIONS},
    }


def pull_issue_json(s: SimState, r: Repo, number: int, p: PullRequest | None) -> dict[str, Any]:
    """The issue side of a pull request (`p`; None for a number that is neither), as `issue_comment` carries it."""
    api = s.api_url
    base = f"{api}/repos/{r.full_name}/issues/{number}"
    user = p.user if p else r.owner
    out: dict[str, Any] = {
        "id": p.id if p else number, "node_id": shapes.node_id("Issue", p.id if p else number), "url": base,
        "repository_url": f"{api}/repos/{r.full_name}", "labels_url": f"{base}/labels{{/name}}",
        "comments_url": f"{base}/comments", "events_url": f"{base}/events",
        "html_url": f"{shapes.WEB}/{r.full_name}/{'pull' if p else 'issues'}/{number}", "number": number,
        "state": p.state if p else "open", "state_reason": None, "title": p.title if p else "",
        "body": p.body if p else "", "user": shapes.user(api, user), "labels": [], "assignee": None,
        "assignees": [], "milestone": None, "locked": False, "active_lock_reason": None, "comments": 0,
        "closed_at": p.closed_at if p else None, "created_at": p.created_at if p else s.now_iso(),
        "updated_at": p.updated_at if p else s.now_iso(), "author_association": "CONTRIBUTOR",
        "reactions": {"url": f"{base}/reactions", **NO_REACTIONS},
        "timeline_url": f"{base}/timeline", "performed_via_github_app": None}
    if p:
        out["pull_request"] = {"url": f"{api}/repos/{r.full_name}/pulls/{number}",
                               "html_url": f"{shapes.WEB}/{r.full_name}/pull/{number}",
                               "diff_url": f"{shapes.WEB}/{r.full_name}/pull/{number}.diff",
                               "patch_url": f"{shapes.WEB}/{r.full_name}/pull/{number}.patch",
                               "merged_at": p.merged_at}
    return out


def commit_json(s: SimState, r: Repo, sha: str) -> dict[str, Any]:
    c = r.objects.commits[sha]
    base = f"{s.api_url}/repos/{r.full_name}"
    ident = shapes.commit_ident(c.author, c.timestamp)
    author = shapes.user(s.api_url, s.account(c.author))
    return {
        "url": f"{base}/commits/{sha}", "sha": sha, "node_id": shapes.node_id("Commit", int(sha[:8], 16)),
        "html_url": f"{shapes.WEB}/{r.full_name}/commit/{sha}", "comments_url": f"{base}/commits/{sha}/comments",
        "commit": {"url": f"{base}/git/commits/{sha}", "author": ident, "committer": ident, "message": c.message,
                   "comment_count": 0, "tree": {"sha": c.tree, "url": f"{base}/git/trees/{c.tree}"},
                   "verification": {"verified": False, "reason": "unsigned", "payload": None, "signature": None,
                                    "verified_at": None}},
        "author": author, "committer": author,
        "parents": [{"sha": p, "url": f"{base}/commits/{p}", "html_url": f"{shapes.WEB}/{r.full_name}/commit/{p}"}
                    for p in c.parents],
    }
