"""The installation client's REST calls authorized by a plain token instead of an App's JWT.

For `review --post`: a workflow's GITHUB_TOKEN (itself an installation token of the
`github-actions` App) or any token another CI system holds. Retries, rate-limit waits and
WriteUncertain on a create that timed out are GitHubApp.request's, unchanged.
"""

from __future__ import annotations

import httpx

from bot.github.client import GitHubApp, InstallationClient
from bot.logs import register_secret


class TokenClient(InstallationClient):
    def __init__(self, token: str, api_url: str = "https://api.github.com", *, timeout: float = 30.0,
                 transport: httpx.BaseTransport | None = None):
        # The App half is only the HTTP session and request policy: no JWT is ever minted.
        super().__init__(GitHubApp(0, "", api_url, timeout=timeout, transport=transport), installation_id=0)
        register_secret(token)
        self._auth = f"token {token}"

    def close(self) -> None:
        self.app.close()

    def _call(self, method: str, path: str, **kwargs) -> httpx.Response:
        return self.app.request(method, path, auth=self._auth, **kwargs)

    def check_runs_for(self, repo: str, sha: str, name: str | None = None) -> list[dict]:
        """The commit's latest check runs by name, of any App: which are ours is told by their
        `external_id` (the callers match it), since a plain token has no App id to filter on."""
        params = {"check_name": name} if name else {}
        response = self._call("GET", f"/repos/{repo}/commits/{sha}/check-runs", params={**params, "per_page": 100})
        return response.json().get("check_runs", [])
