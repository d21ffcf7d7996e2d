"""An http provider's nunjucks filters and tags, templated url and raw request file are what promptfoo 0.121.20 sends:
each pinned case of data/http_bodies.json that uses one (recorded from promptfoo's own http provider by
bench/http_body_oracle.mjs) runs through a review — loaded, expanded, sent by the Caller — to the team's service on
loopback, which must receive the same method, path and query, content type and bytes. Then the refusals: a rendered
url outside the allowlist, a request file outside the repository or missing, and env in a url."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import httpx
import pytest

from bot.core.config import EvalsConfig, LimitsConfig
from bot.core.files import MemoryTree
from bot.evals.http_templates import sandboxed
from bot.evals.loader import load_suite
from bot.evals.providers import Budget, Caller, Meter, ProviderError
from bot.evals.render import RenderBounds, Renderer
from bot.evals.runner import suite_dependencies
from bot.evals.select import _reasons, expand, plan_suite
from tests.compat.recording import recording

PATH = "evals/promptfooconfig.yaml"
PINNED = json.loads((Path(__file__).parent / "data" / "http_bodies.json").read_text())
TEMPLATED = [c for c in PINNED if sandboxed(c["config"]) or "request" in c["config"] and "files" in c]


@pytest.fixture(scope="module")
def service():
    """The team's own service on loopback: records each request's method, path, headers and body text."""
    with recording(lambda path: {"output": "ok"}, read=bytes.decode) as running:
        yield running


def local(text: str, origin: str) -> str:
    return text.replace("ORIGIN", origin).replace("HOSTPORT", origin[len("http://"):])


def suite_files(case: dict, origin: str, vars_: dict | None = None) -> dict[str, str]:
    """A suite holding the pinned case's provider (its url on the service), prompt and vars; its files beside it."""
    config = json.loads(local(json.dumps(case["config"]), origin))
    entry = {"id": config.get("url") or f"{origin}{case.get('path', '/generate')}", "config": config}
    if "request" in config:
        entry["id"] = "http"  # as the oracle loads it: the raw request says where it goes
    suite = {"prompts": [case["prompt"]], "providers": [entry], "tests": [{"vars": case.get("vars") or {} if vars_ is None else vars_}]}
    return {PATH: json.dumps(suite), **{f"evals/{name}": local(text, origin) for name, text in (case.get("files") or {}).items()}}


def send(case_input, allowed: str):
    env = {"PROMPT_REVIEW_ALLOWED_MODEL_URLS": allowed, "PROMPT_REVIEW_ALLOW_PRIVATE_MODEL_URLS": "1"}

    async def go():
        async with httpx.AsyncClient() as client:
            caller = Caller.for_run(client, env, EvalsConfig(timeout_s=10), Meter(Budget()))
            return await caller.complete(case_input.provider, case_input.messages)

    return asyncio.run(go())


def expanded(files: dict[str, str]):
    tree = MemoryTree(files)
    suite, errors = load_suite(tree, PATH)
    assert errors == [] and suite is not None, errors
    cases, _ = expand(suite, Renderer(tree))
    return list(cases.values())


def test_every_kind_of_template_promptfoo_documents_is_pinned():
    names = " / ".join(c["name"] for c in TEMPLATED)
    for words in ("dump", "default, upper", "if and for", "templated url and query", "raw request read from a file", "in headers"):
        assert words in names


@pytest.mark.parametrize("pinned", TEMPLATED, ids=[c["name"] for c in TEMPLATED])
def test_a_review_sends_what_promptfoo_sends(pinned, service):
    origin, got = service
    (case,) = expanded(suite_files(pinned, origin))
    assert case.error is None, case.error
    got.clear()
    send(case, origin)
    (sent,) = got
    want = pinned["sent"]
    assert (sent["method"], sent["path"], sent["headers"].get("content-type"), sent["body"]) == (
        want["method"], want["path"], want["contentType"], want["body"])
    assert {k: v for k, v in sent["headers"].items() if k.startswith("x-")} == \
        {k: v for k, v in want["headers"].items() if k != "x-promptfoo-version"}


def test_a_var_only_the_filtered_body_or_the_url_uses_is_the_cases_data(service):
    origin, _ = service
    for name in ("filters: a list var and an object var", "a templated url and query"):
        pinned = next(c for c in TEMPLATED if c["name"].startswith(name))
        vars_ = pinned["vars"]
        changed = {**vars_, **({"messages": [{"role": "user", "content": "other"}]} if "messages" in vars_ else {"userId": "u-43"})}
        base_files, head_files = suite_files(pinned, origin), suite_files(pinned, origin, changed)
        (b,), (h,) = expanded(base_files), expanded(head_files)  # the same case, its var changed
        base, head = MemoryTree(base_files), MemoryTree(head_files)
        assert b.fingerprint() != h.fingerprint()
        assert _reasons(b, h, base, head) == ("test data changed",), name


