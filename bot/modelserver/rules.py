"""The scripted model's answers: a pure function of the messages, the model name and parameters.

Rules, in the order they apply (documented here because tests and the demo rely on them):

1. The *policy* is read from the system message(s) (see `policy.read_policy`); without a
   system message, from everything but the last paragraph of a lone user message.
   Whitespace and line wrapping never change a policy, so a reflowed prompt answers the same.
2. The *question* (last user message) is classified, first match wins: unsafe → off-topic →
   damaged item → digital goods → refund → shipping → account → other.
3. Unsafe / off-topic questions are refused only when the prompt says to refuse them.
4. Refunds: with "Refunds are only possible within N days of delivery." in the prompt, an order
   delivered more than N days ago is *not eligible*; without that sentence every refund is
   promised. Digital goods are not refundable once downloaded only when the prompt says so.
   Damaged items get a replacement or refund when the prompt has a damaged-items rule.
5. Shipping, account and other questions are answered by quoting the prompt's best-matching
   fact sentence (IDF-weighted word overlap), or handed to a human when none matches.
6. Tone: an upset customer gets an apology only when the prompt asks for one (otherwise
   "Please calm down."); a prompt asking for a warm/friendly tone gets a warmer opener.
7. JSON: when the question asks for JSON and the prompt defines the JSON reply format, the
   reply is `{"answer", "category", "refund_eligible"}` and nothing else.
8. Model names: models whose name contains "4.1" (the gpt-4.1 family) wrap JSON replies in a
   ```json fence — so a model upgrade fails strict `is-json` checks. Models whose name contains
   "flaky" are noisy: for one prompt in four (chosen by `params["seed"]`, default 0) every
   odd-numbered call (`call_index`) gives up with a hand-off instead of answering.
   Every other model name answers identically. Temperature is ignored: answers are
   deterministic.
9. A prompt that is not a support-bot prompt gets a generic echo, or exactly the text it was
   asked to repeat ('reply with "X"').
10. Grading requests (select-best, conversation relevance, judgements against a rubric or
    criterion that ask for a JSON pass/score/category, and each step of g-eval, answer-relevance and
    the context-* checks) get a grader's answer first (bot.modelserver.grading documents how it decides).
11. Content parts: text parts in any vendor's form are the message's text; the other parts of the
    last user message (images, audio, files) are seen: the generic echo ends with one
    " [seen: KIND: URL or sha256 DIGEST]" per part, so a test knows which image reached the model.
12. Tools: a request that declares tools and asks for one (by its name, or by words of its
    description) is answered with tool calls, arguments taken from the text (bot.modelserver.tools
    documents how), on the OpenAI chat and Anthropic messages endpoints.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from bot.core.parts import content_text, describe_part, part_text
from bot.modelserver.grading import grader_reply
from bot.modelserver.policy import SupportPolicy, best_fact, read_policy

_UNSAFE = re.compile(
    r"\b(stolen|steal\w*|fake|forge[dr]?|hack\w*|bomb|weapons?|guns?|explosives?|poison\w*|malware|"
    r"phishing|launder\w*|someone else'?s|another customer'?s|other customers'?)\b"
)
_OFFTOPIC = re.compile(
    r"\b(poem|capital of|weather|recipe|homework|essay|joke|stocks?|bitcoin|election|president|movie|"
    r"lyrics|translate|equation|horoscope|football|world cup|meaning of life)\b"
)
_DAMAGED = re.compile(
    r"\b(damaged|broken|cracked|shattered|dented|defective|torn|smashed|faulty|leaking|ripped)\b|"
    r"stopped working|won'?t turn on|doesn'?t work"
)
_DIGITAL = re.compile(r"\b(e-?books?|digital|download\w*|software|licen[cs]e keys?|online course|audiobooks?)\b")
_REFUND = re.compile(r"\b(refund\w*|money back|return\w*|reimburse\w*)\b")
_SHIPPING = re.compile(r"\b(ship\w*|deliver\w*|track\w*|parcel|package|courier|express)\b")
_ACCOUNT = re.compile(
    r"\b(account|password|log ?in|sign ?in|e-?mail address|newsletter|unsubscribe|order history|profile)\b"
)
_UPSET = re.compile(
    r"!!|\b(ridiculous|terrible|unacceptable|furious|angry|worst|awful|fed up|disgusted|outraged|"
    r"pathetic|useless|joke of a)\b"
)
_NOT_DOWNLOADED = re.compile(r"\b(not|never|haven'?t|hasn'?t|didn'?t|yet to)\b[^.?!]*\bdownload|not yet downloaded")
_AGO = re.compile(r"\b(\d+|a|an|one|two|three|four|five|six)\s+(day|week|month)s?\s+ago\b")
_NUMBER_WORDS = {"a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6}
_UNIT_DAYS = {"day": 1, "week": 7, "month": 30}
_ECHO = re.compile(r"\b(?:reply|respond|answer) with (?:exactly|only)?\s*[\"“](.+?)[\"”]", re.I)

HANDOFF = "I'm not sure about that. Let me connect you with a human agent."


@dataclass(frozen=True)
class Reply:
    text: str
    category: str
    refund_eligible: bool | None


def answer(
    messages: Sequence[Mapping[str, Any]],
    model: str,
    params: Mapping[str, Any] | None = None,
    *,
    call_index: int = 0,
) -> str:
    """The scripted reply to a chat; `call_index` only matters for "flaky" models (rule 8)."""
    params = params or {}
    graded = grader_reply(messages)
    if graded is not None:
        return graded
    system, question = split_prompt(messages)
    if _is_flaky_call(model, params, system, question, call_index):
        return HANDOFF

    policy = read_policy(system)
    q = question.lower()
    if not policy.is_support_prompt:
        echoed = _ECHO.search(question)
        users = [m.get("content") for m in messages if m.get("role") == "user"]
        seen = "".join(f" [seen: {describe_part(p)}]" for p in _media(users[-1] if users else None))
        return echoed.group(1) + seen if echoed else f"You said: {question.strip()}{seen}"

    reply = _support_reply(policy, question, q)
    if reply.category == "refused":
        return reply.text
    if not (re.search(r"\bjson\b", q) and policy.json_format):
        return _with_tone(policy, question, reply)
    payload = json.dumps({"answer": reply.text, "category": reply.category, "refund_eligible": reply.refund_eligible})
    if "4.1" in model:
        return f"```json\n{payload}\n```"
    return payload


def split_prompt(messages: Sequence[Mapping[str, Any]]) -> tuple[str, str]:
    """(system text, last user message); content may be a string or a list of text parts."""
    system = "\n\n".join(content_text(m.get("content")) for m in messages if m.get("role") in ("system", "developer"))
    users = [content_text(m.get("content")) for m in messages if m.get("role") == "user"]
    question = users[-1] if users else ""
    if not system and len(users) == 1:
        # A single text prompt: instructions first, the question in the last paragraph.
        head, _, tail = question.strip().rpartition("\n\n")
        if head:
            system, question = head, tail
    return system, question


def _media(content: Any) -> list[Any]:
    """The parts of a message that are not text (images, audio, files) in any vendor's form."""
    return [p for p in content if part_text(p) is None] if isinstance(content, list) else []


