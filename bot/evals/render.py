"""Render prompts with vars in jinja2's immutable sandbox, reading includes from the same FileTree.

Nothing in a template can reach Python internals or the filesystem outside the tree; see
docs/suites.md for where this differs from promptfoo's nunjucks.
"""

from __future__ import annotations

import posixpath
from typing import Any

import jinja2
from jinja2 import meta
from jinja2.sandbox import ImmutableSandboxedEnvironment, SecurityError

from bot.core.errors import SourceError
from bot.core.files import FileTree, normalize
from bot.evals.suite import PromptSpec

Messages = tuple[tuple[str, str], ...]


class RenderError(Exception):
    def __init__(self, error: SourceError):
        self.error = error
        super().__init__(str(error))


class _TreeLoader(jinja2.BaseLoader):
    def __init__(self, tree: FileTree):
        self.tree = tree

    def get_source(self, environment: jinja2.Environment, template: str):
        raw = self.tree.read(template)
        if raw is None:
            raise jinja2.TemplateNotFound(template)
        return raw.decode("utf-8", errors="replace"), template, lambda: True


class _Env(ImmutableSandboxedEnvironment):
    def __init__(self, tree: FileTree):
        super().__init__(loader=_TreeLoader(tree), autoescape=False, keep_trailing_newline=True)
        self.tree = tree

    def join_path(self, template: str, parent: str) -> str:
        # includes are relative to the including file (like nunjucks' search path), else to the repo root
        candidate = normalize(posixpath.join(posixpath.dirname(parent), template))
        return candidate if self.tree.read(candidate) is not None else normalize(template)


class Renderer:
    """One per side (base or head); compiles each template once."""

    def __init__(self, tree: FileTree):
        self.tree = tree
        self.env = _Env(tree)
        self._compiled: dict[tuple[str | None, str], jinja2.Template] = {}

    def _template(self, source: str | None, text: str) -> jinja2.Template:
        key = (source, text)
        if key not in self._compiled:
            where = source or "<inline prompt>"
            try:
                if source is not None:
                    self._compiled[key] = self.env.get_template(source)
                else:
                    self._compiled[key] = self.env.from_string(text)
            except jinja2.TemplateSyntaxError as exc:
                raise RenderError(SourceError(exc.filename or where, f"template syntax error: {exc.message}", exc.lineno)) from None
            except jinja2.TemplateNotFound as exc:
                raise RenderError(SourceError(where, f"included template {exc.name!r} not found")) from None
        return self._compiled[key]

    def render(self, prompt: PromptSpec, vars_: dict[str, Any]) -> Messages:
        where = prompt.source or "<inline prompt>"
        try:
            if prompt.format == "chat":
                return tuple((role, self._template(None, content).render(vars_)) for role, content in prompt.messages)
            return (("user", self._template(prompt.source, prompt.template).render(vars_)),)
        except RenderError:
            raise
        except SecurityError as exc:
            raise RenderError(SourceError(where, f"refused: the template tried an unsafe operation ({exc})")) from None
        except jinja2.TemplateNotFound as exc:
            raise RenderError(SourceError(where, f"included template {exc.name!r} not found")) from None
        except jinja2.TemplateError as exc:
            raise RenderError(SourceError(where, f"template error: {exc}", getattr(exc, "lineno", None))) from None
        except (TypeError, ValueError, ArithmeticError, RecursionError) as exc:
            raise RenderError(SourceError(where, f"template error: {exc}")) from None

    def dependencies(self, prompt: PromptSpec) -> tuple[str, ...]:
        """Files a prompt reads: its own file and every statically named include/import/extends."""
        seen: list[str] = []
        todo: list[tuple[str | None, str]] = [(prompt.source, prompt.template)]
        if prompt.format == "chat":
            todo += [(None, c) for _, c in prompt.messages]
        if prompt.source:
            seen.append(prompt.source)
        while todo:
            source, text = todo.pop()
            try:
                names = meta.find_referenced_templates(self.env.parse(text))
            except jinja2.TemplateSyntaxError:
                continue
            for name in names:
                if name is None:
                    continue  # dynamic include: the rendered output comparison still catches it
                path = self.env.join_path(name, source) if source else normalize(name)
                if path in seen:
                    continue
                seen.append(path)
                raw = self.tree.read(path)
                if raw is not None:
                    todo.append((path, raw.decode("utf-8", errors="replace")))
        return tuple(seen)