def test_a_rendered_url_outside_the_allowlist_is_the_cases_error_and_nothing_is_sent(service):
    origin, got = service
    pinned = next(c for c in TEMPLATED if c["name"].startswith("a templated url"))
    (case,) = expanded(suite_files(pinned, origin, {"userId": "../../admin"}))  # /users/../../admin is /admin
    got.clear()
    with pytest.raises(ProviderError) as refused:
        send(case, f"{origin}/users")
    assert got == []
    message = str(refused.value)
    assert "provider ORIGIN/users/{{userId}}/profile".replace("ORIGIN", origin) in message
    assert "rendered with the test's vars" in message and "not an allowed model URL" in message
    assert "evals.allowed_base_urls" in message
    (allowed,) = expanded(suite_files(pinned, origin))  # the same template with the suite's own vars is sent
    send(allowed, f"{origin}/users")
    assert got[-1]["path"].startswith("/users/u-42/profile")


def test_a_var_cannot_choose_the_host_of_a_templated_url(service):
    origin, got = service
    files = {PATH: "prompts: [hi]\nproviders:\n  - id: 'http://{{host}}/generate'\n    config: {body: {q: '{{prompt}}'}}\n"
                   "tests:\n  - vars: {host: '169.254.169.254'}\n"}
    (case,) = expanded(files)
    got.clear()
    with pytest.raises(ProviderError, match="not an allowed model URL"):
        send(case, origin)
    assert got == []


@pytest.mark.parametrize("url, words", [
    ("https://api.example.com/{{ env.SECRET }}", "never carries a secret"),
    ("https://api.example.com/{% include 'x.txt' %}", "includes or imports a template"),
    ("https://api.example.com/{{ id | }}", "template syntax error"),
    ("https://api.example.com/{{ id | shout }}", "the filter 'shout', which promptfoo's nunjucks does not have"),
    ("https://api.example.com/{{ id | tojson }}", "the filter 'tojson', which promptfoo's nunjucks does not have"),
])
def test_a_url_template_that_cannot_be_rendered_here_is_refused_at_its_line(url, words):
    loaded, errors = load_suite(MemoryTree({PATH: f"prompts: [hi]\nproviders:\n  - id: \"{url}\"\n    config: {{body: '{{{{prompt}}}}'}}\n"
                                                  "tests:\n  - vars: {id: 1}\n"}), PATH)
    assert loaded is None and [(e.line, words in e.message) for e in errors] == [(3, True)], errors


@pytest.mark.parametrize("ref, words", [
    ("file://../../etc/passwd", "request file '../../etc/passwd' points outside the repository"),
    ("file://requests/missing.txt", "request file 'requests/missing.txt' not found (looked for evals/requests/missing.txt)"),
])
def test_a_request_file_outside_the_repository_or_missing_is_an_error_at_the_request_line(ref, words):
    files = {PATH: f"prompts: [hi]\nproviders:\n  - id: http\n    config:\n      request: {ref}\ntests:\n  - vars: {{}}\n",
             "etc/passwd": "POST /x HTTP/1.1\nHost: a.example.com\n\nroot"}
    loaded, errors = load_suite(MemoryTree(files), PATH)
    assert loaded is None and [(e.file, e.line, e.message) for e in errors] == [(PATH, 5, words)]


def test_a_problem_inside_a_request_file_names_the_file():
    files = {PATH: "prompts: [hi]\nproviders:\n  - id: http\n    config:\n      request: file://req.txt\ntests:\n  - vars: {}\n",
             "evals/req.txt": "POST /x\n\nhi"}
    loaded, errors = load_suite(MemoryTree(files), PATH)
    assert loaded is None and errors[0].line == 5 and errors[0].message.startswith("evals/req.txt: request: the first line")


def test_a_pr_changing_only_the_request_file_reruns_its_cases_and_names_the_file(service):
    origin, _ = service
    pinned = next(c for c in TEMPLATED if "request" in c["config"])
    base_files = suite_files(pinned, origin)
    head_files = {**base_files, "evals/requests/chat.txt": base_files["evals/requests/chat.txt"].replace('"who"', '"user"')}
    base, head = MemoryTree(base_files), MemoryTree(head_files)
    (b, e1), (h, e2) = load_suite(base, PATH), load_suite(head, PATH)
    assert e1 == e2 == []
    assert ("evals/requests/chat.txt", "http request") in {(d.path, d.why) for d in suite_dependencies(head, h)}
    (planned,) = plan_suite(PATH, base, head, b, h).cases
    assert planned.reasons == ("provider http request file evals/requests/chat.txt changed",)


