"""The keys of promptfoo 0.121's `http` provider config (bot/evals/http_config.py), key by key: an unknown key names
the http provider's keys (never the chat parameters), each refused key says its own reason, the keys promptfoo's
eval does not use are accepted, and the ones prompt-review sends are sent as promptfoo sends them — to a loopback
server that records each request."""

from __future__ import annotations

import asyncio
import base64
import itertools
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

from bot.core.config import EvalsConfig
from bot.core.files import MemoryTree
from bot.evals.assertions import AssertionBroken, CodeContext
from bot.evals.loader import load_suite
from bot.evals.provider_output import provider_output
from bot.evals.providers import Budget, Caller, Meter, ProviderError
from bot.evals.render import Renderer
from bot.evals.sandbox import CodeLimits
from bot.evals.select import expand
from tests.compat.recording import recording

PATH = "evals/promptfooconfig.yaml"
SECRET = "s3cret-value-123"
ORACLE = json.loads((Path(__file__).parent / "data" / "http_config.json").read_text()) \
    if (Path(__file__).parent / "data" / "http_config.json").exists() else []


@pytest.fixture
def service():
    """The team's own service on loopback: an OAuth token endpoint (a new token each time), /fail answering 500,
    anything else 200; records each request's method, path, headers and body text."""
    tokens = itertools.count(1)

    def answer(path: str):
        if path.startswith("/token"):
            return {"access_token": f"tok-{next(tokens)}", "expires_in": 3600}
        if path.startswith("/fail"):
            return {"error": "down", "answer": "from-500"}
        return {"answer": "ok", "result": {"text": "pong"}}

    with recording(answer, status=lambda path: 500 if path.startswith("/fail") else 200, read=bytes.decode) as running:
        yield running


def suite_text(url: str, config: str, vars_: str = "{x: a b}") -> str:
    return (f"prompts: ['Hi {{{{x}}}}']\nproviders:\n  - id: {url}\n    config:\n{config}"
            f"tests:\n  - vars: {vars_}\n")


def load(text: str, files: dict[str, str] | None = None):
    return load_suite(MemoryTree({PATH: text, **(files or {})}), PATH)


def one_case(text: str, files: dict[str, str] | None = None):
    tree = MemoryTree({PATH: text, **(files or {})})
    loaded, errors = load_suite(tree, PATH)
    assert errors == [] and loaded is not None, errors
    cases, _ = expand(loaded, Renderer(tree))
    (case,) = cases.values()
    return case


def call(case, url: str, env: dict[str, str] | None = None, config: EvalsConfig | None = None, times: int = 1):
    env = {"PROMPT_REVIEW_ALLOW_PRIVATE_MODEL_URLS": "1", **(env or {})}
    config = config or EvalsConfig(allowed_base_urls=(url,))

    async def go():
        async with httpx.AsyncClient() as client:
            caller = Caller.for_run(client, env, config, Meter(Budget()))
            out = [await caller.complete(case.provider, case.messages) for _ in range(times)]
            return out[-1]

    return asyncio.run(go())


def output(case, url: str, env: dict[str, str] | None = None, config: EvalsConfig | None = None):
    """The case's output after the provider's transforms (JavaScript in the sandbox), or the AssertionBroken."""
    env = {"PROMPT_REVIEW_ALLOW_PRIVATE_MODEL_URLS": "1", **(env or {})}
    context = CodeContext({}, "Hi", {"vars": {}}, {"id": case.provider.id}, CodeLimits())

    async def go():
        async with httpx.AsyncClient() as client:
            caller = Caller.for_run(client, env, config or EvalsConfig(allowed_base_urls=(url,)), Meter(Budget()))
            completion = await caller.complete(case.provider, case.messages)
            try:
                return await provider_output(case.provider, completion, context, PATH)
            except AssertionBroken as exc:
                return exc

    return asyncio.run(go())


# 1. every key of promptfoo's schema is read with its own rule; an unknown key names the http keys


def test_an_unknown_key_names_the_http_providers_keys_not_the_chat_parameters():
    loaded, errors = load(suite_text("https://bot.example.com/chat", "      body: {q: '{{prompt}}'}\n      queryparams: {a: b}\n"))
    assert loaded is None and len(errors) == 1 and errors[0].line == 6
    message = errors[0].message
    assert "unsupported http provider config key 'queryparams'" in message and "queryParams" in message
    assert "frequency_penalty" not in message and "apiBaseUrl" not in message


