"""Start-up: settings errors name the variable; a fresh `serve` offers /setup instead of failing."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import httpx

from bot.serving import free_port


def run_cli(args, env, timeout=30):
    return subprocess.run([sys.executable, "-m", "bot", *args], env={**os.environ, **env}, capture_output=True, text=True, timeout=timeout)


def test_app_id_that_is_not_a_number_is_named(tmp_path):
    result = run_cli(["worker"], {"PROMPT_REVIEW_APP_ID": "twelve", "PROMPT_REVIEW_CREDENTIALS_PATH": str(tmp_path / "none.env")})
    assert result.returncode == 2
    assert "PROMPT_REVIEW_APP_ID" in result.stderr


def test_private_key_that_does_not_parse_is_named_without_echoing_it(tmp_path):
    env = {
        "PROMPT_REVIEW_APP_ID": "12",
        "PROMPT_REVIEW_PRIVATE_KEY": "not-a-key-SECRETVALUE",
        "PROMPT_REVIEW_WEBHOOK_SECRET": "s3cret-value",
        "PROMPT_REVIEW_CREDENTIALS_PATH": str(tmp_path / "none.env"),
        "PROMPT_REVIEW_DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}",
    }
    result = run_cli(["worker"], env)
    assert result.returncode == 2
    assert "PROMPT_REVIEW_PRIVATE_KEY" in result.stderr and "SECRETVALUE" not in result.stderr


def test_unreachable_database_is_named(tmp_path):
    from bot.simulator import generate_private_key

    env = {
        "PROMPT_REVIEW_APP_ID": "12",
        "PROMPT_REVIEW_PRIVATE_KEY": generate_private_key().decode(),
        "PROMPT_REVIEW_WEBHOOK_SECRET": "s3cret-value",
        "PROMPT_REVIEW_CREDENTIALS_PATH": str(tmp_path / "none.env"),
        "PROMPT_REVIEW_DATABASE_URL": "postgresql+psycopg://nobody@127.0.0.1:1/none",
    }
    result = run_cli(["worker"], env)
    assert result.returncode == 2
    assert "PROMPT_REVIEW_DATABASE_URL" in result.stderr


def test_fresh_serve_without_an_app_serves_setup_and_health(tmp_path):
    port = free_port()
    env = {**os.environ, "PROMPT_REVIEW_CREDENTIALS_PATH": str(tmp_path / "none.env"),
           "PROMPT_REVIEW_DATABASE_URL": f"sqlite:///{tmp_path / 'fresh.db'}"}
    for name in ("PROMPT_REVIEW_APP_ID", "PROMPT_REVIEW_PRIVATE_KEY", "PROMPT_REVIEW_PRIVATE_KEY_PATH", "PROMPT_REVIEW_WEBHOOK_SECRET"):
        env.pop(name, None)
    proc = subprocess.Popen([sys.executable, "-m", "bot", "serve", "--port", str(port)], env=env, cwd=tmp_path,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert proc.poll() is None, proc.stdout.read().decode()
            assert time.monotonic() < deadline, "serve did not come up"
            time.sleep(0.2)
        assert httpx.get(f"http://127.0.0.1:{port}/readyz").status_code == 200
        setup = httpx.get(f"http://127.0.0.1:{port}/setup")
        assert setup.status_code == 200 and "<form" in setup.text
    finally:
        proc.terminate()
        proc.wait(10)
