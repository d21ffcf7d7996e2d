"""Chat message lists in JSON or YAML (`[{role, content}]`, promptfoo's chat format, or an
object with `messages` plus model/parameters), with the file line of every message."""

from __future__ import annotations

import json
import re
from dataclasses import replace

import yaml

from bot.core import safejson
from bot.core.errors import SourceError, UserError
from bot.core.parts import describe_part, part_text
from bot.core.semdiff.messages import build_message, split_examples
from bot.core.semdiff.structure import Parsed, Setting
from bot.core.semdiff.template import jinja_variables, looks_like_jinja
from bot.core.yamlsrc import compose, load_yaml


def parse_chat(path: str, text: str, fmt: str) -> Parsed:
    parsed = Parsed(path, fmt, text)
    if fmt == "chat-json":
        items = _json_items(parsed, text)
    else:
        items = _yaml_items(parsed, text)
    if items is None:
        parsed.fallback = True
        return parsed
    messages = []
    for role, content, line, block in items:
        if looks_like_jinja(content):
            variables, includes, error = jinja_variables(content, path, line + (1 if block else 0))
            if error:
                parsed.errors.append(error)
            for name, at in variables.items():
                parsed.variables.setdefault(name, at if block else line)
                parsed.uses.setdefault(name, at if block else line)
            parsed.includes.extend(includes)
        # Block scalars start on the line after the key; quoted strings stay on the key's line.
        msg = build_message(role, content, line + 1 if block else line)
        if not block:
            msg = _pin_to_line(msg, line)
        messages.append(msg)
    parsed.messages, parsed.examples = split_examples(messages)
    return parsed


def _json_items(parsed: Parsed, text: str):
    try:
        data = safejson.loads(text)
    except safejson.JsonTooDeep as exc:
        line = safejson.too_deep_line(text, exc.limit)
        parsed.errors.append(SourceError(parsed.path, f"JSON nested deeper than {exc.limit} levels (limit {exc.limit})", line))
        return None
    except json.JSONDecodeError as exc:
        parsed.errors.append(SourceError(parsed.path, f"invalid JSON: {exc.msg}", exc.lineno))
        return None
    messages, settings = _split_request(data)
    if messages is None and isinstance(data, dict):
        return _document_items(parsed, data, None, text)
    if messages is None:
        parsed.errors.append(SourceError(parsed.path, "expected a list of {role, content} messages", 1))
        return None
    # json.loads keeps no positions: the n-th "role" key in the text is the n-th message's.
    role_lines = [text.count("\n", 0, m.start()) + 1 for m in re.finditer(r'"role"\s*:', text)]
    for key, value in settings.items():
        m = re.search(rf'"{re.escape(key.split(".")[0])}"\s*:', text)
        parsed.settings[key] = Setting(value, text.count("\n", 0, m.start()) + 1 if m else None)
    items = []
    for i, msg in enumerate(messages):
        if not isinstance(msg, dict) or "role" not in msg:
            parsed.errors.append(SourceError(parsed.path, f"message {i + 1} has no role", role_lines[i] if i < len(role_lines) else 1))
            return None
        line = role_lines[i] if i < len(role_lines) else 1
        if "content" in msg:
            line = _content_line(text, line, role_lines[i + 1] if i + 1 < len(role_lines) else None)
        items.append((str(msg["role"]), _message_text(msg), line, False))
    return items


def _yaml_items(parsed: Parsed, text: str):
    try:  # the same YAML 1.2 reading as configs and suites: `no:` is a key, not False
        data = load_yaml(text, parsed.path).data
        root = compose(text, parsed.path)
    except UserError as exc:
        parsed.errors.extend(exc.errors)
        return None
    messages, settings = _split_request(data)
    if messages is None and isinstance(data, dict) and isinstance(root, yaml.MappingNode):
        return _document_items(parsed, data, root, text)
    if messages is None:
        parsed.errors.append(SourceError(parsed.path, "expected a list of {role, content} messages", 1))
        return None
    seq = root
    if isinstance(root, yaml.MappingNode):
        seq = next((v for k, v in root.value if k.value == "messages"), None)
        for key_node, _ in root.value:
            for key, value in settings.items():
                if key.split(".")[0] == key_node.value:
                    parsed.settings[key] = Setting(value, key_node.start_mark.line + 1)
    items = []
    for i, msg in enumerate(messages):
        node = seq.value[i] if isinstance(seq, yaml.SequenceNode) and i < len(seq.value) else None
        line = node.start_mark.line + 1 if node is not None else 1
        if not isinstance(msg, dict) or "role" not in msg:
            parsed.errors.append(SourceError(parsed.path, f"message {i + 1} has no role", line))
            return None
        block = False
        if isinstance(node, yaml.MappingNode):
            for k, v in node.value:
                if k.value == "content":
                    line = v.start_mark.line + 1
                    block = isinstance(v, yaml.ScalarNode) and v.style in ("|", ">")
        items.append((str(msg["role"]), _message_text(msg), line, block))
    return items


