"""Messages whose content is parts (images, audio beside the text), as each wire format sends them.

promptfoo hands a chat prompt's message list to the provider mostly as written: OpenAI-compatible APIs,
Anthropic and Bedrock get the parts unchanged; the Gemini providers convert text parts to `{text}` and
lift a base64 image line out of the text (maybeCoerceToGeminiFormat, processImagesInContents). Only those
conversions are made here. Parts written in another vendor's form than the API's are refused with a clear
case error (promptfoo would send them and the vendor would refuse them); image URLs are never fetched here.
"""

from __future__ import annotations

import json
import re
from typing import Any

from bot.core.parts import Parts, content_value, part_text
from bot.evals.providers_shapes import Messages, WireError, mapping

# Types of the OpenAI chat and responses APIs' content parts (what another vendor's API does not read)
_OPENAI_TYPES = {"image_url", "input_audio", "input_text", "input_image", "input_file", "file", "refusal"}
# Gemini's processImagesInContents: a text line of at least 100 characters that starts like one of these
_BASE64_IMAGE = (("/9j/", "image/jpeg"), ("iVBORw0KGgo", "image/png"), ("R0lGODlh", "image/gif"), ("UklGR", "image/webp"))
_IMAGE_URL = re.compile(r"data:(image/[\w.+-]+);base64,(.*)", re.S)


def listed(messages: Messages) -> list[dict[str, Any]]:
    """The messages as a JSON message list, parts as written (OpenAI-compatible APIs, promptfoo's prompt)."""
    return [{"role": r, "content": content_value(c)} for r, c in messages]


def has_parts(messages: Messages) -> bool:
    return any(isinstance(c, Parts) for _, c in messages)


def text_only(who: str, messages: Messages) -> None:
    """A wire format that takes text: content parts are a case error saying so, never their JSON as text."""
    if has_parts(messages):
        raise WireError(f"{who}: this provider takes text messages; a message has content parts (images, audio), "
                        "which it cannot send")


def _kind(part: Any) -> str:
    if isinstance(part, dict):
        return str(part.get("type") or part.get("modality") or next(iter(part), "?"))
    return "text"


def _refuse(who: str, index: int, part: Any, wants: str) -> WireError:
    return WireError(f"{who}: message {index + 1} has a {_kind(part)!r} content part in another vendor's form; "
                     f"this API takes {wants} (promptfoo sends the part unchanged and the API refuses it)")


# ---- Anthropic (messages API; also Claude on Vertex) ---------------------------------------------


def anthropic_messages(who: str, messages: Messages) -> tuple[str | list[Any], list[dict[str, Any]]]:
    """(system, messages) as promptfoo's parseMessages builds them: content parts unchanged; a system
    text stays text unless a system message has parts (then every system message becomes blocks)."""
    for i, (_, c) in enumerate(messages):
        for part in c.parts if isinstance(c, Parts) else ():
            if not isinstance(part, dict) or "type" not in part or part["type"] in _OPENAI_TYPES:
                raise _refuse(who, i, part, "{type: text | image | document, …} blocks")
    systems = [c for r, c in messages if r == "system"]
    system: str | list[Any]
    if any(isinstance(c, Parts) for c in systems):
        system = [p for c in systems for p in (c.parts if isinstance(c, Parts) else [{"type": "text", "text": c}])]
    else:
        system = "\n\n".join(systems)
    return system, [{"role": r, "content": content_value(c)} for r, c in messages if r != "system"]


# ---- Gemini (Gemini API and Vertex) ----------------------------------------------------------------


def gemini_contents(who: str, messages: Messages) -> tuple[list[dict[str, Any]], list[str]]:
    """(contents, system texts) as promptfoo's maybeCoerceToGeminiFormat makes them from a message list:
    a text or `{type: text}` part becomes `{text}`, other parts go as written (Gemini's own `inline_data`,
    `file_data`…); a system message gives its text parts to the system instruction. Then, as promptfoo's
    processImagesInContents, a line that is a base64 image becomes an inline image part."""
    contents: list[dict[str, Any]] = []
    system: list[str] = []
    for i, (role, content) in enumerate(messages):
        parts: list[Any] = []
        for part in content.parts if isinstance(content, Parts) else [content]:
            text = part if isinstance(part, str) else (part.get("text") if isinstance(part, dict) and part.get("type") == "text" else None)
            if isinstance(text, str):
                parts.append({"text": text})
            elif not isinstance(part, dict) or "type" in part or "modality" in part:
                raise _refuse(who, i, part, "Gemini parts ({text}, {inline_data: {mime_type, data}}, {file_data: …})")
            else:
                parts.append(part)
        if role == "system":
            system += [p["text"] for p in parts if isinstance(p.get("text"), str)]
            continue
        contents.append({"role": "model" if role == "assistant" else "user", "parts": _inline_images(parts)})
    return contents, system


