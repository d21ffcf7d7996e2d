"""Every simulator endpoint the bot uses answers as GitHub's pinned OpenAPI description says.

Real HTTP against a running simulator; each response's status and JSON body are validated
against the response schema of that operation in `@octokit/openapi` (tests/contract), and
each webhook the driver sends against the description's `x-webhooks` schema, the stricter
`@octokit/webhooks-schemas` and the published `@octokit/webhooks-examples` payloads.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from conftest import conforms

SIMULATOR = Path(__file__).resolve().parents[2] / "bot" / "simulator"

def test_app_endpoints_match_the_description(world, github_spec):
    c, jwt = world["client"], world["jwt"]
    body = conforms(github_spec, c.get("/app", headers=jwt), "get", "/app", 200)
    assert body["id"] == 77
    tok = conforms(github_spec, c.post(f"/app/installations/{world['inst']}/access_tokens", headers=jwt),
                   "post", "/app/installations/{installation_id}/access_tokens", 201)
    assert tok["token"].startswith("ghs_") and tok["expires_at"].endswith("Z")
    conforms(github_spec, c.post("/app/installations/999999/access_tokens", headers=jwt),
             "post", "/app/installations/{installation_id}/access_tokens", 404)
    conforms(github_spec, c.get("/repos/acme/support-bot/installation", headers=jwt),
             "get", "/repos/{owner}/{repo}/installation", 200)
    inst = conforms(github_spec, c.get(f"/app/installations/{world['inst']}", headers=jwt),
                    "get", "/app/installations/{installation_id}", 200)
    assert inst["account"]["login"] == "acme" and inst["app_id"] == 77
    conforms(github_spec, c.get("/app/installations/999999", headers=jwt), "get", "/app/installations/{installation_id}", 404)


def test_repository_and_pull_request_endpoints_match_the_description(world, github_spec):
    c, n = world["client"], world["pr"].number
    conforms(github_spec, c.get("/repos/acme/support-bot"), "get", "/repos/{owner}/{repo}", 200)
    pull = conforms(github_spec, c.get(f"/repos/acme/support-bot/pulls/{n}"),
                    "get", "/repos/{owner}/{repo}/pulls/{pull_number}", 200)
    assert pull["head"]["sha"] == world["pr"].head_sha and pull["changed_files"] == 43
    files = conforms(github_spec, c.get(f"/repos/acme/support-bot/pulls/{n}/files", params={"per_page": 100}),
                     "get", "/repos/{owner}/{repo}/pulls/{pull_number}/files", 200)
    assert {f["status"] for f in files} == {"added", "modified", "removed"}
    conforms(github_spec, c.get(f"/repos/acme/support-bot/pulls/{n}/commits"),
             "get", "/repos/{owner}/{repo}/pulls/{pull_number}/commits", 200)
    reviews = conforms(github_spec, c.get(f"/repos/acme/support-bot/pulls/{n}/reviews"),
                       "get", "/repos/{owner}/{repo}/pulls/{pull_number}/reviews", 200)
    assert [r["state"] for r in reviews] == ["APPROVED", "CHANGES_REQUESTED"]
    conforms(github_spec, c.get("/repos/acme/support-bot/pulls/999"),
             "get", "/repos/{owner}/{repo}/pulls/{pull_number}", 404)


def test_content_tree_and_blob_endpoints_match_the_description(world, github_spec):
    c, head = world["client"], world["pr"].head_sha
    file = conforms(github_spec, c.get("/repos/acme/support-bot/contents/prompts/system.txt", params={"ref": head}),
                    "get", "/repos/{owner}/{repo}/contents/{path}", 200)
    assert file["encoding"] == "base64"
    conforms(github_spec, c.get("/repos/acme/support-bot/contents/prompts"),
             "get", "/repos/{owner}/{repo}/contents/{path}", 200)
    conforms(github_spec, c.get("/repos/acme/support-bot/contents/nope.txt"),
             "get", "/repos/{owner}/{repo}/contents/{path}", 404)
    for ref in (head, "main", "friendlier"):
        tree = conforms(github_spec, c.get(f"/repos/acme/support-bot/git/trees/{ref}", params={"recursive": 1}),
                        "get", "/repos/{owner}/{repo}/git/trees/{tree_sha}", 200)
    conforms(github_spec, c.get(f"/repos/acme/support-bot/git/blobs/{file['sha']}"),
             "get", "/repos/{owner}/{repo}/git/blobs/{file_sha}", 200)
    assert any(e["path"] == "prompts/system.txt" for e in tree["tree"])


def test_comment_endpoints_match_the_description(world, github_spec):
    c, n = world["client"], world["pr"].number
    made = conforms(github_spec, c.post(f"/repos/acme/support-bot/issues/{n}/comments", json={"body": "hi"}),
                    "post", "/repos/{owner}/{repo}/issues/{issue_number}/comments", 201)
    conforms(github_spec, c.patch(f"/repos/acme/support-bot/issues/comments/{made['id']}", json={"body": "edited"}),
             "patch", "/repos/{owner}/{repo}/issues/comments/{comment_id}", 200)
    listed = conforms(github_spec, c.get(f"/repos/acme/support-bot/issues/{n}/comments"),
                      "get", "/repos/{owner}/{repo}/issues/{issue_number}/comments", 200)
    assert listed[-1]["body"] == "edited" and listed[-1]["user"]["type"] == "Bot"
    bot = listed[-1]["user"]  # as GitHub writes an App's bot user: login encoded in URLs, the App's page
    assert bot["login"].endswith("[bot]") and bot["url"].endswith("/users/" + bot["login"].replace("[bot]", "%5Bbot%5D"))
    assert bot["html_url"] == "https://github.com/apps/" + bot["login"].removesuffix("[bot]")
    conforms(github_spec, c.post(f"/repos/acme/support-bot/issues/{n}/comments", json={"body": "x" * 65537}),
             "post", "/repos/{owner}/{repo}/issues/{issue_number}/comments", 422)


def test_check_run_endpoints_match_the_description(world, github_spec):
    c, head = world["client"], world["pr"].head_sha
    run = conforms(github_spec, c.post("/repos/acme/support-bot/check-runs", json={
        "name": "prompt-review/evals", "head_sha": head, "status": "in_progress", "external_id": "job-1",
        "output": {"title": "Running", "summary": "3 cases"}}), "post", "/repos/{owner}/{repo}/check-runs", 201)
    assert run["pull_requests"][0]["number"] == world["pr"].number
    done = conforms(github_spec, c.patch(f"/repos/acme/support-bot/check-runs/{run['id']}", json={
        "conclusion": "failure", "output": {"title": "1 regression", "summary": "s", "text": "t", "annotations": [
            {"path": "prompts/system.txt", "start_line": 2, "end_line": 2, "annotation_level": "failure",
             "message": "constraint weakened"}]},
        "actions": [{"label": "Accept regression", "description": "Owner accepts", "identifier": "accept"}]}),
        "patch", "/repos/{owner}/{repo}/check-runs/{check_run_id}", 200)
    assert done["status"] == "completed" and done["output"]["annotations_count"] == 1
    conforms(github_spec, c.get(f"/repos/acme/support-bot/check-runs/{run['id']}"),
             "get", "/repos/{owner}/{repo}/check-runs/{check_run_id}", 200)
    listed = conforms(github_spec, c.get(f"/repos/acme/support-bot/commits/{head}/check-runs",
                                         params={"check_name": "prompt-review/evals"}),
                      "get", "/repos/{owner}/{repo}/commits/{ref}/check-runs", 200)
    assert listed["total_count"] == 1
    conforms(github_spec, c.post("/repos/acme/support-bot/check-runs", json={
        "name": "x", "head_sha": head, "status": "completed"}), "post", "/repos/{owner}/{repo}/check-runs", 422)


def test_permission_and_team_endpoints_match_the_description(world, github_spec):
    c = world["client"]
    perm = conforms(github_spec, c.get("/repos/acme/support-bot/collaborators/olivia/permission"),
                    "get", "/repos/{owner}/{repo}/collaborators/{username}/permission", 200)
    assert perm["permission"] == "write"
    members = conforms(github_spec, c.get("/orgs/acme/teams/prompt-owners/members"),
                       "get", "/orgs/{org}/teams/{team_slug}/members", 200)
    assert [m["login"] for m in members] == ["olivia", "omar"]
    conforms(github_spec, c.get("/orgs/acme/teams/prompt-owners/memberships/omar"),
             "get", "/orgs/{org}/teams/{team_slug}/memberships/{username}", 200)
    conforms(github_spec, c.get("/orgs/acme/teams/prompt-owners/memberships/alice"),
             "get", "/orgs/{org}/teams/{team_slug}/memberships/{username}", 404)


def test_delivery_and_manifest_endpoints_match_the_description(world, github_spec):
    c, jwt, sim = world["client"], world["jwt"], world["sim"]
    items = conforms(github_spec, c.get("/app/hook/deliveries", headers=jwt, params={"per_page": 2}),
                     "get", "/app/hook/deliveries", 200)
    one = conforms(github_spec, c.get(f"/app/hook/deliveries/{items[0]['id']}", headers=jwt),
                   "get", "/app/hook/deliveries/{delivery_id}", 200)
    assert one["request"]["payload"]["action"] == items[0]["action"]
    conforms(github_spec, c.post(f"/app/hook/deliveries/{items[0]['id']}/attempts", headers=jwt),
             "post", "/app/hook/deliveries/{delivery_id}/attempts", 202)
    code = sim.register_manifest_code({"name": "My Prompt Review", "url": "https://example.com",
                                       "default_permissions": {"checks": "write"}, "default_events": ["pull_request"]})
    app = conforms(github_spec, c.post(f"/app-manifests/{code}/conversions"),
                   "post", "/app-manifests/{code}/conversions", 201)
    assert app["pem"].startswith("-----BEGIN") and app["webhook_secret"]
    conforms(github_spec, c.post(f"/app-manifests/{code}/conversions"), "post", "/app-manifests/{code}/conversions", 404)


def _common_keys(examples: list[dict]) -> dict[str, set[str]]:
    """Top-level keys every example has, and for object values the keys every example's object has."""
    top = set.intersection(*(set(e) for e in examples))
    out = {"": top}
    for key in top:
        if all(isinstance(e[key], dict) for e in examples):
            out[key] = set.intersection(*(set(e[key]) for e in examples))
    return out


