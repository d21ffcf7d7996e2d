"""What the sandbox's model SDKs (`openai`, `anthropic`) share: answers as read-only objects with the vendor
library's attribute names, the library's exceptions by HTTP status, and one JSON request through the network bridge;
and what its HTTP clients (`requests`, `httpx`) share: header names in any case.
Runs inside the sandbox: standard library only (bot/evals/sandbox/py.py)."""

import json as _json

import _prompt_review_bridge as _bridge


STATUS_ERRORS = (("BadRequestError", 400), ("AuthenticationError", 401), ("PermissionDeniedError", 403), ("NotFoundError", 404),
                 ("ConflictError", 409), ("UnprocessableEntityError", 422), ("RateLimitError", 429), ("InternalServerError", None))


def api_errors(library_error, module, more=()):
    """The exceptions both SDKs define, under `library_error` (OpenAIError, AnthropicError) and named as there:
    APIError, APIConnectionError, APITimeoutError, APIStatusError and one class per HTTP status (`more`: the library's
    own, as (name, status)); "errors" is what post_json raises them by."""

    class APIError(library_error):
        def __init__(self, message, request=None, *, body=None):
            super().__init__(message)
            self.message, self.request, self.body = message, request, body
            error = body.get("error") if isinstance(body, dict) else None
            error = error if isinstance(error, dict) else {}
            self.code, self.param, self.type = error.get("code"), error.get("param"), error.get("type")

    class APIConnectionError(APIError):
        def __init__(self, message="Connection error.", request=None):
            super().__init__(message, request, body=None)

    class APITimeoutError(APIConnectionError):
        def __init__(self, request=None):
            super().__init__("Request timed out.", request)

    class APIStatusError(APIError):
        def __init__(self, message, *, response=None, body=None):
            super().__init__(message, None, body=body)
            self.response = response
            self.status_code = response.status_code if response is not None else None

    out = {"APIError": APIError, "APIConnectionError": APIConnectionError, "APITimeoutError": APITimeoutError,
           "APIStatusError": APIStatusError}
    by_status = {}
    for name, status in STATUS_ERRORS + tuple(more):
        out[name] = type(name, (APIStatusError,), {"__module__": module})
        if status is not None:
            by_status[status] = out[name]
    for cls in out.values():
        cls.__module__, cls.__qualname__ = module, cls.__name__
    out["errors"] = {"connection": APIConnectionError, "timeout": APITimeoutError, "by_status": by_status, "status": APIStatusError,
                     "server": out["InternalServerError"], "api": APIError}
    return out


class CaseInsensitive(dict):
    """Header names as HTTP reads them: any case finds the same one (stored lowercased)."""

    def __init__(self, data=None):
        super().__init__()
        for key, value in dict(data or {}).items():
            self[key] = value

    def __setitem__(self, key, value):
        super().__setitem__(str(key).lower(), value)

    def __getitem__(self, key):
        return super().__getitem__(str(key).lower())

    def __contains__(self, key):
        return super().__contains__(str(key).lower())

    def get(self, key, default=None):
        return super().get(str(key).lower(), default)


def wrap(value, cls=None):
    if isinstance(value, dict):
        return (cls or Model)(value)
    if isinstance(value, list):
        return [wrap(v) for v in value]
    return value


class Model:
    """An answer's object: its fields as attributes (None when the answer lacks one, as the libraries' optional
    fields), as items, and back as plain values."""

    __slots__ = ("_data",)

    def __init__(self, data):
        object.__setattr__(self, "_data", data)

    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        return wrap(self._data.get(name))

    def __setattr__(self, name, value):
        raise AttributeError("the answer is read-only")

    def __getitem__(self, key):
        return wrap(self._data[key])

    def __contains__(self, key):
        return key in self._data

    def get(self, key, default=None):
        return wrap(self._data.get(key, default))

    def keys(self):
        return self._data.keys()

    def model_dump(self, **_options):
        return _json.loads(_json.dumps(self._data))

    to_dict = dict = model_dump

    def model_dump_json(self, indent=None, **_options):
        return _json.dumps(self._data, indent=indent)

    to_json = json = model_dump_json

    def __eq__(self, other):
        return isinstance(other, Model) and other._data == self._data

    def __repr__(self):
        return type(self).__name__ + "(" + _json.dumps(self._data)[:500] + ")"


class HttpResponse:
    def __init__(self, answer):
        self.status_code = answer.get("status", 0)
        self.headers = answer.get("headers") or {}
        self.text = answer.get("body", "")


CLIENT_ONLY = ("extra_headers", "extra_query", "extra_body", "timeout")  # an SDK call's keywords that are not the body


def request_parts(params, library, error, default_timeout):
    """(extra headers, timeout, body) of an SDK call's keywords, as both libraries read them: the client-only keywords
    apart, a keyword given as None (their NOT_GIVEN) left out, `extra_body` merged in; `stream=True` is `error`."""
    if params.get("stream"):
        raise error("stream=True: the sandbox's " + library + " has no streaming; leave `stream` out to get the whole answer")
    headers = {str(k): str(v) for k, v in (params.get("extra_headers") or {}).items()}
    timeout = params.get("timeout") if isinstance(params.get("timeout"), (int, float)) else default_timeout
    body = {k: v for k, v in params.items() if k not in CLIENT_ONLY and v is not None}
    body.update(params.get("extra_body") or {})
    return headers, timeout, body


def post_json(url, headers, body, timeout, errors, cls=None):
    """The answer to one JSON POST as `cls` (Model); `errors` maps the library's exceptions: connection, timeout,
    by_status (status → class), status (the base class), server (5xx), api (a non-JSON answer)."""
    answer = _bridge.fetch("POST", url, headers, _json.dumps(body), timeout)
    if "error" in answer:
        if "within" in str(answer["error"]):
            raise errors["timeout"]()
        raise errors["connection"](str(answer["error"]))
    response = HttpResponse(answer)
    try:
        data = _json.loads(response.text) if response.text else None
    except ValueError:
        data = None
    if response.status_code >= 400:
        text = "Error code: %d - %s" % (response.status_code, _json.dumps(data) if data is not None else response.text[:1000])
        error = errors["by_status"].get(response.status_code, errors["server"] if response.status_code >= 500 else errors["status"])
        raise error(text, response=response, body=data)
    if not isinstance(data, dict):
        raise errors["api"]("the API's answer is not a JSON object: " + response.text[:200], None, body=None)
    return wrap(data, cls)
