"""`prompt-review review` on the demo's "friendlier" PR, on a real git repository: the first screen
says which change broke which cases, the JSON carries cluster → cause with evidence, and the text
form is free of markdown."""

from __future__ import annotations

import json

import httpx

from tests.cli.test_review_cli import commit_overlay, model_url, repo, review  # noqa: F401 (fixtures)

RULE = "Refunds are only possible within 30 days of delivery."


def test_the_json_names_the_removed_30_day_rule_as_the_cause_of_the_41_refund_cases(repo, model_url):  # noqa: F811
    commit_overlay(repo, "friendlier")
    result = review(repo, model_url, "--format", "json", "--no-cache")
    assert result.returncode == 1, result.stderr
    ex = json.loads(result.stdout)["explanation"]
    (cluster,) = ex["clusters"]
    assert cluster["kind"] == "regressed" and len(cluster["cases"]) == 41
    (cause,) = ex["causes"]
    assert cause["cluster"] == cluster["id"] and cause["determined"]
    assert cause["evidence"] == "reverting it alone restores 5 of 5 sampled cases"
    (change,) = cause["cause_changes"]
    assert change["type"] == "instruction_removed" and change["before"] == RULE and change["base_lines"] == [9, 9]


def test_the_stats_count_every_model_call_the_review_made_the_ablation_included(repo, model_url):  # noqa: F811
    commit_overlay(repo, "friendlier")
    before = httpx.get(model_url + "/_control/stats").json()["requests"]
    result = review(repo, model_url, "--format", "json", "--no-cache")
    sent = httpx.get(model_url + "/_control/stats").json()["requests"] - before
    data = json.loads(result.stdout)
    stats = data["evals"]["stats"]
    assert stats["explain_calls"] == data["explanation"]["calls"] > 0
    assert stats["model_calls"] == sent


def test_the_first_screen_of_text_and_markdown_says_removing_the_rule_broke_the_41_cases(repo, model_url, tmp_path):  # noqa: F811
    commit_overlay(repo, "friendlier")
    cache = str(tmp_path / "cache")
    text = review(repo, model_url, "--format", "text", "--cache-dir", cache, "--quiet").stdout
    first_screen = " ".join(text.splitlines()[:12])
    assert f"Removing “{RULE}”" in first_screen and "broke 41 refund_eligibility cases" in first_screen
    assert "restores 5 of 5 sampled cases" in first_screen
    for markup in ("\\.", "\\_", "<details>", "|---", "**", "<!--"):
        assert markup not in text
    markdown = review(repo, model_url, "--format", "markdown", "--cache-dir", cache, "--quiet").stdout
    head = "\n".join(markdown.splitlines()[:10])
    assert "**What caused it**" in head and "broke **41 refund\\_eligibility cases**" in head
