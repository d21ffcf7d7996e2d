"""A provider's own code applied to its answers, after the call and before the test's options.transform (as
promptfoo's evaluator does): an http provider's JavaScript `transformResponse`, then the provider's
`transform`. The code runs in the sandbox (bot.evals.sandbox); the gate (bot.evals.select.CodeGate) let
it through before the case was run. A failure, timeout or limit is a case error naming the transform
and the suite line of its provider.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from bot.core import safejson
from bot.core.errors import CheckError, SourceError
from bot.evals.assertions import AssertionBroken, CodeContext, as_output_text
from bot.evals.providers import Completion
from bot.evals.sandbox import SandboxError, transform
from bot.evals.suite import Code, ProviderSpec
from bot.evals.tool_callbacks import CallbackStopped, callback_output


async def provider_output(provider: ProviderSpec, completion: Completion, context: CodeContext, suite: str) -> Completion:
    """The answer as the provider's code leaves it: text stays text; anything else becomes its JSON with
    `structured` set, so code later in the case sees the object and the text checks its JSON."""
    if not provider.code_items():
        return completion
    http = (completion.metadata or {}).get("http") or {"status": 200, "statusText": "OK"}
    if provider.status_check is not None:  # promptfoo's validateStatus: does this status count as an answer?
        await _validated(provider, provider.status_check, http, completion, context, suite)
    if provider.tool_callbacks and completion.tool_answer is not None:  # part of reading the answer, as in promptfoo
        completion = await _called_back(provider, completion, context, suite)
        if provider.response_transform is None and provider.transform is None:
            return completion
    value: Any = _object(completion)
    if provider.response_transform is not None:
        data = value if completion.structured else None
        text = completion.text
        answer = await _run(provider.response_transform, {"json": data, "text": text},
                            {"response": {"data": data if data is not None else text, "status": http["status"],
                                          "statusText": http["statusText"]}},
                            context, provider, suite, "transformResponse")
        # promptfoo: text is the output; an object with an `output` is a provider response whose output it is
        value = answer["output"] if isinstance(answer, dict) and answer.get("output") else answer
    if provider.transform is not None:
        value = await _run(provider.transform, value, context.for_code(), context, provider, suite, "provider transform")
    if isinstance(value, str):
        return dataclasses.replace(completion, text=value, structured=False)
    return dataclasses.replace(completion, text=as_output_text(value), structured=True)


async def _called_back(provider: ProviderSpec, completion: Completion, context: CodeContext, suite: str) -> Completion:
    assert completion.tool_answer is not None
    try:
        out = await callback_output(provider, completion.tool_answer, completion.finish_reason, context.limits)
    except CallbackStopped as exc:
        where = f"tool callback {exc.name} of provider {provider.slot}" + (f" ({exc.code.file})" if exc.code.file else "")
        raise AssertionBroken(SourceError(suite, f"{where}: {exc.error.message}", provider.line), exc.error.fault.check_error) from None
    if out is None:
        return completion
    return dataclasses.replace(completion, text=out.text, structured=out.structured)


async def _validated(provider: ProviderSpec, code: Code, http: dict[str, Any], completion: Completion, context: CodeContext,
                     suite: str) -> None:
    where = f"validateStatus of provider {provider.slot}" + (f" ({code.file})" if code.file else "")
    try:
        ok = await transform(code, http["status"], {}, context.limits)
    except SandboxError as exc:
        raise AssertionBroken(SourceError(suite, f"{where}: {exc.message}", provider.line), exc.fault.check_error) from None
    if not ok:  # promptfoo's message: the status and the answer as it came
        status = http["status"]
        shown = completion.text if len(completion.text) <= 500 else completion.text[:500] + "…"
        kind = CheckError.PROVIDER_DOWN if status >= 500 else CheckError.BAD_CREDENTIALS if status in (401, 403) else CheckError.BAD_RESPONSE
        raise AssertionBroken(SourceError(suite, f"provider {provider.slot}: HTTP call failed with status {status} "
                                                 f"{http['statusText']}: {shown} ({where} said no)", provider.line), kind)


def _object(completion: Completion) -> Any:
    if not completion.structured:
        return completion.text
    try:
        return safejson.loads(completion.text)
    except (ValueError, safejson.JsonTooDeep):
        return completion.text


async def _run(code: Code, value: Any, code_context: dict[str, Any], context: CodeContext, provider: ProviderSpec, suite: str,
               what: str) -> Any:
    where = f"{what} of provider {provider.slot}" + (f" ({code.file})" if code.file else "")
    try:
        new = await transform(code, value, code_context, context.limits, context.reader(code))
    except SandboxError as exc:
        raise AssertionBroken(SourceError(suite, f"{where}: {exc.message}", provider.line), exc.fault.check_error) from None
    if new is None:  # promptfoo: the output must not be null after the transforms
        raise AssertionBroken(SourceError(suite, f"{where} returned nothing (null or undefined)", provider.line), CheckError.ASSERTION)
    return new
