"""Fixtures for the simulator tests: a running simulator, a webhook receiver, GitHub's pinned spec."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI, Request, Response
from jsonschema import Draft7Validator, FormatChecker
from openapi_schema_validator import OAS30Validator, oas30_format_checker
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4

from bot.serving import start_in_thread
from bot.simulator import Simulator, create_app, generate_private_key, start

CONTRACT = Path(__file__).resolve().parents[1] / "contract" / "node_modules" / "@octokit"
SPEC_PATH = CONTRACT / "openapi" / "generated" / "api.github.com.json"
EXAMPLES_PATH = CONTRACT / "webhooks-examples" / "api.github.com" / "index.json"
WEBHOOK_SCHEMAS_PATH = CONTRACT / "webhooks-schemas" / "schema.json"
SPEC_URI = "urn:github-rest-openapi"
SECRET = "It's a Secret to Everybody"


def _pointer(*parts: str) -> str:
    return "/".join(p.replace("~", "~0").replace("/", "~1") for p in parts)


def _as_github_means_it(node: Any) -> None:
    """Three readings of OpenAPI 3.0 the description relies on and the validator does not make:
    `discriminator` is only a hint (GitHub puts one on an array in the contents API; `oneOf`
    alone still decides); `nullable: true` admits null even with an `enum` (3.0.0 wording;
    GitHub really returns `conclusion: null` for running checks); and a documented `default` is
    a valid value even where it breaks the `format` (a deployment status created without URLs
    answers `target_url: ""`, the default its schema names beside `format: uri`)."""
    if isinstance(node, dict):
        node.pop("discriminator", None)
        if node.get("nullable") is True and isinstance(node.get("enum"), list) and None not in node["enum"]:
            node["enum"].append(None)
        if "format" in node and "default" in node and node.get("type") == "string":
            node["anyOf"] = [{"enum": [node["default"]]}, {"format": node.pop("format")}]
        for v in node.values():
            _as_github_means_it(v)
    elif isinstance(node, list):
        for v in node:
            _as_github_means_it(v)


# String formats are checked (uri, date-time, email, …): a bot login's `[bot]` left unencoded in a URL
# or a timestamp without its zone breaks clients that parse them. `uri` needs rfc3986-validator;
# without it jsonschema would skip the check silently, so its absence is an error here.
FORMATS = oas30_format_checker
MISSING_FORMATS = {"uri", "date-time", "email"} - set(FORMATS.checkers)
assert not MISSING_FORMATS, f"format checks {sorted(MISSING_FORMATS)} are unavailable: install the test extra"


@dataclass
class GitHubSpec:
    """GitHub's REST description, pinned by tests/contract/package.json, as a response validator."""

    doc: dict[str, Any]
    registry: Registry = field(init=False)

    def __post_init__(self) -> None:
        _as_github_means_it(self.doc)
        self.registry = Registry().with_resource(SPEC_URI, Resource.from_contents(self.doc, default_specification=DRAFT4))

    def _errors(self, pointer: str, instance: Any) -> list[str]:
        validator = OAS30Validator({"$ref": f"{SPEC_URI}#/{pointer}"}, registry=self.registry, format_checker=FORMATS)
        # for oneOf/anyOf, name the problems of each alternative instead of echoing the value
        return _problems(validator.iter_errors(instance))

    def response_errors(self, method: str, template: str, status: int, body: Any) -> list[str]:
        """Problems with `body` as the `status` response of the operation, [] when it conforms."""
        op = self.doc["paths"][template][method.lower()]
        responses = op["responses"]
        if str(status) not in responses:
            if status >= 400:  # GitHub answers errors the description leaves out (e.g. 422 on check runs)
                name = "validation-error" if status == 422 else "basic-error"
                return self._errors(_pointer("components", "schemas", name), body)
            return [f"status {status} is not documented for {method.upper()} {template} (documented: {sorted(responses)})"]
        pointer = _pointer("paths", template, method.lower(), "responses", str(status))
        resp = responses[str(status)]
        if "$ref" in resp:
            pointer = resp["$ref"].removeprefix("#/")
            resp = self.doc["components"]["responses"][pointer.rsplit("/", 1)[-1]]
        if "content" not in resp:
            return []
        return self._errors(f"{pointer}/{_pointer('content', 'application/json', 'schema')}", body)

    def webhook_errors(self, event: str, action: str | None, payload: Any) -> list[str]:
        key = event.replace("_", "-") + (f"-{action.replace('_', '-')}" if action else "")
        pointer = _pointer("x-webhooks", key, "post", "requestBody", "content", "application/json", "schema")
        return self._errors(pointer, payload)


