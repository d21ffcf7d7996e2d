"""Rule 12 of the scripted model (see bot.modelserver.rules): tool calls.

When a request declares tools (OpenAI `tools: [{type: function, function: {name, description, parameters}}]`,
the responses API's `[{type: function, name, description, parameters}]`, or Anthropic
`tools: [{name, description, input_schema}]`), the scripted model calls them instead of answering —
on chat completions, Azure deployments, the responses API (`function_call` output items), Claude's
messages and Bedrock Converse (`toolUse` blocks; its toolSpecs read as Anthropic's tools) —, deterministically:

- Which tools: each declared tool whose name the last user message mentions, in the order mentioned
  ("Use get_weather for Oslo"); with none mentioned, the one tool whose description shares the most
  words (4+ letters) with the message, the first declared on a tie; with no shared word, no call.
  `tool_choice` none (Anthropic `{type: none}`) never calls; required / `{type: any}` calls the best
  tool even without a shared word; a named tool choice calls that tool only.
- Arguments, from the text after the tool's mention (the whole message for a tool chosen by its
  description), property by property in the schema's order: a string with an `enum` takes the first
  value the text names (else its `default`, else its first value when required); other strings take
  the quoted phrases of the text in order, then the capitalised phrases after for/in/at/about/from/to
  ("for New York" → "New York"); numbers and integers take the text's numbers in order; a boolean is
  true when the text names it (underscores read as spaces), false when required. A value the text
  does not give is left out, so a call can miss a required argument (the scripted model invents
  nothing, which is how `is-valid-openai-tools-call` sees a prompt that stopped giving it).
- A conversation whose last message is a tool result is answered in text (rules 1-11).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Any

from bot.core.parts import content_text


class ChoiceMode(Enum):
    NONE = "none"
    AUTO = "auto"
    REQUIRED = "required"
    NAMED = "named"


@dataclass(frozen=True)
class Tool:
    name: str
    description: str
    schema: Mapping[str, Any]  # the parameters' JSON schema


@dataclass(frozen=True)
class ToolChoice:
    mode: ChoiceMode
    name: str | None = None


@dataclass(frozen=True)
class ToolCall:
    name: str
    arguments: Mapping[str, Any]

    @property
    def arguments_json(self) -> str:
        """The arguments as OpenAI sends them: a compact JSON string."""
        return json.dumps(self.arguments, ensure_ascii=False, separators=(",", ":"))

    def call_id(self, prefix: str, index: int) -> str:
        digest = hashlib.sha256(f"{index}|{self.name}|{self.arguments_json}".encode()).hexdigest()
        return f"{prefix}{digest[:24]}"


class UnknownTool(ValueError):
    """A tool_choice names a tool the request does not declare (the real APIs answer 400)."""


_WORD = re.compile(r"[a-z]{4,}")
_STOP = frozenset({"this", "that", "with", "from", "your", "their", "about", "what", "when", "which", "there", "them",
                   "then", "than", "have", "will", "into", "only", "please", "given", "tool", "tools", "function", "use"})
_QUOTED = re.compile(r"\"([^\"]+)\"|“([^”]+)”")
_PLACE = re.compile(r"\b(?:for|in|at|about|from|to)\s+((?:[A-Z][\w'-]*)(?:\s+[A-Z][\w'-]*)*)")
_NUMBER = re.compile(r"(?<![\w.])-?\d+(?:\.\d+)?(?![\w.])")


def read_tools(tools: Any) -> list[Tool]:
    """Declared function tools in OpenAI's or Anthropic's form; other entries (hosted tools) are skipped."""
    out = []
    for t in tools if isinstance(tools, list) else []:
        if not isinstance(t, dict):
            continue
        inner = t.get("function")
        fn: dict[str, Any] = inner if t.get("type") == "function" and isinstance(inner, dict) else t
        name, schema = fn.get("name"), fn.get("parameters", fn.get("input_schema"))
        if isinstance(name, str) and name:
            out.append(Tool(name, str(fn.get("description") or ""), schema if isinstance(schema, dict) else {}))
    return out


def read_choice(choice: Any) -> ToolChoice:
    """OpenAI's "none" | "auto" | "required" | {type: function, function: {name}}, or Anthropic's
    {type: auto | any | tool | none, name}."""
    if isinstance(choice, str):
        return ToolChoice({"none": ChoiceMode.NONE, "required": ChoiceMode.REQUIRED, "any": ChoiceMode.REQUIRED}.get(choice, ChoiceMode.AUTO))
    if isinstance(choice, dict):
        kind, fn = choice.get("type"), choice.get("function")
        name = choice.get("name") or (fn.get("name") if isinstance(fn, dict) else None)
        if kind in ("function", "tool") and isinstance(name, str):
            return ToolChoice(ChoiceMode.NAMED, name)
        if kind == "none":
            return ToolChoice(ChoiceMode.NONE)
        if kind == "any":
            return ToolChoice(ChoiceMode.REQUIRED)
    return ToolChoice(ChoiceMode.AUTO)


def tool_calls(messages: Sequence[Mapping[str, Any]], tools: Any, choice: Any = None) -> list[ToolCall]:
    """The scripted model's tool calls for a request, or [] to answer in text. Raises UnknownTool."""
    declared = read_tools(tools)
    picked = read_choice(choice)
    if not declared or picked.mode is ChoiceMode.NONE or _answers_a_tool_result(messages):
        return []
    users = [m for m in messages if m.get("role") == "user"]
    text = content_text(users[-1].get("content")) if users else ""
    if picked.mode is ChoiceMode.NAMED:
        tool = next((t for t in declared if t.name == picked.name), None)
        if tool is None:
            raise UnknownTool(f"tool_choice names {picked.name!r}, which is not among the request's tools")
        return [ToolCall(tool.name, _arguments(tool, _after(text, tool.name)))]
    mentioned = sorted(((m.start(), m.end(), t) for t in declared if (m := _mention(t.name).search(text))), key=lambda x: x[0])
    if mentioned:
        calls = []
        for i, (_, end, tool) in enumerate(mentioned):
            stop = mentioned[i + 1][0] if i + 1 < len(mentioned) else len(text)
            calls.append(ToolCall(tool.name, _arguments(tool, text[end:stop])))
        return calls
    words = _words(text)
    overlap = [len(words & _words(t.description)) for t in declared]
    best = max(range(len(declared)), key=lambda i: (overlap[i], -i))
    if overlap[best] == 0 and picked.mode is not ChoiceMode.REQUIRED:
        return []
    return [ToolCall(declared[best].name, _arguments(declared[best], text))]


