"""Sign-in with GitHub for the /ui/ pages: the App's own OAuth client (web flow), sessions in cookies,
CSRF tokens for the buttons, and what a signed-in person may read (GitHub's own list of the
installations and repositories they can see, cached briefly).

Sessions are Fernet tokens (the `cryptography` package the App's JWTs already need): the cookie holds the
person's GitHub user token, so it must be encrypted as well as signed — itsdangerous and Starlette's
SessionMiddleware only sign (the payload is readable base64), and the middleware would wrap every route
of the service rather than /ui/ alone. Fernet's timestamp gives the session its expiry."""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import threading
import time
from dataclasses import dataclass

import httpx
from cryptography.fernet import Fernet, InvalidToken

from bot.settings import Settings

SESSION_COOKIE = "prompt_review_session"
STATE_COOKIE = "prompt_review_oauth_state"
SESSION_SECONDS = 8 * 3600
STATE_SECONDS = 600
ACCESS_TTL = 60.0  # how long what GitHub said a person can read is trusted
READ_ROLES = ("admin", "maintain", "write", "triage", "read")


@dataclass(frozen=True)
class Person:
    login: str
    token: str  # GitHub user access token
    csrf: str


@dataclass(frozen=True)
class RepoAccess:
    full_name: str
    installation_id: int
    account: str
    permission: str  # admin | maintain | write | triage | read


class SignInError(Exception):
    """Sign-in failed in a way the person can act on; str() is safe to show."""


def session_key(settings: Settings) -> bytes:
    """The Fernet key: PROMPT_REVIEW_SESSION_SECRET, else derived from the App's private key (every
    replica agrees, a restart keeps sessions), else random (sessions end at restart)."""
    seed = settings.session_secret or settings.private_key_pem() or settings.webhook_secret
    if not seed:
        return Fernet.generate_key()
    digest = hashlib.sha256(b"prompt-review/ui-session\0" + seed.encode()).digest()
    return base64.urlsafe_b64encode(digest)


class Sessions:
    def __init__(self, key: bytes):
        self.fernet = Fernet(key)

    def seal(self, data: dict) -> str:
        return self.fernet.encrypt(json.dumps(data, separators=(",", ":")).encode()).decode()

    def open(self, value: str | None, max_age: int) -> dict | None:
        if not value:
            return None
        try:
            data = json.loads(self.fernet.decrypt(value.encode(), ttl=max_age))
        except (InvalidToken, ValueError):
            return None
        return data if isinstance(data, dict) else None

    def person(self, cookie: str | None) -> Person | None:
        data = self.open(cookie, SESSION_SECONDS)
        if not data or not all(isinstance(data.get(k), str) and data.get(k) for k in ("login", "token", "csrf")):
            return None
        return Person(data["login"], data["token"], data["csrf"])

    def new_session(self, login: str, token: str) -> str:
        return self.seal({"login": login, "token": token, "csrf": secrets.token_urlsafe(24)})


class GitHubUsers:
    """The OAuth web flow and the per-person GitHub calls, with a short cache of what each person can read."""

    def __init__(self, settings: Settings, timeout: float = 15.0):
        self.client_id, self.client_secret = settings.oauth_client_id, settings.oauth_client_secret
        self.web_url, self.api_url = settings.github_web_url.rstrip("/"), settings.github_api_url.rstrip("/")
        self.http = httpx.Client(timeout=timeout, headers={"Accept": "application/vnd.github+json",
                                                           "X-GitHub-Api-Version": "2022-11-28",
                                                           "User-Agent": "prompt-review-ui"})
        self._lock = threading.Lock()
        self._access: dict[str, tuple[float, dict[str, RepoAccess]]] = {}

    @property
    def enabled(self) -> bool:
        return bool(self.client_id and self.client_secret)

    def authorize_url(self, redirect_uri: str, state: str) -> str:
        query = httpx.QueryParams({"client_id": self.client_id or "", "redirect_uri": redirect_uri, "state": state})
        return f"{self.web_url}/login/oauth/authorize?{query}"

    def exchange(self, code: str, redirect_uri: str) -> str:
        """The user access token for an authorization code."""
        try:
            r = self.http.post(f"{self.web_url}/login/oauth/access_token", headers={"Accept": "application/json"},
                               data={"client_id": self.client_id, "client_secret": self.client_secret, "code": code,
                                     "redirect_uri": redirect_uri})
            body = r.json()
        except (httpx.HTTPError, ValueError):
            raise SignInError("GitHub could not be reached to finish signing in; try again") from None
        token = body.get("access_token") if isinstance(body, dict) else None
        if not token:
            raise SignInError(f"GitHub refused the sign-in ({body.get('error', r.status_code) if isinstance(body, dict) else r.status_code}); sign in again")
        return str(token)

    def _get(self, token: str, path: str, **params) -> httpx.Response:
        r = self.http.get(f"{self.api_url}{path}", params=params, headers={"Authorization": f"Bearer {token}"})
        if r.status_code in (401, 403):
            raise SignInError("your GitHub sign-in expired or was revoked; sign in again")
        r.raise_for_status()
        return r

    def login(self, token: str) -> str:
        return str(self._get(token, "/user").json()["login"])

    def _pages(self, token: str, path: str, key: str) -> list[dict]:
        out, page = [], 1
        while page <= 20:  # 2,000 items is plenty for a person's installations or repositories
            items = self._get(token, path, per_page=100, page=page).json().get(key, [])
            out.extend(items)
            if len(items) < 100:
                break
            page += 1
        return out

    def access(self, token: str, fresh: bool = False) -> dict[str, RepoAccess]:
        """full_name (lower case) → access, for every repository of this App's installations the person can read."""
        now = time.monotonic()
        with self._lock:
            hit = self._access.get(token)
            if hit and not fresh and hit[0] > now:
                return hit[1]
        found: dict[str, RepoAccess] = {}
        for inst in self._pages(token, "/user/installations", "installations"):
            account = (inst.get("account") or {}).get("login", "")
            try:
                repos = self._pages(token, f"/user/installations/{inst['id']}/repositories", "repositories")
            except httpx.HTTPStatusError:
                continue
            for r in repos:
                flags = r.get("permissions") or {}
                role = next((k for k, f in (("admin", "admin"), ("maintain", "maintain"), ("write", "push"),
                                            ("triage", "triage"), ("read", "pull")) if flags.get(f)), None)
                if role:
                    found[r["full_name"].lower()] = RepoAccess(r["full_name"], int(inst["id"]), account, role)
        with self._lock:
            if len(self._access) > 10_000:
                self._access.clear()
            self._access[token] = (now + ACCESS_TTL, found)
        return found

    def forget(self, token: str) -> None:
        with self._lock:
            self._access.pop(token, None)