@pytest.mark.parametrize("key, value, words", [
    ("tls", "{certPath: c.pem, keyPath: k.pem}", "client certificates, private keys"),
    ("signatureAuth", "{type: pem, privateKeyPath: k.pem}", "refused: signatureAuth: signs each request with a private key"),
    ("session", "{url: 'https://bot.example.com/s', responseParser: data.id}", "session endpoint"),
    ("sessionParser", "data.headers['x-session-id']", "multi-turn server sessions"),
    ("multipart", "{parts: []}", "multipart/form-data"),
    ("useHttps", "true", "raw `request`"),
])
def test_each_refused_key_says_its_own_reason_at_its_line(key, value, words):
    loaded, errors = load(suite_text("https://bot.example.com/chat", f"      body: {{q: '{{{{prompt}}}}'}}\n      {key}: {value}\n"))
    assert loaded is None and errors[0].line == 6, errors
    assert words in errors[0].message and "unsupported http provider config key" not in errors[0].message
    assert "executes code from the PR" not in errors[0].message


@pytest.mark.parametrize("key, value", [("maxRetries", "2"), ("tokenEstimation", "{enabled: true, multiplier: 1.5}"),
                                        ("sessionSource", "client"), ("stateful", "true")])
def test_keys_promptfoos_eval_does_not_use_are_accepted(key, value):
    loaded, errors = load(suite_text("https://bot.example.com/chat", f"      body: {{q: '{{{{prompt}}}}'}}\n      {key}: {value}\n"))
    assert errors == [] and loaded is not None


# 3. responseParser: promptfoo's older name of transformResponse, the same code path


@pytest.mark.parametrize("parser, text", [("json.answer", "ok"), ("'json.result.text.toUpperCase()'", "PONG"),
                                          ("file://parse.js", "pong!")])
def test_response_parser_is_transform_response(service, parser, text):
    url, got = service
    case = one_case(suite_text(f"{url}/chat", f"      body: {{q: '{{{{prompt}}}}'}}\n      responseParser: {parser}\n"),
                    {"evals/parse.js": "module.exports = (json) => json.result.text + '!';\n"})
    out = output(case, url)
    assert not isinstance(out, AssertionBroken), out
    assert out.text == text and json.loads(got[-1]["body"]) == {"q": "Hi a b"}


def test_response_parser_with_transform_response_is_an_error_naming_both():
    loaded, errors = load(suite_text("https://bot.example.com/chat",
                                     "      body: {q: '{{prompt}}'}\n      transformResponse: json.a\n      responseParser: json.b\n"))
    assert loaded is None and errors[0].line == 7 and "transformResponse" in errors[0].message


def test_a_graders_response_parser_in_javascript_is_refused_like_its_transform_response():
    text = ("prompts: ['Hi']\nproviders: [echo]\ndefaultTest:\n  options:\n    provider:\n      id: https://bot.example.com/g\n"
            "      config:\n        body: {q: '{{prompt}}'}\n        responseParser: 'json.a.trim()'\ntests:\n  - vars: {}\n")
    loaded, errors = load(text)
    assert loaded is None and errors[0].line == 9 and "refused: transformResponse of a grader" in errors[0].message


# 2. queryParams: rendered with the case's vars, appended to the URL as promptfoo appends them


def pinned(name: str) -> dict:
    return next(c for c in ORACLE if c["name"] == name)


def yaml_of(value) -> str:
    return json.dumps(value)  # JSON is YAML


@pytest.mark.parametrize("name", ["query", "query-on-query"])
def test_query_params_reach_the_service_as_promptfoo_sends_them(service, name):
    url, got = service
    pin = pinned(name)
    config = "".join(f"      {k}: {yaml_of(v)}\n" for k, v in pin["config"].items())
    text = (f"prompts: [{yaml_of(pin['prompt'])}]\nproviders:\n  - id: {url}{pin.get('path', '/generate')}\n    config:\n{config}"
            f"tests:\n  - vars: {yaml_of(pin['vars'])}\n")
    case = one_case(text)
    assert call(case, url).text  # answered
    assert got[-1]["path"] == pin["sent"]["path"] and got[-1]["method"] == pin["sent"]["method"]
    assert got[-1]["body"] == pin["sent"]["body"]