def _answers_a_tool_result(messages: Sequence[Mapping[str, Any]]) -> bool:
    last = messages[-1] if messages else {}
    content = last.get("content")
    return last.get("role") in ("tool", "function") or (
        isinstance(content, list) and any(isinstance(p, dict) and p.get("type") == "tool_result" for p in content))



def _mention(name: str) -> re.Pattern[str]:
    return re.compile(rf"(?<![\w-]){re.escape(name)}(?![\w-])")


def _after(text: str, name: str) -> str:
    found = _mention(name).search(text)
    return text[found.end():] if found else text


def _words(text: str) -> set[str]:
    return {w[:-1] if w.endswith("s") and len(w) > 4 else w for w in _WORD.findall(text.lower())} - _STOP


def _arguments(tool: Tool, text: str) -> dict[str, Any]:
    properties = tool.schema.get("properties")
    required = tool.schema.get("required")
    required = set(required) if isinstance(required, list) else set()
    phrases = [a or b for a, b in _QUOTED.findall(text)] + _PLACE.findall(_QUOTED.sub(" ", text))
    numbers = _NUMBER.findall(_QUOTED.sub(" ", text))
    args: dict[str, Any] = {}
    for name, prop in (properties.items() if isinstance(properties, dict) else ()):
        prop = prop if isinstance(prop, dict) else {}
        kind = str(prop.get("type") or "").lower()  # Gemini's schemas spell the types in upper case (STRING)
        if isinstance(prop.get("enum"), list) and prop["enum"]:
            named = [v for v in prop["enum"] if isinstance(v, str) and re.search(rf"(?<!\w){re.escape(v)}(?!\w)", text, re.I)]
            if named:
                args[name] = named[0]
            elif "default" in prop:
                args[name] = prop["default"]
            elif name in required:
                args[name] = prop["enum"][0]
        elif kind == "string":
            if phrases:
                args[name] = phrases.pop(0)
        elif kind in ("number", "integer"):
            usable = [n for n in numbers if kind == "number" or "." not in n]
            if usable:
                numbers.remove(usable[0])
                args[name] = float(usable[0]) if "." in usable[0] else int(usable[0])
        elif kind == "boolean":
            if re.search(rf"(?<!\w){re.escape(name.replace('_', ' '))}(?!\w)", text, re.I):
                args[name] = True
            elif name in required:
                args[name] = False
    return args