def _inline_images(parts: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for part in parts:
        text = part.get("text")
        if not isinstance(text, str) or not any(_image_mime(line.strip()) for line in text.split("\n")):
            out.append(part)
            continue
        block: list[str] = []
        for line in text.split("\n"):
            image = _image_mime(line.strip())
            if image is None:
                block.append(line)
                continue
            if block:
                out.append({"text": "\n".join(block)})
                block = []
            out.append({"inlineData": {"mimeType": image[0], "data": image[1]}})
        if block:
            out.append({"text": "\n".join(block)})
    return out


def _image_mime(line: str) -> tuple[str, str] | None:
    """(mime type, base64 data) of a line that is a base64 image, bare or as a data: URL (an image var file)."""
    url = _IMAGE_URL.fullmatch(line)
    data = url.group(2) if url else line
    if len(data) < 100 or not re.fullmatch(r"[A-Za-z0-9+/=]+", data):
        return None
    mime = next((mime for prefix, mime in _BASE64_IMAGE if data.startswith(prefix)), None)
    return None if mime is None else ((url.group(1) if url else mime), data)


# ---- Bedrock Converse --------------------------------------------------------------------------------


def converse_messages(who: str, messages: Messages, claude: bool = False) -> tuple[list[dict[str, Any]], list[Any]]:
    """(messages, system blocks) for Converse: a text is `[{text}]`, parts go as written — Converse's
    blocks are Nova's (`{image: {format, source: {bytes}}}`), which promptfoo passes through unchanged.

    promptfoo sends a Claude model on Bedrock the Anthropic messages body (InvokeModel), parts as written;
    prompt-review calls every model through Converse, so for Claude (`claude`) Anthropic's text and base64
    image blocks are written as the Converse blocks that carry the same text and image."""
    def block(i: int, part: Any) -> Any:
        if claude and isinstance(part, dict) and part.get("type") in ("text", "image"):
            source = mapping(part.get("source"))
            if part["type"] == "text" and isinstance(part.get("text"), str):
                return {"text": part["text"]}
            if part["type"] == "image" and source.get("type") == "base64" and isinstance(source.get("data"), str):
                kind = str(source.get("media_type") or "image/jpeg").rsplit("/", 1)[-1]
                return {"image": {"format": kind, "source": {"bytes": source["data"]}}}
        if not isinstance(part, dict) or "type" in part or "modality" in part:
            raise _refuse(who, i, part, "Converse blocks ({text}, {image: {format, source: {bytes}}}, {document: …})"
                          + ("; of Anthropic's blocks, text and base64 images are carried over" if claude else ""))
        return part

    def blocks(i: int, c: str) -> list[Any]:
        return [block(i, p) for p in c.parts] if isinstance(c, Parts) else [{"text": c}]

    return ([{"role": r, "content": blocks(i, c)} for i, (r, c) in enumerate(messages) if r != "system"],
            [b for i, (r, c) in enumerate(messages) if r == "system" for b in blocks(i, c)])


# ---- Adaline Gateway's own message form ({modality: text | image, …}) -------------------------------


_OPENAI_WIRES = ("openai",)
_DATA_URL = re.compile(r"data:([\w.+-]+/[\w.+-]+);base64,([A-Za-z0-9+/=\s]*)", re.S)


def from_gateway(who: str, wire: str, messages: Messages) -> Messages:
    """Messages for promptfoo's Adaline Gateway, as the vendor's API reads them. The gateway reads a prompt
    in its own form (`{modality: text | image, …}`) or in OpenAI's (`{type: text | image_url}`) and writes
    the vendor's: a text part is the vendor's text part, an image given as base64 (or an OpenAI data URL)
    the vendor's inline image. An image given by URL to a vendor other than OpenAI is a case error (the
    gateway library would download it; prompt-review fetches nothing)."""
    out: list[tuple[str, str]] = []
    for i, (role, content) in enumerate(messages):
        gateway = isinstance(content, Parts) and any(isinstance(p, dict) and "modality" in p for p in content.parts)
        if not isinstance(content, Parts) or not gateway and wire in _OPENAI_WIRES:
            out.append((role, content))  # OpenAI's form to OpenAI: as written
            continue
        parts: list[Any] = []
        for part in content.parts:
            text = part_text(part)
            if text is not None:
                parts.append({"text": text} if wire in ("gemini", "vertex", "bedrock") else {"type": "text", "text": text})
                continue
            image = _gateway_image(part)
            if image is None:
                raise WireError(f"{who}: message {i + 1} has a {_kind(part)!r} part that prompt-review does not send through the "
                                "Adaline Gateway (text, and images given as base64, are sent; an image URL would be downloaded by the gateway)")
            mime, data, detail = image
            if wire in ("gemini", "vertex"):
                parts.append({"inline_data": {"mime_type": mime, "data": data}})
            elif wire in ("anthropic", "vertex-anthropic"):
                parts.append({"type": "image", "source": {"type": "base64", "media_type": mime, "data": data}})
            else:
                parts.append({"type": "image_url", "image_url": {"url": f"data:{mime};base64,{data}", **({"detail": detail} if detail else {})}})
        if len(parts) == 1 and set(parts[0]) <= {"type", "text"}:
            out.append((role, str(parts[0]["text"])))  # one text part is the message's text
        else:
            out.append((role, Parts(parts)))
    return tuple(out)


def _gateway_image(part: Any) -> tuple[str, str, str | None] | None:
    """(mime type, base64 data, detail) of an image part given inline, in Adaline's or OpenAI's form."""
    if not isinstance(part, dict):
        return None
    value = mapping(part.get("value"))
    if part.get("modality") == "image" and value.get("type") == "base64" and isinstance(value.get("base64"), str):
        mime = str(value.get("media_type") or "jpeg")
        return (mime if "/" in mime else f"image/{mime}"), value["base64"], part.get("detail")
    url = mapping(part.get("image_url")).get("url") if part.get("type") == "image_url" else None
    m = _DATA_URL.fullmatch(url) if isinstance(url, str) else None
    return (m.group(1), m.group(2), mapping(part.get("image_url")).get("detail")) if m else None


def prompt_json(messages: Messages) -> str:
    """The rendered prompt as promptfoo hands it to a text provider: one user text, or the message list's JSON."""
    if len(messages) == 1 and messages[0][0] == "user" and not isinstance(messages[0][1], Parts):
        return messages[0][1]
    return json.dumps(listed(messages), ensure_ascii=False)