# A string value this long, or on several lines, is prompt text in a document that is not a
# message list (model-graded eval specs, prompt libraries); shorter values are settings.
_TEXT_VALUE = 60


def _document_items(parsed: Parsed, data: dict, root, text: str):
    """A YAML/JSON document that is not a message list: its long strings are the prompt's
    messages (named by their key path), its other values are settings."""
    items = []
    settings: dict[str, object] = {}
    _flatten(data, (), settings)
    for key, value in settings.items():
        line, block = _value_line(root, key.split("."), text)
        if isinstance(value, str) and ("\n" in value.strip() or len(value) >= _TEXT_VALUE):
            items.append((key, value, line, block))
        else:
            parsed.settings[key] = Setting(value, line)
    if not items:
        parsed.errors.append(SourceError(parsed.path, "expected a list of {role, content} messages", 1))
        return None
    return items


def _value_line(root, keys: list[str], text: str) -> tuple[int, bool]:
    """(line of the value, whether it is a block scalar) for a dotted key path."""
    node = root
    for key in keys:
        if not isinstance(node, yaml.MappingNode):
            node = None
            break
        node = next((v for k, v in node.value if str(k.value) == key), None)
    if isinstance(node, yaml.Node):
        return node.start_mark.line + 1, isinstance(node, yaml.ScalarNode) and node.style in ("|", ">")
    m = re.search(rf'"{re.escape(keys[-1])}"\s*:', text)
    return (text.count("\n", 0, m.start()) + 1 if m else 1), False


def _split_request(data: object) -> tuple[list | None, dict[str, object]]:
    """(messages, flattened other settings) or (None, {}) when this is not a chat prompt."""
    if isinstance(data, list):
        return data, {}
    if isinstance(data, dict) and isinstance(data.get("messages"), list):
        settings: dict[str, object] = {}
        _flatten({k: v for k, v in data.items() if k != "messages"}, (), settings)
        return data["messages"], settings
    return None, {}


def _flatten(value, path, out):
    if isinstance(value, dict) and value:
        for k, v in value.items():
            _flatten(v, path + (k,), out)
    elif path:
        out[".".join(map(str, path))] = value


def _message_text(msg: dict) -> str:
    """The content, plus the tool calls an assistant message makes (they are what it says)."""
    text = _content_text(msg.get("content"))
    calls = msg.get("tool_calls") or msg.get("function_call")
    if calls:
        text = "\n".join(t for t in (text, json.dumps(calls, sort_keys=True)) if t)
    return text


def _content_text(content) -> str:
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):  # content parts: the text parts, and one line naming each other part (its URL or digest)
        return "\n".join(t if (t := part_text(p)) is not None else f"[{describe_part(p)}]" for p in content)
    return json.dumps(content, sort_keys=True)


def _pin_to_line(msg, line: int):
    """A quoted one-line scalar holds many sentences on one file line: report that line."""
    sections = tuple(
        replace(s, lines=(line, line), units=tuple(replace(u, lines=(line, line)) for u in s.units)) for s in msg.sections
    )
    examples = tuple(replace(e, lines=(line, line)) for e in msg.examples)
    return replace(msg, lines=(line, line), sections=sections, examples=examples)


def _content_line(text: str, role_line: int, next_role_line: int | None) -> int:
    """The line of the "content" key after this message's "role" (else the role's line)."""
    lines = text.split("\n")
    end = (next_role_line - 1) if next_role_line else len(lines)
    for no in range(role_line - 1, end):
        if re.search(r'"content"\s*:', lines[no]):
            return no + 1
    return role_line
