"""The simulator's driver sends webhooks the way GitHub does and records every delivery."""

from __future__ import annotations

import hashlib
import hmac
import json
import uuid

import httpx

from bot.serving import free_port
from bot.simulator import Simulator, sign

from conftest import SECRET


def _repo(sim):
    sim.create_org("acme")
    repo = sim.create_repo("acme", "support-bot", {"prompts/system.txt": "Be helpful.\n", "README.md": "hi\n"})
    inst = sim.install("acme")
    return repo, inst


def test_github_published_signature_vector_is_reproduced():
    assert sign(SECRET, b"Hello, World!") == "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"


def test_opening_a_pull_request_delivers_a_signed_pull_request_opened_webhook(sim, receiver):
    sim.webhook_url = receiver.url
    repo, inst = _repo(sim)
    pr = sim.open_pull(repo, "friendlier", {"prompts/system.txt": "Be friendly.\n"}, "Friendlier", "alice")

    got = receiver.received[-1]
    expected = "sha256=" + hmac.new(SECRET.encode(), got.body, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(got.headers["x-hub-signature-256"], expected)
    assert got.headers["x-github-event"] == "pull_request"
    assert uuid.UUID(got.headers["x-github-delivery"])
    assert got.headers["user-agent"].startswith("GitHub-Hookshot/")
    assert got.headers["content-type"] == "application/json"
    payload = json.loads(got.body)
    assert payload["action"] == "opened" and payload["number"] == pr.number
    assert payload["installation"]["id"] == inst
    assert payload["repository"]["full_name"] == "acme/support-bot"
    assert payload["pull_request"]["head"]["sha"] == pr.head_sha
    assert payload["pull_request"]["base"]["sha"] == pr.base_sha
    assert payload["sender"]["login"] == "alice"
    last = sim.deliveries()[-1]
    assert (last.event, last.action, last.status_code, last.ok) == ("pull_request", "opened", 202, True)
    assert last.guid == got.headers["x-github-delivery"] and last.body == got.body


def test_push_sends_synchronize_with_before_and_after_and_moves_the_head(sim, receiver):
    sim.webhook_url = receiver.url
    repo, _ = _repo(sim)
    pr = sim.open_pull(repo, "b", {"prompts/system.txt": "v2\n"}, "t", "alice")
    pushed = sim.push(repo, pr.number, {"prompts/system.txt": "v3\n"})
    payload = json.loads(receiver.received[-1].body)
    assert payload["action"] == "synchronize"
    assert (payload["before"], payload["after"]) == (pr.head_sha, pushed.head_sha)
    assert sim.file(repo, pushed.head_sha, "prompts/system.txt") == b"v3\n"
    back = sim.push(repo, pr.number, {}, force_to_sha=pr.head_sha)
    assert back.head_sha == pr.head_sha and sim.pull(repo, pr.number).head_sha == pr.head_sha


def test_failed_deliveries_are_recorded_and_redelivered_with_the_same_guid(sim, receiver):
    sim.webhook_url = receiver.url
    receiver.status = 500
    repo, _ = _repo(sim)
    sim.open_pull(repo, "b", {"a.txt": "x"}, "t", "alice")
    failed = sim.deliveries()[-1]
    assert failed.status_code == 500 and not failed.ok
    receiver.status = 202
    again = sim.redeliver(failed.id)
    assert again.redelivery and again.guid == failed.guid and again.ok
    assert receiver.received[-1].body == receiver.received[-2].body


def test_unreachable_receiver_is_a_failed_delivery_not_an_error(sim):
    sim.webhook_url = f"http://127.0.0.1:{free_port()}/webhook"
    repo, _ = _repo(sim)
    sim.open_pull(repo, "b", {"a.txt": "x"}, "t", "alice")
    d = sim.deliveries()[-1]
    assert d.status_code == 0 and not d.ok and "couldn't deliver" in d.status


def test_redelivery_over_the_api_resends_a_failed_delivery(sim, receiver):
    sim.webhook_url = receiver.url
    receiver.status = 503
    repo, _ = _repo(sim)
    sim.open_pull(repo, "b", {"a.txt": "x"}, "t", "alice")
    receiver.status = 202
    jwt = {"Authorization": f"Bearer {sim.app_jwt()}"}
    failed = httpx.get(f"{sim.server_url}/app/hook/deliveries", params={"status": "failure"}, headers=jwt).json()
    assert [d["action"] for d in failed] == ["opened", "created"]
    r = httpx.post(f"{sim.server_url}/app/hook/deliveries/{failed[0]['id']}/attempts", headers=jwt)
    assert r.status_code == 202
    sim.wait_for_deliveries()
    redone = [d for d in sim.deliveries() if d.redelivery]
    assert len(redone) == 1 and redone[0].guid == failed[0]["guid"] and redone[0].ok


def test_delivery_list_pages_with_a_cursor_newest_first(sim):
    repo, _ = _repo(sim)
    pr = sim.open_pull(repo, "b", {"a.txt": "x"}, "t", "alice")
    for i in range(6):
        sim.add_label(repo, pr.number, f"l{i}")
    jwt = {"Authorization": f"Bearer {sim.app_jwt()}"}
    url, ids = f"{sim.server_url}/app/hook/deliveries?per_page=3", []
    while url:
        r = httpx.get(url, headers=jwt)
        ids += [d["id"] for d in r.json()]
        url = r.links.get("next", {}).get("url")
    assert ids == sorted((d.id for d in sim.deliveries()), reverse=True)
    assert len(ids) == 8


def test_reviews_labels_and_check_run_buttons_send_their_events(sim, receiver):
    sim.webhook_url = receiver.url
    repo, inst = _repo(sim)
    pr = sim.open_pull(repo, "b", {"a.txt": "x"}, "t", "alice", labels=["prompts"])
    review = sim.submit_review(repo, pr.number, "olivia", "approve")
    assert review.state == "APPROVED" and review.commit_id == pr.head_sha
    token = sim.installation_token(inst)
    run = httpx.post(f"{sim.server_url}/repos/acme/support-bot/check-runs", headers={"Authorization": f"token {token}"},
                     json={"name": "prompt-review/approval", "head_sha": pr.head_sha, "status": "in_progress"}).json()
    sim.request_check_run_action(repo, run["id"], "accept", "olivia")
    sim.dismiss_review(repo, pr.number, review.id, message="stale")
    events = [(d.event, d.action) for d in sim.deliveries()]
    assert events[-3:] == [("pull_request_review", "submitted"), ("check_run", "requested_action"),
                           ("pull_request_review", "dismissed")]
    action = json.loads(receiver.received[-2].body)
    assert action["requested_action"] == {"identifier": "accept"} and action["check_run"]["id"] == run["id"]
    assert json.loads(receiver.received[-3].body)["review"]["state"] == "approved"
    assert sim.pull(repo, pr.number).labels == ("prompts",)


def test_fork_pull_request_names_the_fork_as_head_repo(sim):
    repo, _ = _repo(sim)
    pr = sim.open_pull(repo, "patch", {"prompts/system.txt": "evil\n"}, "t", "mallory", fork=True)
    payload = sim.deliveries()[-1].payload
    assert payload["pull_request"]["head"]["repo"]["full_name"] == "mallory/support-bot"
    assert payload["pull_request"]["head"]["repo"]["fork"] is True
    assert sim.file(repo, pr.head_sha, "prompts/system.txt") == b"evil\n"  # readable through the base repo


def test_asynchronous_mode_returns_before_the_receiver_answers(app_key, receiver):
    sim = Simulator(webhook_url=receiver.url, webhook_secret=SECRET, private_key_pem=app_key, sync_webhooks=False)
    repo, _ = _repo(sim)
    sim.open_pull(repo, "b", {"a.txt": "x"}, "t", "alice")
    sim.wait_for_deliveries()
    assert [d.ok for d in sim.deliveries()] == [True, True]
    assert len(receiver.received) == 2
    sim.close()


def test_arbitrary_payloads_can_be_delivered_signed(sim, receiver):
    sim.webhook_url = receiver.url
    d = sim.deliver("ping", {"zen": "Keep it logically awesome.", "hook_id": 1})
    got = receiver.received[-1]
    assert got.headers["x-github-event"] == "ping" and d.ok
    assert got.headers["x-hub-signature-256"] == sign(SECRET, got.body)