def _events_the_simulator_sends() -> set[str]:
    """Every event name a simulator module passes to `Webhooks.emit(...)` or `.about(...)` (read from the
    source, so a new webhook cannot be added without this test sending and validating it)."""
    out = set()
    for path in SIMULATOR.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not (isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant)):
                continue
            name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", None)
            if name in ("emit", "about") and isinstance(node.args[0].value, str):
                out.add(node.args[0].value)
    return out


def test_every_webhook_the_driver_sends_matches_both_schemas_and_published_examples(world, github_spec, webhook_schemas,
                                                                                 webhook_examples):
    sim, repo, n = world["sim"], world["repo"], world["pr"].number
    c = world["client"]
    run = c.post("/repos/acme/support-bot/check-runs", json={"name": "prompt-review/approval",
                                                             "head_sha": world["pr"].head_sha}).json()
    review = sim.submit_review(repo, n, "omar", "comment", body="ok")
    sim.dismiss_review(repo, n, review.id, message="stale")
    sim.add_label(repo, n, "prompt-review:run-evals")
    sim.remove_label(repo, n, "prompt-review:run-evals")
    sim.request_check_run_action(repo, run["id"], "accept", "olivia")
    c.patch(f"/repos/acme/support-bot/check-runs/{run['id']}", json={"conclusion": "success"}).raise_for_status()
    sim.rerequest_check_run(repo, run["id"], "olivia")  # GitHub offers a re-run on completed runs only
    sim.rerequest_check_suite(repo, world["pr"].head_sha, "olivia")
    sim.ready_for_review(repo, n)
    sim.change_base(repo, n, "main")
    sim.close_pull(repo, n)
    sim.reopen_pull(repo, n)
    second = sim.create_repo("acme", "other", {"a.txt": "a"})
    sim.add_installation_repos(world["inst"], [second.name])
    sim.open_pull(repo, "forked", {"prompts/x.prompt": "hi"}, "From a fork", "mallory", fork=True)
    sim.comment_event(repo, n, "olivia", "/prompt-review deploy staging")
    sim.merge_pull(repo, n, "olivia")
    sim.push_default(repo, {"prompts/system.txt": "You are terse.\n"}, "olivia", "Terser")

    seen, compared = set(), set()
    for d in sim.deliveries():
        key = (d.event, d.action)
        seen.add(key)
        errors = github_spec.webhook_errors(d.event, d.action, d.payload)
        assert errors == [], f"{key} against the OpenAPI description:\n" + "\n".join(errors[:20])
        errors = webhook_schemas.errors(d.event, d.action, d.payload)
        assert errors == [], f"{key} against @octokit/webhooks-schemas:\n" + "\n".join(errors[:20])
        examples = webhook_examples.get(key, [])  # not every event/action has a published example
        if examples:
            compared.add(key)
        for where, keys in (_common_keys(examples).items() if examples else ()):
            ours = d.payload if where == "" else d.payload.get(where, {})
            assert keys <= set(ours), f"{key} {where or 'top level'} lacks {sorted(keys - set(ours))}"
    assert seen >= {("pull_request", "opened"), ("pull_request", "synchronize"), ("pull_request", "labeled"),
                    ("pull_request", "unlabeled"), ("pull_request", "closed"), ("pull_request", "reopened"),
                    ("pull_request", "edited"), ("pull_request", "ready_for_review"),
                    ("pull_request_review", "submitted"), ("pull_request_review", "dismissed"),
                    ("check_run", "requested_action"), ("check_run", "rerequested"), ("check_suite", "rerequested"),
                    ("installation", "created"), ("installation_repositories", "added"), ("push", None),
                    ("issue_comment", "created")}
    assert {event for event, _ in seen} >= _events_the_simulator_sends()
    assert {("pull_request", "opened"), ("pull_request_review", "submitted"), ("check_run", "requested_action"),
            ("check_suite", "rerequested"), ("installation", "created"), ("push", None),
            ("issue_comment", "created")} <= compared


