"""Read a support-bot system prompt into the policy the scripted model obeys.

Only the prompt's *content* matters: markdown structure and line wrapping are normalised
away first, so a whitespace-only reflow yields the same policy and the same answers.
"""

from __future__ import annotations

import math
import re
from functools import lru_cache
from dataclasses import dataclass, field

_BLOCK_START = re.compile(r"^\s*(?:#{1,6}\s|[-*+]\s|\d+[.)]\s)")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z\"'(])")
_WORD = re.compile(r"[a-z0-9$@][a-z0-9$@'./-]*[a-z0-9]|[a-z0-9]")

# Sentences that instruct the assistant rather than state a shop fact; never quoted to a customer.
_IMPERATIVE = {
    "never", "always", "be", "if", "do", "don't", "refuse", "answer", "when", "you", "keep",
    "use", "apologise", "apologize", "ask", "make", "reply", "avoid", "try", "stay", "write",
}
_STOPWORDS = frozenset(
    """a an and are as at be by can could do does for from get had has have how i i'm if in into is it
    it's its me my of on or our please so than that the their them then there this to was we what
    when where which who will with would you your want like need know tell much long take takes""".split()
)

# A little world knowledge, so "Do you ship to Spain?" finds the sentence that lists "the EU".
_REGIONS = {
    **dict.fromkeys(
        "austria belgium france germany greece ireland italy netherlands poland portugal spain sweden".split(), "eu"
    ),
    "england": "uk", "scotland": "uk", "wales": "uk", "britain": "uk",
}


@dataclass(frozen=True)
class SupportPolicy:
    """What a system prompt tells the assistant to do, as far as the scripted rules care."""

    company: str = "our shop"
    refund_window_days: int | None = None
    damaged_rule: bool = False
    damaged_photo: bool = False
    digital_nonrefundable_once_downloaded: bool = False
    apologise_when_upset: bool = False
    warm_tone: bool = False
    refuse_offtopic: bool = False
    refuse_unsafe: bool = False
    json_format: bool = False
    facts: tuple[str, ...] = field(default_factory=tuple)

    @property
    def is_support_prompt(self) -> bool:
        return any(
            (
                self.refund_window_days is not None,
                self.damaged_rule,
                self.digital_nonrefundable_once_downloaded,
                self.refuse_offtopic,
                self.json_format,
                bool(self.facts) and self.company != "our shop",
            )
        )


def sentences(text: str) -> list[str]:
    """Split markdown prose into sentences, ignoring line wrapping and list markers."""
    blocks: list[list[str]] = []
    current: list[str] = []
    for line in text.splitlines():
        if not line.strip():
            if current:
                blocks.append(current)
            current = []
            continue
        if _BLOCK_START.match(line) and current:
            blocks.append(current)
            current = []
        current.append(line)
    if current:
        blocks.append(current)

    out: list[str] = []
    for block in blocks:
        joined = " ".join(" ".join(block).split())
        if joined.startswith("#"):
            continue  # headings label sections; they are not instructions
        joined = _BLOCK_START.sub("", joined, count=1).strip()
        out.extend(s.strip() for s in _SENTENCE_END.split(joined) if s.strip())
    return out


@lru_cache(maxsize=256)  # a suite sends the same system prompt hundreds of times
def read_policy(system_text: str) -> SupportPolicy:
    found = sentences(system_text)
    lowered = [s.lower() for s in found]
    flat = " ".join(lowered)

    window = None
    for s in lowered:
        m = re.search(r"\brefunds?\b[^.]*?\bwithin (\d+) days of (?:delivery|receipt)", s)
        if m:
            window = int(m.group(1))
            break

    damaged = [s for s in lowered if re.search(r"\b(damaged|defective)\b", s) and re.search(r"\b(replacement|refund)\b", s)]
    company = re.search(r"\bfor ([A-Z][\w&'-]*(?: [A-Z][\w&'-]*)*), an? (?:online|e-?commerce)", " ".join(found))

    return SupportPolicy(
        company=company.group(1) if company else "our shop",
        refund_window_days=window,
        damaged_rule=bool(damaged),
        damaged_photo=any("photo" in s for s in damaged),
        digital_nonrefundable_once_downloaded=bool(
            re.search(r"non-?refundable once (?:they (?:are|have been) |it (?:is|has been) )?downloaded", flat)
        ),
        apologise_when_upset=any(
            re.search(r"\b(upset|frustrated|angry)\b", s) and re.search(r"\bapologi[sz]e", s) for s in lowered
        ),
        warm_tone=bool(re.search(r"\b(warm|friendly|cheerful|upbeat)\b", flat)),
        refuse_offtopic=any(re.search(r"\brefuse\b", s) and re.search(r"off-topic|unrelated", s) for s in lowered),
        refuse_unsafe=any(re.search(r"\brefuse\b", s) and re.search(r"unsafe|harmful|dangerous", s) for s in lowered),
        json_format=bool(re.search(r"\bjson\b", flat) and "refund_eligible" in flat),
        facts=tuple(s for s in found if _is_fact(s)),
    )


def _is_fact(sentence: str) -> bool:
    first = sentence.split(" ", 1)[0].lower().strip(",:;")
    return first not in _IMPERATIVE and len(sentence) > 12


def stems(text: str) -> set[str]:
    """Crude 4-letter stems: 'shipping', 'shipped' and 'ship' meet; good enough for a test double."""
    words = [w.strip("'./-") for w in _WORD.findall(text.lower())]
    words += [_REGIONS[w] for w in words if w in _REGIONS]
    return {w[:4] for w in words if w and w not in _STOPWORDS}


def best_fact(question: str, facts: tuple[str, ...], must_match: re.Pattern[str] | None = None) -> str | None:
    """The fact sharing the rarest words with the question (IDF-weighted overlap); ties go to the earlier one."""
    candidates = [f for f in facts if must_match is None or must_match.search(f.lower())]
    if not candidates:
        return None
    fact_stems = [stems(f) for f in facts]
    q = stems(question)
    best, best_score = None, 0.0
    for fact in candidates:
        s = fact_stems[facts.index(fact)]
        score = sum(1.0 / (1 + math.log(1 + sum(stem in fs for fs in fact_stems))) for stem in q & s)
        if score > best_score + 1e-9:
            best, best_score = fact, score
    return best
