"""Detect a prompt file's format and parse it into the common structure.

Text, markdown and jinja2 bodies; YAML front matter (generic, Prompty, Dotprompt). Chat
message lists live in parse_chat. A file that does not parse is read as plain text, with
a SourceError naming the line.
"""

from __future__ import annotations

import re

from bot.core.errors import SourceError, UserError
from bot.core.semdiff.messages import build_message, split_examples
from bot.core.semdiff.parse_chat import parse_chat
from bot.core.semdiff.structure import Parsed, Setting
from bot.core.semdiff.template import handlebars_variables, jinja_variables, looks_like_jinja
from bot.core.yamlsrc import LocatedYaml, load_yaml

_FRONT = re.compile(r"\A---[ \t]*\r?\n(.*?\r?\n)?---[ \t]*(\r?\n|\Z)", re.S)
# Role markers that mean the same thing are parsed to the same message: Prompty and promptflow
# write `system:` or `# system:` (any case); Dotprompt `{{role "system"}}` or the raw
# `<<<dotprompt:role:system>>>` marker the helper renders to.
_PROMPTY_ROLE = re.compile(r"^\s*(?:#\s*)?(system|user|assistant|developer|tool|function)\s*:\s*$", re.I)
_DOTPROMPT_ROLE = re.compile(
    r"^\s*(?:\{\{\s*role\s+[\"'](\w+)[\"']\s*\}\}|<<<dotprompt:role:(\w+)>>>)\s*$"
)
_LOOP_OPEN = re.compile(r"^\s*\{%-?\s*for\b.*%\}\s*$")
_LOOP_CLOSE = re.compile(r"^\s*\{%-?\s*endfor\b.*%\}\s*$")
_DOTPROMPT_DROP = re.compile(r"^\s*\{\{\s*(history|section\s+[\"']\w+[\"'])\s*\}\}\s*$")


def detect_format(path: str, text: str) -> str:
    lower = path.lower()
    if lower.endswith(".prompty"):
        return "prompty"
    if lower.endswith(".prompt"):
        return "dotprompt"
    if lower.endswith(".json"):
        return "chat-json"
    if lower.endswith((".yaml", ".yml")):
        return "chat-yaml"
    if _FRONT.match(text):
        return "front-matter"
    if lower.endswith((".j2", ".jinja", ".jinja2", ".tmpl")) or looks_like_jinja(text):
        return "jinja2"
    if lower.endswith((".md", ".markdown", ".mdx")) or re.search(r"^\s{0,3}#{1,6}\s", text, re.M):
        return "markdown"
    return "text"


def parse(path: str, text: str) -> Parsed:
    fmt = detect_format(path, text)
    if fmt in ("chat-json", "chat-yaml"):
        parsed = parse_chat(path, text, fmt)
    elif fmt in ("prompty", "dotprompt", "front-matter"):
        parsed = _parse_front_matter(path, text, fmt)
    else:
        parsed = Parsed(path, fmt, text)
        _fill_body(parsed, text, 1, "jinja2" if fmt == "jinja2" else "text")
    if parsed.errors and not parsed.fallback:
        parsed.fallback = True
    if parsed.fallback and not parsed.messages:
        _fill_body(parsed, text, 1, "text")
    return parsed


def fallback_text(path: str, text: str, fmt: str, errors: list[SourceError]) -> Parsed:
    parsed = Parsed(path, fmt, text, errors=list(errors), fallback=True)
    _fill_body(parsed, text, 1, "text")
    return parsed


def _parse_front_matter(path: str, text: str, fmt: str) -> Parsed:
    parsed = Parsed(path, fmt, text)
    m = _FRONT.match(text)
    if not m:
        if fmt == "front-matter":
            _fill_body(parsed, text, 1, "text")
            return parsed
        _fill_body(parsed, text, 1, "jinja2" if fmt == "prompty" else "handlebars", fmt)
        return parsed
    header = m.group(1) or ""
    body_line = text.count("\n", 0, m.end()) + 1
    try:
        located = load_yaml(header, path)
    except UserError as exc:
        # load_yaml counts lines within the header; the header starts on line 2 of the file.
        parsed.errors = [SourceError(e.file, e.message, (e.line or 0) + 1, e.field) for e in exc.errors]
        parsed.fallback = True
        _fill_body(parsed, text, 1, "text")
        return parsed
    data = located.data if isinstance(located.data, dict) else {}
    if located.data is not None and not isinstance(located.data, dict):
        parsed.errors.append(SourceError(path, "front matter must be a YAML mapping", 2))
    _flatten(data, (), located, parsed.settings, 1)
    body = text[m.end() :]
    engine = "handlebars" if fmt == "dotprompt" else ("jinja2" if fmt == "prompty" or looks_like_jinja(body) else "text")
    _fill_body(parsed, body, body_line, engine, fmt)
    for name, line in _declared_inputs(data, located).items():
        parsed.variables.setdefault(name, None if line is None else line + 1)
    return parsed