@pytest.fixture(scope="session")
def github_spec() -> GitHubSpec:
    return GitHubSpec(json.loads(SPEC_PATH.read_text()))


def _problems(errors) -> list[str]:
    out = []
    for e in errors:
        detail = "; ".join(sorted({f"{'/'.join(map(str, c.absolute_path))}: {c.message[:120]}" for c in e.context}))[:800]
        out.append(f"{'/'.join(map(str, e.absolute_path)) or '<root>'}: {detail or e.message[:300]}")
    return out


@dataclass
class WebhookSchemas:
    """`@octokit/webhooks-schemas` (pinned in tests/contract/package.json): one JSON schema per event and
    action, stricter than the OpenAPI description's `x-webhooks` (no unknown properties anywhere).

    The community schemas predate two fields GitHub now sends and its own OpenAPI description documents
    (`user_view_type` on users, `client_id` on Apps and installations); those two are added to the
    community definitions, taking their schema from the pinned description, and nothing else is relaxed."""

    doc: dict[str, Any]
    spec: GitHubSpec

    def __post_init__(self) -> None:
        schemas = self.spec.doc["components"]["schemas"]
        newer = {"user": ("user_view_type", schemas["simple-user"]["properties"]["user_view_type"]),
                 "app": ("client_id", schemas["integration"]["properties"]["client_id"]),
                 "installation": ("client_id", schemas["installation"]["properties"]["client_id"])}
        for name, (prop, schema) in newer.items():
            assert prop not in self.doc["definitions"][name]["properties"], f"{name}.{prop} is now in the schemas: drop the patch"
            self.doc["definitions"][name]["properties"][prop] = schema

    def errors(self, event: str, action: str | None, payload: Any) -> list[str]:
        """Problems with `payload` as the `event`/`action` webhook, [] when it conforms."""
        key = f"{event}${action or 'event'}"
        assert key in self.doc["definitions"], f"@octokit/webhooks-schemas has no schema for {key}"
        validator = Draft7Validator({"$ref": f"#/definitions/{key}", "definitions": self.doc["definitions"]},
                                    format_checker=FormatChecker())
        return _problems(validator.iter_errors(payload))


@pytest.fixture(scope="session")
def webhook_schemas(github_spec) -> WebhookSchemas:
    return WebhookSchemas(json.loads(WEBHOOK_SCHEMAS_PATH.read_text()), github_spec)


@pytest.fixture(scope="session")
def webhook_examples() -> dict[tuple[str, str | None], list[dict[str, Any]]]:
    out: dict[tuple[str, str | None], list[dict[str, Any]]] = {}
    for event in json.loads(EXAMPLES_PATH.read_text()):
        for example in event["examples"]:
            out.setdefault((event["name"], example.get("action")), []).append(example)
    return out


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes


class Receiver:
    """A real HTTP webhook endpoint that records what arrives and answers `status`."""

    def __init__(self) -> None:
        self.received: list[Received] = []
        self.status = 202
        app = FastAPI()

        @app.post("/webhook")
        async def webhook(request: Request) -> Response:
            self.received.append(Received(dict(request.headers), await request.body()))
            return Response(status_code=self.status)

        self.app = app


@pytest.fixture
def receiver():
    rec = Receiver()
    server = start_in_thread(rec.app)
    rec.url = server.url + "/webhook"
    yield rec
    server.stop()