def test_each_case_sends_its_own_query_which_is_not_the_providers_identity(service):
    url, got = service
    text = (f"prompts: ['Hi']\nproviders:\n  - id: {url}/g\n    config:\n      method: GET\n      queryParams: {{who: '{{{{x}}}}'}}\n"
            "tests:\n  - vars: {x: a}\n  - vars: {x: b}\n")
    tree = MemoryTree({PATH: text})
    loaded, errors = load_suite(tree, PATH)
    assert errors == [] and loaded is not None
    cases, _ = expand(loaded, Renderer(tree))
    prints = {json.dumps(c.provider.fingerprint(), sort_keys=True) for c in cases.values()}
    assert len(prints) == 1  # a prompt or var change is the case's change, not "provider config changed"
    assert len({json.dumps(c.fingerprint(), sort_keys=True) for c in cases.values()}) == 2  # two results, two cache keys
    for c in cases.values():
        call(c, url)
    assert sorted(r["path"] for r in got) == ["/g?who=a", "/g?who=b"]


@pytest.mark.parametrize("value, words", [("{a: 1}", "mapping of parameter names to text"),
                                          ("{a: '{{env.TOKEN}}'}", "placement: query"),
                                          ("{a: '{{ env.TOKEN | upper }}'}", "never carries a secret"),
                                          ("{a: '{{x | }}'}", "template syntax error")])
def test_query_params_promptfoo_would_render_otherwise_are_located_errors(value, words):
    loaded, errors = load(suite_text("https://bot.example.com/chat", f"      method: GET\n      queryParams: {value}\n"))
    assert loaded is None and errors[0].line == 6 and words in errors[0].message, errors


# 5. auth: secrets only from the environment, sent where granted, as promptfoo sends them

PF_ENV = {"PF_TOKEN": "tok-env", "PF_USER": "ann", "PF_PASS": "pw"}  # the environment the pins were made with


def auth_case(url: str, pin: dict):
    config = "".join(f"      {k}: {yaml_of(v).replace('ORIGIN', url)}\n" for k, v in pin["config"].items())
    return one_case(f"prompts: [{yaml_of(pin['prompt'])}]\nproviders:\n  - id: {url}{pin.get('path', '/generate')}\n"
                    f"    config:\n{config}tests:\n  - vars: {{}}\n")


@pytest.mark.parametrize("name", ["bearer", "basic", "api-key-header", "api-key-query", "oauth", "oauth-password"])
def test_auth_is_sent_as_promptfoo_sends_it(service, name):
    url, got = service
    pin = pinned(name)
    grants = {k: f"{url}/" for k in PF_ENV}
    out = call(auth_case(url, pin), url, PF_ENV, EvalsConfig(allowed_base_urls=(url,), http_credentials=grants),
               times=pin.get("calls", 1))
    assert out.text
    assert len(got) == len(pin["requests"])  # one token request for the run (OAuth), then the calls
    for mine, theirs in zip(got, pin["requests"]):
        assert mine["path"] == theirs["path"] and mine["body"] == theirs["body"]
        assert {k: v for k, v in mine["headers"].items() if k == "authorization" or k.startswith("x-api")} == \
            {k: v for k, v in theirs["headers"].items() if k != "x-promptfoo-version"}
        assert mine["headers"].get("content-type") == theirs["contentType"]


@pytest.mark.parametrize("auth, words", [
    ("{type: bearer, token: abc123}", "refused: auth.token: credentials come from the environment only"),
    ("{type: basic, username: ann, password: hunter2}", "refused: auth.password: credentials come from the environment"),
    ("{type: api_key, placement: query, keyName: k, value: 'sk-1'}", "refused: auth.value"),
    ("{type: oauth, grantType: client_credentials, tokenUrl: 'https://id.example.com/t', clientId: c, clientSecret: s}",
     "refused: auth.clientSecret"),
    ("{type: bearer, token: '{{token}}'}", "may use {{env.NAME}} and nothing else"),
    ("{type: file, path: 'file://auth.js'}", "a token made by code from the repository"),
    ("{type: digest, token: x}", "auth.type must be bearer, basic, api_key or oauth"),
    ("{type: api_key, placement: body, keyName: k, value: '{{env.K}}'}", "auth.placement must be header or query"),
])
def test_a_secret_written_in_the_suite_and_other_bad_auth_are_located_errors(auth, words):
    loaded, errors = load(suite_text("https://bot.example.com/chat", f"      body: {{q: '{{{{prompt}}}}'}}\n      auth: {auth}\n"))
    assert loaded is None and errors[0].line == 6 and words in errors[0].message, errors
    assert "hunter2" not in errors[0].message