def _declared_inputs(data: dict, located: LocatedYaml) -> dict[str, int | None]:
    """Prompty `inputs:` and Dotprompt `input.schema` (picoschema) declare template variables."""
    out: dict[str, int | None] = {}
    inputs = data.get("inputs")
    if isinstance(inputs, dict):
        for name in inputs:
            out[str(name)] = located.line_of(("inputs", name))
    inp = data.get("input")
    schema = inp.get("schema") if isinstance(inp, dict) else None
    if isinstance(schema, dict):
        listed = schema.get("properties")
        props = listed if isinstance(listed, dict) else schema
        base = ("input", "schema", "properties") if props is not schema else ("input", "schema")
        for name in props:
            clean = re.sub(r"[?(].*$", "", str(name)).strip()
            if clean and clean not in ("type", "required"):
                out[clean] = located.line_of(base + (name,))
    return out


def _flatten(value: object, path: tuple, located: LocatedYaml, out: dict[str, Setting], offset: int) -> None:
    """Nested keys as dotted names; `offset` turns header lines into file lines (after '---')."""
    if isinstance(value, dict) and value:
        for key, child in value.items():
            _flatten(child, path + (key,), located, out, offset)
    else:
        line = located.line_of(path)
        out[".".join(str(p) for p in path)] = Setting(value, None if line is None else line + offset)


def _fill_body(parsed: Parsed, body: str, first_line: int, engine: str, fmt: str = "") -> None:
    """Variables and messages of a template body. Jinja errors switch the file to fallback."""
    if engine == "jinja2":
        variables, includes, error = jinja_variables(body, parsed.path, first_line)
        if error:
            parsed.errors.append(error)
            parsed.fallback = True
        parsed.variables.update(variables)
        parsed.uses.update(variables)
        parsed.includes.extend(includes)
    elif engine == "handlebars":
        used = handlebars_variables(body, first_line)
        parsed.variables.update(used)
        parsed.uses.update(used)
    if fmt == "prompty":
        chunks = _split_roles(body, first_line, _PROMPTY_ROLE, default="system")
    elif fmt == "dotprompt":
        chunks = _split_roles(body, first_line, _DOTPROMPT_ROLE, default="user")
    elif engine == "jinja2" and _has_role_markers(body):
        # promptflow's chat templates: `system:` / `user:` lines split a jinja2 file into messages.
        chunks = _split_roles(body, first_line, _PROMPTY_ROLE, default="prompt")
    else:
        chunks = [("prompt", body, first_line)]
    messages = []
    for role, text, line in chunks:
        if fmt == "dotprompt":
            text = "\n".join("" if _DOTPROMPT_DROP.match(t) else t for t in text.split("\n"))
        messages.append(build_message(role, text, line))
    parsed.messages, parsed.examples = split_examples(messages)


def _has_role_markers(body: str) -> bool:
    """A role marker at the top (before any text) makes the file a chat template."""
    for line in body.split("\n"):
        if line.strip() and not re.match(r"^\s*\{[#%]", line):
            return bool(_PROMPTY_ROLE.match(line))
    return False


def _split_roles(body: str, first_line: int, marker: re.Pattern, default: str) -> list[tuple[str, str, int]]:
    chunks: list[tuple[str, list[str], int]] = [(default, [], first_line)]
    loop: int | None = None  # index of the chunk a `{% for %}` around role markers opened
    depth = 0  # loops nested inside that one
    lines = body.split("\n")
    for offset, line in enumerate(lines):
        if loop is None and _LOOP_OPEN.match(line) and _loop_has_roles(lines, offset, marker):
            # A loop over role markers replays the conversation so far: one history message.
            chunks.append(("history", [line], first_line + offset))
            loop = len(chunks) - 1
            continue
        if loop is not None:
            chunks[loop][1].append(line)
            depth += 1 if _LOOP_OPEN.match(line) else 0
            if _LOOP_CLOSE.match(line) and depth > 0:
                depth -= 1
            elif _LOOP_CLOSE.match(line):
                # Text after the loop continues the message before it; kept only if it says something.
                chunks.append(("~" + chunks[loop - 1][0].lstrip("~"), [], first_line + offset + 1))
                loop = None
            continue
        m = marker.match(line)
        if m:
            role = next(g for g in m.groups() if g)
            chunks.append((role.lower(), [], first_line + offset + 1))
        else:
            chunks[-1][1].append(line)
    out = [(role, "\n".join(body_lines), start) for role, body_lines, start in chunks]
    # Text before the first role marker (or after a history loop) only counts when it says something.
    keep = [c for i, c in enumerate(out) if c[1].strip() or (i > 0 and not c[0].startswith("~"))]
    return [(role.lstrip("~"), text, start) for role, text, start in keep] or [(default, "", first_line)]


def _loop_has_roles(lines: list[str], start: int, marker: re.Pattern) -> bool:
    depth = 0
    for line in lines[start:]:
        if _LOOP_OPEN.match(line):
            depth += 1
        elif _LOOP_CLOSE.match(line):
            depth -= 1
            if depth == 0:
                return False
        elif marker.match(line):
            return True
    return False
