"""The SDK's tests run against a small manifest server on loopback (manifest_server.py)."""

from __future__ import annotations

import pytest

from manifest_server import Server, manifest


@pytest.fixture
def server():
    s = Server("")
    s.manifests["production"] = manifest()
    s.start()
    yield s
    try:
        s.stop()
    except Exception:
        pass
