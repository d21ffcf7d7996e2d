"""`GET /setup`: create the GitHub App from `app.yml` (GitHub's manifest flow) and store its credentials.

Used once, before the service has an App id; both routes switch off once it is configured.
"""

from __future__ import annotations

import asyncio
import copy
import ipaddress
import json
import logging
import os
import re
import secrets
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import httpx
import jinja2
import yaml
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, ConfigDict, SecretStr, ValidationError

from bot import templates_dir

log = logging.getLogger(__name__)

STATE_COOKIE = "prompt_review_setup_state"
# GitHub only accepts a manifest code for an hour; the state cookie need not outlive it.
STATE_MAX_AGE = 3600
# GitHub logins: alphanumerics and single inner hyphens, at most 39 characters.
_LOGIN = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9]|-(?=[A-Za-z0-9])){0,38}")
# Values are written bare into an env file; anything that would need quoting is refused
# rather than risk a value that a dotenv parser, compose and systemd read differently.
_BARE_VALUE = re.compile(r"[^\s'\"\\#$`]+")


class ConvertedApp(BaseModel):
    """The part of GitHub's `POST /app-manifests/{code}/conversions` answer that we keep.

    Secrets are SecretStr so that a stray log line or repr never shows them.
    """

    model_config = ConfigDict(frozen=True, extra="ignore")

    id: int
    slug: str | None = None
    name: str
    html_url: str
    webhook_secret: SecretStr
    pem: SecretStr
    client_id: str | None = None  # the App's OAuth client: sign-in on the /ui/ pages
    client_secret: SecretStr | None = None


@dataclass(frozen=True)
class StoredCredentials:
    """Where the credentials went, and the env lines that point the service at them."""

    env_path: Path
    key_path: Path
    env_lines: tuple[str, ...]


class SetupError(Exception):
    """A failure shown to the person on the setup page; str() is safe to display."""


def find_manifest() -> Path:
    """The App manifest: shipped inside the package, or the repository's top-level app.yml."""
    here = Path(__file__).resolve().parent.parent
    for candidate in (here / "app.yml", here.parent / "app.yml", Path.cwd() / "app.yml"):
        if candidate.is_file():
            return candidate
    raise FileNotFoundError("app.yml (the GitHub App manifest) is missing from this installation")


def load_manifest(path: Path | None = None) -> dict[str, Any]:
    data = yaml.safe_load((path or find_manifest()).read_text(encoding="utf-8"))
    if not isinstance(data, dict):
        raise ValueError(f"{path}: a GitHub App manifest must be a mapping")
    return data


def build_manifest(template: dict[str, Any], public_url: str, browser_url: str | None = None) -> dict[str, Any]:
    """The manifest to post to GitHub: app.yml with its URLs pointing at this service.

    Webhooks go to `public_url`, which GitHub's servers must reach. GitHub sends the *browser*
    back to `redirect_url`, so that uses `browser_url`, the address this page was opened at:
    the state cookie lives there, and setup also works through a tunnel or port-forward.
    """
    base = public_url.rstrip("/")
    back = (browser_url or public_url).rstrip("/")
    manifest = copy.deepcopy(template)
    manifest["url"] = base
    manifest["hook_attributes"] = {**manifest.get("hook_attributes", {}), "url": f"{base}/webhook"}
    manifest["hook_attributes"].setdefault("active", True)
    manifest["redirect_url"] = f"{back}/setup/callback"
    manifest["callback_urls"] = [f"{back}/setup/callback"]
    manifest["setup_url"] = f"{base}/setup"
    return manifest


def webhook_reach_problem(public_url: str, github_web_url: str) -> str | None:
    """Why GitHub's servers could not deliver webhooks to `public_url`, with what to do; None when they may.

    Loopback never works; private and link-local addresses only work for a GitHub Enterprise Server
    inside the same network, so they are flagged for github.com only."""
    host = (urlsplit(public_url).hostname or "").lower()
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        address = None
    if host == "localhost" or host.endswith(".localhost") or (address is not None and address.is_loopback):
        where = f"{host} is a loopback address: only this machine can reach it"
    elif (address is not None and (address.is_private or address.is_link_local)
          and urlsplit(github_web_url).hostname in ("github.com", "www.github.com")):
        where = f"{host} is a private address: github.com cannot reach it"
    else:
        return None
    return (f"GitHub cannot deliver webhooks to {public_url.rstrip('/')}/webhook: {where}. Expose this service "
            "with a tunnel (for example `cloudflared tunnel --url http://127.0.0.1:8000` or `ngrok http 8000`) "
            "or a public host, set PROMPT_REVIEW_PUBLIC_URL to that https address, restart, and open /setup again. "
            "An App created now would receive no events until its webhook URL is changed in its settings.")


def new_app_url(github_web_url: str, org: str | None, state: str) -> str:
    """GitHub's "register a new App" address for a personal account or an organization."""
    base = github_web_url.rstrip("/")
    if org:
        if not _LOGIN.fullmatch(org):
            raise SetupError(f"{org!r} is not a GitHub organization name")
        return f"{base}/organizations/{org}/settings/apps/new?state={quote(state)}"
    return f"{base}/settings/apps/new?state={quote(state)}"


