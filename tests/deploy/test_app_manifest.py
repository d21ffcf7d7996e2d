"""app.yml is a GitHub App manifest GitHub accepts, asking for what DESIGN.md says and pointing at our endpoints."""

from __future__ import annotations

import json
from urllib.parse import urlsplit

import yaml
from deployfiles import REPO

from bot.service.setup import build_manifest

APP_YML = yaml.safe_load((REPO / "app.yml").read_text())
OCTOKIT = REPO / "tests" / "contract" / "node_modules" / "@octokit"

# GitHub docs, "Registering a GitHub App from a manifest": the parameters the manifest accepts.
MANIFEST_KEYS = {
    "name", "url", "hook_attributes", "redirect_url", "callback_urls", "setup_url", "description",
    "public", "default_events", "default_permissions", "request_oauth_on_install", "setup_on_update",
}
# DESIGN.md "Deploy".
DESIGN_PERMISSIONS = {"checks": "write", "pull_requests": "write", "contents": "read", "members": "read", "metadata": "read",
                      "deployments": "write",  # the release half (docs/release.md)
                      "issues": "write"}  # re-validation issues per (suite, model) (docs/model-axis.md)
DESIGN_EVENTS = {"pull_request", "pull_request_review", "check_run", "check_suite", "installation", "installation_repositories",
                 "push", "issue_comment"}


def test_manifest_uses_only_keys_github_accepts_and_has_the_required_url():
    assert set(APP_YML) <= MANIFEST_KEYS, set(APP_YML) - MANIFEST_KEYS
    assert APP_YML["url"].startswith("https://")
    assert set(APP_YML["hook_attributes"]) == {"url", "active"}
    assert APP_YML["hook_attributes"]["active"] is True


def test_manifest_name_fits_githubs_34_character_limit():
    assert 0 < len(APP_YML["name"]) <= 34


def test_permissions_are_exactly_those_in_the_design():
    assert APP_YML["default_permissions"] == DESIGN_PERMISSIONS


def test_events_are_exactly_those_in_the_design():
    assert len(APP_YML["default_events"]) == len(set(APP_YML["default_events"]))
    assert set(APP_YML["default_events"]) == DESIGN_EVENTS


def test_permissions_and_levels_exist_in_githubs_openapi_description():
    spec = json.loads((OCTOKIT / "openapi" / "generated" / "api.github.com.json").read_text())
    known = spec["components"]["schemas"]["app-permissions"]["properties"]
    for name, level in APP_YML["default_permissions"].items():
        assert name in known, name
        assert level in known[name]["enum"], (name, level)


def test_events_are_webhook_events_github_sends():
    examples = json.loads((OCTOKIT / "webhooks-examples" / "api.github.com" / "index.json").read_text())
    assert set(APP_YML["default_events"]) <= {e["name"] for e in examples}


def test_manifest_urls_name_the_service_endpoints():
    assert urlsplit(APP_YML["hook_attributes"]["url"]).path == "/webhook"
    assert urlsplit(APP_YML["redirect_url"]).path == "/setup/callback"
    assert [urlsplit(u).path for u in APP_YML["callback_urls"]] == ["/setup/callback"]
    assert urlsplit(APP_YML["setup_url"]).path == "/setup"


def test_setup_fills_every_url_from_the_service_address_and_keeps_the_rest():
    built = build_manifest(APP_YML, "https://review.example.org")
    urls = [built["url"], built["hook_attributes"]["url"], built["redirect_url"], built["setup_url"], *built["callback_urls"]]
    assert all(u.startswith("https://review.example.org") for u in urls)
    untouched = {k: v for k, v in APP_YML.items() if k not in {"url", "hook_attributes", "redirect_url", "setup_url", "callback_urls"}}
    assert {k: built[k] for k in untouched} == untouched
