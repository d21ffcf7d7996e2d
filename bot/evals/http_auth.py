"""An `http` provider's `auth` (promptfoo 0.121's bearer, basic, api_key in a header or the query, and OAuth
client_credentials / password), with every secret taken from the service's environment through `{{env.NAME}}` and
sent only where bot.evals.header_secrets lets that variable go (a vendor's key to its API, any other variable to the
URL prefixes the base branch's `evals.http_credentials` or the operator grants it). A secret written in the suite is
refused when the suite is read: credentials come from the environment only.

As promptfoo: bearer sets `authorization: Bearer TOKEN`, basic `authorization: Basic base64(user:password)`, api_key
the header `keyName` (lowercased) or a query parameter after the suite's queryParams; OAuth posts a form
(`grant_type`, `client_id`, `client_secret`, `username`, `password`, `scope` joined by spaces) to `tokenUrl` and sends
`authorization: Bearer ACCESS_TOKEN`, the token kept for the run until a minute before it expires (`expires_in`,
default 3600 s). The token URL goes through the same URL policy as the provider's url; its credentials must be
granted to the token URL. The variables' values never appear in a message or a fingerprint.
"""

from __future__ import annotations

import asyncio
import base64
import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx

from bot.core.errors import CheckError
from bot.evals.header_secrets import fill
from bot.evals.http_body import form_encoded as _form
from bot.evals.providers_shapes import ENV_TOKEN
from bot.evals.urls import UrlPolicy, UrlRefused

ENV_ONLY = "credentials come from the environment only: write it as {{env.NAME}} (granted in evals.http_credentials)"
_TOKEN_BYTES = 64 * 1024


def _text_problem(name: str, value: Any, secret: bool) -> str | None:
    if not isinstance(value, str) or not value:
        return f"auth.{name} must be text"
    if "{{" in ENV_TOKEN.sub("", value) or "{%" in value:
        return f"unsupported: auth.{name} may use {{{{env.NAME}}}} and nothing else templated"
    if secret and not ENV_TOKEN.search(value):
        return f"refused: auth.{name}: {ENV_ONLY}"
    return None


# type → (field → (required, secret))
_FIELDS: dict[str, dict[str, tuple[bool, bool]]] = {
    "bearer": {"token": (True, True)},
    "basic": {"username": (True, False), "password": (True, True)},
    "api_key": {"value": (True, True), "keyName": (True, False), "placement": (True, False)},
    "oauth:client_credentials": {"tokenUrl": (True, False), "clientId": (True, False), "clientSecret": (True, True),
                                 "scopes": (False, False)},
    "oauth:password": {"tokenUrl": (True, False), "clientId": (False, False), "clientSecret": (False, True),
                       "username": (True, False), "password": (True, True), "scopes": (False, False)},
}


def auth_problem(value: Any) -> str | None:
    """What is wrong with an http provider's `auth` as written (None: it is sent as promptfoo sends it)."""
    if not isinstance(value, dict):
        return "auth must be a mapping with a type: bearer, basic, api_key or oauth"
    kind = value.get("type")
    if kind == "file":
        return ("unsupported: auth type file: a token made by code from the repository (prompt-review's sandbox has no "
                "network and no secrets); use bearer, basic, api_key or oauth with {{env.NAME}}")
    key = f"oauth:{value.get('grantType')}" if kind == "oauth" else kind
    fields = _FIELDS.get(str(key))
    if fields is None:
        if kind == "oauth":
            return "auth.grantType must be client_credentials or password"
        return "auth.type must be bearer, basic, api_key or oauth"
    for name in value:
        if name not in fields and name not in ("type", "grantType"):
            return f"unsupported auth key {name!r} for auth type {kind} (supported: {', '.join(sorted(fields))})"
    for name, (required, secret) in fields.items():
        if name not in value:
            if required:
                return f"auth type {kind} needs auth.{name}"
            continue
        item = value[name]
        if name == "placement":
            if item not in ("header", "query"):
                return "auth.placement must be header or query"
        elif name == "scopes":
            if not isinstance(item, list) or not all(isinstance(s, str) and "{{" not in s for s in item):
                return "auth.scopes must be a list of text"
        elif name == "tokenUrl":
            if not isinstance(item, str) or not item.startswith(("http://", "https://")) or "{{" in item:
                return "auth.tokenUrl must be an http(s) URL (not templated)"
        elif name == "keyName":
            if not isinstance(item, str) or not item or "{{" in item:
                return "auth.keyName must be text (not templated)"
        elif (problem := _text_problem(name, item, secret)) is not None:
            return problem
    return None


@dataclass
class TokenCache:
    """OAuth access tokens of one run, by token URL and client (never by secret), until a minute before expiry."""
    tokens: dict[str, tuple[str, float]] = field(default_factory=dict)
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)


class AuthFailed(Exception):
    def __init__(self, message: str, kind: CheckError):
        super().__init__(message)
        self.kind = kind


