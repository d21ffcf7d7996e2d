"""The sandbox's `httpx`: httpx.get/post/…, `Client` and `AsyncClient`, sending each request through the sandbox's
network bridge, where prompt-review decides where it may go (a model API it calls, or a URL the base branch allows)
and puts a credential's real value in place of the placeholder the code read from os.environ (in headers, to that
credential's own vendor only). Redirects are not followed; streaming, files and HTTP/2 are not here. Runs inside the
sandbox: standard library only (bot/evals/sandbox/py.py).
"""

import json as _json
from urllib.parse import urlencode as _urlencode

import _prompt_review_bridge as _bridge
from _prompt_review_sdk import CaseInsensitive

__version__ = "0.27.0+prompt-review-sandbox"


class HTTPError(Exception):
    def __init__(self, message, *, request=None):
        super().__init__(message)
        self.request = request


class RequestError(HTTPError):
    pass


class TransportError(RequestError):
    pass


class TimeoutException(TransportError):
    pass


class ConnectTimeout(TimeoutException):
    pass


class ReadTimeout(TimeoutException):
    pass


class NetworkError(TransportError):
    pass


class ConnectError(NetworkError):
    pass


class HTTPStatusError(HTTPError):
    def __init__(self, message, *, request=None, response=None):
        super().__init__(message, request=request)
        self.response = response


class InvalidURL(Exception):
    pass


class Timeout:
    def __init__(self, timeout=None, *, connect=None, read=None, write=None, pool=None):
        self.timeout = timeout if isinstance(timeout, (int, float)) else None
        self.read = read if read is not None else self.timeout

    def seconds(self):
        return self.read if isinstance(self.read, (int, float)) else self.timeout


def _seconds(timeout):
    if isinstance(timeout, Timeout):
        return timeout.seconds()
    if isinstance(timeout, (int, float)) and not isinstance(timeout, bool):
        return timeout
    return None


class Headers(CaseInsensitive):
    pass


class Request:
    def __init__(self, method, url, headers):
        self.method, self.url, self.headers = method, url, headers


class Response:
    def __init__(self, answer, request):
        self.status_code = int(answer.get("status", 0))
        self.reason_phrase = answer.get("statusText", "")
        self.headers = Headers(answer.get("headers") or {})
        self.text = answer.get("body", "")
        self.request = request
        self.url = request.url
        self.encoding = "utf-8"

    @property
    def content(self):
        return self.text.encode("utf-8")

    @property
    def is_success(self):
        return 200 <= self.status_code < 300

    @property
    def is_error(self):
        return self.status_code >= 400

    def json(self, **options):
        return _json.loads(self.text, **options)

    def raise_for_status(self):
        if self.is_success or 100 <= self.status_code < 200 or 300 <= self.status_code < 400:
            return self
        kind = "Client error" if self.status_code < 500 else "Server error"
        raise HTTPStatusError("%s '%d %s' for url '%s'" % (kind, self.status_code, self.reason_phrase, self.url),
                              request=self.request, response=self)

    def iter_lines(self):
        yield from self.text.splitlines()

    def iter_text(self, chunk_size=None):
        yield self.text

    def read(self):
        return self.content

    def close(self):
        pass

    def __enter__(self):
        return self

    def __exit__(self, *_exc):
        pass

    def __repr__(self):
        return "<Response [%d %s]>" % (self.status_code, self.reason_phrase)


