"""The sandbox's `requests`: requests.get/post/… and Session, sending each request through the sandbox's network
bridge, where prompt-review decides where it may go (a model API it calls, or a URL the base branch allows) and
puts a credential's real value in place of the placeholder the code read from os.environ (in headers, to that
credential's own vendor only). Redirects are not followed; `files=`, streaming downloads and client certificates
are not here. Runs inside the sandbox: standard library only (bot/evals/sandbox/py.py).
"""

import base64 as _base64
import json as _json
from urllib.parse import urlencode as _urlencode

import _prompt_review_bridge as _bridge
from _prompt_review_sdk import CaseInsensitive
from requests import exceptions
from requests.exceptions import (ConnectionError, ConnectTimeout, HTTPError, JSONDecodeError, ReadTimeout,  # noqa: F401
                                 RequestException, Timeout, TooManyRedirects)

__version__ = "2.32.0+prompt-review-sandbox"
codes = type("codes", (), {"ok": 200, "OK": 200, "created": 201, "no_content": 204, "bad_request": 400,
                           "unauthorized": 401, "forbidden": 403, "not_found": 404, "too_many_requests": 429,
                           "internal_server_error": 500})


class CaseInsensitiveDict(CaseInsensitive):
    pass


class Response:
    def __init__(self, answer, url, method):
        self.status_code = int(answer.get("status", 0))
        self.reason = answer.get("statusText", "")
        self.headers = CaseInsensitiveDict(answer.get("headers") or {})
        self.text = answer.get("body", "")
        self.url = url
        self.encoding = "utf-8"
        self.request = type("PreparedRequest", (), {"url": url, "method": method})()
        self.history = []

    @property
    def content(self):
        return self.text.encode("utf-8")

    @property
    def ok(self):
        return self.status_code < 400

    def json(self, **options):
        try:
            return _json.loads(self.text, **options)
        except ValueError as exc:
            raise JSONDecodeError(str(exc), self.text, 0) from None

    def raise_for_status(self):
        if 400 <= self.status_code < 500:
            raise HTTPError("%d Client Error: %s for url: %s" % (self.status_code, self.reason, self.url), response=self)
        if self.status_code >= 500:
            raise HTTPError("%d Server Error: %s for url: %s" % (self.status_code, self.reason, self.url), response=self)

    def iter_lines(self, chunk_size=512, decode_unicode=False, delimiter=None):
        for line in self.text.split(delimiter) if delimiter else self.text.splitlines():
            yield line if decode_unicode else line.encode("utf-8")

    def iter_content(self, chunk_size=1, decode_unicode=False):
        data = self.text if decode_unicode else self.content
        step = chunk_size or len(data) or 1
        for i in range(0, len(data), step):
            yield data[i:i + step]

    def close(self):
        pass

    def __enter__(self):
        return self

    def __exit__(self, *_exc):
        pass

    def __bool__(self):
        return self.ok

    def __repr__(self):
        return "<Response [%d]>" % self.status_code


def request(method, url, params=None, data=None, headers=None, cookies=None, files=None, auth=None, timeout=None,
            allow_redirects=True, proxies=None, hooks=None, stream=None, verify=None, cert=None, json=None):
    if files is not None:
        raise RequestException("files=: the sandbox's requests sends no file uploads")
    if cert is not None:
        raise RequestException("cert=: the sandbox's requests has no client certificates")
    url = str(url)
    if params:
        url += ("&" if "?" in url else "?") + _urlencode(params, doseq=True)
    sent = {str(k): str(v) for k, v in (headers or {}).items() if v is not None}
    lower = {k.lower() for k in sent}
    body = None
    if json is not None and data is None:
        body = _json.dumps(json)
        if "content-type" not in lower:
            sent["Content-Type"] = "application/json"
    elif isinstance(data, (dict, list, tuple)):
        body = _urlencode(data, doseq=True)
        if "content-type" not in lower:
            sent["Content-Type"] = "application/x-www-form-urlencoded"
    elif isinstance(data, bytes):
        body = data.decode("utf-8")
    elif data is not None:
        body = str(data)
    if isinstance(auth, tuple) and len(auth) == 2:
        sent["Authorization"] = "Basic " + _base64.b64encode(("%s:%s" % auth).encode("utf-8")).decode("ascii")
    if cookies:
        sent["Cookie"] = "; ".join("%s=%s" % (k, v) for k, v in dict(cookies).items())
    if isinstance(timeout, tuple):
        timeout = sum(t for t in timeout if isinstance(t, (int, float)))
    answer = _bridge.fetch(method, url, sent, body, timeout)
    if "error" in answer:
        message = str(answer["error"])
        raise (ReadTimeout if "within" in message else ConnectionError)(message)
    return Response(answer, url, str(method).upper())


def get(url, params=None, **kwargs):
    return request("GET", url, params=params, **kwargs)


def post(url, data=None, json=None, **kwargs):
    return request("POST", url, data=data, json=json, **kwargs)


def put(url, data=None, **kwargs):
    return request("PUT", url, data=data, **kwargs)


def patch(url, data=None, **kwargs):
    return request("PATCH", url, data=data, **kwargs)


def delete(url, **kwargs):
    return request("DELETE", url, **kwargs)


def head(url, **kwargs):
    return request("HEAD", url, **kwargs)


class Session:
    def __init__(self):
        self.headers = CaseInsensitiveDict({"Accept": "*/*"})
        self.auth = None
        self.params = {}
        self.cookies = {}
        self.verify = True
        self.proxies = {}

    def request(self, method, url, params=None, headers=None, auth=None, cookies=None, **kwargs):
        merged = dict(self.headers)
        merged.update(headers or {})
        return request(method, url, params={**self.params, **(params or {})} or None, headers=merged,
                       auth=auth or self.auth, cookies={**self.cookies, **(cookies or {})} or None, **kwargs)

    def get(self, url, **kwargs):
        return self.request("GET", url, **kwargs)

    def post(self, url, data=None, json=None, **kwargs):
        return self.request("POST", url, data=data, json=json, **kwargs)

    def put(self, url, data=None, **kwargs):
        return self.request("PUT", url, data=data, **kwargs)

    def patch(self, url, data=None, **kwargs):
        return self.request("PATCH", url, data=data, **kwargs)

    def delete(self, url, **kwargs):
        return self.request("DELETE", url, **kwargs)

    def mount(self, prefix, adapter):
        pass

    def close(self):
        pass

    def __enter__(self):
        return self

    def __exit__(self, *_exc):
        pass


session = Session
