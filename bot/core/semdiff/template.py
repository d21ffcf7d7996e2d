"""Template variables and includes: jinja2 through its own parser, Handlebars by a small regex."""

from __future__ import annotations

import re

import jinja2
import jinja2.meta
from jinja2.sandbox import SandboxedEnvironment

from bot.core.errors import SourceError

_ENV = SandboxedEnvironment()
_HBS_VAR = re.compile(r"\{\{\{?~?\s*(?:[#^/]\s*(?:if|unless|each|with)\s+)?(@?[A-Za-z_][\w.]*)([^}]*)\}\}")
_HBS_HELPERS = {"if", "unless", "each", "with", "else", "role", "history", "section", "media", "json", "this", "log", "lookup"}
_JINJA_MARKERS = re.compile(r"\{\{|\{%")


def looks_like_jinja(text: str) -> bool:
    return bool(_JINJA_MARKERS.search(text))


def jinja_variables(text: str, file: str, first_line: int = 1) -> tuple[dict[str, int | None], list[str], SourceError | None]:
    """(variables -> first line, referenced templates, syntax error) for a jinja2 template."""
    try:
        ast = _ENV.parse(text)
    except jinja2.TemplateSyntaxError as exc:
        line = (exc.lineno or 1) + first_line - 1
        return {}, [], SourceError(file, f"jinja2 syntax error: {exc.message}", line)
    names = jinja2.meta.find_undeclared_variables(ast)
    includes = [t for t in jinja2.meta.find_referenced_templates(ast) if isinstance(t, str)]
    lines: dict[str, int | None] = {name: None for name in sorted(names)}
    try:
        for lineno, token, value in _ENV.lex(text):
            if token == "name" and value in lines and lines[value] is None:
                lines[value] = lineno + first_line - 1
    except jinja2.TemplateSyntaxError:  # parse succeeded, so lexing cannot fail; be safe anyway
        pass
    return lines, includes, None


def handlebars_variables(text: str, first_line: int = 1) -> dict[str, int | None]:
    """Top-level names used in `{{var}}`, `{{#if var}}`, `{{var.field}}` (helpers excluded)."""
    out: dict[str, int | None] = {}
    for m in _HBS_VAR.finditer(text):
        name = m.group(1).split(".")[0]
        if name in _HBS_HELPERS or name.startswith("@"):
            # `{{role "x"}}`, `{{json x}}`: the argument may still be a variable.
            arg = re.match(r"\s+([A-Za-z_][\w.]*)", m.group(2) or "")
            if name in ("json", "lookup", "each", "with", "if", "unless") and arg:
                name = arg.group(1).split(".")[0]
            else:
                continue
        if name not in out:
            out[name] = text.count("\n", 0, m.start()) + first_line
    return out
