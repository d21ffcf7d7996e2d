"""The simulator's REST API behaves like GitHub's where the bot depends on it:
auth, pagination, limits, validation, 404s, rate-limit headers and fault injection."""

from __future__ import annotations

import base64
import threading
import time

import httpx
import jwt
import pytest

from bot.simulator import Call, generate_private_key


@pytest.fixture
def repo(sim):
    sim.create_org("acme")
    files = {"prompts/system.txt": "Be helpful.\n", "big.bin": b"\0" * (1024 * 1024 + 1), "docs/a/b.md": "deep\n"}
    r = sim.create_repo("acme", "support-bot", files)
    sim.inst = sim.install("acme")
    return r


@pytest.fixture
def client(sim, repo):
    token = sim.installation_token(sim.inst)
    with httpx.Client(base_url=sim.server_url, headers={"Authorization": f"token {token}"}, timeout=10) as c:
        yield c


def test_installation_token_is_minted_for_a_valid_app_jwt_and_expires_in_an_hour(sim, repo):
    r = httpx.post(f"{sim.server_url}/app/installations/{sim.inst}/access_tokens",
                   headers={"Authorization": f"Bearer {sim.app_jwt()}"})
    assert r.status_code == 201
    body = r.json()
    expires = time.mktime(time.strptime(body["expires_at"], "%Y-%m-%dT%H:%M:%SZ")) - time.timezone
    assert 3500 < expires - time.time() <= 3601
    got = httpx.get(f"{sim.server_url}/repos/acme/support-bot", headers={"Authorization": f"Bearer {body['token']}"})
    assert got.status_code == 200