def _is_flaky_call(model: str, params: Mapping[str, Any], system: str, question: str, call_index: int) -> bool:
    if "flaky" not in model.lower():
        return False
    digest = hashlib.sha256(f"{params.get('seed', 0)}|{system}|{question}".encode()).digest()
    return digest[0] % 4 == 0 and call_index % 2 == 1


def _support_reply(p: SupportPolicy, question: str, q: str) -> Reply:
    if _UNSAFE.search(q):
        if p.refuse_unsafe:
            return Reply("I'm sorry, but I can't help with that request.", "refused", None)
        return Reply("Sure, here is what you asked for.", "other", None)
    if _OFFTOPIC.search(q):
        if p.refuse_offtopic:
            return Reply(
                f"I'm sorry, but I can only help with questions about {p.company} orders, refunds, "
                "shipping and accounts.",
                "refused",
                None,
            )
        return Reply("Sure! Happy to help with that.", "other", None)
    if _DAMAGED.search(q) and p.damaged_rule:
        ask = "Please send us a photo of the damage and your order number, and we" if p.damaged_photo else "We"
        return Reply(
            f"I'm sorry your item arrived damaged. {ask} will send you a free replacement or a full refund, "
            "whichever you prefer.",
            "damaged_item",
            True,
        )
    if _DIGITAL.search(q) and p.digital_nonrefundable_once_downloaded:
        if _NOT_DOWNLOADED.search(q):
            return Reply(
                "Because you have not downloaded it yet, this digital purchase is eligible for a refund. "
                + _returns_hint(p, question),
                "digital_goods",
                True,
            )
        if "download" in q:
            return Reply(
                "Digital goods are non-refundable once downloaded, so this purchase is not eligible for a refund.",
                "digital_goods",
                False,
            )
    if _REFUND.search(q):
        return _refund_reply(p, question, q)
    if _SHIPPING.search(q):
        return _fact_reply(p, question, "shipping", _SHIPPING)
    if _ACCOUNT.search(q):
        return _fact_reply(p, question, "account", _ACCOUNT)
    return _fact_reply(p, question, "other", None)


