"""The CLI verbs against the running service, and `versions sync` backfilling an existing repo."""

from __future__ import annotations

from bot.cli import main
from tests.release.conftest import REPO, SYSTEM, Api


def test_cli_deploys_lists_history_rolls_back_and_manages_tokens(running, monkeypatch, capsys, tmp_path):
    sim, url = running.sim, running.web.url
    monkeypatch.setenv("GITHUB_TOKEN", sim.user_token("erin"))
    first = sim.push_default(REPO, {SYSTEM: "You are a support agent. Be precise.\n"}, author="erin")
    second = sim.push_default(REPO, {SYSTEM: "You are a support agent. Be precise and kind.\n"}, author="erin")
    running.wait_idle()
    server = ["--server", url]
    assert main(["deploy", "staging", "--repo", REPO, "--ref", first[:10], "--prompt", SYSTEM, *server]) == 0
    assert main(["deploy", "staging", "--repo", REPO, "--prompt", SYSTEM, *server]) == 0
    assert f"at {second[:12]}" in capsys.readouterr().out
    assert main(["rollback", "staging", "--repo", REPO, *server]) == 0
    assert main(["labels", "--repo", REPO, "--history", *server]) == 0
    out = capsys.readouterr().out
    assert out.count("staging deploy by erin via cli") == 2 and "staging rollback by erin via cli" in out

    assert main(["deploy", "production", "--repo", REPO, "--prompt", SYSTEM, *server]) == 1
    assert "without a reviewed pull request" in capsys.readouterr().err

    assert main(["tokens", "create", REPO, "--scope", "read", *server]) == 0
    token = capsys.readouterr().out.strip()
    assert token.startswith("prt_")
    monkeypatch.setenv("PROMPT_REVIEW_TOKEN", token)
    out_file = tmp_path / "bundle.json"
    assert main(["bundle", "--repo", REPO, "--label", "staging", "--out", str(out_file), *server]) == 0
    import json

    bundle = json.loads(out_file.read_text())
    assert bundle["schema"] == "prompt-review/bundle@1" and bundle["commit"] == first
    assert bundle["prompts"][0]["content"] == "You are a support agent. Be precise.\n"
    capsys.readouterr()
    assert main(["tokens", "list", REPO, *server]) == 0
    token_id = capsys.readouterr().out.split()[0].lstrip("#")
    assert main(["tokens", "revoke", REPO, token_id, *server]) == 0
    assert main(["bundle", "--repo", REPO, "--label", "staging", "--out", str(out_file), *server]) == 1
    assert "revoked" in capsys.readouterr().err


def test_versions_sync_backfills_the_default_branch_once(running):
    sim, url = running.sim, running.web.url
    sim.push_branch(REPO, "main", {SYSTEM: "v2\n"}, author="erin")  # history without webhooks
    sim.push_branch(REPO, "main", {SYSTEM: "v3\n", "prompts/support/chat.json": '[{"role": "system", "content": "hi"}]'})
    erin = Api(url, sim.user_token("erin"))
    synced = erin.client.post(f"/repos/{REPO}/versions/sync")
    assert synced.status_code == 200, synced.text
    versions = erin.client.get(f"/repos/{REPO}/versions").json()["versions"]
    assert [v["path"] for v in versions].count(SYSTEM) == 3 and len(versions) == 5
    assert erin.client.post(f"/repos/{REPO}/versions/sync").json()["recorded"] == 5  # walked again …
    assert len(erin.client.get(f"/repos/{REPO}/versions").json()["versions"]) == 5  # … nothing recorded twice
    mallory = Api(url, sim.user_token("mallory"))
    assert mallory.client.post(f"/repos/{REPO}/versions/sync").status_code == 403
