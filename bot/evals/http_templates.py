"""An http provider's templates beyond plain `{{name}}`s: nunjucks filters and tags (`{{ messages | dump }}`,
`{{ user | default('anon') }}`, `{% if lang %}…{% endif %}`) in its body, queryParams and url, and `{{…}}` with filters
in a raw request's body, as promptfoo renders them with the call's vars and prompt.

Checked when the suite loads (syntax; no `env`, which is for headers and auth only; no includes); rendered per case in
the prompt renderer's sandbox (bot.evals.render: worker processes with deadlines and caps), values printed as nunjucks
prints them. Plain `{{name}}`s are filled in place (bot.evals.http_body.render) and never need a worker.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any, Protocol

import jinja2
from jinja2 import meta

from bot.evals.http_body import Fill
from bot.evals.providers_shapes import ENV_TOKEN
from bot.evals.render_worker import SandboxEnv

_PLAIN = re.compile(r"{{\s*[A-Za-z_]\w*\s*}}")
_MARKS = re.compile(r"{{|{%|{#")
_PARSER = SandboxEnv(None)  # parsing only: the sandbox's own syntax (rendering happens in a worker)
URL = "url"  # ProviderSpec.call_values: a case's rendered url (bot.evals.providers reads it per call)
BODY = "body"  # ProviderSpec.call_values: a case's body as sent, when filters or tags made it (its fingerprint)
HEADERS = "headers"  # ProviderSpec.call_values: header values with filters or tags, as rendered for a case
# nunjucks' built-in filters and promptfoo's `load`: what promptfoo's http provider renders with (jinja2's others, such
# as tojson or map, would render here where promptfoo fails the call)
NUNJUCKS_FILTERS = frozenset({
    "abs", "batch", "capitalize", "center", "default", "d", "dictsort", "dump", "escape", "e", "first", "float",
    "forceescape", "groupby", "indent", "int", "join", "last", "length", "list", "lower", "nl2br", "random", "reject",
    "rejectattr", "replace", "reverse", "round", "safe", "select", "selectattr", "slice", "sort", "string", "striptags",
    "sum", "title", "trim", "truncate", "upper", "urlencode", "urlize", "wordcount", "load",
})
ENV_ONLY = ("{{env.NAME}} is for headers and auth only (where evals.http_credentials lets each variable go); "
            "a body, query or url never carries a secret")


def is_plain(text: str) -> bool:
    """No template but plain `{{name}}`s."""
    return _MARKS.search(_PLAIN.sub("", text)) is None


def templated_header(text: str) -> bool:
    """A header value with more than `{{env.NAME}}` and plain `{{name}}`s: rendered in the sandbox for each case."""
    return not is_plain(ENV_TOKEN.sub("", text))


def texts(value: Any) -> Iterator[str]:
    """Every text inside a body or query value, in order."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for v in value.values():
            yield from texts(v)
    elif isinstance(value, list):
        for v in value:
            yield from texts(v)


def sandboxed(options: Mapping[str, Any]) -> bool:
    """An http provider's options hold a template the sandbox renders: a filter or tag in its body, queryParams or
    headers (a raw request's body: a `{{…}}` that is not a plain name), or any template in its url."""
    url, headers = str(options.get("url") or ""), options.get("headers")
    return (_MARKS.search(url) is not None or not all(is_plain(t) for t in texts([options.get("body"), options.get("queryParams")]))
            or any(templated_header(t) for t in texts(headers if isinstance(headers, dict) else None)))


def template_problem(what: str, value: Any) -> str | None:
    """Why a body, query or url template cannot be rendered here, or None (read when the suite loads)."""
    for text in texts(value):
        if is_plain(text):
            continue
        try:
            parsed = _PARSER.parse(text)
        except jinja2.TemplateSyntaxError as exc:
            return f"{what}: template syntax error on its line {exc.lineno}: {exc.message}"
        foreign = sorted({f.name for f in parsed.find_all(jinja2.nodes.Filter)} - NUNJUCKS_FILTERS)
        if foreign:
            return (f"unsupported: {what} uses the filter {foreign[0]!r}, which promptfoo's nunjucks does not have "
                    f"(promptfoo fails the call); its filters: {', '.join(sorted(NUNJUCKS_FILTERS))}")
        try:
            _PARSER.compile(parsed)
        except jinja2.TemplateSyntaxError as exc:
            return f"{what}: template syntax error on its line {exc.lineno}: {exc.message}"
        if "env" in meta.find_undeclared_variables(parsed):
            return f"unsupported: {what} uses env: {ENV_ONLY}"
        if list(meta.find_referenced_templates(parsed)):
            return f"unsupported: {what} includes or imports a template (promptfoo's http provider reads no template files)"
    return None


def raw_template(text: str) -> str:
    """A raw request's text as promptfoo renders it: only its `{{…}}` expressions; `{% … %}` stays as written."""
    parts = re.split(r"({{[\s\S]*?}})", text)
    return "".join(p if i % 2 else (f"{{% raw %}}{p}{{% endraw %}}" if p else "") for i, p in enumerate(parts))


class TextRenderer(Protocol):
    def render_texts(self, where: str, texts: list[str], vars_: dict[str, Any]) -> list[str]: ...


def sandbox_fill(renderer: TextRenderer, where: str) -> Fill:
    """A Fill that renders every text of a value in the renderer's sandbox, in one round trip; RenderError naming
    `where` when a template fails."""
    def fill(value: Any, vars_: Mapping[str, Any]) -> Any:
        rendered = iter(renderer.render_texts(where, list(texts(value)), dict(vars_)))
        return _rebuilt(value, rendered)

    return fill


def _rebuilt(value: Any, rendered: Iterator[str]) -> Any:
    if isinstance(value, str):
        return next(rendered)
    if isinstance(value, dict):
        return {k: _rebuilt(v, rendered) for k, v in value.items()}
    if isinstance(value, list):
        return [_rebuilt(v, rendered) for v in value]
    return value
