"""The jinja2 environment for the markdown templates: escaping is the default, not an opt-in.

Every `{{ value }}` that is not already marked safe by one of the escape filters goes through
`escape.inline` (literal text, no markdown structure, no pings), so a template that forgets a
filter still cannot inject anything.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import jinja2
from markupsafe import Markup

import bot
from bot.core.render import escape


def _finalize(value: Any) -> Any:
    if isinstance(value, Markup):
        return value
    if value is None:
        return ""
    if isinstance(value, (bool, int, float)):
        return str(value)
    return escape.inline(value)


def _trusted(value: Any) -> Markup:
    """Text this package produced itself (icons, numbers, fixed words); never PR or model text."""
    return Markup("" if value is None else str(value))


def _handle(login: Any, in_table: bool = False) -> Markup:
    """A GitHub login or team shown as code, so it reads as a name and never pings."""
    name = str(login)
    return escape.code(name if name.startswith("@") or "@" in name else "@" + name, in_table=in_table)


def _handles(logins: Any, in_table: bool = False) -> Markup:
    items = [str(_handle(x, in_table)) for x in (logins or ())]
    return Markup(", ".join(items) if items else "—")


def _thousands(n: Any) -> str:
    return f"{int(n or 0):,}"


@lru_cache(maxsize=1)
def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(bot.templates_dir())),
        autoescape=False,  # markdown, not HTML: _finalize escapes for markdown instead
        finalize=_finalize,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters.update(
        md=escape.inline,
        cell=escape.cell,
        code=escape.code,
        fence=escape.fence,
        h=escape.html_text,
        link=escape.link,
        trusted=_trusted,
        handle=_handle,
        handles=_handles,
        thousands=_thousands,
    )
    return env


def render(template: str, **context: Any) -> str:
    return environment().get_template(template).render(**context)
