"""GitHub App auth and the REST calls the pipeline needs, over httpx.

App JWT (RS256, iat 60 s in the past, exp 9 min) → installation tokens, cached until shortly
before expiry and refreshed by one thread at a time. Every call honours Retry-After and
x-ratelimit-remaining; content-creating calls are serialized per installation (GitHub's
secondary rate limits punish bursts of writes). A create that timed out after it was sent is
not repeated here — GitHub may have applied it — but raised as WriteUncertain, so the caller
can look for the object before creating it again.
"""

from __future__ import annotations

import base64
import logging
import re
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timezone

import httpx
import jwt

from bot.logs import register_secret

log = logging.getLogger("prompt_review.github")

MAX_PR_FILES = 3000  # GitHub lists at most this many files of a pull request
_RETRYABLE = {500, 502, 503, 504}
# GitHub stops working on a REST request after 10 s; a write still unanswered by then is either
# applied or abandoned, so a look-up that long after sending it gives the final answer.
GITHUB_REQUEST_LIMIT_SECONDS = 10.0
# Transport errors raised before the request left this process: repeating it cannot duplicate anything.
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)


class GitHubError(Exception):
    def __init__(self, status: int, method: str, path: str, message: str):
        self.status, self.method, self.path = status, method, path
        super().__init__(f"GitHub API {method} {path} → {status}: {message}")


class WriteUncertain(GitHubError):
    """A non-idempotent call (a create) was sent but got no answer: GitHub may or may not have applied it."""

    def __init__(self, method: str, path: str, message: str):
        super().__init__(0, method, path, f"{message} (sent; GitHub may have applied it)")


def _endpoint_label(path: str) -> str:
    """Collapse ids and names so metrics stay low-cardinality: /repos/{owner}/{repo}/pulls/{n}."""
    path = path.split("?")[0]
    path = re.sub(r"^/repos/[^/]+/[^/]+", "/repos/{owner}/{repo}", path)
    path = re.sub(r"^/orgs/[^/]+/teams/[^/]+", "/orgs/{org}/teams/{team}", path)
    path = re.sub(r"/contents/.*$", "/contents/{path}", path)
    path = re.sub(r"/(git/trees|git/blobs|commits)/[^/]+", r"/\1/{sha}", path)
    path = re.sub(r"/collaborators/[^/]+", "/collaborators/{user}", path)
    path = re.sub(r"/memberships/[^/]+", "/memberships/{user}", path)
    return re.sub(r"/\d+", "/{id}", path)


@dataclass
class _Token:
    value: str
    expires_at: float


