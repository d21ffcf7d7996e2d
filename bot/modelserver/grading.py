"""The scripted model as a grader, for the comparison and conversation assertions (promptfoo's grader
prompts and prompt-review's own are both recognised, so the two tools can be compared on one server).

- select-best: a prompt listing outputs as `<Text index="N">` (promptfoo) or `<Output index="N">`
  (prompt-review) blocks is answered with one index: the output sharing the most words (4+ letters)
  with the criterion, then the longest, then the first.
- conversation relevance: a prompt asking for a `verdict` on the last assistant message of a JSON
  list of `{role, content}` messages is answered `{"verdict": "yes"|"no", "reason": …}`: relevant
  when that message asks a question or shares a word (4+ letters) with a user message of the list.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

_BLOCK = re.compile(r'<(Text|Output) index="(\d+)">\n?(.*?)\n?</\1>', re.S)
_CRITERION = re.compile(r"<Criterion>\n?(.*?)\n?</Criterion>|best fits the following criteria:\s*([^\n]*)", re.S)
_WORD = re.compile(r"[a-z]{4,}")


def _words(text: str) -> set[str]:
    return {w.rstrip("s") for w in _WORD.findall(text.lower())}


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(str(p.get("text", "")) for p in content if isinstance(p, Mapping))
    return ""


def grader_reply(messages: Sequence[Mapping[str, Any]]) -> str | None:
    """The grader's answer when the prompt is one of the grading requests above, else None."""
    text = "\n".join(_text(m.get("content")) for m in messages)
    blocks = _BLOCK.findall(text)
    if len(blocks) >= 2:
        found = _CRITERION.search(text)
        criterion = _words((found.group(1) or found.group(2) or "") if found else "")
        best = max(blocks, key=lambda b: (len(criterion & _words(b[2])), len(b[2]), -int(b[1])))
        return best[1]
    if '"verdict"' in text or "'verdict'" in text:
        conversation = _last_message_list(text)
        if conversation:
            return _relevance(conversation)
    return None


def _last_message_list(text: str) -> list[dict[str, str]] | None:
    decoder = json.JSONDecoder()
    found = None
    for m in re.finditer(r"\[\s*\{", text):
        try:
            value, _ = decoder.raw_decode(text, m.start())
        except ValueError:
            continue
        if isinstance(value, list) and value and all(isinstance(v, dict) and "role" in v and "content" in v for v in value):
            found = value
    return found


def _relevance(conversation: list[dict[str, str]]) -> str:
    last = next((str(m["content"]) for m in reversed(conversation) if m["role"] == "assistant"), "")
    users = set().union(*(_words(str(m["content"])) for m in conversation if m["role"] == "user"))
    if last.rstrip().endswith("?") or _words(last) & users:
        return json.dumps({"verdict": "yes"})
    return json.dumps({"verdict": "no", "reason": "The last assistant message shares nothing with what the user asked."})
