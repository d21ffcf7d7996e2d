"""HTTP plumbing shared by the simulator's routes: GitHub-style errors, auth, pagination, JSON bodies.
Each helper is given the simulator's state; none reaches for the app or the driver."""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import urlencode

import jwt
from fastapi import Request

from bot.simulator.records import AppRecord, Installation, Repo
from bot.simulator.state import SimState

DOCS = "https://docs.github.com/rest"


class GitHubError(Exception):
    def __init__(self, status: int, message: str, documentation_url: str = DOCS, headers: dict[str, str] | None = None,
                 errors: list[dict[str, Any]] | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.documentation_url = status, message, documentation_url
        self.headers = headers or {}
        self.errors = errors

    def body(self) -> dict[str, Any]:
        out: dict[str, Any] = {"message": self.message, "documentation_url": self.documentation_url,
                               "status": str(self.status)}
        if self.errors is not None:
            out["errors"] = self.errors
        return out


def not_found() -> GitHubError:
    return GitHubError(404, "Not Found")


def unprocessable(message: str, documentation_url: str = DOCS) -> GitHubError:
    return GitHubError(422, message, documentation_url)


async def read_json(request: Request) -> Any:
    try:
        return await request.json()
    except ValueError:
        raise GitHubError(400, "Problems parsing JSON") from None


def credential(request: Request) -> str | None:
    """The token of an `Authorization: token …` or `Bearer …` header."""
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() in ("token", "bearer") and value.strip():
        return value.strip()
    return None


def require_app(s: SimState, request: Request) -> AppRecord:
    """The App whose RS256 JWT authorizes this call (GitHub's rules: iss = app id, exp ≤ 10 min)."""
    token = credential(request)
    if token is None:
        raise GitHubError(401, "A JSON web token could not be decoded")
    try:
        claims = jwt.decode(token, options={"verify_signature": False})
        iss = str(claims.get("iss"))
        app = next((a for a in s.apps.values() if str(a.id) == iss or a.client_id == iss), None)
        if app is None:
            raise GitHubError(401, f"Integration not found for iss {iss!r}")
        claims = jwt.decode(token, app.public_key_pem, algorithms=["RS256"], leeway=60,
                            options={"require": ["iat", "exp", "iss"]})
    except jwt.ExpiredSignatureError:
        raise GitHubError(401, "'Expiration time' claim ('exp') must be a numeric value representing the future time"
                               " at which the assertion expires") from None
    except jwt.PyJWTError:
        raise GitHubError(401, "A JSON web token could not be decoded") from None
    if claims["exp"] - time.time() > 660:  # GitHub allows at most 10 minutes (plus drift)
        raise GitHubError(401, "'Expiration time' claim ('exp') is too far in the future")
    return app


def require_installation(s: SimState, request: Request, repo: Repo | None = None, org: str | None = None) -> Installation:
    """The installation whose token authorizes this call; 404 when it cannot see `repo`/`org`."""
    token = credential(request)
    if token is None:
        raise GitHubError(401, "Requires authentication")
    with s.lock:
        tok = s.tokens.get(token)
        if tok is None or tok.expires_at <= s.now():
            raise GitHubError(401, "Bad credentials")
        inst = s.installations.get(tok.installation_id)
        if inst is None:
            raise GitHubError(401, "Bad credentials")
        if repo is not None and repo.full_name not in s.installed_repo_names(inst):
            raise not_found()
        if org is not None and inst.account.login != org:
            raise not_found()
        return inst


def require_permission(s: SimState, request: Request, scope: str, level: str = "write") -> None:
    """403 as GitHub answers a token whose permissions lack `scope: level` (e.g. a fork PR's GITHUB_TOKEN)."""
    with s.lock:
        tok = s.tokens.get(credential(request) or "")
        if tok is None:
            return  # require_installation has answered already
        granted = tok.permissions if tok.permissions is not None else s.apps[s.installations[tok.installation_id].app_id].permissions
        ranks = {"read": 1, "write": 2, "admin": 3}
        if ranks.get(granted.get(scope, ""), 0) < ranks[level]:
            raise GitHubError(403, "Resource not accessible by integration",
                              "https://docs.github.com/rest/overview/permissions-required-for-github-apps")


def repo_for(s: SimState, request: Request, owner: str, name: str) -> Repo:
    """The repository, after checking the caller's installation token can see it."""
    with s.lock:
        r = s.repos.get(f"{owner}/{name}")
    if r is None:
        require_installation(s, request)  # 401 beats 404 for anonymous callers
        raise not_found()
    require_installation(s, request, repo=r)
    return r


def user_login(s: SimState, request: Request) -> str:
    """The person whose user access token authorizes this call."""
    token = credential(request)
    with s.lock:
        login = s.user_tokens.get(token or "")
    if login is None:
        raise GitHubError(401, "Requires authentication" if token is None else "Bad credentials")
    return login


def page_params(request: Request, default: int = 30) -> tuple[int, int]:
    q = request.query_params
    try:
        per_page = min(max(int(q.get("per_page", default)), 1), 100)
        page = max(int(q.get("page", 1)), 1)
    except ValueError:
        raise unprocessable("Invalid pagination parameter") from None
    return per_page, page


def _link(s: SimState, request: Request, **params: Any) -> str:
    q = dict(request.query_params)
    q.update({k: str(v) for k, v in params.items()})
    base = s.api_url.rstrip("/") + request.url.path
    return f"{base}?{urlencode(q)}"


def paginate(s: SimState, request: Request, items: list[Any], default: int = 30) -> tuple[list[Any], dict[str, str]]:
    """One page of `items` and GitHub's RFC 5988 `Link` header (next/last, prev/first)."""
    per_page, page = page_params(request, default)
    last = max(1, -(-len(items) // per_page))
    chunk = items[(page - 1) * per_page: page * per_page]
    rels = []
    if page > 1:
        rels += [(min(page - 1, last), "prev"), (1, "first")]
    if page < last:
        rels += [(page + 1, "next"), (last, "last")]
    headers = {"Link": ", ".join(f'<{_link(s, request, per_page=per_page, page=n)}>; rel="{rel}"' for n, rel in rels)} if rels else {}
    return chunk, headers
