"""The Assistants API on the scripted model server (a TEST DOUBLE): OpenAI's under `/v1` (Bearer key and the
`OpenAI-Beta: assistants=v2` header required) and Azure OpenAI's under `/openai` (`api-key` header and an
`api-version` query required). Threads, their messages, runs and run steps live in memory.

A run starts `queued`; the first look at it finds it `in_progress`, the second finds it ended: `completed` with
one assistant message (answered by bot.modelserver.rules from the run's instructions and the thread's
messages), or `requires_action` when the run declares function tools and the last user message asks for one
(bot.modelserver.tools), with a `tool_calls` step whose output is pending. `submit_tool_outputs` (an output for
every pending call, as the APIs require) completes that step with the outputs and queues the run again, which then
answers in text (the conversation now ends with the tool results); an assistant id containing `looping` asks for
the same calls again after every submission. A completed run that declares hosted
tools used them first, one `tool_calls` step each: file search (with a vector store in `tool_resources`) and the
code interpreter (which prints `checked`). Any assistant id exists, except:
one containing `missing` is unknown (404), `failing` makes every run fail (`server_error`), `filtered` makes it
fail on Azure's content filter (`content_filter`). Faults queued for the assistant id (as the `model`) apply to
the requests that create or look at its runs.
"""

from __future__ import annotations

import itertools
import json
import threading
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

from bot.core.parts import content_text
from bot.modelserver import wire
from bot.modelserver.control import ServerState
from bot.modelserver.rules import answer
from bot.modelserver.tools import ToolCall, UnknownTool, tool_calls

BeforeAnswer = Callable[[Request, wire.Api, str], Awaitable[Response | None]]
DEFAULT_MODEL = "gpt-4o-mini"  # the model behind every scripted assistant unless a run names another
MAX_PAGE = 100


@dataclass
class Run:
    body: dict[str, Any]
    outcome: str  # completed | requires_action | failed
    text: str = ""
    calls: list[ToolCall] = field(default_factory=list)
    error: dict[str, Any] | None = None
    looks: int = 0
    steps: list[dict[str, Any]] = field(default_factory=list)
    chat: list[dict[str, Any]] = field(default_factory=list)  # what the model saw, tool results appended on submission
    key: str = ""  # the prompt's key for `answered`


@dataclass
class Thread:
    id: str
    messages: list[dict[str, Any]] = field(default_factory=list)
    runs: dict[str, Run] = field(default_factory=dict)


class Store:
    def __init__(self) -> None:
        self.lock = threading.RLock()  # a look at a run adds its message while the run is held
        self.threads: dict[str, Thread] = {}
        self.seq = itertools.count()


def _new_id(prefix: str) -> str:
    return f"{prefix}{uuid.uuid4().hex[:24]}"


def _message(thread: str, role: str, content: Any, seq: int, run: dict[str, Any] | None = None, attachments: Any = None) -> dict[str, Any]:
    parts = [{"type": "text", "text": {"value": content, "annotations": []}}] if isinstance(content, str) else [
        {"type": "text", "text": {"value": p.get("text", ""), "annotations": []}} if p.get("type") == "text" else p
        for p in content if isinstance(p, dict)]
    return {"id": _new_id("msg_"), "object": "thread.message", "created_at": int(time.time()), "thread_id": thread, "role": role,
            "content": parts, "assistant_id": run["assistant_id"] if run else None, "run_id": run["id"] if run else None,
            "attachments": attachments if isinstance(attachments, list) else [], "metadata": {}, "status": "completed", "_seq": seq}


def _public(message: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in message.items() if k != "_seq"}


def _page(items: list[dict[str, Any]], request: Request) -> dict[str, Any] | Response:
    order = request.query_params.get("order", "desc")
    try:
        limit = int(request.query_params.get("limit", "20"))
    except ValueError:
        limit = 0
    if order not in ("asc", "desc") or not 1 <= limit <= MAX_PAGE:
        return wire.error_response("openai", 400, f"order must be asc or desc and limit from 1 to {MAX_PAGE}")
    ordered = items if order == "asc" else list(reversed(items))
    data = [_public(i) for i in ordered[:limit]]
    return {"object": "list", "data": data, "first_id": data[0]["id"] if data else None,
            "last_id": data[-1]["id"] if data else None, "has_more": len(ordered) > limit}