def test_an_auth_variable_not_granted_for_the_url_is_refused_and_nothing_is_sent(service):
    url, got = service
    for name in ("bearer", "oauth"):
        with pytest.raises(ProviderError) as err:
            call(auth_case(url, pinned(name)), url, PF_ENV,
                 EvalsConfig(allowed_base_urls=(url,), http_credentials={"PF_TOKEN": "https://elsewhere.example.com/"}))
        assert "refused: header 'auth." in str(err.value) and "evals.http_credentials" in str(err.value)
        assert "tok-env" not in str(err.value) and "pw" not in str(err.value).split("http")[0]
    assert got == []


def test_an_oauth_token_url_outside_the_allowlist_is_refused(service):
    url, got = service
    config = pinned("oauth")["config"]
    pin = dict(pinned("oauth"), config={**config, "auth": {**config["auth"], "tokenUrl": "http://10.1.2.3/token"}})
    with pytest.raises(ProviderError) as err:
        call(auth_case(url, pin), url, PF_ENV, EvalsConfig(allowed_base_urls=(url,), http_credentials={
            "PF_USER": "http://10.1.2.3/", "PF_PASS": "http://10.1.2.3/"}))
    assert "auth.tokenUrl" in str(err.value) and "not an allowed model URL" in str(err.value) and got == []


def test_the_auth_template_not_its_value_is_in_the_fingerprint(service):
    url, _ = service
    case = auth_case(url, pinned("basic"))
    printed = json.dumps(case.provider.fingerprint())
    assert "{{env.PF_PASS}}" in printed and base64.b64encode(b"ann:pw").decode() not in printed


# 4. validateStatus: promptfoo takes an answer of any status unless validateStatus says no


def test_without_validate_status_an_error_status_is_the_cases_error_where_promptfoo_takes_the_body(service):
    """A deliberate difference: promptfoo would take the 500's body as the output (its pinned answer) and fail the case,
    which a review would read as a regression where the service was only down; here it is a case error (could not
    check), retried as any provider error. With a validateStatus the suite decides, as in promptfoo (below)."""
    url, got = service
    pin = pinned("status-500-default")
    assert pin["error"] is None and pin["output"] == {"error": "down"}  # promptfoo: the body is the output
    case = one_case(suite_text(f"{url}/fail", "      body: {q: '{{prompt}}'}\n"))
    with pytest.raises(ProviderError) as err:
        call(case, url)
    assert "HTTP 500" in str(err.value) and err.value.kind.value == "provider_down" and len(got) > 1  # retried
    case = one_case(suite_text(f"{url}/fail", "      body: {q: '{{prompt}}'}\n      validateStatus: '(s) => true'\n"))
    out = call(case, url)
    assert json.loads(out.text) == {"error": "down", "answer": "from-500"}
    assert out.metadata == {"http": {"status": 500, "statusText": "Internal Server Error"}}


def test_an_error_status_with_a_path_transform_that_finds_nothing_says_the_status(service):
    url, _ = service
    case = one_case(suite_text(f"{url}/fail", "      body: {q: '{{prompt}}'}\n      transformResponse: json.result.text\n"
                                              "      validateStatus: '(s) => true'\n"))
    with pytest.raises(ProviderError) as err:
        call(case, url)
    assert "nothing at json.result.text" in str(err.value) and "HTTP 500" in str(err.value)
    assert err.value.kind.value == "provider_down"


