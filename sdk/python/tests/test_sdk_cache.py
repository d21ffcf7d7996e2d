"""Never take the app down: memory (stale-while-revalidate) → server → disk snapshot → bundle."""

from __future__ import annotations

import json
import logging
import time

import pytest

from prompt_review_sdk import AsyncPromptClient, PromptClient, PromptUnavailable
from manifest_server import PATH, REPO, manifest


def gets(server) -> int:
    return sum(1 for method, path, _ in server.requests if method == "GET")


def wait_for(condition, timeout=30.0):
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "not within the timeout"
        time.sleep(0.01)


def test_a_cached_get_makes_no_request(server):
    client = PromptClient(server.url, "prt_r", repo=REPO, ttl=60)
    first = client.get(PATH)
    for _ in range(1000):
        assert client.get(PATH) is first
    assert gets(server) == 1
    assert server.requests[0][2]["Authorization"] == "Bearer prt_r"


def test_after_the_ttl_the_stale_prompt_is_served_and_refreshed_in_the_background(server):
    client = PromptClient(server.url, "prt_r", repo=REPO, ttl=0.05)
    assert client.get(PATH).version == "aaaaaaaaaaaa"
    server.manifests["production"] = manifest("bbbbbbbbbbbb", "New.")
    time.sleep(0.1)
    assert client.get(PATH).version == "aaaaaaaaaaaa"  # stale, at once
    wait_for(lambda: client.get(PATH).version == "bbbbbbbbbbbb")


def test_an_unchanged_manifest_is_revalidated_with_its_etag(server):
    client = PromptClient(server.url, "prt_r", repo=REPO, ttl=60)
    client.get(PATH)
    assert client.refresh()
    assert server.requests[-1][2].get("If-None-Match") == manifest()["etag"]


def test_server_down_keeps_serving_from_memory_and_logs_the_outage_once(server, caplog):
    client = PromptClient(server.url, "prt_r", repo=REPO, ttl=0.01, timeout=1)
    before = client.get(PATH)
    server.stop()
    with caplog.at_level(logging.WARNING, logger="prompt_review_sdk"):
        for _ in range(50):
            assert client.get(PATH).version == before.version
            client.refresh()
            time.sleep(0.005)
    assert len([r for r in caplog.records if "serving cached prompts" in r.message]) == 1


def test_a_restarted_app_reads_the_snapshot_then_the_bundle(server, tmp_path):
    PromptClient(server.url, "prt_r", repo=REPO, cache_dir=tmp_path / "cache").get(PATH)
    server.stop()
    restarted = PromptClient(server.url, "prt_r", repo=REPO, cache_dir=tmp_path / "cache", timeout=1)
    snap = restarted.get(PATH)
    assert (snap.version, snap.source, snap.commit) == ("aaaaaaaaaaaa", "snapshot", "c" * 40)

    bundle = tmp_path / "bundle.json"
    bundle.write_text(json.dumps({"schema": "prompt-review/bundle@1", **manifest("eeeeeeeeeeee", "Built in.")}))
    fresh = PromptClient(server.url, "prt_r", repo=REPO, cache_dir=tmp_path / "empty", bundle=bundle, timeout=1)
    got = fresh.get(PATH)
    assert (got.version, got.content, got.source, got.label) == ("eeeeeeeeeeee", "Built in.", "bundle", "production")
    assert got.attributes()["prompt_review.source"] == "bundle"


def test_the_snapshot_comes_before_the_bundle(server, tmp_path):
    PromptClient(server.url, "prt_r", repo=REPO, cache_dir=tmp_path).get(PATH)
    server.stop()
    bundle = tmp_path / "bundle.json"
    bundle.write_text(json.dumps({"schema": "prompt-review/bundle@1", **manifest("eeeeeeeeeeee")}))
    assert PromptClient(server.url, "prt_r", repo=REPO, cache_dir=tmp_path, bundle=bundle, timeout=1).get(PATH).source == "snapshot"


def test_no_source_at_all_is_a_clear_error(server):
    server.stop()
    with pytest.raises(PromptUnavailable, match="no bundle"):
        PromptClient(server.url, "prt_r", repo=REPO, timeout=1).get(PATH)


def test_an_unknown_prompt_names_the_ones_there_are(server):
    with pytest.raises(PromptUnavailable, match="prompts/support/system.md"):
        PromptClient(server.url, "prt_r", repo=REPO).get("prompts/nope.md")


def test_a_bundle_of_another_format_is_refused(tmp_path):
    bad = tmp_path / "b.json"
    bad.write_text(json.dumps({"schema": "something-else", "repo": REPO}))
    with pytest.raises(ValueError, match="prompt-review/bundle@1"):
        PromptClient(None, None, bundle=bad)


def test_gets_from_many_threads_fetch_once(server):
    import threading

    client = PromptClient(server.url, "prt_r", repo=REPO, ttl=60)
    threads = [threading.Thread(target=lambda: [client.get(PATH) for _ in range(100)]) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert gets(server) == 1


def test_the_async_client(server):
    import asyncio

    async def main():
        client = AsyncPromptClient(server.url, "prt_r", repo=REPO)
        first = await client.get(PATH)
        second = await client.get(PATH)
        await client.aclose()
        return first, second

    first, second = asyncio.run(main())
    assert first is second and first.version == "aaaaaaaaaaaa"


def test_render_uses_the_template_language_of_the_evals(server):
    server.manifests["production"] = manifest(content="Hello {{ name | upper }}{% if vip %}, welcome back{% endif %}.")
    assert PromptClient(server.url, "prt_r", repo=REPO).get(PATH).render(name="ada", vip=True) == "Hello ADA, welcome back."
