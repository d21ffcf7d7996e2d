"""The /setup page: create the GitHub App from app.yml and store its credentials once.

Driven against the GitHub simulator, which implements the code exchange over real HTTP."""

from __future__ import annotations

import json
import re
import stat
from html import unescape
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import yaml
from fastapi import FastAPI
from fastapi.testclient import TestClient

from bot.service.setup import STATE_COOKIE, create_setup_router, find_manifest
from bot.settings import load_settings
from bot.simulator import Simulator

REPO = Path(__file__).resolve().parents[2]
PUBLIC_URL = "https://review.example.com"


def make_client(
    tmp_path: Path, github, *, configured=lambda: False, web_url="https://github.com", public_url=PUBLIC_URL, browser_at=PUBLIC_URL,
    credentials_path: Path | None = None, manifest_path: Path = REPO / "app.yml",
):
    app = FastAPI()
    app.include_router(
        create_setup_router(
            configured=configured,
            public_url=public_url,
            github_web_url=web_url,
            github_api_url=github.api_url,
            credentials_path=credentials_path or tmp_path / "secrets" / "prompt-review.env",
            manifest_path=manifest_path,
        )
    )
    # `browser_at` is the address the person opened /setup at; the state cookie is Secure on https.
    return TestClient(app, base_url=browser_at)


def manifest_form(html: str) -> tuple[str, dict]:
    action = unescape(re.search(r'<form method="post" action="([^"]+)"', html).group(1))
    manifest = json.loads(unescape(re.search(r'name="manifest" value="([^"]+)"', html).group(1)))
    return action, manifest


def start(client: TestClient, **params) -> tuple[str, dict, str]:
    page = client.get("/setup", params=params)
    assert page.status_code == 200, page.text
    action, manifest = manifest_form(page.text)
    state = parse_qs(urlsplit(action).query)["state"][0]
    return action, manifest, state


def create_on_github(github: Simulator, manifest: dict) -> str:
    """What GitHub does when the person confirms the posted manifest: a one-time code for the redirect."""
    return github.register_manifest_code(manifest)


def env_settings(path: Path) -> dict[str, str]:
    return dict(line.split("=", 1) for line in path.read_text().splitlines() if line and not line.startswith("#"))


def test_setup_page_posts_the_manifest_with_this_services_urls_to_github(tmp_path, github):
    action, manifest, state = start(make_client(tmp_path, github))
    assert action.startswith("https://github.com/settings/apps/new?state=")
    assert len(state) >= 32
    app_yml = yaml.safe_load((REPO / "app.yml").read_text())
    assert manifest["default_permissions"] == app_yml["default_permissions"]
    assert manifest["default_events"] == app_yml["default_events"]
    assert manifest["hook_attributes"] == {"url": f"{PUBLIC_URL}/webhook", "active": True}
    assert manifest["redirect_url"] == f"{PUBLIC_URL}/setup/callback"
    assert manifest["setup_url"] == f"{PUBLIC_URL}/setup"
    assert "example.com/webhook" not in json.dumps(manifest).replace(PUBLIC_URL, "")


def test_organization_and_ghes_host_change_where_the_manifest_is_posted(tmp_path, github):
    client = make_client(tmp_path, github, web_url="https://ghe.example.net/")
    action, _, _ = start(client, org="acme-corp")
    assert action.startswith("https://ghe.example.net/organizations/acme-corp/settings/apps/new?state=")


def test_an_organization_name_that_is_not_a_github_login_is_refused(tmp_path, github):
    page = make_client(tmp_path, github).get("/setup", params={"org": "../../evil?x="})
    assert page.status_code == 400
    assert "not a GitHub organization name" in unescape(page.text)
    assert "settings/apps/new" not in page.text


def test_without_a_public_url_the_manifest_points_at_the_address_the_browser_used(tmp_path, github):
    _, manifest, _ = start(make_client(tmp_path, github, public_url=None, browser_at="https://review.internal"))
    assert manifest["hook_attributes"]["url"] == "https://review.internal/webhook"
    assert manifest["redirect_url"] == "https://review.internal/setup/callback"


def test_setup_through_a_port_forward_sends_webhooks_to_the_public_url_and_the_browser_back_to_the_forward(
    tmp_path, github
):
    client = make_client(tmp_path, github, browser_at="http://localhost:8000")
    _, manifest, state = start(client)
    assert manifest["hook_attributes"]["url"] == f"{PUBLIC_URL}/webhook"
    assert manifest["redirect_url"] == "http://localhost:8000/setup/callback"
    code = create_on_github(github, manifest)
    assert client.get("/setup/callback", params={"code": code, "state": state}).status_code == 200