class GitHubApp:
    """App-level identity: mints JWTs and installation tokens; shared by all jobs of a process."""

    def __init__(
        self,
        app_id: int,
        private_key_pem: str,
        api_url: str = "https://api.github.com",
        *,
        timeout: float = 30.0,
        max_wait: float = 60.0,
        on_call: Callable[[str, str, int], None] | None = None,
        transport: httpx.BaseTransport | None = None,
    ):
        self.app_id = app_id
        self._key = private_key_pem
        self.api_url = api_url.rstrip("/")
        self.max_wait = max_wait
        self.timeout = timeout
        self.on_call = on_call
        self._http = httpx.Client(
            base_url=self.api_url,
            timeout=timeout,
            transport=transport,
            headers={"Accept": "application/vnd.github+json", "X-GitHub-Api-Version": "2022-11-28", "User-Agent": "prompt-review"},
        )
        self._tokens: dict[int, _Token] = {}
        self._token_locks: dict[int, threading.Lock] = {}
        self._write_locks: dict[int, threading.Lock] = {}
        self._locks_guard = threading.Lock()

    def close(self) -> None:
        self._http.close()

    @property
    def settle_seconds(self) -> float:
        """How long after a create timed out it may still appear: until GitHub's own request limit has passed."""
        return max(1.0, GITHUB_REQUEST_LIMIT_SECONDS + 1.0 - self.timeout)

    def jwt(self, now: float | None = None) -> str:
        now = int(now if now is not None else time.time())
        token = jwt.encode({"iat": now - 60, "exp": now + 540, "iss": str(self.app_id)}, self._key, algorithm="RS256")
        register_secret(token)
        return token

    def _lock(self, table: dict[int, threading.Lock], key: int) -> threading.Lock:
        with self._locks_guard:
            return table.setdefault(key, threading.Lock())

    def installation_token(self, installation_id: int) -> str:
        cached = self._tokens.get(installation_id)
        if cached and cached.expires_at - time.time() > 300:
            return cached.value
        with self._lock(self._token_locks, installation_id):  # one refresh at a time
            cached = self._tokens.get(installation_id)
            if cached and cached.expires_at - time.time() > 300:
                return cached.value
            data = self.request(
                "POST", f"/app/installations/{installation_id}/access_tokens", auth=f"Bearer {self.jwt()}", idempotent=True
            ).json()
            expires = datetime.fromisoformat(data["expires_at"].replace("Z", "+00:00")).timestamp()
            register_secret(data["token"])
            self._tokens[installation_id] = _Token(data["token"], expires)
            return data["token"]

    def installation(self, installation_id: int) -> "InstallationClient":
        return InstallationClient(self, installation_id)

    def request(
        self,
        method: str,
        path: str,
        *,
        auth: str,
        json: object | None = None,
        params: dict | None = None,
        idempotent: bool | None = None,
        ok_missing: bool = False,
        attempts: int = 5,
    ) -> httpx.Response:
        """One REST call with retries: rate limits always (the request was refused), 5xx and
        transport errors (timeouts included) only when repeating it cannot duplicate anything —
        an idempotent call, or a request that never left this process. A sent create that got
        no answer raises WriteUncertain."""
        idempotent = method in ("GET", "PATCH", "PUT", "DELETE") if idempotent is None else idempotent
        label = _endpoint_label(path)
        for attempt in range(1, attempts + 1):
            try:
                response = self._http.request(method, path, json=json, params=params, headers={"Authorization": auth})
            except httpx.TransportError as exc:
                self._record(method, label, 0)
                sent = not isinstance(exc, _NOT_SENT)
                log.warning("GitHub %s %s: %s (attempt %s of %s)", method, label, type(exc).__name__, attempt, attempts)
                if (idempotent or not sent) and attempt < attempts:
                    time.sleep(min(self.max_wait, 0.5 * 2 ** (attempt - 1)))
                    continue
                if sent and not idempotent:
                    raise WriteUncertain(method, path, f"{type(exc).__name__}: {exc}") from None
                raise GitHubError(0, method, path, f"{type(exc).__name__}: {exc}") from None
            self._record(method, label, response.status_code)
            wait = self._rate_limit_wait(response)
            if wait is not None and attempt < attempts:
                log.warning("GitHub rate limit on %s %s: waiting %.1fs", method, label, wait)
                time.sleep(wait)
                continue
            if response.status_code in _RETRYABLE and idempotent and attempt < attempts:
                time.sleep(min(self.max_wait, 0.5 * 2 ** (attempt - 1)))
                continue
            if response.status_code == 404 and ok_missing:
                return response
            if response.status_code >= 400:
                try:
                    message = response.json().get("message", response.text[:200])
                except ValueError:
                    message = response.text[:200]
                raise GitHubError(response.status_code, method, path, message)
            return response
        raise AssertionError("unreachable")

    def _rate_limit_wait(self, response: httpx.Response) -> float | None:
        if response.status_code not in (403, 429):
            return None
        retry_after = response.headers.get("retry-after")
        if retry_after is not None:
            try:
                return min(self.max_wait, max(0.0, float(retry_after)))
            except ValueError:
                return min(self.max_wait, 60.0)
        if response.headers.get("x-ratelimit-remaining") == "0":
            reset = response.headers.get("x-ratelimit-reset")
            if reset and reset.isdigit():
                return min(self.max_wait, max(0.0, int(reset) - time.time()) + 1)
            return min(self.max_wait, 60.0)
        if response.status_code == 429:
            return min(self.max_wait, 60.0)
        return None  # a plain 403 is a permission problem, not a limit

    def _record(self, method: str, label: str, status: int) -> None:
        if self.on_call:
            self.on_call(method, label, status)

    # App-level calls (JWT-authenticated): failed-delivery recovery.
    def list_deliveries(self, per_page: int = 100, cursor: str | None = None) -> tuple[list[dict], str | None]:
        params: dict[str, str | int] = {"per_page": per_page}
        if cursor:
            params["cursor"] = cursor
        response = self.request("GET", "/app/hook/deliveries", auth=f"Bearer {self.jwt()}", params=params)
        match = re.search(r'<[^>]*[?&]cursor=([^&>]+)[^>]*>;\s*rel="next"', response.headers.get("link", ""))
        return response.json(), match.group(1) if match else None

    def redeliver(self, delivery_id: int) -> None:
        self.request("POST", f"/app/hook/deliveries/{delivery_id}/attempts", auth=f"Bearer {self.jwt()}", idempotent=True)


