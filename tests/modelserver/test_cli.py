"""`python -m bot.modelserver` starts a server that answers on the port it was given."""

from __future__ import annotations

import subprocess
import sys
import time

import httpx

from bot.serving import free_port


def test_module_entry_point_serves_models_on_the_given_port():
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot.modelserver", "--port", str(port), "--latency-ms", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                r = httpx.get(f"http://127.0.0.1:{port}/v1/models", timeout=1)
                break
            except httpx.TransportError:
                assert proc.poll() is None, proc.stdout.read()
                assert time.monotonic() < deadline, "the server did not start"
                time.sleep(0.1)
        assert r.status_code == 200 and r.json()["object"] == "list"
        reply = httpx.post(f"http://127.0.0.1:{port}/v1/chat/completions",
                           json={"model": "gpt-4o", "messages": [{"role": "user", "content": 'Reply with "ready"'}]})
        assert reply.json()["choices"][0]["message"]["content"] == "ready"
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    assert "test double" in proc.stdout.read()