def test_behind_a_tls_proxy_the_public_https_url_is_used_for_the_same_host(tmp_path, github):
    _, manifest, _ = start(make_client(tmp_path, github, browser_at="http://review.example.com"))
    assert manifest["redirect_url"] == f"{PUBLIC_URL}/setup/callback"


def test_callback_stores_credentials_in_0600_files_and_links_to_the_install_page(tmp_path, github):
    client = make_client(tmp_path, github)
    _, manifest, state = start(client)
    code = create_on_github(github, manifest)

    done = client.get("/setup/callback", params={"code": code, "state": state})

    assert done.status_code == 200, done.text
    env_path = tmp_path / "secrets" / "prompt-review.env"
    key_path = tmp_path / "secrets" / "prompt-review.pem"
    assert stat.S_IMODE(env_path.stat().st_mode) == 0o600
    assert stat.S_IMODE(key_path.stat().st_mode) == 0o600
    assert sorted(p.name for p in env_path.parent.iterdir()) == ["prompt-review.env", "prompt-review.pem"]
    settings = env_settings(env_path)
    app = github.apps[int(settings["PROMPT_REVIEW_APP_ID"])]
    assert settings == {
        "PROMPT_REVIEW_APP_ID": str(app.id),
        "PROMPT_REVIEW_PRIVATE_KEY_PATH": str(key_path),
        "PROMPT_REVIEW_WEBHOOK_SECRET": app.webhook_secret,
        "PROMPT_REVIEW_GITHUB_API_URL": github.api_url,
        "PROMPT_REVIEW_OAUTH_CLIENT_ID": app.client_id,  # the App's OAuth client: sign-in on /ui/
        "PROMPT_REVIEW_OAUTH_CLIENT_SECRET": app.client_secret,
    }
    assert key_path.read_bytes() == app.private_key_pem
    assert app.permissions == manifest["default_permissions"] and app.events == manifest["default_events"]
    html = unescape(done.text)
    assert f"https://github.com/apps/{app.slug}/installations/new" in html
    assert f"PROMPT_REVIEW_APP_ID={app.id}" in html
    assert "PRIVATE KEY" not in html
    assert done.headers["cache-control"] == "no-store"


def test_the_stored_settings_are_accepted_by_the_service(tmp_path, github, monkeypatch):
    client = make_client(tmp_path, github)
    _, manifest, state = start(client)
    client.get("/setup/callback", params={"code": create_on_github(github, manifest), "state": state})
    for name, value in env_settings(tmp_path / "secrets" / "prompt-review.env").items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("PROMPT_REVIEW_PRIVATE_KEY", raising=False)
    settings = load_settings(require_app=True)  # also parses the private key
    assert settings.configured


def test_callback_with_a_state_this_browser_was_not_given_is_refused(tmp_path, github):
    client = make_client(tmp_path, github)
    _, manifest, _ = start(client)
    code = create_on_github(github, manifest)
    page = client.get("/setup/callback", params={"code": code, "state": "A" * 43})
    assert page.status_code == 400
    assert "not started from this browser" in unescape(page.text)
    assert not (tmp_path / "secrets" / "prompt-review.env").exists()
    assert code in github.manifest_codes  # never exchanged


def test_callback_from_a_browser_without_the_state_cookie_is_refused(tmp_path, github):
    _, manifest, state = start(make_client(tmp_path, github))
    stranger = make_client(tmp_path, github)
    page = stranger.get("/setup/callback", params={"code": create_on_github(github, manifest), "state": state})
    assert page.status_code == 400
    assert not (tmp_path / "secrets").exists()


def test_an_expired_or_unknown_code_is_explained_and_nothing_is_written(tmp_path, github):
    client = make_client(tmp_path, github)
    _, _, state = start(client)
    page = client.get("/setup/callback", params={"code": "nosuchcode", "state": state})
    assert page.status_code == 502
    assert "GitHub refused the code (HTTP 404" in unescape(page.text)
    assert not (tmp_path / "secrets" / "prompt-review.env").exists()


def test_setup_is_switched_off_once_the_service_is_configured(tmp_path, github):
    client = make_client(tmp_path, github, configured=lambda: True)
    page = client.get("/setup")
    assert page.status_code == 200
    assert "already configured" in page.text
    assert "settings/apps/new" not in page.text
    assert STATE_COOKIE not in page.cookies
    code = create_on_github(github, {"name": "prompt-review"})
    assert client.get("/setup/callback", params={"code": code, "state": "A" * 43}).status_code == 404
    assert code in github.manifest_codes


