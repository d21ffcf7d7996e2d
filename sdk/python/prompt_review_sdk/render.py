"""Prompt.render: the evals render prompts with Jinja2's sandbox (autoescape off, trailing newline kept);
with Jinja2 installed (the `render` extra) this is the same environment. Without it only `{{ name }}`
placeholders are filled, and a template using more of the language is refused rather than half-rendered."""

from __future__ import annotations

import re
from typing import Any

_PLAIN = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")
_env = None


class RenderError(Exception):
    pass


def render(text: str, variables: dict[str, Any]) -> str:
    global _env
    try:
        from jinja2.sandbox import ImmutableSandboxedEnvironment
    except ImportError:
        if "{%" in text or "{#" in text or re.search(r"\{\{(?![^}]*\}\})|\{\{\s*[^}]*[|.(\[][^}]*\}\}", text):
            raise RenderError("this prompt uses more of the template language than {{ name }}: "
                              "pip install 'prompt-review-sdk[render]'") from None
        return _PLAIN.sub(lambda m: str(variables.get(m.group(1), "")), text)
    if _env is None:
        _env = ImmutableSandboxedEnvironment(autoescape=False, keep_trailing_newline=True)
    return _env.from_string(text).render(**variables)
