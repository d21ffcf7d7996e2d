"""The sandbox's `openai`: what a provider written in Python uses of the OpenAI Python library to call a model —
`OpenAI()` / `AsyncOpenAI()` with chat completions, the responses API, completions and embeddings (and the
0.x module functions `openai.ChatCompletion.create`, …) — sending its requests through the sandbox's network
bridge, where prompt-review decides where they may go and puts the real key in place of the placeholder the
code reads from OPENAI_API_KEY. Answers are read-only objects with the library's attribute names (and
`model_dump()`, `to_dict()`, `["key"]`). Not here: streaming, files, uploads, retries, `.parse()` into pydantic
models, Azure. Runs inside the sandbox: standard library only (bot/evals/sandbox/py.py).
"""

import os as _os

from _prompt_review_sdk import Model, api_errors, post_json, request_parts

__version__ = "1.0.0+prompt-review-sandbox"

DEFAULT_BASE_URL = "https://api.openai.com/v1"
NOT_GIVEN = None


class OpenAIError(Exception):
    pass


# APIError, APIConnectionError, APITimeoutError, APIStatusError, BadRequestError, AuthenticationError,
# PermissionDeniedError, NotFoundError, ConflictError, UnprocessableEntityError, RateLimitError, InternalServerError
globals().update(api_errors(OpenAIError, "openai"))
_ERRORS = globals().pop("errors")


class _ResponsesAnswer(Model):
    __slots__ = ()

    @property
    def output_text(self):
        parts = []
        for item in self._data.get("output") or []:
            if isinstance(item, dict) and item.get("type") == "message":
                for part in item.get("content") or []:
                    if isinstance(part, dict) and part.get("type") == "output_text":
                        parts.append(part.get("text") or "")
        return "".join(parts)


class _Resource:
    def __init__(self, client):
        self._client = client


class _ChatCompletions(_Resource):
    def create(self, **params):
        return self._client._post("/chat/completions", params)


class _Chat(_Resource):
    def __init__(self, client):
        super().__init__(client)
        self.completions = _ChatCompletions(client)


class _Completions(_Resource):
    def create(self, **params):
        return self._client._post("/completions", params)


class _Embeddings(_Resource):
    def create(self, **params):
        return self._client._post("/embeddings", params)


class _Responses(_Resource):
    def create(self, **params):
        return self._client._post("/responses", params, _ResponsesAnswer)


class _Moderations(_Resource):
    def create(self, **params):
        return self._client._post("/moderations", params)


class OpenAI:
    def __init__(self, *, api_key=None, organization=None, project=None, base_url=None, timeout=None,
                 max_retries=None, default_headers=None, default_query=None, **_options):
        self.api_key = api_key if api_key is not None else _os.environ.get("OPENAI_API_KEY")
        if not self.api_key:
            raise OpenAIError("The api_key client option must be set either by passing api_key to the client or by "
                              "setting the OPENAI_API_KEY environment variable")
        self.organization = organization if organization is not None else _os.environ.get("OPENAI_ORG_ID")
        self.project = project if project is not None else _os.environ.get("OPENAI_PROJECT_ID")
        self.base_url = str(base_url or _os.environ.get("OPENAI_BASE_URL") or DEFAULT_BASE_URL).rstrip("/")
        self.timeout = timeout if isinstance(timeout, (int, float)) and not isinstance(timeout, bool) else 600
        self.default_headers = dict(default_headers or {})
        self.default_query = dict(default_query or {})
        self.chat = _Chat(self)
        self.completions = _Completions(self)
        self.embeddings = _Embeddings(self)
        self.responses = _Responses(self)
        self.moderations = _Moderations(self)

    def with_options(self, **options):
        merged = {"api_key": self.api_key, "organization": self.organization, "project": self.project,
                  "base_url": self.base_url, "timeout": self.timeout, "default_headers": self.default_headers,
                  "default_query": self.default_query}
        merged.update(options)
        return type(self)(**merged)

    def close(self):
        pass

    def __enter__(self):
        return self

    def __exit__(self, *_exc):
        self.close()

    def _headers(self):
        headers = {"Authorization": "Bearer " + str(self.api_key), "Content-Type": "application/json",
                   "Accept": "application/json"}
        if self.organization:
            headers["OpenAI-Organization"] = str(self.organization)
        if self.project:
            headers["OpenAI-Project"] = str(self.project)
        return headers

    def _post(self, path, params, cls=None):
        extra, timeout, body = request_parts(params, "openai", OpenAIError, self.timeout)
        headers = {**self._headers(), **self.default_headers, **extra}
        query = {**self.default_query, **(params.get("extra_query") or {})}
        url = self.base_url + path
        if query:
            from urllib.parse import urlencode

            url += ("&" if "?" in url else "?") + urlencode(query)
        return post_json(url, headers, body, timeout, _ERRORS, cls)


