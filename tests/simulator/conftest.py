"""Fixtures for the simulator tests: a running simulator, a webhook receiver, GitHub's pinned spec."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI, Request, Response
from openapi_schema_validator import OAS30Validator, oas30_format_checker
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4

from bot.serving import start_in_thread
from bot.simulator import Simulator, create_app

CONTRACT = Path(__file__).resolve().parents[1] / "contract" / "node_modules" / "@octokit"
SPEC_PATH = CONTRACT / "openapi" / "generated" / "api.github.com.json"
EXAMPLES_PATH = CONTRACT / "webhooks-examples" / "api.github.com" / "index.json"
SPEC_URI = "urn:github-rest-openapi"
SECRET = "It's a Secret to Everybody"


def _pointer(*parts: str) -> str:
    return "/".join(p.replace("~", "~0").replace("/", "~1") for p in parts)


def _as_github_means_it(node: Any) -> None:
    """Two readings of OpenAPI 3.0 the description relies on and the validator does not make:
    `discriminator` is only a hint (GitHub puts one on an array in the contents API; `oneOf`
    alone still decides), and `nullable: true` admits null even with an `enum` (3.0.0 wording;
    GitHub really returns `conclusion: null` for running checks)."""
    if isinstance(node, dict):
        node.pop("discriminator", None)
        if node.get("nullable") is True and isinstance(node.get("enum"), list) and None not in node["enum"]:
            node["enum"].append(None)
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
        out = []
        for e in validator.iter_errors(instance):
            # for oneOf/anyOf, name the problems of each alternative instead of echoing the value
            detail = "; ".join(sorted({f"{'/'.join(map(str, c.absolute_path))}: {c.message[:120]}" for c in e.context}))[:800]
            out.append(f"{'/'.join(map(str, e.absolute_path)) or '<root>'}: {detail or e.message[:300]}")
        return out

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
    from bot.simulator import generate_private_key
    return generate_private_key()  # one RSA key per session keeps the tests fast


@pytest.fixture(scope="session")
def sim_server(app_key):
    """One real simulator server for the session; each test gets a fresh Simulator behind it."""
    server = start_in_thread(create_app(Simulator(private_key_pem=app_key)))
    yield server
    server.stop()


@pytest.fixture
def sim(app_key, sim_server):
    s = Simulator(webhook_url=None, webhook_secret=SECRET, app_id=4242, private_key_pem=app_key,
                  api_url=sim_server.url)
    sim_server.server.config.app.state.sim = s
    s.server_url = sim_server.url
    yield s
    s.close()


@pytest.fixture
def api(sim):
    """An httpx client for the simulator, authenticated as the App's installation on `acme`."""
    with httpx.Client(base_url=sim.server_url, timeout=10) as client:
        yield client
