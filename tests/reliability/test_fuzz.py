"""Hostile input, property-based: the webhook endpoint answers only clean 2xx/4xx whatever the body
and headers, and the config, owners and suite parsers fail only with `UserError`/`SourceError`."""

from __future__ import annotations

import json

import pytest
import yaml
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.core.config import parse_config
from bot.core.errors import SourceError, UserError
from bot.core.files import MemoryTree
from bot.core.owners import parse_owners
from bot.evals.loader import load_suite
from bot.github.signature import sign
from bot.service.run import build_service
from tests.service.harness import SECRET, settings_for

FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
LIMIT = 4096
EVENTS = ["pull_request", "pull_request", "pull_request", "pull_request_review", "check_run", "check_run", "check_suite", "installation",
          "installation_repositories", "ping", "push", "issues", "", "pull_request\x00"]
ACTIONS = ["opened", "synchronize", "closed", "labeled", "edited", "submitted", "rerequested",
           "requested_action", "created", "deleted", "added", None, 3]

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=12,
)
# Payloads shaped like GitHub's, with any value in any slot: where parsing code trusts the shape.
# The routing keys are mostly valid so that examples get past the first checks into the parsing.
def mostly(valid, other=json_values):
    return st.sampled_from([valid, valid, valid]) | other


def mostly_shaped(shaped):
    return st.one_of(shaped, shaped, shaped, json_values)


ref = st.fixed_dictionaries({}, optional={"sha": mostly("a" * 40), "ref": json_values,
                                          "repo": mostly({"full_name": "acme/fork"})})
pull = st.fixed_dictionaries({"number": mostly(1)}, optional={
    "head": ref | json_values, "base": ref | json_values, "user": json_values, "labels": json_values, "draft": json_values})
checkish = st.fixed_dictionaries({"head_sha": mostly("a" * 40)}, optional={
    "pull_requests": st.lists(st.fixed_dictionaries({"number": mostly(1)}), max_size=2) | json_values,
    "id": json_values, "name": json_values})
payloads = st.fixed_dictionaries(
    {"repository": mostly({"full_name": "acme/tiny", "id": 1}), "installation": mostly({"id": 5}),
     "action": st.sampled_from(ACTIONS) | json_values, "pull_request": mostly_shaped(pull),
     "check_run": mostly_shaped(checkish), "check_suite": mostly_shaped(checkish)},
    optional={
        "sender": json_values,
        "requested_action": json_values,
        "label": json_values,
        "changes": json_values,
        "review": json_values,
        "repositories": json_values,
        "repositories_added": json_values,
        "repositories_removed": json_values,
    })


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    db = tmp_path_factory.mktemp("fuzz") / "fuzz.db"
    service = build_service(settings_for(f"sqlite:///{db}", "http://127.0.0.1:9", "unused", max_webhook_bytes=LIMIT), env={})
    with TestClient(service.web_app(with_workers=False), raise_server_exceptions=False) as c:
        yield c
    service.engine.dispose()


def post(client, body: bytes, event, delivery, signature):
    headers = {"Content-Type": "application/json"}
    for name, value in (("X-GitHub-Event", event), ("X-GitHub-Delivery", delivery), ("X-Hub-Signature-256", signature)):
        if value is not None:
            headers[name] = value
    return client.post("/webhook", content=body, headers=headers)


header_text = st.none() | st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=40)


@FUZZ
@given(payload=payloads, event=st.sampled_from(EVENTS), delivery=header_text)
def test_signed_github_shaped_payloads_never_get_a_5xx(client, payload, event, delivery):
    body = json.dumps(payload).encode()
    response = post(client, body, event, delivery, sign(SECRET, body))
    assert response.status_code in (200, 202, 400, 413), (response.status_code, response.text, payload)


@FUZZ
@given(body=st.binary(max_size=2 * LIMIT) | st.text(max_size=200).map(str.encode) | json_values.map(lambda v: json.dumps(v).encode()),
       event=st.sampled_from(EVENTS) | header_text, delivery=header_text, signed=st.sampled_from(["valid", "none", "wrong"]))
def test_arbitrary_bodies_and_headers_get_only_clean_answers(client, body, event, delivery, signed):
    signature = {"valid": sign(SECRET, body), "none": None, "wrong": sign("not the secret", body)}[signed]
    response = post(client, body, event, delivery, signature)
    assert response.status_code in (200, 202, 400, 401, 413), (response.status_code, response.text)
    if signed != "valid" and len(body) <= LIMIT:
        assert response.status_code == 401


yaml_docs = json_values.map(lambda v: yaml.safe_dump(v, allow_unicode=True)) | st.text(max_size=300)
config_like = st.fixed_dictionaries({}, optional={
    "prompts": json_values | st.fixed_dictionaries({}, optional={"include": json_values, "exclude": json_values}),
    "suites": json_values, "evals": json_values, "approval": json_values, "extra": json_values,
}).map(lambda d: yaml.safe_dump(d, allow_unicode=True))


@FUZZ
@given(text=yaml_docs | config_like | st.binary(max_size=200))
def test_config_parser_fails_only_with_user_errors(text):
    try:
        parse_config(text)
    except UserError:
        pass


@FUZZ
@given(text=st.text(max_size=400) | st.binary(max_size=200)
       | st.lists(st.tuples(st.text(max_size=20), st.lists(st.text(max_size=12), max_size=3)), max_size=6)
       .map(lambda rules: "\n".join(p + " " + " ".join(o) for p, o in rules)))
def test_owners_parser_fails_only_with_user_errors(text):
    try:
        parse_owners(text)
    except UserError:
        pass


suite_like = st.fixed_dictionaries({}, optional={
    "description": json_values, "prompts": json_values | st.just(["file://p.txt"]),
    "providers": json_values | st.just(["openai:chat:gpt-4o-mini"]),
    "tests": json_values | st.lists(st.fixed_dictionaries({}, optional={"vars": json_values, "assert": json_values}), max_size=3),
    "defaultTest": json_values,
}).map(lambda d: yaml.safe_dump(d, allow_unicode=True))


@FUZZ
@given(text=yaml_docs | suite_like | st.binary(max_size=200), prompt=st.text(max_size=50) | st.binary(max_size=50))
def test_suite_loader_reports_only_source_errors(text, prompt):
    tree = MemoryTree({"evals/suite.yaml": text, "evals/p.txt": prompt, "p.txt": prompt})
    try:
        suite, errors = load_suite(tree, "evals/suite.yaml")
    except UserError:
        return
    assert all(isinstance(e, SourceError) for e in errors)
    assert (suite is None) == bool(errors) or suite is None