@pytest.mark.parametrize("claims_delta, key", [
    ({}, "other"),  # signed with a key that is not the app's
    ({"exp": 3600}, "app"),  # expiry more than 10 minutes ahead
    ({"exp": -120, "iat": -300}, "app"),  # expired
    ({"iss": "999"}, "app"),  # unknown app
])
def test_app_jwt_problems_get_401(sim, repo, claims_delta, key):
    now = int(time.time())
    claims = {"iat": now - 60, "exp": now + 540, "iss": str(sim.app_id)}
    claims.update({k: (now + v if isinstance(v, int) else v) for k, v in claims_delta.items()})
    pem = sim.private_key_pem if key == "app" else generate_private_key()
    token = jwt.encode(claims, pem, "RS256")
    r = httpx.post(f"{sim.server_url}/app/installations/{sim.inst}/access_tokens",
                   headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 401 and r.json()["documentation_url"].startswith("https://docs.github.com")


def test_installation_endpoints_require_a_live_token(sim, repo):
    url = f"{sim.server_url}/repos/acme/support-bot/pulls/1"
    assert httpx.get(url).json()["message"] == "Requires authentication"
    assert httpx.get(url, headers={"Authorization": "token ghs_nope"}).status_code == 401
    token = sim.installation_token(sim.inst)
    assert httpx.get(f"{sim.server_url}/repos/acme/support-bot", headers={"Authorization": f"token {token}"}).status_code == 200
    sim.advance(3601)
    r = httpx.get(f"{sim.server_url}/repos/acme/support-bot", headers={"Authorization": f"token {token}"})
    assert (r.status_code, r.json()["message"]) == (401, "Bad credentials")


def test_a_token_cannot_see_repositories_outside_its_installation(sim, repo):
    sim.create_repo("someone", "private-thing", {"x": "y"})
    token = sim.installation_token(sim.inst)
    r = httpx.get(f"{sim.server_url}/repos/someone/private-thing", headers={"Authorization": f"token {token}"})
    assert r.status_code == 404 and r.json()["message"] == "Not Found"


def test_missing_things_answer_404_with_githubs_body(client):
    for path in ("/repos/acme/support-bot/contents/nope.txt", "/repos/acme/nothing", "/repos/acme/support-bot/pulls/9",
                 "/repos/acme/support-bot/git/blobs/" + "0" * 40, "/repos/acme/support-bot/pulls/abc"):
        r = client.get(path)
        assert r.status_code == 404, path
        assert r.json()["message"] == "Not Found" and r.json()["documentation_url"].startswith("https://docs.github.com")


def test_contents_are_base64_at_a_ref_and_large_files_have_no_inline_content(sim, repo, client):
    pr = sim.open_pull(repo, "b", {"prompts/system.txt": "Be kind.\n"}, "t", "alice")
    head = client.get("/repos/acme/support-bot/contents/prompts/system.txt", params={"ref": pr.head_sha}).json()
    base = client.get("/repos/acme/support-bot/contents/prompts/system.txt").json()
    assert base64.b64decode(head["content"]) == b"Be kind.\n" and base64.b64decode(base["content"]) == b"Be helpful.\n"
    big = client.get("/repos/acme/support-bot/contents/big.bin").json()
    assert (big["encoding"], big["content"], big["size"]) == ("none", "", 1024 * 1024 + 1)
    blob = client.get(f"/repos/acme/support-bot/git/blobs/{big['sha']}").json()
    assert len(base64.b64decode(blob["content"])) == 1024 * 1024 + 1


def test_trees_accept_commit_shas_and_branch_names_and_recurse_only_when_asked(sim, repo, client):
    head = sim.get_repo("acme/support-bot").branches["main"]
    flat = client.get("/repos/acme/support-bot/git/trees/main").json()
    deep = client.get(f"/repos/acme/support-bot/git/trees/{head}", params={"recursive": "1"}).json()
    assert sorted(e["path"] for e in flat["tree"]) == ["big.bin", "docs", "prompts"]
    assert {e["path"] for e in deep["tree"] if e["type"] == "blob"} == {"big.bin", "docs/a/b.md", "prompts/system.txt"}
    assert flat["sha"] == deep["sha"]


def test_git_blob_shas_are_real_git_object_ids(client):
    tree = client.get("/repos/acme/support-bot/git/trees/main", params={"recursive": 1}).json()
    sha = next(e["sha"] for e in tree["tree"] if e["path"] == "prompts/system.txt")
    assert sha == "a7aa68dac523f4a44c476d03162914ac534773fe"  # `printf 'Be helpful.\n' | git hash-object --stdin`


def test_pull_request_files_paginate_with_link_headers_and_stop_at_3000(sim, repo, client):
    pr = sim.open_pull(repo, "many", {f"f/{i:04}.txt": f"{i}\n" for i in range(3005)}, "many", "alice")
    first = client.get(f"/repos/acme/support-bot/pulls/{pr.number}/files", params={"per_page": 100})
    assert 'rel="next"' in first.headers["link"] and 'rel="last"' in first.headers["link"]
    assert "page=30" in first.links["last"]["url"]
    names, url = [], first.links["next"]["url"]
    names += [f["filename"] for f in first.json()]
    while url:
        r = client.get(url)
        names += [f["filename"] for f in r.json()]
        url = r.links.get("next", {}).get("url")
    assert len(names) == len(set(names)) == 3000
    assert names == [f"f/{i:04}.txt" for i in range(3000)]  # always the same 3,000, in path order
    assert client.get(f"/repos/acme/support-bot/pulls/{pr.number}").json()["changed_files"] == 3005


def test_recursive_trees_past_the_entry_limit_are_cut_and_say_truncated(sim, repo, client):
    sim.tree_entry_limit = 3  # GitHub's is 100,000 entries (or 7 MB)
    deep = client.get("/repos/acme/support-bot/git/trees/main", params={"recursive": "1"}).json()
    flat = client.get("/repos/acme/support-bot/git/trees/main").json()
    assert deep["truncated"] is True and len(deep["tree"]) == 3
    assert flat["truncated"] is False  # only recursive listings are cut here
    sim.tree_entry_limit = 100_000
    assert client.get("/repos/acme/support-bot/git/trees/main", params={"recursive": "1"}).json()["truncated"] is False


def test_per_page_is_capped_at_100(sim, repo, client):
    pr = sim.open_pull(repo, "many", {f"f/{i}.txt": "x" for i in range(150)}, "many", "alice")
    r = client.get(f"/repos/acme/support-bot/pulls/{pr.number}/files", params={"per_page": 500})
    assert len(r.json()) == 100


def test_pull_commits_list_only_the_branch_commits_oldest_first(sim, repo, client):
    pr = sim.open_pull(repo, "b", {"a.txt": "1"}, "t", "alice")
    second = sim.push(repo, pr.number, {"a.txt": "2"})
    shas = [c["sha"] for c in client.get(f"/repos/acme/support-bot/pulls/{pr.number}/commits").json()]
    assert shas == [pr.head_sha, second.head_sha]


def test_comment_limits_and_edits(sim, repo, client):
    pr = sim.open_pull(repo, "b", {"a.txt": "1"}, "t", "alice")
    url = f"/repos/acme/support-bot/issues/{pr.number}/comments"
    assert client.post(url, json={"body": "x" * 65537}).status_code == 422
    assert client.post(url, json={}).status_code == 422
    made = client.post(url, json={"body": "x" * 65536})
    assert made.status_code == 201
    client.patch(f"/repos/acme/support-bot/issues/comments/{made.json()['id']}", json={"body": "short"})
    assert [c.body for c in sim.comments(repo, pr.number)] == ["short"]
    assert sim.comments(repo, pr.number)[0].user == "prompt-review[bot]"


def test_check_run_validation_matches_githubs_limits(sim, repo, client):
    pr = sim.open_pull(repo, "b", {"a.txt": "1"}, "t", "alice")
    url = "/repos/acme/support-bot/check-runs"
    base = {"name": "prompt-review/evals", "head_sha": pr.head_sha}
    ann = {"path": "a.txt", "start_line": 1, "end_line": 1, "annotation_level": "warning", "message": "m"}
    assert client.post(url, json={**base, "status": "completed"}).status_code == 422
    assert client.post(url, json={**base, "output": {"title": "t", "summary": "s" * 65536}}).status_code == 422
    assert client.post(url, json={**base, "output": {"title": "t", "summary": "s", "text": "t" * 65536}}).status_code == 422
    assert client.post(url, json={**base, "output": {"title": "t", "summary": "s", "annotations": [ann] * 51}}).status_code == 422
    assert client.post(url, json={**base, "head_sha": "f" * 40}).status_code == 422
    ok = client.post(url, json={**base, "conclusion": "success", "output": {"title": "t", "summary": "s" * 65535,
                                                                        "annotations": [ann] * 50}})
    assert ok.status_code == 201 and ok.json()["status"] == "completed" and ok.json()["completed_at"]
    run = sim.check_runs(repo, pr.head_sha)[0]
    assert (run.conclusion, run.annotations_count) == ("success", 50)


def test_check_runs_for_a_ref_are_filtered_by_name_and_latest(sim, repo, client):
    pr = sim.open_pull(repo, "b", {"a.txt": "1"}, "t", "alice")
    for name in ("prompt-review/evals", "prompt-review/evals", "prompt-review/approval"):
        client.post("/repos/acme/support-bot/check-runs", json={"name": name, "head_sha": pr.head_sha})
    url = f"/repos/acme/support-bot/commits/{pr.head_sha}/check-runs"
    assert client.get(url).json()["total_count"] == 2
    assert client.get(url, params={"filter": "all"}).json()["total_count"] == 3
    by_name = client.get("/repos/acme/support-bot/commits/b/check-runs", params={"check_name": "prompt-review/approval"})
    assert [r["name"] for r in by_name.json()["check_runs"]] == ["prompt-review/approval"]


def test_permissions_and_team_membership(sim, repo, client):
    sim.add_team("acme", "owners", ["olivia"])
    sim.set_permission(repo, "olivia", "maintain")
    sim.set_permission(repo, "tom", "triage")
    perm = lambda u: client.get(f"/repos/acme/support-bot/collaborators/{u}/permission").json()  # noqa: E731
    assert (perm("olivia")["permission"], perm("olivia")["role_name"]) == ("write", "maintain")
    assert perm("tom")["permission"] == "read"
    sim.comment(repo, 1, "stranger", "hi")  # makes the user known without any permission
    assert perm("stranger")["permission"] == "none"
    assert client.get("/repos/acme/support-bot/collaborators/ghost/permission").status_code == 404
    assert client.get("/orgs/acme/teams/owners/memberships/olivia").json()["state"] == "active"
    assert client.get("/orgs/acme/teams/owners/memberships/tom").status_code == 404
    assert client.get("/orgs/acme/teams/nobody/members").status_code == 404


def test_responses_carry_rate_limit_headers_counted_per_token(client):
    one = client.get("/repos/acme/support-bot")
    two = client.get("/repos/acme/support-bot")
    assert one.headers["x-ratelimit-limit"] == "5000"
    assert int(two.headers["x-ratelimit-remaining"]) == int(one.headers["x-ratelimit-remaining"]) - 1
    assert int(one.headers["x-ratelimit-reset"]) > time.time()


def test_faults_fail_the_next_n_matching_calls_then_recover(sim, repo, client):
    pr = sim.open_pull(repo, "b", {"a.txt": "1"}, "t", "alice")
    sim.add_fault(r"/issues/\d+/comments$", status=502, times=2, method="POST")
    url = f"/repos/acme/support-bot/issues/{pr.number}/comments"
    statuses = [client.post(url, json={"body": "hi"}).status_code for _ in range(3)]
    assert statuses == [502, 502, 201]
    assert client.get(url).status_code == 200  # GET was not targeted
    assert [c.status for c in sim.calls_to("POST", r"/issues/\d+/comments$")] == [502, 502, 201]
    assert len(sim.comments(repo, pr.number)) == 1
    assert Call("GET", url, 200) in sim.calls


def test_rate_limit_faults_carry_retry_after_or_a_zero_remaining(sim, repo, client):
    sim.add_fault("/repos/acme/support-bot$", status=403, retry_after=7)
    r = client.get("/repos/acme/support-bot")
    assert (r.status_code, r.headers["retry-after"]) == (403, "7")
    assert "secondary rate limit" in r.json()["message"]
    sim.add_fault("/repos/acme/support-bot$", status=403, primary_rate_limit=True)
    r = client.get("/repos/acme/support-bot")
    assert r.headers["x-ratelimit-remaining"] == "0" and int(r.headers["x-ratelimit-reset"]) > time.time()
    sim.add_fault("/repos/acme/support-bot$", status=429, retry_after=1)
    assert client.get("/repos/acme/support-bot").status_code == 429
    assert client.get("/repos/acme/support-bot").status_code == 200


def test_delay_faults_make_the_client_time_out(sim, repo, client):
    sim.add_fault("/repos/acme/support-bot$", delay=1.0)
    with pytest.raises(httpx.ReadTimeout):
        client.get("/repos/acme/support-bot", timeout=0.2)
    assert client.get("/repos/acme/support-bot").status_code == 200


def test_faults_can_be_armed_over_http(sim, repo, client):
    r = httpx.post(f"{sim.server_url}/_sim/faults", json={"path": "/pulls/", "status": 500, "times": 1})
    assert r.status_code == 201
    assert client.get("/repos/acme/support-bot/pulls/1").status_code == 500
    httpx.post(f"{sim.server_url}/_sim/faults", json={"path": "/pulls/", "status": 500, "times": None})
    assert httpx.delete(f"{sim.server_url}/_sim/faults").status_code == 204
    assert client.get("/repos/acme/support-bot/pulls/1").status_code == 404


def test_manifest_conversion_creates_an_app_whose_key_works(sim):
    code = sim.register_manifest_code({"name": "PR Review Test", "default_events": ["pull_request"]})
    app = httpx.post(f"{sim.server_url}/app-manifests/{code}/conversions").json()
    now = int(time.time())
    token = jwt.encode({"iat": now - 60, "exp": now + 500, "iss": str(app["id"])}, app["pem"], "RS256")
    me = httpx.get(f"{sim.server_url}/app", headers={"Authorization": f"Bearer {token}"}).json()
    assert (me["id"], me["slug"], me["events"]) == (app["id"], "pr-review-test", ["pull_request"])
    assert httpx.post(f"{sim.server_url}/app-manifests/{code}/conversions").status_code == 404  # codes are single-use


def test_state_stays_consistent_while_http_and_driver_run_concurrently(sim, repo, client):
    pr = sim.open_pull(repo, "b", {"a.txt": "0"}, "t", "alice")
    url = f"{sim.server_url}/repos/acme/support-bot/issues/{pr.number}/comments"
    headers = dict(client.headers)

    def post_many() -> None:
        with httpx.Client(headers=headers) as c:
            for i in range(10):
                assert c.post(url, json={"body": f"c{i}"}).status_code == 201

    threads = [threading.Thread(target=post_many) for _ in range(6)]
    for t in threads:
        t.start()
    for i in range(10):
        sim.push(repo, pr.number, {"a.txt": str(i + 1)})
    for t in threads:
        t.join()
    ids = [c.id for c in sim.comments(repo, pr.number)]
    assert len(ids) == len(set(ids)) == 60
    assert sim.file(repo, sim.pull(repo, pr.number).head_sha, "a.txt") == b"10"


def test_a_repo_built_from_a_directory_serves_its_files(sim, tmp_path):
    (tmp_path / "prompts").mkdir()
    (tmp_path / "prompts" / "system.prompt").write_text("Hello {{name}}\n")
    (tmp_path / ".git").mkdir()
    (tmp_path / ".git" / "HEAD").write_text("ref: refs/heads/main\n")
    sim.create_repo_from_dir("acme", "from-dir", tmp_path)
    inst = sim.install("acme")
    headers = {"Authorization": f"token {sim.installation_token(inst)}"}
    tree = httpx.get(f"{sim.server_url}/repos/acme/from-dir/git/trees/main?recursive=1", headers=headers).json()
    assert [e["path"] for e in tree["tree"] if e["type"] == "blob"] == ["prompts/system.prompt"]


def test_dismissed_and_later_reviews_show_in_the_reviews_list(sim, repo, client):
    pr = sim.open_pull(repo, "b", {"a.txt": "1"}, "t", "alice")
    first = sim.submit_review(repo, pr.number, "olivia", "approve")
    pushed = sim.push(repo, pr.number, {"a.txt": "2"})
    sim.dismiss_review(repo, pr.number, first.id)
    sim.submit_review(repo, pr.number, "olivia", "APPROVED")
    listed = client.get(f"/repos/acme/support-bot/pulls/{pr.number}/reviews").json()
    assert [(r["state"], r["commit_id"]) for r in listed] == [("DISMISSED", pr.head_sha), ("APPROVED", pushed.head_sha)]


def test_the_links_the_bot_writes_open_pages_on_the_simulator(sim, api):
    """A check run's and a PR's github.com links (web URL = the simulator's URL) answer with a page."""
    repo = sim.create_repo("acme", "pages", {"p.txt": "a"})
    pr = sim.open_pull(repo, "b", {"p.txt": "b"}, "Change the prompt", "alice")
    inst = sim.install("acme")
    api.headers["Authorization"] = f"token {sim.installation_token(inst)}"
    run = api.post("/repos/acme/pages/check-runs", json={"name": "prompt-review/evals", "head_sha": pr.head_sha,
                                                         "conclusion": "failure", "output": {"title": "1 regressed",
                                                                                             "summary": "**case 7**"}}).json()
    comment = api.post(f"/repos/acme/pages/issues/{pr.number}/comments", json={"body": "see *this*"}).json()
    page = api.get(f"/acme/pages/runs/{run['id']}")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "prompt-review/evals: failure" in page.text and "<strong>case 7</strong>" in page.text
    pull = api.get(f"/acme/pages/pull/{pr.number}")
    assert pull.status_code == 200 and f'id="issuecomment-{comment["id"]}"' in pull.text
    assert f'href="/acme/pages/runs/{run["id"]}"' in pull.text and "<em>this</em>" in pull.text
    assert api.get("/acme/pages/runs/999999").status_code == 404
