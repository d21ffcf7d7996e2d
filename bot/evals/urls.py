"""Where model requests may go. The PR does not decide: a suite's `apiBaseUrl` must sit under a
prefix the base branch (`evals.allowed_base_urls`) or the operator (PROMPT_REVIEW_ALLOWED_MODEL_URLS)
allowed, and must not reach private, loopback or link-local addresses unless the operator said so
(PROMPT_REVIEW_ALLOW_PRIVATE_MODEL_URLS=1). The host is resolved once per run, every address is
checked, and the connection is pinned to the checked address, so DNS cannot change its answer later.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import httpx

ALLOWED_URLS_ENV = "PROMPT_REVIEW_ALLOWED_MODEL_URLS"
ALLOW_PRIVATE_ENV = "PROMPT_REVIEW_ALLOW_PRIVATE_MODEL_URLS"
CONFIG_KEY = "evals.allowed_base_urls"
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_TRUE = {"1", "true", "yes", "on"}


class UrlRefused(Exception):
    """The request may not be sent there; the message names the setting that would allow it."""


def _origin_and_path(url: str) -> tuple[str, str, int, str] | None:
    try:
        u = httpx.URL(url)
        scheme = {"ws": "http", "wss": "https"}.get(u.scheme, u.scheme)  # a WebSocket URL is its HTTP origin's
        port = u.port or {"http": 80, "https": 443}.get(scheme)
    except (httpx.InvalidURL, ValueError):
        return None
    if scheme not in ("http", "https") or not u.host or port is None:
        return None
    return scheme, u.host.lower(), port, u.path


def under(url: str, prefix: str) -> bool:
    """`url` is on the prefix's origin and its path continues the prefix's path at a '/' boundary,
    so 'https://api.example.com/v1' covers '.../v1/chat' but not '.../v10' or 'api.example.com.evil.net'."""
    a, b = _origin_and_path(url), _origin_and_path(prefix)
    if a is None or b is None or a[:3] != b[:3]:
        return False
    path, root = a[3].rstrip("/") + "/", b[3].rstrip("/") + "/"
    return path.startswith(root)


def _embedded(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> list[ipaddress.IPv4Address | ipaddress.IPv6Address]:
    """The address plus any IPv4 address it carries (mapped, 6to4, Teredo, NAT64), each of which must pass."""
    out = [ip]
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped:
            out.append(ip.ipv4_mapped)
        if ip.sixtofour:
            out.append(ip.sixtofour)
        if ip.teredo:
            out.extend(ip.teredo)
        if ip in _NAT64:
            out.append(ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF))
    return out


def is_public(address: str) -> bool:
    """Only globally routable unicast addresses; private, loopback, link-local (cloud metadata),
    shared, reserved, unspecified and multicast addresses are not."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return False
    return all(a.is_global and not a.is_multicast for a in _embedded(ip))


@dataclass(frozen=True)
class Target:
    """Where to send one request: the URL to connect to, the Host header and TLS name when pinned."""

    url: str
    headers: Mapping[str, str] = field(default_factory=dict)
    extensions: Mapping[str, object] = field(default_factory=dict)


@dataclass
class UrlPolicy:
    """The run's rules, plus the addresses it already resolved (one lookup per host and port)."""

    allowed: tuple[str, ...] = ()
    allow_private: bool = False
    _resolved: dict[tuple[str, int], str | UrlRefused] = field(default_factory=dict)

    @classmethod
    def from_settings(cls, config_urls: Iterable[str], env: Mapping[str, str]) -> "UrlPolicy":
        operator = [u.strip() for u in env.get(ALLOWED_URLS_ENV, "").split(",") if u.strip()]
        return cls(tuple(config_urls) + tuple(operator), env.get(ALLOW_PRIVATE_ENV, "").strip().lower() in _TRUE)

    def is_allowed(self, url: str) -> bool:
        return any(under(url, prefix) for prefix in self.allowed)

    async def target(self, base: str, path: str, written_as: str) -> Target:
        """`base + path` for a suite-written `base`, pinned to its checked address, or UrlRefused.
        `written_as` names the suite key in the message."""
        parts = _origin_and_path(base)
        if parts is None:
            raise UrlRefused(f"{written_as} {_show(base)} is not an http(s) URL")
        if not self.is_allowed(base):
            raise UrlRefused(
                f"{written_as} {_show(base)} is not an allowed model URL: add its prefix to {CONFIG_KEY} in "
                f".github/prompt-review.yml on the base branch, or to the service setting {ALLOWED_URLS_ENV}"
            )
        url = base + path
        if self.allow_private:
            return Target(url)
        scheme, host, port, _ = parts
        if (host, port) not in self._resolved:
            self._resolved[(host, port)] = await _resolve_public(host, port, written_as, base)
        checked = self._resolved[(host, port)]
        if isinstance(checked, UrlRefused):
            raise checked
        original = httpx.URL(url)
        headers = {"Host": original.netloc.decode("ascii")}
        extensions = {"sni_hostname": host} if scheme == "https" else {}
        return Target(str(original.copy_with(host=checked)), headers, extensions)


async def _resolve_public(host: str, port: int, written_as: str, url: str) -> str | UrlRefused:
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        return UrlRefused(f"{written_as} {_show(url)}: the host name {_show(host)} does not resolve")
    addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
    if not addresses:
        return UrlRefused(f"{written_as} {_show(url)}: the host name {_show(host)} does not resolve")
    private = [a for a in addresses if not is_public(a)]
    if private:
        return UrlRefused(
            f"{written_as} {_show(url)} reaches {private[0]}, a private, loopback or link-local address: "
            f"only the operator can allow that ({ALLOW_PRIVATE_ENV}=1; `prompt-review review --allow-private-urls`)"
        )
    return addresses[0]


def _show(text: str, limit: int = 120) -> str:
    """A PR-written value quoted on one line, without control characters, at most `limit` characters."""
    clean = "".join(ch for ch in text if ch.isprintable())
    return repr(clean if len(clean) <= limit else clean[: limit - 1] + "…")
