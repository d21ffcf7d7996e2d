"""Rollout arms are assigned in the SDK: bucket = hash(repo, path, rollout id, unit) mod 10,000."""

from __future__ import annotations

import collections

from prompt_review_sdk import PromptClient, assign
from manifest_server import PATH, REPO, manifest, split


def test_a_unit_always_gets_the_same_arm_in_every_client(server):
    server.manifests["production"] = manifest(rollout=split(30))
    one, two = PromptClient(server.url, "prt_r", repo=REPO), PromptClient(server.url, "prt_r", repo=REPO)
    for unit in (f"user-{i}" for i in range(500)):
        arms = {one.get(PATH, unit=unit).arm for _ in range(3)} | {two.get(PATH, unit=unit).arm}
        assert len(arms) == 1


def test_proportions_hold_over_100k_units():
    counts = collections.Counter(assign.pick((90.0, 10.0), assign.bucket(REPO, PATH, 7, f"u{i}")) for i in range(100_000))
    assert abs(counts[1] / 100_000 - 0.10) < 0.005  # binomial sd ≈ 0.001


def test_raising_the_percent_only_moves_units_from_control_to_candidate():
    buckets = [assign.bucket(REPO, PATH, 7, f"u{i}") for i in range(20_000)]
    at10 = {i for i, b in enumerate(buckets) if assign.pick((90.0, 10.0), b) == 1}
    at25 = {i for i, b in enumerate(buckets) if assign.pick((75.0, 25.0), b) == 1}
    assert at10 <= at25 and len(at25) > len(at10)


def test_a_new_rollout_reshuffles_units():
    same = sum(assign.bucket(REPO, PATH, 1, f"u{i}") == assign.bucket(REPO, PATH, 2, f"u{i}") for i in range(1000))
    assert same < 10


def test_without_a_unit_each_call_is_assigned_afresh(server):
    server.manifests["production"] = manifest(rollout=split(50))
    client = PromptClient(server.url, "prt_r", repo=REPO)
    arms = collections.Counter(client.get(PATH).arm for _ in range(2000))
    assert 800 < arms["candidate"] < 1200


def test_each_arm_is_a_real_attributable_version(server):
    server.manifests["production"] = manifest(rollout=split(50))
    client = PromptClient(server.url, "prt_r", repo=REPO)
    seen = {p.arm: p for p in (client.get(PATH, unit=f"u{i}") for i in range(200))}
    control, candidate = seen["control"], seen["candidate"]
    assert (control.version, control.content, control.commit) == ("aaaaaaaaaaaa", "You are helpful.", "c" * 40)
    assert (candidate.version, candidate.content, candidate.commit) == ("bbbbbbbbbbbb", "You are very helpful.", "d" * 40)
    attrs = candidate.attributes()
    assert attrs["prompt_review.arm"] == "candidate" and attrs["prompt_review.rollout.id"] == 7
    assert attrs["prompt_review.prompt.version"] == "bbbbbbbbbbbb" and attrs["gen_ai.request.model"] == "gpt-4o-mini"
