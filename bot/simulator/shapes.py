"""JSON bodies shaped like GitHub's REST responses and webhook objects.

Field sets follow the schemas in GitHub's OpenAPI description (users, repositories, pull
requests); `tests/simulator/test_openapi_contract.py` checks them against it.
"""

from __future__ import annotations

import base64
import datetime as dt
from typing import Any
from urllib.parse import quote

from bot.simulator.records import Account, Label, PullRequest, Repo, Review

WEB = "https://github.com"


def iso(ts: float) -> str:
    return dt.datetime.fromtimestamp(int(ts), dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def node_id(kind: str, id_: int) -> str:
    return base64.b64encode(f"0:{kind}{id_}".encode()).decode()


def user(api: str, a: Account) -> dict[str, Any]:
    # GitHub percent-encodes a bot's login in its API URLs (`prompt-review%5Bbot%5D`) and links
    # the bot to its App's page; a raw `[bot]` is not a valid URI.
    u = f"{api}/users/{quote(a.login, safe='')}"
    html = f"{WEB}/apps/{a.login.removesuffix('[bot]')}" if a.type == "Bot" else f"{WEB}/{a.login}"
    return {
        "login": a.login, "id": a.id, "node_id": node_id("Bot" if a.type == "Bot" else "User", a.id),
        "avatar_url": f"https://avatars.githubusercontent.com/u/{a.id}?v=4", "gravatar_id": "",
        "url": u, "html_url": html,
        "followers_url": f"{u}/followers", "following_url": f"{u}/following{{/other_user}}",
        "gists_url": f"{u}/gists{{/gist_id}}", "starred_url": f"{u}/starred{{/owner}}{{/repo}}",
        "subscriptions_url": f"{u}/subscriptions", "organizations_url": f"{u}/orgs",
        "repos_url": f"{u}/repos", "events_url": f"{u}/events{{/privacy}}",
        "received_events_url": f"{u}/received_events", "type": a.type,
        "user_view_type": "public", "site_admin": False,
    }


_REPO_TEMPLATES = {
    "archive_url": "/{archive_format}{/ref}", "assignees_url": "/assignees{/user}",
    "blobs_url": "/git/blobs{/sha}", "branches_url": "/branches{/branch}",
    "collaborators_url": "/collaborators{/collaborator}", "comments_url": "/comments{/number}",
    "commits_url": "/commits{/sha}", "compare_url": "/compare/{base}...{head}",
    "contents_url": "/contents/{+path}", "contributors_url": "/contributors",
    "deployments_url": "/deployments", "downloads_url": "/downloads", "events_url": "/events",
    "forks_url": "/forks", "git_commits_url": "/git/commits{/sha}", "git_refs_url": "/git/refs{/sha}",
    "git_tags_url": "/git/tags{/sha}", "hooks_url": "/hooks", "issue_comment_url": "/issues/comments{/number}",
    "issue_events_url": "/issues/events{/number}", "issues_url": "/issues{/number}",
    "keys_url": "/keys{/key_id}", "labels_url": "/labels{/name}", "languages_url": "/languages",
    "merges_url": "/merges", "milestones_url": "/milestones{/number}",
    "notifications_url": "/notifications{?since,all,participating}", "pulls_url": "/pulls{/number}",
    "releases_url": "/releases{/id}", "stargazers_url": "/stargazers", "statuses_url": "/statuses/{sha}",
    "subscribers_url": "/subscribers", "subscription_url": "/subscription", "tags_url": "/tags",
    "teams_url": "/teams", "trees_url": "/git/trees{/sha}",
}


def repository(api: str, r: Repo, pushed_at: str | None = None) -> dict[str, Any]:
    base = f"{api}/repos/{r.full_name}"
    out: dict[str, Any] = {
        "id": r.id, "node_id": node_id("Repository", r.id), "name": r.name, "full_name": r.full_name,
        "private": r.private, "owner": user(api, r.owner), "html_url": f"{WEB}/{r.full_name}",
        "description": None, "fork": r.fork_of is not None, "url": base,
    }
    out.update({k: base + v for k, v in _REPO_TEMPLATES.items()})
    out.update({
        "git_url": f"git://github.com/{r.full_name}.git", "ssh_url": f"git@github.com:{r.full_name}.git",
        "clone_url": f"{WEB}/{r.full_name}.git", "svn_url": f"{WEB}/{r.full_name}", "mirror_url": None,
        "homepage": None, "language": None, "forks_count": 0, "forks": 0, "stargazers_count": 0,
        "watchers_count": 0, "watchers": 0, "size": 1, "default_branch": r.default_branch,
        "open_issues_count": 0, "open_issues": 0, "is_template": False, "topics": [],
        "has_issues": True, "has_projects": True, "has_wiki": True, "has_pages": False,
        "has_downloads": True, "has_discussions": False, "archived": False, "disabled": False,
        "visibility": "private" if r.private else "public", "license": None,
        "pushed_at": pushed_at or r.created_at, "created_at": r.created_at, "updated_at": r.created_at,
        "allow_forking": True, "web_commit_signoff_required": False, "custom_properties": {},
    })
    return out


def full_repository(api: str, r: Repo) -> dict[str, Any]:
    out = repository(api, r)
    out.update({"network_count": 0, "subscribers_count": 0, "temp_clone_token": None,
                "allow_rebase_merge": True, "allow_squash_merge": True, "allow_merge_commit": True,
                "allow_auto_merge": False, "delete_branch_on_merge": False})
    if r.owner.type == "Organization":
        out["organization"] = user(api, r.owner)
    if r.fork_of is not None:
        out["parent"] = out["source"] = repository(api, r.fork_of)
    return out


def label(api: str, r: Repo, lb: Label) -> dict[str, Any]:
    return {"id": lb.id, "node_id": node_id("Label", lb.id), "url": f"{api}/repos/{r.full_name}/labels/{lb.name}",
            "name": lb.name, "color": lb.color, "default": False, "description": None}


def _association(p: PullRequest, a: Account) -> str:
    if a.login == p.repo.owner.login:
        return "OWNER"
    return "COLLABORATOR" if a.login in p.repo.permissions else "CONTRIBUTOR"


def pull_request(api: str, p: PullRequest, stats: dict[str, int]) -> dict[str, Any]:
    """The full pull request (REST, `pull_request` webhooks); `stats` carries commits, additions,
    deletions, changed_files (computed from the diff)."""
    out = simple_pull_request(api, p)
    out.update({
        "merged": p.merged, "mergeable": None if p.state == "closed" else True, "rebaseable": True,
        "mergeable_state": "unknown" if p.state == "closed" else "clean", "merged_by": None,
        "comments": 0, "review_comments": 0, "maintainer_can_modify": False,
        "commits": stats["commits"], "additions": stats["additions"], "deletions": stats["deletions"],
        "changed_files": stats["changed_files"],
    })
    return out


def simple_pull_request(api: str, p: PullRequest) -> dict[str, Any]:
    """The pull request as review webhooks carry it: without merge state and diff statistics."""
    r = p.repo
    url = f"{api}/repos/{r.full_name}/pulls/{p.number}"
    issue = f"{api}/repos/{r.full_name}/issues/{p.number}"
    html = f"{WEB}/{r.full_name}/pull/{p.number}"

    def side(ref: str, sha: str, repo: Repo) -> dict[str, Any]:
        return {"label": f"{repo.owner.login}:{ref}", "ref": ref, "sha": sha,
                "user": user(api, repo.owner), "repo": repository(api, repo)}

    return {
        "url": url, "id": p.id, "node_id": node_id("PullRequest", p.id), "html_url": html,
        "diff_url": f"{html}.diff", "patch_url": f"{html}.patch", "issue_url": issue,
        "commits_url": f"{url}/commits", "review_comments_url": f"{url}/comments",
        "review_comment_url": f"{api}/repos/{r.full_name}/pulls/comments{{/number}}",
        "comments_url": f"{issue}/comments", "statuses_url": f"{api}/repos/{r.full_name}/statuses/{p.head_sha}",
        "number": p.number, "state": p.state, "locked": False, "title": p.title, "user": user(api, p.user),
        "body": p.body or None, "labels": [label(api, r, lb) for lb in p.labels], "milestone": None,
        "active_lock_reason": None, "created_at": p.created_at, "updated_at": p.updated_at,
        "closed_at": p.closed_at, "merged_at": p.merged_at, "merge_commit_sha": p.merge_commit_sha,
        "assignee": None, "assignees": [], "requested_reviewers": [], "requested_teams": [],
        "head": side(p.head_ref, p.head_sha, p.head_repo), "base": side(p.base_ref, p.base_sha, r),
        "_links": {k: {"href": v} for k, v in {
            "self": url, "html": html, "issue": issue, "comments": f"{issue}/comments",
            "review_comments": f"{url}/comments",
            "review_comment": f"{api}/repos/{r.full_name}/pulls/comments{{/number}}",
            "commits": f"{url}/commits", "statuses": f"{api}/repos/{r.full_name}/statuses/{p.head_sha}"}.items()},
        "author_association": _association(p, p.user), "auto_merge": None, "draft": p.draft,
    }


def pull_minimal(api: str, p: PullRequest) -> dict[str, Any]:
    def side(ref: str, sha: str, repo: Repo) -> dict[str, Any]:
        return {"ref": ref, "sha": sha, "repo": {"id": repo.id, "url": f"{api}/repos/{repo.full_name}", "name": repo.name}}

    return {"id": p.id, "number": p.number, "url": f"{api}/repos/{p.repo.full_name}/pulls/{p.number}",
            "head": side(p.head_ref, p.head_sha, p.head_repo), "base": side(p.base_ref, p.base_sha, p.repo)}


def review(api: str, rv: Review) -> dict[str, Any]:
    r, p = rv.pull.repo, rv.pull
    html = f"{WEB}/{r.full_name}/pull/{p.number}#pullrequestreview-{rv.id}"
    purl = f"{api}/repos/{r.full_name}/pulls/{p.number}"
    return {
        "id": rv.id, "node_id": node_id("PullRequestReview", rv.id), "user": user(api, rv.user),
        "body": rv.body, "state": rv.state, "html_url": html, "pull_request_url": purl,
        "_links": {"html": {"href": html}, "pull_request": {"href": purl}},
        "submitted_at": rv.submitted_at, "commit_id": rv.commit_id, "author_association": _association(p, rv.user),
    }


def commit_ident(login: str, ts: float) -> dict[str, str]:
    return {"name": login, "email": f"{login}@users.noreply.github.com", "date": iso(ts)}
