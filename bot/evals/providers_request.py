"""An `http` provider's `transformRequest`, as promptfoo 0.121 applies it: JavaScript called with (prompt, vars,
context) before the body template is filled; what it returns is the prompt the body gets — an object is merged
into a JSON body, anything else fills `{{prompt}}` (bot.evals.http_body makes the body either way). Read while the provider entry loads (`request_code`), run
in the sandbox when the case is expanded (bot.evals.select), under the code gate; the case's provider then
carries the body as sent (`request_body`, which the case's prompt, vars and the transform's code determine).
"""

from __future__ import annotations

import dataclasses
import re
from typing import Any

from bot.core.yamlsrc import LocatedYaml, Path
from bot.evals.generators import spread_call
from bot.evals.providers_http import CodeReader
from bot.evals.http_body import request_body
from bot.evals.http_raw import RAW, raw_body
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
        if not text[len("file://"):].split(":", 1)[0].lower().endswith((".js", ".cjs", ".mjs", ".ts", ".mts", ".cts", ".tsx")):
            errors.add(located, at, f"unsupported: {CONFIG_KEY} {text}: promptfoo runs JavaScript or TypeScript request transforms "
                                    "(file://x.js[:name], file://x.ts[:name], or an inline expression or function)")
            return None
        loaded = code(at, text, CONFIG_KEY)
        if isinstance(loaded, JsCode) and loaded.file is not None:
            called = spread_call("javascript", loaded.source, loaded.file, loaded.function, "")
            return dataclasses.replace(called, written=loaded.written, links=loaded.links, modules=loaded.modules) \
                if isinstance(called, JsCode) else called
        return loaded
    body = (f"return ({text})(prompt, vars, context);" if _FUNCTION_EXPRESSION.match(text)
            else text if _RETURN.search(text) else f"return ({text});")
    return code(at, f"return (function (prompt, vars, context) {{\n{body}\n}})(output[0], output[1], output[2]);", CONFIG_KEY)


def requested(provider: ProviderSpec, template: Any, prompt: str, vars_: dict[str, Any], spec: PromptSpec,
              limits: CodeLimits) -> ProviderSpec:
    """The provider with its body as the transformed prompt makes it (SandboxError when the code fails); `template` is
    the body as the suite wrote it, before any var was filled."""
    assert provider.request_transform is not None
    context = {"vars": vars_, "prompt": {"raw": spec.template, "label": spec.label}}
    value = transform_sync(provider.request_transform, [prompt, vars_, context], {}, limits)
    return with_body(provider, template, value, vars_)


def with_body(provider: ProviderSpec, template: Any, prompt: Any, vars_: dict[str, Any]) -> ProviderSpec:
    """An http provider with the body it sends for one case (none for GET, as promptfoo sends none)."""
    if str(provider.option("method", "")).upper() == "GET" or (provider.option(RAW) and template is None):
        return provider
    if provider.option(RAW):  # a raw request's body (bot.evals.http_raw)
        return dataclasses.replace(provider, request_body=raw_body(template, provider.option("headers"), prompt, vars_))
    return dataclasses.replace(provider, request_body=request_body(template, provider.option("headers"), prompt, vars_))