def _filled(where: str, auth: Mapping[str, Any], names: tuple[str, ...], url: str, env: Mapping[str, str],
            granted: Mapping[str, tuple[str, ...]], own: Callable[[str], list[str]]) -> dict[str, str]:
    """The named auth fields with `{{env.NAME}}` filled for a request to `url` (HeaderRefused: not granted there)."""
    return fill(where, {f"auth.{n}": str(auth[n]) for n in names if auth.get(n) is not None}, url, env, granted, own(url))


async def auth_parts(where: str, auth: Mapping[str, Any] | None, url: str, env: Mapping[str, str],
                     granted: Mapping[str, tuple[str, ...]], own: Callable[[str], list[str]], *, client: httpx.AsyncClient, urls: UrlPolicy,
                     cache: TokenCache, timeout_s: float) -> tuple[dict[str, str], list[list[str]]]:
    """(headers, query pairs) the provider's `auth` adds to a request to `url`; `own(url)`: the vendor key variables
    that may go to `url` (its vendor's API). HeaderRefused when a variable may
    not go there or is not set; AuthFailed when the token URL is refused or gives no token."""
    if not auth:
        return {}, []
    kind = auth.get("type")
    if kind == "bearer":
        return {"authorization": "Bearer " + _filled(where, auth, ("token",), url, env, granted, own)["auth.token"]}, []
    if kind == "basic":
        got = _filled(where, auth, ("username", "password"), url, env, granted, own)
        pair = f"{got['auth.username']}:{got['auth.password']}".encode()
        return {"authorization": "Basic " + base64.b64encode(pair).decode()}, []
    if kind == "api_key":
        value = _filled(where, auth, ("value",), url, env, granted, own)["auth.value"]
        name = str(auth["keyName"])
        return ({name.lower(): value}, []) if auth.get("placement") == "header" else ({}, [[name, value]])
    token_url = str(auth["tokenUrl"])
    names = ("clientId", "clientSecret", "username", "password")
    got = _filled(where, auth, names, token_url, env, granted, own)  # granted to the token URL
    key = json.dumps([token_url, auth.get("grantType"), got.get("auth.clientId"), got.get("auth.username"),
                      auth.get("scopes") or []])
    async with cache.lock:
        held = cache.tokens.get(key)
        if held is None or time.monotonic() + 60 >= held[1]:
            held = await _token(where, auth, got, token_url, client, urls, timeout_s)
            cache.tokens[key] = held
    return {"authorization": f"Bearer {held[0]}"}, []


async def _token(where: str, auth: Mapping[str, Any], got: Mapping[str, str], token_url: str, client: httpx.AsyncClient,
                 urls: UrlPolicy, timeout_s: float) -> tuple[str, float]:
    form = [("grant_type", str(auth["grantType"]))]
    for name, field_ in (("client_id", "clientId"), ("client_secret", "clientSecret")):
        if got.get(f"auth.{field_}"):
            form.append((name, got[f"auth.{field_}"]))
    if auth["grantType"] == "password":
        form += [("username", got["auth.username"]), ("password", got["auth.password"])]
    if auth.get("scopes"):
        form.append(("scope", " ".join(auth["scopes"])))
    try:
        target = await urls.target(token_url, "", f"{where} auth.tokenUrl")
    except UrlRefused as exc:
        raise AuthFailed(str(exc), CheckError.URL_REFUSED) from None
    try:
        async with client.stream("POST", target.url, content="&".join(f"{_form(k)}={_form(v)}" for k, v in form).encode(),
                                 headers={**target.headers, "Content-Type": "application/x-www-form-urlencoded"},
                                 extensions=dict(target.extensions), timeout=timeout_s) as resp:
            raw = bytearray()
            async for chunk in resp.aiter_bytes():
                raw += chunk
                if len(raw) > _TOKEN_BYTES:
                    raise AuthFailed(f"{where}: the OAuth token answer is larger than {_TOKEN_BYTES} bytes", CheckError.BAD_RESPONSE)
            status = resp.status_code
    except httpx.HTTPError as exc:
        raise AuthFailed(f"{where}: the OAuth token request failed ({type(exc).__name__})", CheckError.PROVIDER_DOWN) from None
    if not 200 <= status < 300:
        kind = CheckError.BAD_CREDENTIALS if status in (400, 401, 403) else CheckError.PROVIDER_DOWN
        raise AuthFailed(f"{where}: the OAuth token request to auth.tokenUrl failed with status {status}", kind)
    try:
        data = json.loads(bytes(raw))
    except ValueError:
        data = None
    if not isinstance(data, dict) or not isinstance(data.get("access_token"), str) or not data["access_token"]:
        raise AuthFailed(f"{where}: the OAuth token answer has no access_token", CheckError.BAD_RESPONSE)
    expires = data.get("expires_in")
    seconds = float(expires) if isinstance(expires, (int, float)) and expires > 0 else 3600.0
    return data["access_token"], time.monotonic() + seconds
