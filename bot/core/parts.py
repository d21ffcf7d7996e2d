"""A chat message's content given as parts (text, images, audio) rather than one text.

Messages are `(role, str)` pairs everywhere (rendering, cache keys, token counts, snapshots); a content
of parts is a `Parts`: a `str` whose text is the parts' JSON, so everything that hashes, compares or
stores a message sees a change to any part, and the wire formats that send parts ask for `.parts`.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from typing import Any


class Parts(str):
    """Content parts as written in the prompt (a list of JSON values); str() is their compact JSON."""

    __slots__ = ()

    def __new__(cls, parts: list[Any]) -> Parts:
        return super().__new__(cls, json.dumps(parts, ensure_ascii=False, separators=(",", ":")))

    @classmethod
    def from_json(cls, text: str) -> Parts:
        return cls(json.loads(text))

    def __reduce__(self) -> tuple[Callable[[str], Parts], tuple[str]]:
        return Parts.from_json, (str(self),)

    @property
    def parts(self) -> list[Any]:
        value = json.loads(str(self))
        return value if isinstance(value, list) else [value]


def content_value(content: str) -> Any:
    """A message's content as JSON sends it: the parts list for Parts, else the text."""
    return content.parts if isinstance(content, Parts) else content


def part_text(part: Any) -> str | None:
    """The text of a text part in any vendor's form (OpenAI/Anthropic `{type: text, text}`, Gemini and
    Bedrock `{text}`, Adaline `{modality: text, value}`, a bare string); None for other parts."""
    if isinstance(part, str):
        return part
    if not isinstance(part, dict):
        return None
    if part.get("type") in ("text", "input_text", "output_text") and isinstance(part.get("text"), str):
        return part["text"]
    if "type" not in part and "modality" not in part and isinstance(part.get("text"), str):
        return part["text"]
    if part.get("modality") == "text" and isinstance(part.get("value"), str):
        return part["value"]
    return None


def content_text(content: Any) -> str:
    """The text of a message's content: itself when it is text, its text parts one per line when it is a
    list of parts, else empty."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(t for t in (part_text(p) for p in content) if t is not None)
    return ""


def leaves(value: Any) -> list[str]:
    """Every text inside a JSON value, in document order (the parts' templates, rendered one by one)."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [s for item in value for s in leaves(item)]
    if isinstance(value, dict):
        return [s for item in value.values() for s in leaves(item)]
    return []


def replace_leaves(value: Any, texts: list[str]) -> Any:
    """`value` with its texts replaced, in the order `leaves` gives them (consumes `texts`)."""
    if isinstance(value, str):
        return texts.pop(0)
    if isinstance(value, list):
        return [replace_leaves(item, texts) for item in value]
    if isinstance(value, dict):
        return {key: replace_leaves(item, texts) for key, item in value.items()}
    return value


def describe_part(part: Any) -> str:
    """A short, stable description of a part for a diff: its kind and URL or a digest of its data —
    never the data itself (base64 images are megabytes)."""
    text = part_text(part)
    if text is not None:
        return text
    kind = "part"
    if isinstance(part, dict):
        kind = str(part.get("type") or part.get("modality") or next(iter(part), "part"))
    url = _find(part, ("url", "image_url", "file_url", "uri", "fileUri", "file_uri"))
    if isinstance(url, str) and not url.startswith("data:"):
        return f"{kind}: {url[:200]}"
    if all(len(s) <= 80 and not s.startswith("data:") for s in leaves(part)):  # short: a template ({{ image }}), a format
        return f"{kind}: {json.dumps(part, ensure_ascii=False, separators=(', ', ': '))}"
    data = json.dumps(part, sort_keys=True, ensure_ascii=False)
    return f"{kind}: sha256 {hashlib.sha256(data.encode()).hexdigest()[:12]}"


def _find(value: Any, names: tuple[str, ...]) -> Any:
    if isinstance(value, dict):
        for key, item in value.items():
            if key in names and isinstance(item, str):
                return item
            found = _find(item, names)
            if found is not None:
                return found
    return None
