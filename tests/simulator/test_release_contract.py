"""The endpoints the release half and the model axis use answer as GitHub's pinned OpenAPI description
says: the signed-in user (`GET /user`), Deployments and their statuses, reactions on comments, the
commits of a branch and the pull requests a commit belongs to."""

from __future__ import annotations

from conftest import conforms

DEPLOYMENTS = "/repos/{owner}/{repo}/deployments"
STATUSES = "/repos/{owner}/{repo}/deployments/{deployment_id}/statuses"
REACTIONS = "/repos/{owner}/{repo}/issues/comments/{comment_id}/reactions"


def test_the_user_behind_a_user_token_matches_the_description(world, github_spec):
    c, sim = world["client"], world["sim"]
    token = sim.user_token("olivia")
    me = conforms(github_spec, c.get("/user", headers={"Authorization": f"Bearer {token}"}), "get", "/user", 200)
    assert me["login"] == "olivia" and me["type"] == "User"
    conforms(github_spec, c.get("/user", headers={"Authorization": "Bearer ghu_nope"}), "get", "/user", 401)
    sim.revoke_user_token(token)
    conforms(github_spec, c.get("/user", headers={"Authorization": f"Bearer {token}"}), "get", "/user", 401)


def test_deployments_and_their_statuses_match_the_description(world, github_spec):
    c, head = world["client"], world["pr"].head_sha
    made = conforms(github_spec, c.post("/repos/acme/support-bot/deployments", json={
        "ref": head, "environment": "prompts/staging", "description": "deploy staging",
        "payload": {"label": "staging", "prompts": ["prompts/system.txt"]}, "auto_merge": False,
        "required_contexts": [], "production_environment": False}), "post", DEPLOYMENTS, 201)
    assert made["sha"] == head and made["environment"] == "prompts/staging" and made["payload"]["label"] == "staging"
    one = conforms(github_spec, c.get(f"/repos/acme/support-bot/deployments/{made['id']}"),
                   "get", "/repos/{owner}/{repo}/deployments/{deployment_id}", 200)
    assert one["id"] == made["id"]
    first = conforms(github_spec, c.post(f"/repos/acme/support-bot/deployments/{made['id']}/statuses", json={
        "state": "in_progress", "description": "moving labels"}), "post", STATUSES, 201)
    done = conforms(github_spec, c.post(f"/repos/acme/support-bot/deployments/{made['id']}/statuses", json={
        "state": "success", "log_url": "http://127.0.0.1:9/labels", "environment_url": "http://127.0.0.1:9/manifest"}),
        "post", STATUSES, 201)
    assert done["environment_url"] == "http://127.0.0.1:9/manifest"
    statuses = conforms(github_spec, c.get(f"/repos/acme/support-bot/deployments/{made['id']}/statuses"),
                        "get", STATUSES, 200)
    assert [s["id"] for s in statuses] == [done["id"], first["id"]]  # newest first
    listed = conforms(github_spec, c.get("/repos/acme/support-bot/deployments", params={"environment": "prompts/staging"}),
                      "get", DEPLOYMENTS, 200)
    assert [d["id"] for d in listed] == [made["id"]]
    conforms(github_spec, c.post("/repos/acme/support-bot/deployments", json={"ref": "no-such-branch"}),
             "post", DEPLOYMENTS, 422)
    conforms(github_spec, c.post(f"/repos/acme/support-bot/deployments/{made['id']}/statuses", json={"state": "done"}),
             "post", STATUSES, 422)
    conforms(github_spec, c.get("/repos/acme/support-bot/deployments/999999"),
             "get", "/repos/{owner}/{repo}/deployments/{deployment_id}", 404)


def test_a_reaction_on_a_comment_matches_the_description_and_is_made_once(world, github_spec):
    c, sim, n = world["client"], world["sim"], world["pr"].number
    comment = sim.comment_event(world["repo"], n, "olivia", "/prompt-review deploy staging")
    path = f"/repos/acme/support-bot/issues/comments/{comment.id}/reactions"
    made = conforms(github_spec, c.post(path, json={"content": "rocket"}), "post", REACTIONS, 201)
    again = conforms(github_spec, c.post(path, json={"content": "rocket"}), "post", REACTIONS, 200)  # as GitHub: no duplicate
    assert again["id"] == made["id"] and sim.reactions_of(comment.id) == ["rocket"]
    conforms(github_spec, c.post(path, json={"content": "party"}), "post", REACTIONS, 422)


def test_commits_of_a_branch_and_the_pulls_of_a_commit_match_the_description(world, github_spec):
    c, pr = world["client"], world["pr"]
    commits = conforms(github_spec, c.get("/repos/acme/support-bot/commits", params={"sha": "friendlier"}),
                       "get", "/repos/{owner}/{repo}/commits", 200)
    assert commits[0]["sha"] == pr.head_sha
    pulls = conforms(github_spec, c.get(f"/repos/acme/support-bot/commits/{pr.head_sha}/pulls"),
                     "get", "/repos/{owner}/{repo}/commits/{commit_sha}/pulls", 200)
    assert [p["number"] for p in pulls] == [pr.number]
    conforms(github_spec, c.get("/repos/acme/support-bot/commits", params={"sha": "no-such-branch"}),
             "get", "/repos/{owner}/{repo}/commits", 404)
