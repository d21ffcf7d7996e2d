"""Fixtures for the deploy tests: a loopback stand-in for GitHub's `POST /app-manifests/{code}/conversions`
(shaped like the OpenAPI example) and a real RSA private key."""

from __future__ import annotations

import secrets
import threading

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from fastapi import FastAPI
from fastapi.responses import JSONResponse

from bot.serving import start_in_thread


class ConversionStandIn:
    """Codes are registered by the test, accepted once, and answered with the App's credentials."""

    def __init__(self) -> None:
        self._codes: dict[str, dict] = {}
        self._lock = threading.Lock()
        self.exchanged: list[str] = []
        self._server = None
        app = FastAPI()

        @app.post("/app-manifests/{code}/conversions")
        def convert(code: str):
            with self._lock:
                body = self._codes.pop(code, None)
            if body is None:
                return JSONResponse(
                    {"message": "Not Found", "documentation_url": "https://docs.github.com/rest/apps/apps"}, status_code=404
                )
            self.exchanged.append(code)
            return JSONResponse(body, status_code=201)

        self.app = app

    @property
    def url(self) -> str:
        return self._server.url

    def register(self, *, app_id: int, slug: str, webhook_secret: str, pem: str) -> str:
        code = secrets.token_hex(10)
        owner = {"login": "octocat", "id": 1, "type": "User", "html_url": "https://github.com/octocat"}
        with self._lock:
            self._codes[code] = {
                "id": app_id,
                "slug": slug,
                "node_id": "MDxOkludGVncmF0aW9uMQ==",
                "owner": owner,
                "name": slug.replace("-", " "),
                "description": "",
                "external_url": "https://review.example.com",
                "html_url": f"https://github.com/apps/{slug}",
                "created_at": "2026-01-01T00:00:00Z",
                "updated_at": "2026-01-01T00:00:00Z",
                "permissions": {"checks": "write", "metadata": "read"},
                "events": ["pull_request"],
                "client_id": "Iv1.0123456789abcdef",
                "client_secret": "clientsecret0123456789",
                "webhook_secret": webhook_secret,
                "pem": pem,
            }
        return code

    def __enter__(self) -> "ConversionStandIn":
        self._server = start_in_thread(self.app)
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.stop()


@pytest.fixture(scope="session")
def github():
    with ConversionStandIn() as standin:
        yield standin


@pytest.fixture(scope="session")
def pem() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()
    ).decode()
