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
from bot.evals.http_body import Fill, request_body
from bot.evals.http_raw import RAW, raw_body
from bot.evals.http_templates import BODY, URL, raw_template, sandbox_fill, sandboxed, TextRenderer
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
              limits: CodeLimits, fill: Fill | None = None) -> ProviderSpec:
    """The provider with its body as the transformed prompt makes it (SandboxError when the code fails); `template` is
    the body as the suite wrote it, before any var was filled."""
    assert provider.request_transform is not None
    context = {"vars": vars_, "prompt": {"raw": spec.template, "label": spec.label}}
    value = transform_sync(provider.request_transform, [prompt, vars_, context], {}, limits)
    return with_body(provider, template, value, vars_, fill)


def http_fill(renderer: TextRenderer, provider: ProviderSpec) -> Fill | None:
    """How an http provider's templates are rendered for a case: in the sandbox when one holds a filter, a tag or a
    templated url (bot.evals.http_templates); None: plain `{{name}}`s, filled in place."""
    if provider.kind != "http" or not sandboxed(dict(provider.options)):
        return None
    return sandbox_fill(renderer, f"provider {provider.slot}")


def with_body(provider: ProviderSpec, template: Any, prompt: Any, vars_: dict[str, Any], fill: Fill | None = None) -> ProviderSpec:
    """An http provider with the body it sends for one case (none for GET, as promptfoo sends none); RenderError when
    the sandbox cannot render it. A body the sandbox made is kept in the case's fingerprint as sent (a var only it
    uses is the case's data)."""
    if str(provider.option("method", "")).upper() == "GET" or (provider.option(RAW) and template is None):
        return provider
    if provider.option(RAW):  # a raw request's body (bot.evals.http_raw)
        body = raw_body(raw_template(template) if fill else template, provider.option("headers"), prompt, vars_, fill)
    else:
        body = request_body(template, provider.option("headers"), prompt, vars_, fill)
    if fill is None:
        return dataclasses.replace(provider, request_body=body)
    return dataclasses.replace(provider, request_body=body, call_values={**(provider.call_values or {}), BODY: body.shown()})


def with_url(provider: ProviderSpec, prompt: Any, vars_: dict[str, Any], fill: Fill | None) -> ProviderSpec:
    """An http provider with its templated url rendered for one case (promptfoo renders it with the call's vars and
    prompt). Where it points is checked when the request is sent, as a written url is (bot.evals.providers)."""
    url = provider.option("url")
    if fill is None or not isinstance(url, str) or ("{{" not in url and "{%" not in url):
        return provider
    rendered = str(fill(url, {**vars_, "prompt": prompt})).strip()
    return dataclasses.replace(provider, call_values={**(provider.call_values or {}), URL: rendered})