def test_after_install_github_returns_to_setup_and_is_told_it_worked(tmp_path, github):
    client = make_client(tmp_path, github, configured=lambda: True)
    page = client.get("/setup", params={"installation_id": "77", "setup_action": "install"})
    assert "The App was installed" in page.text


def test_after_a_successful_callback_setup_cannot_run_again(tmp_path, github):
    client = make_client(tmp_path, github)
    _, manifest, state = start(client)
    assert client.get("/setup/callback", params={"code": create_on_github(github, manifest), "state": state}).status_code == 200
    first = env_settings(tmp_path / "secrets" / "prompt-review.env")

    again = client.get("/setup")
    assert again.status_code == 200 and "settings/apps/new" not in again.text
    assert "prompt-review.env" in again.text
    second = create_on_github(github, manifest)
    assert client.get("/setup/callback", params={"code": second, "state": state}).status_code == 404
    assert env_settings(tmp_path / "secrets" / "prompt-review.env") == first


def test_secrets_never_reach_the_logs(tmp_path, github, caplog):
    caplog.set_level("DEBUG")
    client = make_client(tmp_path, github)
    _, manifest, state = start(client)
    assert client.get("/setup/callback", params={"code": create_on_github(github, manifest), "state": state}).status_code == 200
    settings = env_settings(tmp_path / "secrets" / "prompt-review.env")
    assert f"id {settings['PROMPT_REVIEW_APP_ID']}" in caplog.text
    assert settings["PROMPT_REVIEW_WEBHOOK_SECRET"] not in caplog.text
    assert "PRIVATE KEY" not in caplog.text


def test_the_shipped_manifest_is_found():
    assert find_manifest() == REPO / "app.yml"


def test_a_credentials_location_that_cannot_be_written_stops_setup_before_github(tmp_path, github):
    client = make_client(tmp_path, github, credentials_path=tmp_path / "my secrets" / "prompt-review.env")
    page = client.get("/setup")
    assert page.status_code == 500
    assert "PROMPT_REVIEW_CREDENTIALS_PATH" in page.text
    assert "settings/apps/new" not in page.text


def test_github_failing_the_exchange_is_explained_and_the_person_can_retry(tmp_path, github):
    client = make_client(tmp_path, github)
    _, manifest, state = start(client)
    code = create_on_github(github, manifest)
    github.add_fault(r"/app-manifests/.*/conversions", status=502, times=1)
    failed = client.get("/setup/callback", params={"code": code, "state": state})
    assert failed.status_code == 502
    assert "GitHub failed to exchange the code (HTTP 502" in unescape(failed.text)
    assert not (tmp_path / "secrets" / "prompt-review.env").exists()
    retried = client.get("/setup/callback", params={"code": code, "state": state})
    assert retried.status_code == 200


def test_a_missing_manifest_is_reported_on_the_page_instead_of_stopping_the_service(tmp_path, github):
    client = make_client(tmp_path, github, credentials_path=tmp_path / "prompt-review.env", manifest_path=tmp_path / "app.yml")
    page = client.get("/setup")
    assert page.status_code == 500
    assert "cannot read the App manifest" in page.text


def test_setup_on_a_loopback_address_warns_that_github_cannot_deliver_webhooks_there(tmp_path, github):
    page = make_client(tmp_path, github, public_url=None, browser_at="http://127.0.0.1:8000").get("/setup")
    text = unescape(page.text)
    assert page.status_code == 200 and "GitHub cannot deliver webhooks to http://127.0.0.1:8000/webhook" in text
    assert "tunnel" in text and "PROMPT_REVIEW_PUBLIC_URL" in text
    localhost = unescape(make_client(tmp_path, github, public_url="http://localhost:8000").get("/setup").text)
    assert "loopback" in localhost and "PROMPT_REVIEW_PUBLIC_URL" in localhost


def test_a_private_address_is_flagged_for_github_com_but_not_for_an_enterprise_server(tmp_path, github):
    private = dict(public_url="http://10.1.2.3:8000", browser_at="http://10.1.2.3:8000")
    assert "cannot deliver webhooks" in unescape(make_client(tmp_path, github, **private).get("/setup").text)
    ghes = make_client(tmp_path, github, web_url="https://ghe.example.net", **private).get("/setup")
    assert "cannot deliver webhooks" not in unescape(ghes.text)


def test_a_public_url_gets_no_webhook_warning(tmp_path, github):
    assert "cannot deliver webhooks" not in unescape(make_client(tmp_path, github).get("/setup").text)