def _send(method, url, params=None, content=None, data=None, files=None, json=None, headers=None, cookies=None,
          auth=None, timeout=None, follow_redirects=None, base_url="", default_headers=None, default_params=None,
          default_timeout=None, **_options):
    if files is not None:
        raise RequestError("files=: the sandbox's httpx sends no file uploads")
    url = str(url)
    if base_url and "://" not in url:
        url = base_url.rstrip("/") + "/" + url.lstrip("/")
    query = {**(default_params or {}), **(params or {})}
    if query:
        url += ("&" if "?" in url else "?") + _urlencode(query, doseq=True)
    sent = {str(k): str(v) for k, v in {**(default_headers or {}), **(headers or {})}.items() if v is not None}
    lower = {k.lower() for k in sent}
    body = None
    if json is not None:
        body = _json.dumps(json)
        if "content-type" not in lower:
            sent["Content-Type"] = "application/json"
    elif isinstance(data, dict):
        body = _urlencode(data, doseq=True)
        if "content-type" not in lower:
            sent["Content-Type"] = "application/x-www-form-urlencoded"
    elif content is not None or data is not None:
        raw = content if content is not None else data
        body = raw.decode("utf-8") if isinstance(raw, bytes) else str(raw)
    if isinstance(auth, tuple) and len(auth) == 2:
        import base64

        sent["Authorization"] = "Basic " + base64.b64encode(("%s:%s" % auth).encode("utf-8")).decode("ascii")
    if cookies:
        sent["Cookie"] = "; ".join("%s=%s" % (k, v) for k, v in dict(cookies).items())
    request = Request(str(method).upper(), url, sent)
    seconds = _seconds(timeout) if timeout is not None else _seconds(default_timeout)
    answer = _bridge.fetch(request.method, url, sent, body, seconds)
    if "error" in answer:
        message = str(answer["error"])
        raise (ReadTimeout if "within" in message else ConnectError)(message, request=request)
    return Response(answer, request)


def request(method, url, **kwargs):
    return _send(method, url, **kwargs)


def get(url, **kwargs):
    return _send("GET", url, **kwargs)


def post(url, **kwargs):
    return _send("POST", url, **kwargs)


def put(url, **kwargs):
    return _send("PUT", url, **kwargs)


def patch(url, **kwargs):
    return _send("PATCH", url, **kwargs)


def delete(url, **kwargs):
    return _send("DELETE", url, **kwargs)


class Client:
    def __init__(self, *, base_url="", headers=None, params=None, timeout=5.0, auth=None, cookies=None, **_options):
        self.base_url = str(base_url)
        self.headers = Headers(headers or {})
        self.params = dict(params or {})
        self.timeout = timeout
        self.auth = auth
        self.cookies = dict(cookies or {})

    def request(self, method, url, **kwargs):
        kwargs.setdefault("auth", self.auth)
        kwargs.setdefault("cookies", self.cookies or None)
        return _send(method, url, base_url=self.base_url, default_headers=dict(self.headers), default_params=self.params,
                     default_timeout=self.timeout, **kwargs)

    def get(self, url, **kwargs):
        return self.request("GET", url, **kwargs)

    def post(self, url, **kwargs):
        return self.request("POST", url, **kwargs)

    def put(self, url, **kwargs):
        return self.request("PUT", url, **kwargs)

    def patch(self, url, **kwargs):
        return self.request("PATCH", url, **kwargs)

    def delete(self, url, **kwargs):
        return self.request("DELETE", url, **kwargs)

    def close(self):
        pass

    def __enter__(self):
        return self

    def __exit__(self, *_exc):
        pass


class AsyncClient(Client):
    async def request(self, method, url, **kwargs):
        return Client.request(self, method, url, **kwargs)

    async def get(self, url, **kwargs):
        return Client.request(self, "GET", url, **kwargs)

    async def post(self, url, **kwargs):
        return Client.request(self, "POST", url, **kwargs)

    async def put(self, url, **kwargs):
        return Client.request(self, "PUT", url, **kwargs)

    async def patch(self, url, **kwargs):
        return Client.request(self, "PATCH", url, **kwargs)

    async def delete(self, url, **kwargs):
        return Client.request(self, "DELETE", url, **kwargs)

    async def aclose(self):
        pass

    async def __aenter__(self):
        return self

    async def __aexit__(self, *_exc):
        pass