async def exchange_code(client: httpx.AsyncClient, github_api_url: str, code: str) -> ConvertedApp:
    """Trade the one-time code GitHub redirected with for the new App's id, key and secret."""
    url = f"{github_api_url.rstrip('/')}/app-manifests/{quote(code, safe='')}/conversions"
    try:
        response = await client.post(url)
    except httpx.HTTPError as exc:
        raise SetupError(f"could not reach GitHub at {github_api_url}: {exc.__class__.__name__}") from None
    if response.status_code != 201:
        status = response.status_code
        detail = f"HTTP {status}" + (f": {message}" if (message := _github_message(response)) else "")
        if status >= 500:
            raise SetupError(f"GitHub failed to exchange the code ({detail}). Reload this page to try again.")
        raise SetupError(f"GitHub refused the code ({detail}). A code works once, within an hour; start again from /setup.")
    try:
        return ConvertedApp.model_validate(response.json())
    except (ValueError, ValidationError):
        raise SetupError("GitHub's answer to the code exchange was not a GitHub App with credentials") from None


def _github_message(response: httpx.Response) -> str:
    try:
        message = response.json().get("message", "")
    except (ValueError, AttributeError):
        return ""
    return str(message)[:200]


def key_path_for(credentials_path: Path) -> Path:
    return credentials_path.with_name(credentials_path.stem + ".pem")


def credentials_location_problem(credentials_path: Path) -> str | None:
    """Why the credentials could not be written there (None when they can).

    Checked before sending anyone to GitHub: once the code is exchanged, GitHub will not hand
    out the private key again.
    """
    env_path = credentials_path.absolute()
    for path in (env_path, key_path_for(env_path)):
        if not _BARE_VALUE.fullmatch(str(path)):
            return f"{path} has spaces or quotes, which an env file cannot hold unquoted; set PROMPT_REVIEW_CREDENTIALS_PATH elsewhere"
    directory = env_path.parent
    while not directory.exists() and directory != directory.parent:
        directory = directory.parent
    if not os.access(directory, os.W_OK | os.X_OK):
        return f"{directory} is not writable by this service; set PROMPT_REVIEW_CREDENTIALS_PATH to a writable location"
    return None


def write_credentials(app: ConvertedApp, credentials_path: Path, github_api_url: str) -> StoredCredentials:
    """Write the private key and an env file (both 0600); refuse to replace an existing env file."""
    env_path = credentials_path.absolute()
    key_path = key_path_for(env_path)
    values = {
        "PROMPT_REVIEW_APP_ID": str(app.id),
        "PROMPT_REVIEW_PRIVATE_KEY_PATH": str(key_path),
        "PROMPT_REVIEW_WEBHOOK_SECRET": app.webhook_secret.get_secret_value(),
        "PROMPT_REVIEW_GITHUB_API_URL": github_api_url.rstrip("/"),
    }
    if app.client_id and app.client_secret:  # sign-in with GitHub on the /ui/ pages
        values["PROMPT_REVIEW_OAUTH_CLIENT_ID"] = app.client_id
        values["PROMPT_REVIEW_OAUTH_CLIENT_SECRET"] = app.client_secret.get_secret_value()
    for name, value in values.items():
        if not _BARE_VALUE.fullmatch(value):
            # Never include the value: it may be the secret.
            raise SetupError(f"GitHub's {name} cannot be written to an env file unquoted")
    lines = tuple(f"{name}={value}" for name, value in values.items())
    env_path.parent.mkdir(parents=True, exist_ok=True)
    if env_path.exists():
        raise SetupError(f"{env_path} already exists; remove it to create another App")
    _write_private(key_path, app.pem.get_secret_value(), replace=True)
    header = f"# prompt-review: GitHub App {app.slug or app.name} ({app.html_url}), written by /setup\n"
    _write_private(env_path, header + "\n".join(lines) + "\n", replace=False)
    return StoredCredentials(env_path=env_path, key_path=key_path, env_lines=lines)