def _refund_reply(p: SupportPolicy, question: str, q: str) -> Reply:
    hint = _returns_hint(p, question)
    window = p.refund_window_days
    if window is None:
        return Reply(f"Yes, you are eligible for a refund. {hint}".strip(), "refund", True)
    days = delivered_days_ago(q)
    if days is None:
        return Reply(
            f"Refunds are possible within {window} days of delivery. Could you tell me when your order was delivered?",
            "refund",
            None,
        )
    if days <= window:
        return Reply(
            f"Your order was delivered {days} days ago, which is within our {window}-day refund window, "
            f"so you are eligible for a refund. {hint}".strip(),
            "refund",
            True,
        )
    return Reply(
        f"I'm sorry, but your order was delivered {days} days ago. Refunds are only possible within "
        f"{window} days of delivery, so this order is not eligible for a refund.",
        "refund",
        False,
    )


def delivered_days_ago(q: str) -> int | None:
    m = _AGO.search(q)
    if m:
        n = int(m.group(1)) if m.group(1).isdigit() else _NUMBER_WORDS[m.group(1)]
        return n * _UNIT_DAYS[m.group(2)]
    if "yesterday" in q:
        return 1
    if "today" in q:
        return 0
    return None


def _returns_hint(p: SupportPolicy, question: str) -> str:
    fact = best_fact("how do I start a return", p.facts, re.compile(r"\breturn"))
    return _second_person(fact) if fact else ""


def _fact_reply(p: SupportPolicy, question: str, category: str, topic: re.Pattern[str] | None) -> Reply:
    fact = best_fact(question, p.facts, topic) or (best_fact(question, p.facts) if topic else None)
    return Reply(_second_person(fact) if fact else HANDOFF, category, None)


def _second_person(fact: str) -> str:
    text = re.sub(r"\bcustomers can\b", "you can", fact, flags=re.I)
    text = re.sub(r"\bcustomers\b", "you", text, flags=re.I)
    text = re.sub(r"\btheir\b", "your", text)
    text = re.sub(r"\bthey\b", "you", text)
    return text[0].upper() + text[1:]


def _with_tone(p: SupportPolicy, question: str, reply: Reply) -> str:
    # Shouting (a capitalised word other than JSON) counts as upset too.
    upset = bool(_UPSET.search(question.lower())) or bool(re.search(r"\b(?!JSON\b)[A-Z]{4,}\b", question))
    if upset:
        if p.apologise_when_upset:
            opener = (
                "I'm so sorry about this, and I completely understand how frustrating it is."
                if p.warm_tone
                else "I'm sorry for the trouble, and I understand your frustration."
            )
        else:
            opener = "Please calm down."
    else:
        opener = "Thanks so much for reaching out!" if p.warm_tone else f"Thank you for contacting {p.company}."
    closing = " Have a wonderful day!" if p.warm_tone else ""
    return f"{opener} {reply.text}{closing}"

