"""A tiny scripted model server for the eval engine's tests (OpenAI chat/embeddings, Anthropic
messages) on a real loopback socket, with per-model scripted faults and a call log."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

import pytest
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from bot.serving import start_in_thread


@dataclass
class Script:
    calls: list[dict] = field(default_factory=list)
    faults: dict[str, list[tuple[int, dict]]] = field(default_factory=dict)  # model → [(status, headers)]
    lock: threading.Lock = field(default_factory=threading.Lock)

    def reset(self) -> None:
        with self.lock:
            self.calls.clear()
            self.faults.clear()

    def calls_for(self, model: str) -> list[dict]:
        return [c for c in self.calls if c["model"] == model]


FLIPS: dict[str, int] = {}  # call counters of the "coin" models


def answer(system: str, user: str, model: str) -> str:
    """Rules: the answer depends on the prompt, so prompt edits change verdicts."""
    text = f"{system}\n{user}".lower()
    if model.startswith("grader"):
        rubric = user.split("<Rubric>")[-1].split("</Rubric>")[0].strip().lower()
        output = user.split("<Output>")[-1].split("</Output>")[0].lower()
        wanted = rubric.removeprefix("mentions ").strip()
        ok = wanted in output
        return f'{{"reason": "checked", "pass": {str(ok).lower()}, "score": {1.0 if ok else 0.0}}}'
    if "refund" in user.lower():
        if "30 days" in text:
            return "Refunds are possible within 30 days of delivery."
        return "Of course! We refund anything, anytime :)"
    if model.startswith("coin"):  # alternates between a passing and a failing answer
        FLIPS[model] = FLIPS.get(model, 0) + 1
        return "Hello" if FLIPS[model] % 2 else "Bye"
    if "json" in text:
        return '{"answer": "ok"}'
    return f"Hello! You asked: {user}"


def make_app(script: Script) -> FastAPI:
    app = FastAPI()

    def fault(model: str):
        with script.lock:
            queue = script.faults.get(model)
            if queue:
                status, headers = queue.pop(0)
                return JSONResponse({"error": {"message": "scripted fault"}}, status_code=status, headers=headers)
        return None

    def log(kind: str, model: str, body: dict, headers) -> None:
        with script.lock:
            script.calls.append({"kind": kind, "model": model, "body": body, "t": time.monotonic(),
                                 "auth": headers.get("authorization") or headers.get("x-api-key")})

    @app.post("/v1/chat/completions")
    async def chat(request: Request):
        body = await request.json()
        log("chat", body["model"], body, request.headers)
        if (resp := fault(body["model"])) is not None:
            return resp
        system = "\n".join(m["content"] for m in body["messages"] if m["role"] == "system")
        user = "\n".join(m["content"] for m in body["messages"] if m["role"] != "system")
        text = answer(system, user, body["model"])
        return {"choices": [{"message": {"role": "assistant", "content": text}}],
                "usage": {"prompt_tokens": len(system + user) // 4, "completion_tokens": len(text) // 4}}

    @app.post("/v1/messages")
    async def messages(request: Request):
        body = await request.json()
        log("anthropic", body["model"], body, request.headers)
        if (resp := fault(body["model"])) is not None:
            return resp
        user = "\n".join(m["content"] for m in body["messages"])
        text = answer(body.get("system", ""), user, body["model"])
        return {"content": [{"type": "text", "text": text}], "usage": {"input_tokens": 10, "output_tokens": 5}}

    @app.post("/v1/embeddings")
    async def embeddings(request: Request):
        body = await request.json()
        log("embed", body["model"], body, request.headers)
        letters = "abcdefghijklmnopqrstuvwxyz"
        vector = [body["input"].lower().count(ch) for ch in letters]
        return {"data": [{"embedding": vector}], "usage": {"prompt_tokens": 3}}

    return app


@pytest.fixture(scope="session")
def _server():
    script = Script()
    server = start_in_thread(make_app(script))
    yield server, script
    server.stop()


@pytest.fixture
def model_server(_server):
    """(base URL ending in /v1, script); the script is reset for every test."""
    server, script = _server
    script.reset()
    return f"{server.url}/v1", script


@pytest.fixture
def operator_env(model_server) -> dict[str, str]:
    """The operator's settings that let suites reach the loopback model server (a PR alone cannot)."""
    root = model_server[0].removesuffix("/v1")
    return {
        "PROMPT_REVIEW_ALLOWED_MODEL_URLS": f"{root},{root.replace('127.0.0.1', 'localhost')}",
        "PROMPT_REVIEW_ALLOW_PRIVATE_MODEL_URLS": "1",
    }