class InstallationClient:
    """The REST calls made on behalf of one installation."""

    def __init__(self, app: GitHubApp, installation_id: int):
        self.app = app
        self.installation_id = installation_id

    def _call(self, method: str, path: str, **kwargs) -> httpx.Response:
        auth = f"token {self.app.installation_token(self.installation_id)}"
        if method in ("POST", "PATCH", "PUT", "DELETE"):
            with self.app._lock(self.app._write_locks, self.installation_id):
                return self.app.request(method, path, auth=auth, **kwargs)
        return self.app.request(method, path, auth=auth, **kwargs)

    def _paginate(self, path: str, params: dict | None = None, limit: int | None = None) -> Iterator[dict]:
        page, count = 1, 0
        while True:
            response = self._call("GET", path, params={**(params or {}), "per_page": 100, "page": page})
            items = response.json()
            for item in items:
                yield item
                count += 1
                if limit is not None and count >= limit:
                    return
            if 'rel="next"' not in response.headers.get("link", "") or not items:
                return
            page += 1

    def pull(self, repo: str, number: int) -> dict:
        return self._call("GET", f"/repos/{repo}/pulls/{number}").json()

    def pull_files(self, repo: str, number: int) -> list[dict]:
        return list(self._paginate(f"/repos/{repo}/pulls/{number}/files", limit=MAX_PR_FILES))

    def pull_commits(self, repo: str, number: int) -> list[dict]:
        return list(self._paginate(f"/repos/{repo}/pulls/{number}/commits", limit=250))

    def reviews(self, repo: str, number: int) -> list[dict]:
        return list(self._paginate(f"/repos/{repo}/pulls/{number}/reviews"))

    def file(self, repo: str, path: str, ref: str) -> bytes | None:
        response = self._call("GET", f"/repos/{repo}/contents/{path}", params={"ref": ref}, ok_missing=True)
        if response.status_code == 404:
            return None
        data = response.json()
        if not isinstance(data, dict) or data.get("type") != "file":
            return None
        if data.get("encoding") == "base64" and data.get("content") is not None:
            return base64.b64decode(data["content"])
        return self.blob(repo, data["sha"])  # files over 1 MB come without content

    def tree(self, repo: str, sha: str) -> dict[str, tuple[str, int]]:
        """path → (blob sha, size) for every file at the commit."""
        data = self._call("GET", f"/repos/{repo}/git/trees/{sha}", params={"recursive": "1"}).json()
        return {e["path"]: (e["sha"], e.get("size", 0)) for e in data.get("tree", []) if e.get("type") == "blob"}

    def blob(self, repo: str, sha: str) -> bytes:
        data = self._call("GET", f"/repos/{repo}/git/blobs/{sha}").json()
        if data.get("encoding") == "base64":
            return base64.b64decode(data.get("content") or "")
        return (data.get("content") or "").encode()

    def comments(self, repo: str, number: int) -> list[dict]:
        return list(self._paginate(f"/repos/{repo}/issues/{number}/comments"))

    def create_comment(self, repo: str, number: int, body: str) -> dict:
        return self._call("POST", f"/repos/{repo}/issues/{number}/comments", json={"body": body}).json()

    def update_comment(self, repo: str, comment_id: int, body: str) -> dict:
        return self._call("PATCH", f"/repos/{repo}/issues/comments/{comment_id}", json={"body": body}).json()

    def check_runs_for(self, repo: str, sha: str, name: str | None = None) -> list[dict]:
        """This App's latest check runs on the commit (another App may use the same names)."""
        params: dict[str, str | int] = {"app_id": self.app.app_id, "per_page": 100}
        if name:
            params["check_name"] = name
        response = self._call("GET", f"/repos/{repo}/commits/{sha}/check-runs", params=params)
        return response.json().get("check_runs", [])

    def create_check_run(self, repo: str, body: dict) -> dict:
        return self._call("POST", f"/repos/{repo}/check-runs", json=body).json()

    def update_check_run(self, repo: str, check_run_id: int, body: dict) -> dict:
        """Sets the run's fields; repeated safely. Annotations go through append_annotations."""
        return self._call("PATCH", f"/repos/{repo}/check-runs/{check_run_id}", json=body).json()

    def append_annotations(self, repo: str, check_run_id: int, output: dict, annotations: list[dict]) -> dict:
        """Adds annotations to the run. GitHub appends those of every request that carries them, so
        this PATCH is not idempotent: it is not repeated after a 5xx or after a timeout once sent
        (WriteUncertain); the caller reads the run's annotation count to learn whether it landed."""
        body = {"output": {**output, "annotations": annotations}}
        return self._call("PATCH", f"/repos/{repo}/check-runs/{check_run_id}", json=body, idempotent=False).json()

    def check_run(self, repo: str, check_run_id: int) -> dict:
        return self._call("GET", f"/repos/{repo}/check-runs/{check_run_id}").json()

    def permission(self, repo: str, user: str) -> str:
        response = self._call("GET", f"/repos/{repo}/collaborators/{user}/permission", ok_missing=True)
        if response.status_code == 404:
            return "none"
        return response.json().get("permission", "none")

    def team_members(self, org: str, slug: str) -> list[str]:
        return [m["login"] for m in self._paginate(f"/orgs/{org}/teams/{slug}/members")]