@pytest.mark.parametrize("validate, path, verdict", [
    ("'status < 300'", "/fail", "refused"),  # promptfoo's pinned message: HTTP call failed with status 500 …
    ("'(s) => s >= 500'", "/fail", "ok"),
    ("'function (s) { return s === 201 }'", "/chat", "refused"),
    ("'status === 200'", "/chat", "ok"),
    ("file://status.js", "/fail", "refused"),
    ("file://status.mjs:onlyServerErrors", "/fail", "ok"),
])
def test_validate_status_decides_whether_the_answer_counts(service, validate, path, verdict):
    url, _ = service
    case = one_case(suite_text(f"{url}{path}", f"      body: {{q: '{{{{prompt}}}}'}}\n      validateStatus: {validate}\n"
                                               "      transformResponse: 'json.answer'\n"),
                    {"evals/status.js": "module.exports = (status) => status >= 200 && status < 300;\n",
                     "evals/status.mjs": "export function onlyServerErrors(status) { return status >= 500; }\n"})
    assert [w for w, _ in case.provider.code_items()] == ["validateStatus"]
    out = output(case, url)
    if verdict == "ok":
        assert not isinstance(out, AssertionBroken), out
        assert out.text == ("from-500" if path == "/fail" else "ok")
    else:
        assert isinstance(out, AssertionBroken)
        message = str(out.error.message)
        status = 500 if path == "/fail" else 200
        assert message.startswith(f"provider {case.provider.slot}: HTTP call failed with status {status}")
        assert out.error.line == 3
        if path == "/fail":
            assert pinned("status-500-validated")["error"].startswith("Error: HTTP call failed with status 500 Internal Server Error")


def test_validate_status_sees_the_status_transform_response_sees_it_too(service):
    url, _ = service
    case = one_case(suite_text(f"{url}/fail", "      body: {q: '{{prompt}}'}\n      validateStatus: '(s) => s >= 500'\n"
                                              "      transformResponse: '(json, text, context) => json.error + context.response.status'\n"))
    out = output(case, url)
    assert not isinstance(out, AssertionBroken) and out.text == "down500"
    assert pinned("status-500-fn")["output"] == "down"


def test_a_graders_validate_status_is_refused():
    text = ("prompts: ['Hi']\nproviders: [echo]\ndefaultTest:\n  options:\n    provider:\n      id: https://bot.example.com/g\n"
            "      config:\n        body: {q: '{{prompt}}'}\n        validateStatus: 'status < 500'\ntests:\n  - vars: {}\n")
    loaded, errors = load(text)
    assert loaded is None and errors[0].line == 9 and "refused: validateStatus of a grader" in errors[0].message


# 6. tools, tool_choice, transformToolsFormat: the body's {{tools}} and {{tool_choice}}, as promptfoo fills them

TOOLS = [c for c in ORACLE if c["name"].startswith("tools")]


@pytest.mark.parametrize("pin", TOOLS, ids=[c["name"] for c in TOOLS])
def test_tools_reach_the_body_as_promptfoo_sends_them(service, pin):
    url, got = service
    config = "".join(f"      {k}: {yaml_of(v)}\n" for k, v in pin["config"].items())
    text = (f"prompts: [{yaml_of(pin['prompt'])}]\nproviders:\n  - id: {url}/generate\n    config:\n{config}"
            f"tests:\n  - vars: {yaml_of(pin['vars'])}\n")
    assert call(one_case(text), url).text
    assert got[-1]["body"] == pin["sent"]["body"]


def test_a_prompts_config_tools_come_before_the_providers(service):
    url, got = service
    text = (f"prompts:\n  - raw: 'Hi'\n    config: {{tools: [{{name: mine}}]}}\nproviders:\n  - id: {url}/generate\n    config:\n"
            "      body: {q: '{{prompt}}', t: '{{tools}}'}\n      tools: [{name: provider}]\ntests:\n  - vars: {}\n")
    call(one_case(text), url)
    assert json.loads(got[-1]["body"]) == {"q": "Hi", "t": [{"name": "mine"}]}


@pytest.mark.parametrize("config, words", [("tools: {a: 1}", "tools must be a list"),
                                           ("transformToolsFormat: mistral", "openai, anthropic, bedrock or google")])
def test_bad_tools_settings_are_located_errors(config, words):
    loaded, errors = load(suite_text("https://bot.example.com/chat", f"      body: {{q: '{{{{prompt}}}}'}}\n      {config}\n"))
    assert loaded is None and errors[0].line == 6 and words in errors[0].message, errors


