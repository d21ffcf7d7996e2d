"""An `http` provider's `transformRequest`, as promptfoo 0.121 applies it: JavaScript called with (prompt, vars,
context) before the body template is filled; what it returns is the prompt the body gets — an object is merged
into a JSON body, anything else fills `{{prompt}}`. Read while the provider entry loads (`request_code`), run
in the sandbox when the case is expanded (bot.evals.select), under the code gate; the case's provider then
carries the body as sent (`request_body`, which the case's prompt, vars and the transform's code determine).
"""

from __future__ import annotations

import dataclasses
import json
import re
from typing import Any

from bot.core.yamlsrc import LocatedYaml, Path
from bot.evals.generators import spread_call
from bot.evals.providers_http import CodeReader
from bot.evals.providers_shapes import PROMPT_TAG, js_string
from bot.evals.sandbox import CodeLimits, JsCode, transform_sync
from bot.evals.suite import Code, PromptSpec, ProviderSpec

CONFIG_KEY = "transformRequest"
# promptfoo's tests of an inline transformRequest: a function expression is called with (prompt, vars, context),
# text with a `return` is a function body, anything else an expression
_FUNCTION_EXPRESSION = re.compile(r"^(\(.*?\)\s*=>|function\s*\(.*?\))")
_RETURN = re.compile(r"\breturn\b")


def request_code(value: Any, at: Path, code: CodeReader | None, located: LocatedYaml, errors: Any) -> Code | None:
    """The transformRequest as code called with `output` = [prompt, vars, context]; None (reported) when it cannot run."""
    if code is None:
        errors.add(located, at, f"refused: {CONFIG_KEY} of a grader: executes code (a request transform); prompt-review runs "
                                "a request transform only for the suite's providers")
        return None
    if not isinstance(value, str) or not value.strip():
        errors.add(located, at, f"{CONFIG_KEY} must be text: a JavaScript expression over prompt/vars/context, a function, "
                                "or file://x.js[:name]")
        return None
    text = value.strip()
    if text.startswith("file://"):
        if not text[len("file://"):].split(":", 1)[0].lower().endswith((".js", ".cjs", ".mjs")):
            errors.add(located, at, f"unsupported: {CONFIG_KEY} {text}: promptfoo runs JavaScript request transforms "
                                    "(file://x.js[:name], or an inline expression or function)")
            return None
        loaded = code(at, text, CONFIG_KEY)
        if isinstance(loaded, JsCode) and loaded.file is not None:
            return spread_call("javascript", loaded.source, loaded.file, loaded.function, "")
        return loaded
    body = (f"return ({text})(prompt, vars, context);" if _FUNCTION_EXPRESSION.match(text)
            else text if _RETURN.search(text) else f"return ({text});")
    return code(at, f"return (function (prompt, vars, context) {{\n{body}\n}})(output[0], output[1], output[2]);", CONFIG_KEY)


def requested(provider: ProviderSpec, prompt: str, vars_: dict[str, Any], spec: PromptSpec, limits: CodeLimits) -> ProviderSpec:
    """The provider with its body as the transformed prompt makes it (SandboxError when the code fails)."""
    assert provider.request_transform is not None
    context = {"vars": vars_, "prompt": {"raw": spec.template, "label": spec.label}}
    value = transform_sync(provider.request_transform, [prompt, vars_, context], {}, limits)
    template = provider.option("body")
    if isinstance(template, str):
        body: Any = PROMPT_TAG.sub(lambda _m: _nunjucks_text(value), template)
    elif isinstance(value, (dict, list)):  # promptfoo: Object.assign({}, body, transformed) for a JSON body
        given = value if isinstance(value, dict) else {str(i): v for i, v in enumerate(value)}
        body = {**(template if isinstance(template, dict) else {}), **given}
    elif template is None:
        body = {"prompt": _nunjucks_text(value)}  # as the request goes without a body template
    else:
        body = _filled(template, _nunjucks_text(value))
    return dataclasses.replace(provider, request_body=body)


def _filled(value: Any, prompt: str) -> Any:
    """{{prompt}} filled in a JSON body; a filled value that reads as a JSON object or list becomes it (promptfoo's
    processJsonBody)."""
    if isinstance(value, str):
        if not PROMPT_TAG.search(value):
            return value
        text = PROMPT_TAG.sub(lambda _m: prompt, value)
        if text.strip().startswith(("{", "[")):
            try:
                parsed = json.loads(text)
            except ValueError:
                return text
            return parsed if isinstance(parsed, (dict, list)) else text
        return text
    if isinstance(value, dict):
        return {k: _filled(v, prompt) for k, v in value.items()}
    if isinstance(value, list):
        return [_filled(v, prompt) for v in value]
    return value


def _nunjucks_text(value: Any) -> str:
    """`{{ prompt }}` of a value in nunjucks: null/undefined empty, else as JavaScript's String() writes it."""
    return "" if value is None else js_string(value)