def test_a_graders_http_provider_with_filters_is_refused():
    suite = ("prompts: [hi]\nproviders: [echo]\ntests:\n  - vars: {}\n    assert:\n      - type: llm-rubric\n"
             "        value: polite\n        provider:\n          id: https://grader.example.com/g\n"
             "          config: {body: {q: '{{prompt | upper}}'}}\n")
    loaded, errors = load_suite(MemoryTree({PATH: suite}), PATH)
    assert loaded is None and "a grader's http provider may use plain {{prompt}} only" in errors[0].message, errors


@pytest.mark.timeout(120)
@pytest.mark.parametrize("body, words", [
    ("'{% for a in range(100000) %}{% for b in range(100000) %}{% endfor %}{% endfor %}'", "rendering took longer than 1 s"),
    ("'{% for a in range(100000) %}{% for b in range(20) %}x{% endfor %}{% endfor %}'", "over 1,000,000 bytes"),
    ("'{{ \"\".__class__.__mro__ }}'", "refused: the template tried an unsafe operation"),
])
def test_a_body_template_that_will_not_stop_or_escapes_is_the_cases_error_naming_the_provider(body, words):
    """The body's templates get the prompt renderer's sandbox and bounds: a deadline, an output cap, no Python internals."""
    suite = ("prompts: [hi]\nproviders:\n  - id: https://api.example.com/g\n    config:\n      headers: {content-type: text/plain}\n"
             f"      body: {body}\ntests:\n  - vars: {{}}\n")
    tree = MemoryTree({PATH: suite})
    loaded, errors = load_suite(tree, PATH)
    assert errors == [] and loaded is not None
    (case,) = expand(loaded, Renderer(tree, RenderBounds(LimitsConfig(render_timeout_s=1))))[0].values()
    assert case.error is not None and case.error.line == 3 and case.messages is None
    assert case.error.message.startswith("provider https://api.example.com/g: ") and words in case.error.message, case.error


def test_a_vars_value_in_a_filtered_header_is_sent_as_written_never_filled_with_a_secret(service):
    """A var holding `{{env.NAME}}` goes through a filtered header as text: the header is rendered once, in the sandbox,
    which has no environment, and is not read as a template again when the request is sent."""
    origin, got = service
    files = {PATH: f"prompts: [hi]\nproviders:\n  - id: {origin}/generate\n    config:\n      body: {{q: '{{{{prompt}}}}'}}\n"
                   "      headers: {X-Who: \"{{ who | trim }}\", Authorization: 'Bearer {{env.PF_TOKEN}}'}\n"
                   "tests:\n  - vars: {who: ' {{env.PF_TOKEN}} '}\n"}
    (case,) = expanded(files)
    env = {"PROMPT_REVIEW_ALLOWED_MODEL_URLS": origin, "PROMPT_REVIEW_ALLOW_PRIVATE_MODEL_URLS": "1", "PF_TOKEN": "tok-secret"}

    async def go():
        async with httpx.AsyncClient() as client:
            config = EvalsConfig(timeout_s=10, http_credentials={"PF_TOKEN": f"{origin}/"})
            return await Caller.for_run(client, env, config, Meter(Budget())).complete(case.provider, case.messages)

    got.clear()
    asyncio.run(go())
    assert got[-1]["headers"]["x-who"] == "{{env.PF_TOKEN}}"
    assert "tok-secret" not in json.dumps(case.fingerprint())


def test_a_tests_own_http_provider_reads_its_request_file_which_is_under_review():
    files = {PATH: "prompts: [hi]\nproviders: [echo]\ntests:\n  - vars: {}\n    provider:\n      id: https://bot.example.com\n"
                   "      config: {request: 'file://req/chat.txt'}\n",
             "evals/req/chat.txt": "POST /chat HTTP/1.1\nHost: bot.example.com\n\n{{ prompt | upper }}"}
    tree = MemoryTree(files)
    suite, errors = load_suite(tree, PATH)
    assert errors == [] and suite is not None
    assert ("evals/req/chat.txt", "http request") in {(d.path, d.why) for d in suite_dependencies(tree, suite)}
    (case,) = expand(suite, Renderer(tree))[0].values()
    assert case.provider.base_url == "https://bot.example.com/chat" and case.provider.request_body.content == b"HI"


def test_a_tests_own_http_provider_sends_its_own_body_not_the_suite_providers():
    files = {PATH: "prompts: [hi]\nproviders: [echo]\ntests:\n  - vars: {who: ana}\n    provider:\n      id: https://bot.example.com/g\n"
                   "      config: {body: {q: '{{prompt | upper}}', who: '{{who}}'}}\n"}
    (case,) = expanded(files)
    assert case.provider.request_body.content == b'{"q":"HI","who":"ana"}'