# 7. request: a raw HTTP request, parsed when the suite loads, sent as promptfoo sends it

RAW = [c for c in ORACLE if c["name"].startswith("raw")]


def raw_suite(url: str, pin: dict) -> str:
    host = url[len("http://"):]
    config = "".join(f"      {k}: {yaml_of(v).replace('HOSTPORT', host)}\n" for k, v in pin["config"].items())
    return (f"prompts: [{yaml_of(pin['prompt'])}]\nproviders:\n  - id: http\n    config:\n{config}"
            f"tests:\n  - vars: {yaml_of(pin['vars'])}\n")


@pytest.mark.parametrize("pin", RAW, ids=[c["name"] for c in RAW])
def test_a_raw_request_is_sent_as_promptfoo_sends_it(service, pin):
    url, got = service
    grants = {k: f"{url}/" for k in PF_ENV}
    case = one_case(raw_suite(url, pin))
    assert call(case, url, PF_ENV, EvalsConfig(allowed_base_urls=(url,), http_credentials=grants)).text
    mine, theirs = got[-1], pin["sent"]
    assert (mine["method"], mine["path"], mine["body"]) == (theirs["method"], theirs["path"], theirs["body"])
    assert mine["headers"].get("content-type") == theirs["contentType"]
    assert {k: v for k, v in mine["headers"].items() if k == "authorization" or k.startswith("x-t")} == \
        {k: v for k, v in theirs["headers"].items() if k != "x-promptfoo-version"}


def test_a_raw_requests_host_goes_through_the_url_allowlist(service):
    url, got = service
    case = one_case(raw_suite(url, pinned("raw-get")))
    with pytest.raises(ProviderError) as err:
        call(case, url, config=EvalsConfig(allowed_base_urls=("https://bot.example.com/",)))
    assert "not an allowed model URL" in str(err.value) and got == []


def test_use_https_makes_the_raw_requests_url_https():
    text = ("prompts: ['Hi']\nproviders:\n  - id: http\n    config:\n      useHttps: true\n"
            "      request: \"GET /x HTTP/1.1\\nHost: bot.example.com\\n\\n\"\ntests:\n  - vars: {}\n")
    loaded, errors = load(text)
    assert errors == [] and loaded is not None and loaded.providers[0].base_url == "https://bot.example.com/x"


@pytest.mark.parametrize("config, line, words", [
    ("      request: \"GET /{{x}} HTTP/1.1\\nHost: a.example.com\\n\\n\"\n", 5, "templated path"),
    ("      request: \"POST /x HTTP/1.1\\nHost: a.example.com\\n\\n{{env.X | upper}}\"\n", 5, "never carries a secret"),
    ("      request: \"POST /x HTTP/1.1\\nHost: a.example.com\\nX-User: '{{user | upper}}'\\n\\nhi\"\n", 5, "no filters or tags"),
    ("      request: \"POST /x\\n\\nhi\"\n", 5, "METHOD PATH HTTP/1.1"),
    ("      request: \"POST /x HTTP/1.1\\n\\nhi\"\n", 5, "a Host header is needed"),
    ("      url: 'https://a.example.com/'\n      request: \"POST /x HTTP/1.1\\nHost: a.example.com\\n\\nhi\"\n", 5,
     "url is not read when `request` is set"),
    ("      useHttps: true\n", 5, "useHttps applies to a raw `request` only"),
])
def test_raw_requests_prompt_review_cannot_send_as_written_are_located_errors(config, line, words):
    loaded, errors = load(f"prompts: ['Hi']\nproviders:\n  - id: http\n    config:\n{config}tests:\n  - vars: {{}}\n")
    assert loaded is None and errors[0].line == line and words in errors[0].message, errors


@pytest.mark.parametrize("parser, text", [("data.output", "pong"), ("'data.output.toUpperCase()'", "PONG")])
def test_a_websocket_providers_response_parser_is_its_transform_response(parser, text):
    from bot.modelserver.app import create_app
    from bot.serving import start_in_thread

    running = start_in_thread(create_app())
    try:
        url = running.url.replace("http://", "ws://")
        suite = (f"prompts: ['Please reply with \"pong\"']\nproviders:\n  - id: {url}/ws\n    config:\n"
                 f"      messageTemplate: '{{{{prompt}}}}'\n      responseParser: {parser}\ntests:\n  - vars: {{}}\n")
        case = one_case(suite)
        out = output(case, running.url, {"PROMPT_REVIEW_ALLOWED_MODEL_URLS": running.url})
        assert not isinstance(out, AssertionBroken) and out.text == text
    finally:
        running.stop()