def _write_private(path: Path, text: str, *, replace: bool) -> None:
    # mkstemp creates the file 0600, so the secret is never readable by others, even briefly.
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        if replace:
            os.replace(tmp, path)
        else:
            os.link(tmp, path)  # fails if path exists: two callbacks cannot both win
            os.unlink(tmp)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def create_setup_router(
    *,
    configured: Callable[[], bool],
    public_url: str | None,
    github_web_url: str,
    github_api_url: str,
    credentials_path: Path,
    manifest_path: Path | None = None,
    manifest: dict[str, Any] | None = None,
    http_timeout: float = 15.0,
) -> APIRouter:
    """`GET /setup` and `GET /setup/callback`.

    `public_url` is where GitHub reaches this service (None: the address the browser used).
    `github_web_url` is https://github.com or https://HOST for GHES; `github_api_url` its REST root.
    The credentials are written to `credentials_path` (env lines) and a `.pem` next to it.
    """
    if credentials_path.suffix == ".pem":
        raise ValueError("credentials_path is the env file; the private key is written next to it as .pem")
    # A missing app.yml must not stop the service from starting: /setup explains instead.
    template: dict[str, Any] | None = manifest
    missing_manifest = ""
    if template is None:
        try:
            template = load_manifest(manifest_path)
        except (OSError, ValueError, yaml.YAMLError) as exc:
            missing_manifest = str(exc)
    pages = jinja2.Environment(
        loader=jinja2.FileSystemLoader(templates_dir()), autoescape=True, undefined=jinja2.StrictUndefined
    )
    lock = asyncio.Lock()
    router = APIRouter()

    def render(status: int, **context: Any) -> HTMLResponse:
        html = pages.get_template("setup.html.j2").render(**context)
        # The callback page carries the webhook secret: keep it out of caches and history stores.
        return HTMLResponse(html, status_code=status, headers={"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"})

    def written() -> bool:
        return credentials_path.exists()

    def urls(request: Request) -> tuple[str, str]:
        """(public URL, the URL the browser used); the public one wins when both name the same host,
        since behind a TLS-terminating proxy the request itself may look like plain http."""
        seen = str(request.base_url).rstrip("/")
        if not public_url:
            return seen, seen
        public = public_url.rstrip("/")
        if urlsplit(public).netloc.lower() == urlsplit(seen).netloc.lower():
            return public, public
        return public, seen

    @router.get("/setup", response_class=HTMLResponse, include_in_schema=False)
    async def setup_page(request: Request, org: str | None = None) -> HTMLResponse:
        if configured():
            installed = request.query_params.get("setup_action") == "install"
            return render(200, view="configured", installed=installed)
        if written():
            return render(200, view="pending", env_path=str(credentials_path.absolute()))
        problem = credentials_location_problem(credentials_path)
        if problem:
            return render(500, view="error", message=f"Setup cannot store the App's credentials: {problem}.")
        if template is None:
            return render(500, view="error", message=f"Setup cannot read the App manifest: {missing_manifest}")
        state = request.cookies.get(STATE_COOKIE) or ""
        if not _looks_like_state(state):
            state = secrets.token_urlsafe(32)
        org = (org or "").strip() or None
        try:
            action = new_app_url(github_web_url, org, state)
        except SetupError as exc:
            return render(400, view="error", message=str(exc))
        public, browser = urls(request)
        app_manifest = build_manifest(template, public, browser)
        webhook_warning = webhook_reach_problem(public, github_web_url)
        response = render(
            200,
            view="start",
            action=action,
            org=org,
            github_web_url=github_web_url.rstrip("/"),
            manifest=app_manifest,
            manifest_json=json.dumps(app_manifest, separators=(",", ":")),
            webhook_warning=webhook_warning,
        )
        response.set_cookie(
            STATE_COOKIE,
            state,
            max_age=STATE_MAX_AGE,
            path="/setup",
            httponly=True,
            samesite="lax",  # the redirect back from GitHub is a top-level GET, which Lax allows
            secure=browser.startswith("https://"),
        )
        return response

    @router.get("/setup/callback", response_class=HTMLResponse, include_in_schema=False)
    async def setup_callback(request: Request, code: str = "", state: str = "") -> HTMLResponse:
        if configured() or written():
            return HTMLResponse("prompt-review is already configured.\n", status_code=404)
        expected = request.cookies.get(STATE_COOKIE) or ""
        if not (_looks_like_state(expected) and secrets.compare_digest(expected, state)):
            return render(400, view="error", message="This setup link was not started from this browser, or it expired. Start again from /setup.")
        if not code:
            return render(400, view="error", message="GitHub did not send a code. Start again from /setup.")
        async with lock:
            if written():
                return HTMLResponse("prompt-review is already configured.\n", status_code=404)
            problem = credentials_location_problem(credentials_path)
            if problem:
                return render(500, view="error", message=f"Setup cannot store the App's credentials: {problem}. The code was not used; fix this and reload.")
            try:
                async with httpx.AsyncClient(timeout=http_timeout, headers=_GITHUB_HEADERS) as client:
                    app = await exchange_code(client, github_api_url, code)
                stored = write_credentials(app, credentials_path, github_api_url)
            except SetupError as exc:
                log.warning("setup: %s", exc)
                return render(502, view="error", message=str(exc))
        log.info("setup: created GitHub App %s (id %d); credentials written to %s", app.slug or app.name, app.id, stored.env_path)
        response = render(
            200,
            view="done",
            app_name=app.name,
            app_id=app.id,
            html_url=app.html_url,
            install_url=f"{app.html_url.rstrip('/')}/installations/new",
            env_path=str(stored.env_path),
            key_path=str(stored.key_path),
            env_lines=stored.env_lines,
        )
        response.delete_cookie(STATE_COOKIE, path="/setup")
        return response

    return router


_GITHUB_HEADERS = {
    "Accept": "application/vnd.github+json",
    "X-GitHub-Api-Version": "2022-11-28",
    "User-Agent": "prompt-review-setup",
}


def _looks_like_state(value: str) -> bool:
    return len(value) >= 32 and re.fullmatch(r"[A-Za-z0-9_-]+", value) is not None
