"""The sandbox's `anthropic`: what a provider written in Python uses of Anthropic's Python library to call Claude —
`Anthropic()` / `AsyncAnthropic()` with `messages.create` — sending its requests through the sandbox's network
bridge, where prompt-review decides where they may go and puts the real key in place of the placeholder the code
reads from ANTHROPIC_API_KEY. Answers are read-only objects with the library's attribute names (`content[0].text`,
`usage.input_tokens`, `stop_reason`, `model_dump()`). Not here: streaming, batches, files, tool runners, Bedrock
and Vertex clients. Runs inside the sandbox: standard library only (bot/evals/sandbox/py.py).
"""

import os as _os

from _prompt_review_sdk import api_errors, post_json, request_parts

__version__ = "0.40.0+prompt-review-sandbox"

DEFAULT_BASE_URL = "https://api.anthropic.com"
API_VERSION = "2023-06-01"
NOT_GIVEN = None
HUMAN_PROMPT, AI_PROMPT = "\n\nHuman:", "\n\nAssistant:"


class AnthropicError(Exception):
    pass


# APIError, APIConnectionError, APITimeoutError, APIStatusError, BadRequestError, AuthenticationError,
# PermissionDeniedError, NotFoundError, ConflictError, UnprocessableEntityError, RateLimitError, InternalServerError,
# OverloadedError (529)
globals().update(api_errors(AnthropicError, "anthropic", (("OverloadedError", 529),)))
_ERRORS = globals().pop("errors")


class _Messages:
    def __init__(self, client):
        self._client = client

    def create(self, **params):
        return self._client._post("/v1/messages", params)


class Anthropic:
    def __init__(self, *, api_key=None, auth_token=None, base_url=None, timeout=None, max_retries=None,
                 default_headers=None, default_query=None, **_options):
        self.api_key = api_key if api_key is not None else _os.environ.get("ANTHROPIC_API_KEY")
        self.auth_token = auth_token if auth_token is not None else _os.environ.get("ANTHROPIC_AUTH_TOKEN")
        self.base_url = str(base_url or _os.environ.get("ANTHROPIC_BASE_URL") or DEFAULT_BASE_URL).rstrip("/")
        self.timeout = timeout if isinstance(timeout, (int, float)) and not isinstance(timeout, bool) else 600
        self.default_headers = dict(default_headers or {})
        self.messages = _Messages(self)

    def with_options(self, **options):
        merged = {"api_key": self.api_key, "auth_token": self.auth_token, "base_url": self.base_url, "timeout": self.timeout,
                  "default_headers": self.default_headers}
        merged.update(options)
        return type(self)(**merged)

    def close(self):
        pass

    def __enter__(self):
        return self

    def __exit__(self, *_exc):
        pass

    def _post(self, path, params):
        extra, timeout, body = request_parts(params, "anthropic", AnthropicError, self.timeout)
        if not self.api_key and not self.auth_token:
            raise TypeError('Could not resolve authentication method. Expected either api_key or auth_token to be set. Or for '
                            'one of the "X-Api-Key" or "Authorization" headers to be explicitly omitted')
        headers = {"anthropic-version": API_VERSION, "content-type": "application/json", "accept": "application/json"}
        if self.api_key:
            headers["x-api-key"] = str(self.api_key)
        else:
            headers["Authorization"] = "Bearer " + str(self.auth_token)
        headers.update(self.default_headers)
        headers.update(extra)
        return post_json(self.base_url + path, headers, body, timeout, _ERRORS)


class _AsyncMessages:
    def __init__(self, sync):
        self._sync = sync

    async def create(self, **params):
        return self._sync.create(**params)


class AsyncAnthropic(Anthropic):
    def __init__(self, **options):
        super().__init__(**options)
        self.messages = _AsyncMessages(_Messages(self))

    async def close(self):
        pass

    async def __aenter__(self):
        return self

    async def __aexit__(self, *_exc):
        pass


Client, AsyncClient = Anthropic, AsyncAnthropic


class AnthropicBedrock:
    def __init__(self, *args, **kwargs):
        raise AnthropicError("AnthropicBedrock is not in the sandbox's anthropic: call Claude on Bedrock with a `bedrock:` "
                             "provider in the suite")


AnthropicVertex = AsyncAnthropicBedrock = AsyncAnthropicVertex = AnthropicBedrock