class _Async:
    """The async client's resources: the same requests, awaited."""

    def __init__(self, sync):
        self._sync = sync

    def __getattr__(self, name):
        value = getattr(self._sync, name)
        if isinstance(value, _Resource):
            return _Async(value)
        if callable(value) and name == "create":
            async def create(**params):
                return value(**params)

            return create
        return value


class AsyncOpenAI:
    def __init__(self, **options):
        self._client = OpenAI(**options)

    def __getattr__(self, name):
        value = getattr(self._client, name)
        return _Async(value) if isinstance(value, _Resource) else value

    async def close(self):
        pass

    async def __aenter__(self):
        return self

    async def __aexit__(self, *_exc):
        pass


class AzureOpenAI:
    def __init__(self, *args, **kwargs):
        raise OpenAIError("AzureOpenAI is not in the sandbox's openai: call the Azure deployment with an `azure:` provider "
                          "in the suite, or with OpenAI(base_url=...) to a URL the base branch allows")


AsyncAzureOpenAI = AzureOpenAI
Client, AsyncClient = OpenAI, AsyncOpenAI

# the module-level client of the 1.x library (`openai.chat.completions.create(...)`, `openai.api_key = ...`) and
# the 0.x functions (`openai.ChatCompletion.create(...)`), both on one default client
api_key = None
api_base = None
base_url = None
organization = None
_default = None


def _client():
    global _default
    key = api_key or _os.environ.get("OPENAI_API_KEY")
    base = base_url or api_base
    if _default is None or _default.api_key != key or (base and _default.base_url != str(base).rstrip("/")):
        _default = OpenAI(api_key=key, base_url=base, organization=organization)
    return _default


class _Module:
    def __init__(self, name):
        self._name = name

    def __getattr__(self, attr):
        return getattr(getattr(_client(), self._name), attr)


chat = _Module("chat")
completions = _Module("completions")
embeddings = _Module("embeddings")
responses = _Module("responses")
moderations = _Module("moderations")


class _Legacy:
    _path = ""

    @classmethod
    def create(cls, **params):
        params.pop("request_timeout", None)
        if "engine" in params and "model" not in params:
            params["model"] = params.pop("engine")
        return _client()._post(cls._path, params)

    @classmethod
    async def acreate(cls, **params):
        return cls.create(**params)


class ChatCompletion(_Legacy):
    _path = "/chat/completions"


class Completion(_Legacy):
    _path = "/completions"


class Embedding(_Legacy):
    _path = "/embeddings"


class Moderation(_Legacy):
    _path = "/moderations"


class error:  # noqa: N801 - the 0.x library's `openai.error` namespace
    OpenAIError = OpenAIError
    APIError = APIError
    APIConnectionError = APIConnectionError
    Timeout = APITimeoutError
    RateLimitError = RateLimitError
    InvalidRequestError = BadRequestError
    AuthenticationError = AuthenticationError
    PermissionError = PermissionDeniedError
    ServiceUnavailableError = InternalServerError