def test_the_driver_refuses_what_github_does_not_offer(world):
    """Re-running a check that has not finished, or reopening a merged PR: GitHub has no button for
    either, and the webhook the simulator would send breaks the event's schema."""
    sim, repo = world["sim"], world["repo"]
    pr = sim.open_pull(repo, "to-merge", {"prompts/merged.txt": "m\n"}, "Merged", "alice")
    run = world["client"].post("/repos/acme/support-bot/check-runs", json={"name": "x", "head_sha": pr.head_sha}).json()
    with pytest.raises(ValueError, match="not completed"):
        sim.rerequest_check_run(repo, run["id"], "olivia")
    sim.merge_pull(repo, pr.number, "olivia")
    with pytest.raises(ValueError, match="merged"):
        sim.reopen_pull(repo, pr.number)


def test_the_contract_checks_reject_bodies_that_break_the_description(world, github_spec, webhook_schemas):
    """Guards the guard: a validator that passes everything would make the tests above vacuous."""
    c, n = world["client"], world["pr"].number
    pull = c.get(f"/repos/acme/support-bot/pulls/{n}").json()
    assert "head" in pull, pull
    del pull["head"]
    assert github_spec.response_errors("get", "/repos/{owner}/{repo}/pulls/{pull_number}", 200, pull)
    pull = c.get(f"/repos/acme/support-bot/pulls/{n}").json()
    pull["draft"] = "no"
    assert github_spec.response_errors("get", "/repos/{owner}/{repo}/pulls/{pull_number}", 200, pull)
    comment = next(x for x in reversed(c.get(f"/repos/acme/support-bot/issues/{n}/comments").json())
                   if x["user"]["type"] == "Bot")
    comment["user"]["url"] = comment["user"]["url"].replace("%5Bbot%5D", "[bot]")  # what the simulator once sent
    assert github_spec.response_errors("get", "/repos/{owner}/{repo}/issues/comments/{comment_id}", 200, comment)
    comment["user"]["url"] = comment["user"]["url"].replace("[bot]", "%5Bbot%5D")
    comment["created_at"] = "yesterday"
    assert github_spec.response_errors("get", "/repos/{owner}/{repo}/issues/comments/{comment_id}", 200, comment)
    opened = next(d for d in world["sim"].deliveries("pull_request") if d.action == "opened").payload
    assert github_spec.webhook_errors("pull_request", "opened", opened) == []
    assert webhook_schemas.errors("pull_request", "opened", opened) == []
    opened["pull_request"]["user"]["shoe_size"] = 42  # the community schemas admit no unknown property
    assert webhook_schemas.errors("pull_request", "opened", opened)
    del opened["pull_request"]["user"]["shoe_size"]
    del opened["pull_request"]["base"]
    assert github_spec.webhook_errors("pull_request", "opened", opened)
    assert webhook_schemas.errors("pull_request", "opened", opened)
