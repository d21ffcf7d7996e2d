"""What an `http` provider's config may hold (bot.evals.providers_config reads the entry): checks of its url,
method, headers and body templates (nunjucks filters and tags: bot.evals.http_templates), and its `transformResponse` when it is JavaScript — read as code over
`output` = {json, text}, run later by bot.evals.provider_output under the code gate, never here.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from bot.core.yamlsrc import LocatedYaml, Path
from bot.evals.http_body import body_problem
from bot.evals.http_config import headers_problem as http_headers_problem
from bot.evals.http_templates import template_problem
from bot.evals.sandbox.js import JsCode
from bot.evals.suite import Code

# (where, value, what) → the code a transform value stands for, read from this side's tree (the loader binds
# bot.evals.checks.transform_code); None when the value is bad (the reader reported it)
CodeReader = Callable[[Path, Any, str], Code | None]


# promptfoo calls an inline transformResponse that starts like a function expression with (json, text, context)
_FUNCTION_EXPRESSION = re.compile(r"^(\(.*?\)\s*=>|function\s*\(.*?\))")


def response_code(value: str, at: Path, code: CodeReader | None, located: LocatedYaml, errors: Any) -> Code | None:
    """An http provider's JavaScript transformResponse as code over `output` = {json, text} (promptfoo's
    forms: an expression over json/text/context, a function expression, or file://x.js[:name])."""
    if code is None:
        errors.add(located, at, "refused: transformResponse of a grader: executes code (a JavaScript response transform); "
                                "a plain property path such as json.output is read without running code")
        return None
    text = value.strip()
    if text.startswith("file://"):
        if text[len("file://"):].split(":", 1)[0].endswith(".py"):
            errors.add(located, at, "unsupported: transformResponse in Python; promptfoo runs JavaScript response transforms "
                                    "(file://x.js[:name], or an inline expression)")
            return None
        loaded = code(at, text, "transformResponse")
        return replace(loaded, response=True) if isinstance(loaded, JsCode) else loaded
    call = "(json, text, context)" if _FUNCTION_EXPRESSION.match(text) else ""
    # line 2 of the body is the user's first line (the sandbox reports lines of the body less its header)
    return code(at, f"const json = output.json, text = output.text; return (\n{text}\n){call}", "transformResponse")


def http_problem(key: str, value: Any) -> str | None:
    if key == "transformResponse":
        if not isinstance(value, str) or not value.strip():
            return ("transformResponse must be text: a property path such as json.output, a JavaScript expression over "
                    "json/text/context, a function, or file://x.js[:name]")
        return None
    if key == "method" and value not in ("POST", "PUT", "GET"):
        return "method must be POST, PUT or GET"
    if key == "headers":
        return http_headers_problem(value, filters=True)
    if key == "body":
        return template_problem("body", value)
    return None


def http_body_problem(config: dict[str, Any]) -> str | None:
    """A method and body promptfoo 0.121 cannot run or would not send: POST or PUT with no body (promptfoo refuses the
    provider), a body with GET, a mapping body sent with a content type that is not JSON (promptfoo fails every call). A body with no method is
    sent by POST, as promptfoo's documentation describes (its 0.121 code sends GET and drops the body:
    docs/promptfoo-compat.md)."""
    method, body = config.get("method", "POST" if config.get("body") is not None else None), config.get("body")
    if method in ("POST", "PUT") and body is None:
        return f"an http provider with method {method} needs config.body (promptfoo refuses one without)"
    if method == "GET" and body is not None:
        return "a GET request sends no body (promptfoo drops it, or fails every call for a mapping): remove `body` or use POST"
    return body_problem(body, config.get("headers") if isinstance(config.get("headers"), dict) else None)

