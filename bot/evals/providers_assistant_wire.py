"""One call of an Assistants API provider (bot.evals.providers_assistant), as promptfoo 0.121 makes it:

- OpenAI: one `POST /threads/runs` (thread and run together: the prompt's messages, the config's fields), the
  run looked at until it completes, then its steps (`order=asc`) and each created message; the answer is those
  steps in order, joined by a blank line: `[Assistant] TEXT`, `[Call function NAME with arguments ARGS]` and
  `[Function output: OUTPUT]`, `[Ran file search]`, the code interpreter's input and output. A run that stops
  for tool outputs (`requires_action`) gets them from the provider's `functionToolCallbacks`
  (bot.evals.assistant_callbacks) and is looked at again at once; without a callback for any called function it
  is answered as it stands, the pending call's output being `null`.
- Azure: a thread, the prompt as its one user message, a run (`?api-version=` on every path), the run looked
  at while `queued`/`in_progress`, then the thread's messages and the run's steps: `[User] PROMPT`, the tool
  calls, then each `[Assistant] TEXT`. A run that stops for tool outputs is a case error, as in promptfoo —
  unless the provider has callbacks: then the run is looked at until it ends, each `requires_action` answered
  with tool outputs (promptfoo's pollRunWithToolCallHandling), and the run read once more before its messages.

A run may ask for tool outputs at most MAX_SUBMISSIONS times in one call (promptfoo loops until its own timeout).

Transport (credentials, the URL policy, retries, deadlines, the budget, size limits) is the Caller's: every
request goes through `send`, which counts it. This module bounds what it reads (steps, messages, the text).
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, NoReturn
from urllib.parse import quote

from bot.core.errors import CheckError
from bot.evals.assistant_callbacks import AssistantCallbacks
from bot.evals.providers_assistant import AZURE_API_VERSION, AZURE_SENT, OPENAI_SENT
from bot.evals.providers_parts import listed, prompt_json
from bot.evals.providers_shapes import Messages, WireError, count, is_chat, js_json, js_string, mapping, one_line
from bot.evals.suite import ProviderSpec

Send = Callable[[str, Any], Awaitable[dict]]  # (path, JSON body, or None for a GET) → the answer's JSON object
POLL_INTERVAL_S = 1.0  # promptfoo's pace between looks at a run
AZURE_SLOWER_AFTER_S = 30.0  # Azure: after this long the interval grows by half each look, up to 5 s
AZURE_MAX_INTERVAL_S = 5.0
AZURE_MAX_POLL_S = 300.0  # Azure's default maxPollTimeMs
MAX_STEPS = 20  # the APIs' default page (promptfoo reads the first page only)
MAX_PARTS = 100  # content parts of one message, tool calls of one step, outputs of one code interpreter call
BETA_HEADER = ("OpenAI-Beta", "assistants=v2")
CONTENT_FILTERED = "The generated content was filtered due to triggering Azure OpenAI Service's content filtering system."
MAX_SUBMISSIONS = 16  # tool-output submissions of one call
_ID = re.compile(r"^[A-Za-z0-9_-]{1,128}$")
_RUN_ERRORS = {"rate_limit_exceeded": CheckError.RATE_LIMITED, "server_error": CheckError.PROVIDER_DOWN}


@dataclass(frozen=True)
class Answer:
    text: str
    tokens_in: int = 0
    tokens_out: int = 0
    finish_reason: str | None = None


@dataclass(frozen=True)
class Polling:
    """How long the run may be looked at (seconds of the event loop's clock) and what set that bound."""

    deadline: float
    seconds: float
    bound: str  # evals.call_timeout_s, or config.maxPollTimeMs


def _js_falsy(value: Any) -> bool:
    return value is None or value is False or value == "" or (isinstance(value, (int, float)) and value == 0)


def _id(value: Any, what: str) -> str:
    """An id from the server's answer, used in the next request's path: a plain name, nothing else."""
    if not isinstance(value, str) or not _ID.match(value):
        raise WireError(f"the answer's {what} is not an id")
    return value


def _sent(fields: dict[str, str], params: dict[str, Any], keep_zero: set[str]) -> dict[str, Any]:
    """The request fields of the provider's config: promptfoo leaves out a falsy value (`x || undefined`),
    but keeps a number it tests against undefined only (temperature, top_p)."""
    out = {}
    for key, field in fields.items():
        value = params.get(key)
        if value is None or (key not in keep_zero and _js_falsy(value)):
            continue
        out[field] = value
    return out


def openai_body(spec: ProviderSpec, messages: Messages) -> dict[str, Any]:
    """createAndRun's body: the assistant, the config's fields, and a thread of the prompt's messages."""
    params = dict(spec.params)
    roles = [r for r, _ in messages if r not in ("user", "assistant")]
    if roles:
        raise WireError(f"the Assistants API takes user and assistant messages, and the prompt has a {roles[0]!r} "
                        "message; an assistant's instructions are config.instructions", CheckError.OTHER)
    if is_chat(messages):
        thread = listed(messages)
    else:
        attachments = params.get("attachments")
        thread = [{"role": "user", "content": messages[0][1], **({"attachments": attachments} if attachments else {})}]
    fields = {k: v for k, v in OPENAI_SENT.items() if k != "attachments"}
    return {"assistant_id": spec.model, **_sent(fields, params, {"temperature"}), "thread": {"messages": thread}}


def azure_run(spec: ProviderSpec) -> dict[str, Any]:
    return {"assistant_id": spec.model, **_sent(AZURE_SENT, dict(spec.params), {"temperature", "top_p"})}


async def converse(spec: ProviderSpec, messages: Messages, send: Send, polling: Polling, max_bytes: int,
                   callbacks: AssistantCallbacks | None = None) -> Answer:
    if spec.kind == "azure":
        if callbacks is not None:
            return await _azure_with_callbacks(spec, messages, send, polling, max_bytes, callbacks)
        return await _azure(spec, messages, send, polling, max_bytes)
    return await _openai(spec, messages, send, polling, max_bytes, callbacks)


def _pending(run: dict) -> list[Any] | None:
    """The tool calls a run that requires action waits for (`submit_tool_outputs`), else None."""
    action = mapping(run.get("required_action"))
    calls = mapping(action.get("submit_tool_outputs")).get("tool_calls")
    return calls[:MAX_PARTS] if action.get("type") == "submit_tool_outputs" and isinstance(calls, list) and calls else None


async def _submit(send: Send, path: str, outputs: list[dict[str, Any]], submitted: int) -> dict:
    if submitted >= MAX_SUBMISSIONS:
        raise WireError(f"the run asked for tool outputs more than {MAX_SUBMISSIONS} times; prompt-review submits them at most "
                        f"{MAX_SUBMISSIONS} times per call", CheckError.OTHER)
    return await send(path, {"tool_outputs": outputs})


async def _wait(polling: Polling, status: str) -> None:
    loop = asyncio.get_running_loop()
    if loop.time() + POLL_INTERVAL_S >= polling.deadline:
        raise WireError(f"the run did not finish within {polling.seconds:g} s ({polling.bound}); it was still {status}",
                        CheckError.TIMEOUT)
    await asyncio.sleep(POLL_INTERVAL_S)


def _usage(run: dict) -> tuple[int, int]:
    usage = mapping(run.get("usage"))
    return count(usage.get("prompt_tokens")), count(usage.get("completion_tokens"))


def _status(run: dict) -> str:
    status = run.get("status")
    if not isinstance(status, str):
        raise WireError("the run has no status")
    return status


async def _openai(spec: ProviderSpec, messages: Messages, send: Send, polling: Polling, max_bytes: int,
                  callbacks: AssistantCallbacks | None) -> Answer:
    run = await send("/threads/runs", openai_body(spec, messages))
    thread, run_id = _id(run.get("thread_id"), "thread_id"), _id(run.get("id"), "run id")
    submitted = 0
    while True:
        run = await send(f"/threads/{thread}/runs/{run_id}", None)
        status = _status(run)
        if status == "requires_action" and callbacks is not None and (calls := _pending(run)) is not None:
            outputs = await callbacks.outputs(calls, thread, run_id)
            if outputs is not None:  # promptfoo looks at the run again at once
                await _submit(send, f"/threads/{thread}/runs/{run_id}/submit_tool_outputs", outputs, submitted)
                submitted += 1
                continue
        if status in ("completed", "requires_action"):
            break
        if status in ("failed", "cancelled", "expired", "incomplete"):
            error = mapping(run.get("last_error"))
            given = error.get("message")
            message = given if isinstance(given, str) and given else status
            if status == "incomplete":  # promptfoo looks at such a run until its own timeout; it never completes
                message = f"incomplete ({one_line(str(mapping(run.get('incomplete_details')).get('reason') or 'no reason given'), 80)})"
            raise WireError(f"thread run failed: {one_line(message, 300)}", _RUN_ERRORS.get(str(error.get("code")), CheckError.OTHER))
        await _wait(polling, status)
    steps = await send(f"/threads/{thread}/runs/{run_id}/steps?order=asc", None)
    blocks: list[str] = []
    size = 0
    for step in _listed(steps)[:MAX_STEPS]:
        before = len(blocks)
        details = mapping(mapping(step).get("step_details"))
        kind = details.get("type")
        if kind == "message_creation":
            message_id = _id(mapping(details.get("message_creation")).get("message_id"), "message_id")
            created = await send(f"/threads/{thread}/messages/{message_id}", None)
            blocks.append(f"[{_title(created.get('role'))}] {_content(created, strict=False)}")
        elif kind == "tool_calls":
            blocks.extend(_openai_calls(details.get("tool_calls")))
        else:
            blocks.append(f"[Unknown step type: {js_string(kind) if kind is not None else 'undefined'}]")
        size += sum(len(b) for b in blocks[before:])
        if size > max_bytes:
            raise WireError(f"the run's messages are larger than {max_bytes} bytes (evals.max_response_bytes)", CheckError.RESPONSE_TOO_LARGE)
    tokens_in, tokens_out = _usage(run)
    return Answer("\n\n".join(blocks).strip(), tokens_in, tokens_out)


def _openai_calls(calls: Any) -> list[str]:
    out: list[str] = []
    for call in (calls if isinstance(calls, list) else [])[:MAX_PARTS]:
        call = mapping(call)
        kind = call.get("type")
        if kind == "function":
            fn = mapping(call.get("function"))
            out.append(f"[Call function {_field(fn, 'name')} with arguments {_field(fn, 'arguments')}]")
            out.append(f"[Function output: {_field(fn, 'output')}]")
        elif kind == "file_search":
            out.append("[Ran file search]")
        elif kind == "code_interpreter":
            code = mapping(call.get("code_interpreter"))
            out += ["[Code interpreter input]", _field(code, "input"), "[Code interpreter output]", _logs(code.get("outputs"))]
        else:
            out.append(f"[Unknown tool call type: {js_string(kind) if kind is not None else 'undefined'}]")
    return out


async def _azure(spec: ProviderSpec, messages: Messages, send: Send, polling: Polling, max_bytes: int) -> Answer:
    version = quote(str(spec.option("apiVersion") or AZURE_API_VERSION), safe="")
    q = f"?api-version={version}"
    thread = _id((await send(f"/openai/threads{q}", {})).get("id"), "thread id")
    await send(f"/openai/threads/{thread}/messages{q}", {"role": "user", "content": prompt_json(messages)})
    run_id = _id((await send(f"/openai/threads/{thread}/runs{q}", azure_run(spec))).get("id"), "run id")
    loop = asyncio.get_running_loop()
    started, interval = loop.time(), POLL_INTERVAL_S
    run = await send(f"/openai/threads/{thread}/runs/{run_id}{q}", None)
    while _status(run) in ("queued", "in_progress"):
        if loop.time() + interval >= polling.deadline:
            raise WireError(f"the run did not finish within {polling.seconds:g} s ({polling.bound}); it was still {_status(run)}",
                            CheckError.TIMEOUT)
        await asyncio.sleep(interval)
        run = await send(f"/openai/threads/{thread}/runs/{run_id}{q}", None)
        if loop.time() - started > AZURE_SLOWER_AFTER_S:
            interval = min(interval * 1.5, AZURE_MAX_INTERVAL_S)
    if _status(run) != "completed":
        try:
            _azure_failed(run)
        except _Filtered:
            return Answer(CONTENT_FILTERED, finish_reason="content_filter")
    return await _azure_answer(send, thread, run_id, q, run, max_bytes)


async def _azure_answer(send: Send, thread: str, run_id: str, q: str, run: dict, max_bytes: int) -> Answer:
    """promptfoo's processCompletedRun: `[User] PROMPT`, the steps' tool calls, then each `[Assistant] TEXT`."""
    found = await send(f"/openai/threads/{thread}/messages{q}", None)
    steps = await send(f"/openai/threads/{thread}/runs/{run_id}/steps{q}", None)
    listed_messages = sorted((mapping(m) for m in _listed(found)[:MAX_STEPS]), key=lambda m: _number(m.get("created_at")))
    blocks: list[str] = []
    user = next((m for m in listed_messages if m.get("role") == "user"), None)
    if user is not None:
        blocks.append(f"[User] {_content(user, strict=True)}")
    calls = [block for step in _listed(steps)[:MAX_STEPS] for block in _azure_calls(mapping(step))]
    blocks += [f"[{_title(m.get('role'))}] {_content(m, strict=False)}" for m in listed_messages if m.get("role") == "assistant"]
    first = next((i for i, b in enumerate(blocks) if b.startswith("[Assistant]")), -1)
    blocks = blocks[:first] + calls + blocks[first:] if first > 0 else blocks + calls
    text = "\n\n".join(blocks).strip()
    if len(text) > max_bytes:
        raise WireError(f"the run's messages are larger than {max_bytes} bytes (evals.max_response_bytes)", CheckError.RESPONSE_TOO_LARGE)
    tokens_in, tokens_out = _usage(run)
    return Answer(text, tokens_in, tokens_out)


async def _azure_with_callbacks(spec: ProviderSpec, messages: Messages, send: Send, polling: Polling, max_bytes: int,
                                callbacks: AssistantCallbacks) -> Answer:
    """promptfoo's Azure assistant with callbacks: the run looked at until it ends (every second, slower after 30 s),
    each `requires_action` answered with tool outputs; then the run read once more, its messages and steps."""
    version = quote(str(spec.option("apiVersion") or AZURE_API_VERSION), safe="")
    q = f"?api-version={version}"
    thread = _id((await send(f"/openai/threads{q}", {})).get("id"), "thread id")
    await send(f"/openai/threads/{thread}/messages{q}", {"role": "user", "content": prompt_json(messages)})
    run_id = _id((await send(f"/openai/threads/{thread}/runs{q}", azure_run(spec))).get("id"), "run id")
    loop = asyncio.get_running_loop()
    started, interval, submitted = loop.time(), POLL_INTERVAL_S, 0
    while True:
        run = await send(f"/openai/threads/{thread}/runs/{run_id}{q}", None)
        status = _status(run)
        if status == "requires_action":
            calls = _pending(run)
            if calls is None:  # another kind of action: promptfoo reads the run as it stands
                break
            outputs = await callbacks.outputs(calls, thread, run_id)
            await _submit(send, f"/openai/threads/{thread}/runs/{run_id}/submit_tool_outputs{q}", outputs or [], submitted)
            submitted += 1
        elif status in ("completed", "failed", "cancelled", "expired"):
            if status != "completed":
                try:
                    _azure_failed(run)
                except _Filtered:
                    return Answer(CONTENT_FILTERED, finish_reason="content_filter")
            break
        if loop.time() + interval >= polling.deadline:
            raise WireError(f"the run did not finish within {polling.seconds:g} s ({polling.bound}); it was still {status}",
                            CheckError.TIMEOUT)
        await asyncio.sleep(interval)
        if loop.time() - started > AZURE_SLOWER_AFTER_S:
            interval = min(interval * 1.5, AZURE_MAX_INTERVAL_S)
    run = await send(f"/openai/threads/{thread}/runs/{run_id}{q}", None)  # promptfoo reads the run again by its id
    return await _azure_answer(send, thread, run_id, q, run, max_bytes)


def _azure_failed(run: dict) -> NoReturn:
    """A run that ended without completing: _Filtered for the content filter, else WireError with its last error."""
    error = mapping(run.get("last_error"))
    code, message = (str(v) if isinstance(v, str) else "" for v in (error.get("code"), error.get("message")))
    if run.get("last_error"):
        if code == "content_filter" or _filtered(message):
            raise _Filtered()
        raise WireError(f"thread run failed: {one_line(code, 60)} - {one_line(message, 300)}", _RUN_ERRORS.get(code, CheckError.OTHER))
    hint = " (a function call: the provider has no functionToolCallbacks)" if _status(run) == "requires_action" else ""
    raise WireError(f"thread run failed with status: {one_line(_status(run), 40)}{hint}", CheckError.OTHER)


class _Filtered(Exception):
    """Azure's content filter stopped the run: promptfoo's filtered answer."""


def _azure_calls(step: dict) -> list[str]:
    details = mapping(step.get("step_details"))
    if step.get("type") != "tool_calls" or not isinstance(details.get("tool_calls"), list):
        return []
    out: list[str] = []
    for call in details["tool_calls"][:MAX_PARTS]:
        call = mapping(call)
        kind = call.get("type")
        if kind == "function" and call.get("function"):
            fn = mapping(call["function"])
            out.append(f"[Call function {_field(fn, 'name')} with arguments {_field(fn, 'arguments')}]")
            if not _js_falsy(fn.get("output")):
                out.append(f"[Function output: {_field(fn, 'output')}]")
        elif kind == "code_interpreter" and call.get("code_interpreter"):
            code = mapping(call["code_interpreter"])
            given = code.get("input")
            out += ["[Code interpreter input]", js_string(given) if not _js_falsy(given) else "[No input]",
                    "[Code interpreter output]", _logs(code.get("outputs") or []) or "[No output]"]
        elif kind == "file_search" and call.get("file_search"):
            out += ["[Ran file search]", f"[File search details: {js_json(call['file_search'])}]"]
        elif kind == "retrieval":
            out.append("[Ran retrieval]")
        else:
            out.append(f"[Unknown tool call type: {js_string(kind) if kind is not None else 'undefined'}]")
    return out


def _filtered(message: str) -> bool:
    lower = message.lower()
    return any(w in lower for w in ("content_filter", "content filter", "filtered due to", "content filtering",
                                     "inappropriate content", "safety guidelines", "guardrail"))


def _listed(page: Any) -> list[Any]:
    data = mapping(page).get("data")
    if not isinstance(data, list):
        raise WireError("the answer is not a list (no data)")
    return data


def _number(value: Any) -> float:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else 0.0


def _field(obj: dict, key: str) -> str:
    return js_string(obj[key]) if key in obj else "undefined"


def _title(role: Any) -> str:
    """JavaScript's toTitleCase of promptfoo: each word capitalised, the rest lower case."""
    return re.sub(r"\w\S*", lambda m: m.group(0)[0].upper() + m.group(0)[1:].lower(), js_string(role))


def _content(message: dict, strict: bool) -> str:
    """A message's content parts, one line each: text as its value, any other part as `<TYPE output>`."""
    parts = message.get("content")
    if not isinstance(parts, list):
        raise WireError("a message has no content list")
    out = []
    for part in parts[:MAX_PARTS]:
        part = mapping(part)
        text = mapping(part.get("text"))
        if part.get("type") == "text" and (not strict or part.get("text")):
            out.append(_field(text, "value"))
        else:
            out.append(f"<{js_string(part.get('type')) if 'type' in part else 'undefined'} output>")
    return "\n".join(out)


def _logs(outputs: Any) -> str:
    items = [mapping(o) for o in (outputs if isinstance(outputs, list) else [])[:MAX_PARTS]]
    return "\n".join(_field(o, "logs") if o.get("type") == "logs" else f"<{_field(o, 'type')} output>" for o in items)