def test_an_error_status_answer_is_not_cached_as_promptfoo_caches_none(service):
    from bot.evals import EvalRequest, MemoryCache, run_evals

    url, got = service

    def tree(path: str, greeting: str) -> MemoryTree:
        return MemoryTree({PATH: f"prompts: ['{greeting} {{{{x}}}}']\nproviders:\n  - id: {url}{path}\n    config:\n"
                                 "      body: {q: '{{prompt}}'}\n      validateStatus: '(s) => true'\n"
                                 "tests:\n  - vars: {x: a}\n    assert: [{type: contains, value: ok}]\n"})

    def requests(path: str) -> list[int]:
        cache, counts = MemoryCache(), []
        for _ in range(2):
            before = len(got)
            request = EvalRequest(base=tree(path, "Hi"), head=tree(path, "Hello"), config=EvalsConfig(allowed_base_urls=(url,)),
                                  suites=None, env={"PROMPT_REVIEW_ALLOW_PRIVATE_MODEL_URLS": "1"})
            asyncio.run(run_evals(request, cache))
            counts.append(len(got) - before)
        return counts

    assert requests("/chat") == [2, 0]  # a 200 answer: the second run is served from the cache
    assert requests("/fail") == [2, 2]  # a 500 answer: asked again


def test_an_error_status_with_no_body_reads_as_promptfoos_empty_response():
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            self.rfile.read(int(self.headers["content-length"]))
            self.send_response(503)
            self.send_header("content-length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{httpd.server_address[1]}"
        out = call(one_case(suite_text(f"{url}/x", "      body: {q: '{{prompt}}'}\n      validateStatus: '(s) => true'\n")), url)
        assert out.text == "Empty Response: 503: Service Unavailable"
    finally:
        httpd.shutdown()
        httpd.server_close()


# headers: promptfoo renders them with the call's vars, so a header may use the test's {{var}}s and {{prompt}}


def test_a_header_may_use_the_tests_vars_filled_in_one_pass_with_env(service):
    url, got = service
    text = suite_text(f"{url}/chat", "      body: {q: '{{prompt}}'}\n      headers: {X-User: '{{who}}', X-Ask: 'p={{prompt}}', "
                                     "X-Token: 'T {{env.PF_TOKEN}} {{who}}', X-None: '[{{missing}}]'}\n",
                      vars_="{x: a, who: '{{env.PF_TOKEN}}'}")
    case = one_case(text)
    call(case, url, PF_ENV, EvalsConfig(allowed_base_urls=(url,), http_credentials={"PF_TOKEN": f"{url}/"}))
    headers = got[-1]["headers"]
    # a var holding {{env.X}} is sent as written, never read as a template (promptfoo's nunjucks does not render twice)
    assert headers["x-user"] == "{{env.PF_TOKEN}}" and headers["x-token"] == "T tok-env {{env.PF_TOKEN}}"
    assert headers["x-ask"] == "p=Hi a" and headers["x-none"] == "[]"
    assert "tok-env" not in json.dumps(case.provider.fingerprint())


def test_a_var_only_the_query_uses_re_runs_the_case_as_test_data_changed(service):
    url, _ = service

    def tree(who: str) -> MemoryTree:
        return MemoryTree({PATH: f"prompts: ['Hi']\nproviders:\n  - id: {url}/g\n    config:\n      method: GET\n"
                                 f"      queryParams: {{who: '{{{{x}}}}'}}\ntests:\n  - vars: {{x: {who}}}\n"})

    base, head = tree("a"), tree("b")
    cases = []
    for t in (base, head):
        loaded, errors = load_suite(t, PATH)
        assert errors == [] and loaded is not None
        cases.append(expand(loaded, Renderer(t))[0])
    (b,), (h,) = cases[0].values(), cases[1].values()
    assert b.fingerprint() != h.fingerprint()
    from bot.evals.select import _reasons
    assert _reasons(b, h, base, head) == ("test data changed",)
