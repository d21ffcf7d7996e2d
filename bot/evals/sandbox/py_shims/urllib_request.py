"""The sandbox's `urllib.request` for a provider written in Python: `Request` and `urlopen` as the standard library
has them, sending each request through the sandbox's network bridge (where prompt-review decides where it may go and
puts a credential's real value in place of the placeholder the code read from os.environ), instead of a socket,
which the sandbox refuses. Redirects are not followed; openers, handlers, proxies and file:// URLs are not here.
Runs inside the sandbox: standard library only (bot/evals/sandbox/py.py); it replaces urllib.request in provider
calls only.
"""

import io as _io
import urllib.error as _error
from urllib.parse import urlsplit as _urlsplit

import _prompt_review_bridge as _bridge

__all__ = ["Request", "urlopen", "HTTPError", "URLError"]
HTTPError, URLError = _error.HTTPError, _error.URLError


class Request:
    def __init__(self, url, data=None, headers=None, origin_req_host=None, unverifiable=False, method=None):
        self.full_url = str(url)
        self.data = data
        self.headers = {}
        self.unredirected_hdrs = {}
        self.method = method
        for key, value in dict(headers or {}).items():
            self.add_header(key, value)

    def get_full_url(self):
        return self.full_url

    @property
    def host(self):
        return _urlsplit(self.full_url).netloc

    @property
    def type(self):
        return _urlsplit(self.full_url).scheme

    def get_method(self):
        return self.method or ("POST" if self.data is not None else "GET")

    def add_header(self, key, value):
        self.headers[str(key).capitalize()] = str(value)

    def add_unredirected_header(self, key, value):
        self.unredirected_hdrs[str(key).capitalize()] = str(value)

    def has_header(self, name):
        return name in self.headers or name in self.unredirected_hdrs

    def get_header(self, name, default=None):
        return self.headers.get(name, self.unredirected_hdrs.get(name, default))

    def remove_header(self, name):
        self.headers.pop(name, None)
        self.unredirected_hdrs.pop(name, None)

    def header_items(self):
        return list({**self.unredirected_hdrs, **self.headers}.items())


class _Headers(dict):
    def __getitem__(self, key):
        return super().get(str(key).lower())

    def get(self, key, default=None):
        return super().get(str(key).lower(), default)

    def get_content_charset(self, failobj=None):
        kind = self.get("content-type") or ""
        for part in kind.split(";")[1:]:
            name, _, value = part.strip().partition("=")
            if name.lower() == "charset":
                return value.strip('"') or failobj
        return failobj

    def get_all(self, name, failobj=None):
        value = self.get(name)
        return [value] if value is not None else failobj


class _Response(_io.BytesIO):
    def __init__(self, answer, url):
        super().__init__(answer.get("body", "").encode("utf-8"))
        self.status = self.code = int(answer.get("status", 0))
        self.reason = self.msg = answer.get("statusText", "")
        self.headers = _Headers({str(k).lower(): v for k, v in (answer.get("headers") or {}).items()})
        self.url = url

    def getcode(self):
        return self.status

    def geturl(self):
        return self.url

    def info(self):
        return self.headers

    def getheader(self, name, default=None):
        return self.headers.get(name, default)

    def getheaders(self):
        return list(self.headers.items())


def urlopen(url, data=None, timeout=None, *, cafile=None, capath=None, cadefault=False, context=None):
    request = url if isinstance(url, Request) else Request(str(url))
    if data is not None:
        request.data = data
    body = request.data
    if body is not None and not isinstance(body, (bytes, bytearray, str)):
        raise TypeError("POST data should be bytes, an iterable of bytes, or a file object. It cannot be of type str.")
    if isinstance(body, (bytes, bytearray)):
        body = bytes(body).decode("utf-8")
    headers = dict(request.header_items())
    if body is not None and "Content-type" not in headers:
        headers["Content-type"] = "application/x-www-form-urlencoded"
    seconds = timeout if isinstance(timeout, (int, float)) and not isinstance(timeout, bool) else None
    answer = _bridge.fetch(request.get_method(), request.full_url, headers, body, seconds)
    if "error" in answer:
        raise URLError(str(answer["error"]))
    response = _Response(answer, request.full_url)
    if response.status >= 400:
        raise HTTPError(request.full_url, response.status, response.reason, response.headers, response)
    return response
