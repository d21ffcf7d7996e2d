"""A SageMaker grader's prompt transform, as promptfoo 0.121 runs it: the provider entry's `transform` (promptfoo's
loadApiProvider makes it the provider's transform, over `config.transform`, which is thus never run) is applied by
the SageMaker provider to the text of each grader call — callEmbeddingApi (`similar`: the expected text and the
output, each) and callApi (a model-graded assertion's prompt) — before it is sent. Run in the sandbox under the code
gate (the case's code items name it; a refused one makes the case an error before anything is graded).
"""

from __future__ import annotations

import json

from bot.core.errors import CheckError
from bot.evals.providers import Caller, ProviderError
from bot.evals.sandbox import SandboxError, transform
from bot.evals.suite import ProviderSpec
from bot.evals.providers_shapes import js_string


async def grader_prompt(caller: Caller, spec: ProviderSpec, text: str) -> str:
    """The text sent: the transform's text, an object's JSON, or the text unchanged for null/undefined; a throw or a
    limit is the case's error (promptfoo logs it and sends the text untransformed)."""
    code = spec.prompt_transform
    assert code is not None
    context = {"vars": {}, "prompt": {"raw": text}}  # promptfoo's, for a call without context (its uuid left out)
    try:
        value = await transform(code, text, context, caller.code_limits)
    except SandboxError as exc:
        where = f"transform of grader {spec.id}" + (f" ({code.file})" if code.file else "")
        raise ProviderError(f"{where}: {exc.message}", kind=CheckError.ASSERTION) from None
    if value is None:
        return text
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")) if isinstance(value, (dict, list)) else js_string(value)