def _check_messages(messages: Any) -> str | None:
    if not isinstance(messages, list):
        return "messages must be a list"
    for i, m in enumerate(messages):
        if not isinstance(m, dict) or m.get("role") not in ("user", "assistant"):
            return f"messages[{i}].role must be 'user' or 'assistant'"
        if not isinstance(m.get("content"), (str, list)):
            return f"messages[{i}].content must be text or a list of parts"
    return None


def _hosted_calls(run: dict[str, Any]) -> list[dict[str, Any]]:
    """The hosted tools a completed run used before it answered, in the order declared: file search when the run
    has a vector store to search, the code interpreter whenever declared (it prints one line)."""
    stores = ((run.get("tool_resources") or {}).get("file_search") or {}).get("vector_store_ids") if isinstance(
        run.get("tool_resources"), dict) else None
    out: list[dict[str, Any]] = []
    for tool in run.get("tools") or []:
        kind = tool.get("type") if isinstance(tool, dict) else None
        if kind == "file_search" and stores:
            out.append({"type": "file_search", "file_search": {"ranking_options": {"ranker": "default_2024_08_21", "score_threshold": 0.0},
                                                               "results": []}})
        elif kind == "code_interpreter":
            out.append({"type": "code_interpreter", "code_interpreter": {"input": "print('checked')", "outputs": [{"type": "logs", "logs": "checked"}]}})
    return out


