"""Messages and few-shot examples from a parsed prompt body: shared by every format's parser
(parse for text and front matter, parse_chat for message lists)."""

from __future__ import annotations

from bot.core.semdiff.segment import segment
from bot.core.semdiff.structure import Example, Message


def build_message(role: str, text: str, first_line: int) -> Message:
    sections, examples = segment(text, first_line)
    last = first_line + max(0, text.rstrip("\n").count("\n"))
    return Message(role, (first_line, last), text, tuple(sections), tuple(examples))


def split_examples(messages: list[Message]) -> tuple[list[Message], list[Example]]:
    """A user message answered by an assistant message is a few-shot example, not a message."""
    examples: list[Example] = [e for m in messages for e in m.examples]
    kept: list[Message] = []
    i = 0
    while i < len(messages):
        cur = messages[i]
        nxt = messages[i + 1] if i + 1 < len(messages) else None
        if cur.role == "user" and nxt is not None and nxt.role == "assistant":
            # The assistant's tool calls, the tool results and the answer after them are one example.
            end = i + 2
            while end < len(messages) and messages[end].role in ("tool", "function"):
                end += 1
                if end < len(messages) and messages[end].role == "assistant":
                    end += 1
            turn = messages[i:end]
            text = "\n".join(f"{m.role}: {m.text.strip()}" for m in turn)
            examples.append(Example(text, (cur.lines[0], turn[-1].lines[1])))
            i = end
            continue
        kept.append(cur)
        i += 1
    return kept, examples
