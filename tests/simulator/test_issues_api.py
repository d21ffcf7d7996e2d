"""The simulator's Issues API (re-validation files one issue per suite and model) answers as GitHub's
OpenAPI description says: create, get, update, close, list by label, comment."""

from __future__ import annotations

from conftest import conforms


def test_issues_can_be_created_listed_by_label_commented_updated_and_closed(world, github_spec):
    c = world["client"]
    created = conforms(github_spec, c.post("/repos/acme/support-bot/issues", json={
        "title": "Re-validation: evals/x.yaml regressed on gpt-4o-mini", "body": "3 cases", "labels": ["prompt-review:revalidate"]}),
        "post", "/repos/{owner}/{repo}/issues", 201)
    n = created["number"]
    assert n > world["pr"].number  # issues and pull requests share one number sequence
    listed = conforms(github_spec, c.get("/repos/acme/support-bot/issues", params={"labels": "prompt-review:revalidate"}),
                      "get", "/repos/{owner}/{repo}/issues", 200)
    assert [i["number"] for i in listed] == [n]
    comment = conforms(github_spec, c.post(f"/repos/acme/support-bot/issues/{n}/comments", json={"body": "still regressed"}),
                       "post", "/repos/{owner}/{repo}/issues/{issue_number}/comments", 201)
    assert comment["html_url"].endswith(f"/issues/{n}#issuecomment-{comment['id']}")
    updated = conforms(github_spec, c.patch(f"/repos/acme/support-bot/issues/{n}", json={"body": "4 cases"}), "patch", "/repos/{owner}/{repo}/issues/{issue_number}", 200)
    assert updated["body"] == "4 cases" and updated["comments"] == 1
    closed = conforms(github_spec, c.patch(f"/repos/acme/support-bot/issues/{n}", json={"state": "closed"}), "patch", "/repos/{owner}/{repo}/issues/{issue_number}", 200)
    assert closed["state"] == "closed" and closed["state_reason"] == "completed" and closed["closed_at"]
    conforms(github_spec, c.get(f"/repos/acme/support-bot/issues/{n}"), "get", "/repos/{owner}/{repo}/issues/{issue_number}", 200)
    assert c.get("/repos/acme/support-bot/issues", params={"labels": "prompt-review:revalidate"}).json() == []
    assert [i["number"] for i in c.get("/repos/acme/support-bot/issues", params={"state": "all"}).json()] == [n]
    conforms(github_spec, c.post("/repos/acme/support-bot/issues", json={"body": "no title"}),
             "post", "/repos/{owner}/{repo}/issues", 422)


def test_comments_on_pull_requests_still_work_beside_issue_comments(world, github_spec):
    c, n = world["client"], world["pr"].number
    conforms(github_spec, c.post(f"/repos/acme/support-bot/issues/{n}/comments", json={"body": "on the PR"}),
             "post", "/repos/{owner}/{repo}/issues/{issue_number}/comments", 201)