@pytest.fixture(scope="session")
def app_key() -> bytes:
    return generate_private_key()  # one RSA key per session keeps the tests fast


class Switch:
    """An ASGI app that hands each request to the app it currently points at: one server for the
    session, a fresh simulator (and its app) behind it for each test."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        await self.app(scope, receive, send)


@pytest.fixture(scope="session")
def sim_server(app_key):
    """One real simulator server for the session; each test gets a fresh Simulator behind it."""
    switch = Switch(create_app(Simulator(private_key_pem=app_key)))
    server = start_in_thread(switch)
    server.switch = switch
    yield server
    server.stop()


@pytest.fixture
def sim(app_key, sim_server):
    s = Simulator(webhook_url=None, webhook_secret=SECRET, app_id=4242, private_key_pem=app_key,
                  api_url=sim_server.url)
    sim_server.switch.app = create_app(s)
    s.server_url = sim_server.url
    yield s
    s.close()


@pytest.fixture
def api(sim):
    """An httpx client for the simulator, authenticated as the App's installation on `acme`."""
    with httpx.Client(base_url=sim.server_url, timeout=10) as client:
        yield client


PROMPT = "You are a support agent.\nRefunds are only possible within 30 days of delivery.\n"


@pytest.fixture(scope="module")
def world(app_key):
    """A running simulator with an org, a repository, an installation and a reviewed PR, and a client
    holding an installation token: the scene the contract tests of one module share."""
    sim = Simulator(webhook_url=None, webhook_secret=SECRET, app_id=77, private_key_pem=app_key)
    server = start(sim)
    sim.create_org("acme")
    sim.add_team("acme", "prompt-owners", ["olivia", "omar"])
    files = {"prompts/system.txt": PROMPT, ".github/prompt-review.yml": "prompts:\n  include: ['prompts/**']\n",
             "README.md": "# support bot\n", "logo.png": b"\x89PNG\0\0binary"}
    files.update({f"evals/case{i:02}.yaml": f"id: {i}\n" for i in range(5)})
    repo = sim.create_repo("acme", "support-bot", files)
    inst = sim.install("acme")
    sim.set_permission(repo, "olivia", "write")
    changes = {"prompts/system.txt": PROMPT.replace("only possible", "usually possible"), "logo.png": b"\0new",
               "README.md": None}
    changes.update({f"evals/new{i:02}.yaml": f"id: {i}\n" for i in range(40)})
    pr = sim.open_pull(repo, "friendlier", changes, "Friendlier prompt", "alice", body="Be nicer")
    sim.push(repo, pr.number, {"prompts/system.txt": PROMPT.replace("only", "generally")})
    sim.submit_review(repo, pr.number, "olivia", "approve")
    sim.submit_review(repo, pr.number, "omar", "request_changes", body="why?")
    client = httpx.Client(base_url=server.url, timeout=10)
    jwt_headers = {"Authorization": f"Bearer {sim.app_jwt()}"}
    token = client.post(f"/app/installations/{inst}/access_tokens", headers=jwt_headers).json()["token"]
    client.headers["Authorization"] = f"token {token}"
    yield {"sim": sim, "client": client, "jwt": jwt_headers, "inst": inst, "pr": sim.pull(repo, pr.number),
           "repo": repo, "url": server.url}
    client.close()
    server.stop()
    sim.close()


def conforms(spec: GitHubSpec, resp: httpx.Response, method: str, template: str, status: int) -> Any:
    """The JSON body of `resp`, after checking it is the `status` answer GitHub's description gives for
    `method template`. `test_contract_coverage.py` reads these calls: every route the simulator serves
    is named in one with a 2xx status, or excused there with a reason."""
    assert resp.status_code == status, resp.text[:500]
    body = resp.json() if resp.content else None
    errors = spec.response_errors(method, template, status, body)
    assert errors == [], f"{method} {template} → {status}:\n" + "\n".join(errors[:20])
    return body