def register(app: FastAPI, state: ServerState, before_answer: BeforeAnswer, api_key: str | None) -> None:
    store = Store()

    def denied(request: Request, vendor: str) -> Response | None:
        if vendor == "azure":
            if not request.query_params.get("api-version"):
                return wire.error_response("openai", 404, "Resource not found")
            if api_key is not None and request.headers.get("api-key", "") != api_key:
                return wire.error_response("openai", 401, "Access denied due to invalid subscription key.")
            return None
        if api_key is not None and request.headers.get("authorization", "") != f"Bearer {api_key}":
            return wire.error_response("openai", 401)
        if request.headers.get("openai-beta") != "assistants=v2":
            return wire.error_response("openai", 400, "The Assistants API needs the header 'OpenAI-Beta: assistants=v2'.")
        return None

    async def body_of(request: Request) -> dict[str, Any] | Response:
        try:
            data = json.loads(await request.body() or b"null")
        except json.JSONDecodeError:
            return wire.error_response("openai", 400, "We could not parse the JSON body of your request.")
        return data if isinstance(data, dict) else wire.error_response("openai", 400, "The body must be a JSON object.")

    def thread_of(thread_id: str) -> Thread | Response:
        with store.lock:
            thread = store.threads.get(thread_id)
        return thread if thread is not None else wire.error_response("openai", 404, f"No thread found with id '{thread_id}'.")

    def thread_for(request: Request, vendor: str, thread_id: str) -> Thread | Response:
        """The thread a request names, once its credentials pass; else the error answer."""
        if (no := denied(request, vendor)) is not None:
            return no
        return thread_of(thread_id)

    def run_for(request: Request, vendor: str, thread_id: str, run_id: str) -> tuple[Thread, Run] | Response:
        """The thread and run a request names, once its credentials pass; else the error answer."""
        thread = thread_for(request, vendor, thread_id)
        if isinstance(thread, Response):
            return thread
        run = thread.runs.get(run_id)
        return (thread, run) if run is not None else wire.error_response("openai", 404, f"No run found with id '{run_id}'.")

    def add_messages(thread: Thread, messages: list[dict[str, Any]]) -> None:
        with store.lock:
            for m in messages:
                thread.messages.append(_message(thread.id, m["role"], m["content"], next(store.seq), attachments=m.get("attachments")))

    def new_thread(messages: list[dict[str, Any]]) -> Thread:
        thread = Thread(_new_id("thread_"))
        with store.lock:
            store.threads[thread.id] = thread
        add_messages(thread, messages)
        return thread

    async def start_run(request: Request, vendor: str, thread: Thread, data: dict[str, Any]) -> Response:
        assistant = data.get("assistant_id")
        if not isinstance(assistant, str) or not assistant:
            return wire.error_response("openai", 400, "assistant_id is required", param="assistant_id")
        if "missing" in assistant:
            return wire.error_response("openai", 404, f"No assistant found with id '{assistant}'.")
        tools = data.get("tools") if isinstance(data.get("tools"), list) else []
        named = data.get("model")
        model = named if isinstance(named, str) and named else DEFAULT_MODEL
        instructions = data.get("instructions") if isinstance(data.get("instructions"), str) else None
        chat = ([{"role": "system", "content": instructions}] if instructions else []) + [
            {"role": m["role"], "content": content_text([p if p.get("type") != "text" else {"type": "text", "text": p["text"]["value"]}
                                                         for p in m["content"]])} for m in thread.messages]
        try:
            calls = tool_calls(chat, tools, data.get("tool_choice"))
        except UnknownTool as exc:
            return wire.error_response("openai", 400, str(exc), param="tool_choice")
        key = state.record(f"{vendor}.assistants.runs", assistant, chat)
        if (failed := await before_answer(request, "openai", assistant)) is not None:
            return failed
        run_id = _new_id("run_")
        body = {"id": run_id, "object": "thread.run", "created_at": int(time.time()), "thread_id": thread.id, "assistant_id": assistant,
                "status": "queued", "required_action": None, "last_error": None, "started_at": None, "completed_at": None,
                "model": model, "instructions": instructions or "", "tools": tools, "metadata": data.get("metadata") or {},
                "temperature": data.get("temperature", 1.0), "top_p": data.get("top_p", 1.0), "usage": None,
                "tool_resources": data.get("tool_resources") or {}}
        if "failing" in assistant or "filtered" in assistant:
            error = {"code": "content_filter", "message": "The response was filtered: the content management policy flagged the prompt."} \
                if "filtered" in assistant else {"code": "server_error", "message": "Sorry, something went wrong."}
            run = Run(body, "failed", error=error)
        elif calls:
            run = Run(body, "requires_action", calls=calls)
        else:
            params = {k: data[k] for k in ("temperature", "top_p") if isinstance(data.get(k), (int, float))}
            run = Run(body, "completed", text=answer(chat, model, params, call_index=state.answered(assistant, key)))
        run.chat, run.key = chat, key
        with store.lock:
            thread.runs[run_id] = run
        return JSONResponse(run.body)

    def advance(thread: Thread, run: Run) -> None:
        """One look at the run: queued → in_progress → its outcome."""
        run.looks += 1
        body = run.body
        if body["status"] == "queued":
            body.update(status="in_progress", started_at=int(time.time()))
            return
        if body["status"] != "in_progress":
            return
        now = int(time.time())
        prompt_tokens = sum(wire.count_tokens(json.dumps(m["content"])) for m in thread.messages)
        step = {"object": "thread.run.step", "created_at": now, "run_id": body["id"], "assistant_id": body["assistant_id"],
                "thread_id": thread.id, "cancelled_at": None, "failed_at": None, "expired_at": None, "last_error": None}
        if run.outcome == "failed":
            body.update(status="failed", failed_at=now, last_error=run.error)
        elif run.outcome == "requires_action":
            tool_list: list[dict[str, Any]] = [{"id": c.call_id("call_", i), "type": "function",
                                                "function": {"name": c.name, "arguments": c.arguments_json}} for i, c in enumerate(run.calls)]
            body.update(status="requires_action", required_action={"type": "submit_tool_outputs", "submit_tool_outputs": {"tool_calls": tool_list}})
            run.steps.append({**step, "id": _new_id("step_"), "type": "tool_calls", "status": "in_progress", "completed_at": None,
                              "step_details": {"type": "tool_calls", "tool_calls": [{**t, "function": {**t["function"], "output": None}}
                                                                                    for t in tool_list]}, "usage": None})
        else:
            for i, hosted in enumerate(_hosted_calls(body)):
                run.steps.append({**step, "id": _new_id("step_"), "type": "tool_calls", "status": "completed", "completed_at": now,
                                  "step_details": {"type": "tool_calls", "tool_calls": [{"id": f"call_hosted{i}", **hosted}]}, "usage": None})
            with store.lock:
                message = _message(thread.id, "assistant", run.text, next(store.seq), body)
                thread.messages.append(message)
            usage = {"prompt_tokens": prompt_tokens, "completion_tokens": wire.count_tokens(run.text),
                     "total_tokens": prompt_tokens + wire.count_tokens(run.text)}
            body.update(status="completed", completed_at=now, usage=usage)
            run.steps.append({**step, "id": _new_id("step_"), "type": "message_creation", "status": "completed", "completed_at": now,
                              "step_details": {"type": "message_creation", "message_creation": {"message_id": message["id"]}}, "usage": usage})

    def submit(run: Run, outputs: Any) -> str | None:
        """Tool outputs for a run that requires action: the problem the API would answer 400 with, or None once the
        pending step is completed and the run queued again."""
        body = run.body
        if body["status"] != "requires_action":
            return f"Runs in status \"{body['status']}\" do not accept tool outputs."
        pending = [c["id"] for c in body["required_action"]["submit_tool_outputs"]["tool_calls"]]
        if not isinstance(outputs, list) or not all(isinstance(o, dict) for o in outputs):
            return "tool_outputs must be a list of {tool_call_id, output}"
        given = {o.get("tool_call_id"): o.get("output") for o in outputs}
        if sorted(map(str, given)) != sorted(pending):
            return f"Expected tool outputs for call_ids {json.dumps(pending)}, got {json.dumps(sorted(map(str, given)))}"
        if not all(isinstance(v, str) for v in given.values()):
            return "Each tool output must be a string."
        step = run.steps[-1]
        step_calls = step["step_details"]["tool_calls"]
        for call in step_calls:
            call["function"]["output"] = given[call["id"]]
        step.update(status="completed", completed_at=int(time.time()))
        run.chat = run.chat + [{"role": "assistant", "content": json.dumps([c["function"] for c in step_calls])},
                               *({"role": "tool", "content": given[c["id"]]} for c in step_calls)]
        if "looping" not in body["assistant_id"]:
            run.outcome = "completed"
            run.text = answer(run.chat, body["model"], {}, call_index=state.answered(body["assistant_id"], run.key))
        body.update(status="queued", required_action=None)
        return None

    for prefix, vendor in (("/v1", "openai"), ("/openai", "azure")):

        def routes(prefix: str = prefix, vendor: str = vendor) -> None:
            @app.post(f"{prefix}/threads")
            async def create_thread(request: Request) -> Response:
                if (no := denied(request, vendor)) is not None:
                    return no
                data = await body_of(request)
                if isinstance(data, Response):
                    return data
                messages = data.get("messages", [])
                if (problem := _check_messages(messages)) is not None:
                    return wire.error_response("openai", 400, problem, param="messages")
                state.record(f"{vendor}.assistants.threads", "", [])
                thread = new_thread(messages)
                return JSONResponse({"id": thread.id, "object": "thread", "created_at": int(time.time()), "metadata": {}, "tool_resources": {}})

            @app.post(f"{prefix}/threads/runs")
            async def create_and_run(request: Request) -> Response:
                if (no := denied(request, vendor)) is not None:
                    return no
                data = await body_of(request)
                if isinstance(data, Response):
                    return data
                messages = (data.get("thread") or {}).get("messages", []) if isinstance(data.get("thread") or {}, dict) else None
                if (problem := _check_messages(messages)) is not None:
                    return wire.error_response("openai", 400, f"thread.{problem}", param="thread")
                assert isinstance(messages, list)
                return await start_run(request, vendor, new_thread(messages), data)

            @app.post(f"{prefix}/threads/{{thread_id}}/messages")
            async def create_message(thread_id: str, request: Request) -> Response:
                if (no := denied(request, vendor)) is not None:
                    return no
                data = await body_of(request)
                if isinstance(data, Response):
                    return data
                if (problem := _check_messages([data])) is not None:
                    return wire.error_response("openai", 400, problem.removeprefix("messages[0]."))
                thread = thread_of(thread_id)
                if isinstance(thread, Response):
                    return thread
                state.record(f"{vendor}.assistants.messages", "", [])
                add_messages(thread, [data])
                return JSONResponse(_public(thread.messages[-1]))

            @app.get(f"{prefix}/threads/{{thread_id}}/messages")
            async def list_messages(thread_id: str, request: Request) -> Response:
                thread = thread_for(request, vendor, thread_id)
                if isinstance(thread, Response):
                    return thread
                state.record(f"{vendor}.assistants.messages.list", "", [])
                page = _page(sorted(thread.messages, key=lambda m: m["_seq"]), request)
                return page if isinstance(page, Response) else JSONResponse(page)

            @app.get(f"{prefix}/threads/{{thread_id}}/messages/{{message_id}}")
            async def get_message(thread_id: str, message_id: str, request: Request) -> Response:
                thread = thread_for(request, vendor, thread_id)
                if isinstance(thread, Response):
                    return thread
                state.record(f"{vendor}.assistants.messages.get", "", [])
                found = next((m for m in thread.messages if m["id"] == message_id), None)
                if found is None:
                    return wire.error_response("openai", 404, f"No message found with id '{message_id}'.")
                return JSONResponse(_public(found))

            @app.post(f"{prefix}/threads/{{thread_id}}/runs")
            async def create_run(thread_id: str, request: Request) -> Response:
                if (no := denied(request, vendor)) is not None:
                    return no
                data = await body_of(request)
                if isinstance(data, Response):
                    return data
                thread = thread_of(thread_id)
                if isinstance(thread, Response):
                    return thread
                return await start_run(request, vendor, thread, data)

            @app.get(f"{prefix}/threads/{{thread_id}}/runs/{{run_id}}")
            async def get_run(thread_id: str, run_id: str, request: Request) -> Response:
                found = run_for(request, vendor, thread_id, run_id)
                if isinstance(found, Response):
                    return found
                thread, run = found
                state.record(f"{vendor}.assistants.runs.get", run.body["assistant_id"], [])
                if (failed := await before_answer(request, "openai", run.body["assistant_id"])) is not None:
                    return failed
                with store.lock:
                    advance(thread, run)
                    return JSONResponse(dict(run.body))

            @app.post(f"{prefix}/threads/{{thread_id}}/runs/{{run_id}}/submit_tool_outputs")
            async def submit_tool_outputs(thread_id: str, run_id: str, request: Request) -> Response:
                found = run_for(request, vendor, thread_id, run_id)
                if isinstance(found, Response):
                    return found
                data = await body_of(request)
                if isinstance(data, Response):
                    return data
                _, run = found
                state.record(f"{vendor}.assistants.submit_tool_outputs", run.body["assistant_id"], [])
                with store.lock:
                    problem = submit(run, data.get("tool_outputs"))
                    if problem is not None:
                        return wire.error_response("openai", 400, problem, param="tool_outputs")
                    return JSONResponse(dict(run.body))

            @app.get(f"{prefix}/threads/{{thread_id}}/runs/{{run_id}}/steps")
            async def list_steps(thread_id: str, run_id: str, request: Request) -> Response:
                found = run_for(request, vendor, thread_id, run_id)
                if isinstance(found, Response):
                    return found
                thread, run = found
                state.record(f"{vendor}.assistants.steps", run.body["assistant_id"], [])
                page = _page(list(run.steps), request)
                return page if isinstance(page, Response) else JSONResponse(page)

        routes()
