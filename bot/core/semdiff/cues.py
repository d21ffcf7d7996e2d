"""What a sentence commits the model to: modal strength, negations, numbers, output format.

The modal scale follows the issue: must/always/never > should/avoid > may/can/try.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass

# phrase -> strength (3 strong, 2 medium, 1 weak). Longer phrases are matched first.
MODALS: dict[str, int] = {
    "under no circumstances": 3, "at all times": 3, "must not": 3, "must": 3, "always": 3,
    "never": 3, "shall": 3, "do not": 3, "don't": 3, "cannot": 3, "can't": 3, "only": 3,
    "required": 3, "mandatory": 3, "strictly": 3, "absolutely": 3, "is forbidden": 3, "exactly": 3,
    "should not": 2, "shouldn't": 2, "should": 2, "avoid": 2, "usually": 2, "generally": 2,
    "typically": 2, "normally": 2, "rarely": 2, "seldom": 2, "prefer": 2, "preferably": 2,
    "recommended": 2, "ideally": 2, "ought to": 2, "it is best to": 2,
    "try not to": 1, "try to": 1, "try": 1, "may": 1, "can": 1, "could": 1, "might": 1,
    "if possible": 1, "optionally": 1, "feel free to": 1, "consider": 1, "sometimes": 1,
    "where appropriate": 1, "when appropriate": 1,
}
_MODAL_RE = re.compile(
    r"(?<![\w'])(" + "|".join(re.escape(p) for p in sorted(MODALS, key=len, reverse=True)) + r")(?![\w'])",
    re.I,
)
# Words that turn an instruction into its opposite. Negative modals (never, avoid, rarely)
# count too, so "never" -> "rarely" is a weakening, not a lost negation.
_NEGATION_RE = re.compile(
    r"(?<![\w'])(not|never|no(?=\s+\w)|none|nothing|nobody|neither|nor|without|avoid|avoids|"
    r"rarely|seldom|cannot|refrain|\w+n't)(?![\w'])",
    re.I,
)
_NUMBER_WORDS = {
    "zero": "0", "one": "1", "two": "2", "three": "3", "four": "4", "five": "5", "six": "6",
    "seven": "7", "eight": "8", "nine": "9", "ten": "10", "eleven": "11", "twelve": "12",
    "fifteen": "15", "twenty": "20", "thirty": "30", "forty": "40", "fifty": "50",
    "sixty": "60", "ninety": "90", "hundred": "100", "thousand": "1000", "once": "1x", "twice": "2x",
}
_NUMBER_RE = re.compile(
    r"(?<![\w.])([$€£]?\d+(?:[.,:/-]\d+)*(?:\s?%|st|nd|rd|th|k|m)?|"
    + "|".join(_NUMBER_WORDS)
    + r")(?![\w])(?:\s+([A-Za-z]+))?",
    re.I,
)
_UNIT_STOP = {"and", "or", "of", "to", "the", "a", "an", "in", "on", "at", "for", "if", "is", "are", "with", "per"}
_FORMAT_WORDS = re.compile(
    r"(?<!\w)(json|jsonl|yaml|xml|csv|tsv|markdown|html|plain text|table|bullet(?:ed)? (?:points|list)|bullets|"
    r"numbered list|code block|schema|keys?|fields?)(?!\w)",
    re.I,
)
_RESPOND_IN = re.compile(
    r"\b(?i:respond|reply|answer|write|output|return|format)(?:\s+\w+){0,3}?\s+(?i:in|as|using)\s+"
    r"(?i:an?\s+|the\s+)?([A-Z][\w-]+|(?i:json|yaml|xml|csv|markdown|html|plain text))",
)
_KEY_RE = re.compile(r"[\"'`]([A-Za-z_][\w-]*)[\"'`]\s*:?")
_JSON_KEY = re.compile(r"\"([A-Za-z_][\w-]*)\"\s*:")


@dataclass(frozen=True)
class Cues:
    modals: Counter
    negations: int
    numbers: Counter  # (value, unit) -> count
    formats: frozenset[str]


# "DRY (Don't Repeat Yourself)": an acronym's expansion names a thing, it instructs nothing.
_EXPANSION = re.compile(r"\b([A-Z]{2,6})\s*\(([^()]{3,60})\)")
_QUOTED_IN_CODE = re.compile(r'"(?:[^"\\]|\\.)*"')


def _without_expansions(text: str) -> str:
    def drop(m: re.Match) -> str:
        initials = "".join(w[0] for w in re.findall(r"[A-Za-z']+", m.group(2))).upper().replace("'", "")
        return m.group(1) if initials.startswith(m.group(1)[:2]) else m.group(0)

    return _EXPANSION.sub(drop, text) if "(" in text else text


def cues(text: str, kind: str = "instruction") -> Cues:
    plain = _without_expansions(text.replace("**", "").replace("`", "'")) if kind != "code" else text
    modals = Counter(m.group(1).lower().replace("’", "'") for m in _MODAL_RE.finditer(plain))
    negations = len(_NEGATION_RE.findall(plain))
    # Numbers inside a JSON sample's strings ("instruction 1") are sample text, not thresholds.
    counted = _QUOTED_IN_CODE.sub('""', plain) if kind == "code" else plain
    return Cues(modals, negations, numbers(counted), formats(text, kind))


def numbers(text: str) -> Counter:
    out: Counter = Counter()
    for m in _NUMBER_RE.finditer(text):
        value = m.group(1).lower().replace(" ", "")
        value = _NUMBER_WORDS.get(value, value)
        unit = (m.group(2) or "").lower()
        out[(value, "" if unit in _UNIT_STOP else unit)] += 1
    return out


def number_phrase(text: str, value: str) -> str:
    """The number with its unit as written, e.g. '30 days', for summaries."""
    for m in _NUMBER_RE.finditer(text):
        raw = m.group(1).lower().replace(" ", "")
        if _NUMBER_WORDS.get(raw, raw) == value:
            unit = m.group(2) or ""
            return f"{m.group(1)} {unit}".strip() if unit.lower() not in _UNIT_STOP else m.group(1)
    return value


def formats(text: str, kind: str = "instruction") -> frozenset[str]:
    """Output-format tokens: format names, 'respond in X', and quoted/JSON keys in format sentences."""
    if kind == "code":
        keys = set(_JSON_KEY.findall(text))
        stripped = text.lstrip()
        if keys or stripped.startswith(("{", "[")):
            return frozenset({f"key:{k}" for k in keys} | {"json"})
        return frozenset()
    found = {w.lower() for w in _FORMAT_WORDS.findall(text)}
    found |= {f"in:{m.group(1).lower()}" for m in _RESPOND_IN.finditer(text)}
    if found:
        found |= {f"key:{k}" for k in _KEY_RE.findall(text)}
        found -= {"key", "keys", "field", "fields"}  # the words alone say nothing about which keys
    return frozenset(found)


_OUTPUT_VERB = re.compile(
    r"\b(respond|response|reply|answer|output|print|return|returns|format|formatted|structure|schema|keys?|fields?|use|write)\b", re.I
)
# "Respond with only the sentiment word", "Print only the single character": limiting the answer
# to a shape (one word, a character, an integer, one per line) is an output format.
_SHAPE = re.compile(
    r"\b(only|just|single|exactly one|one per line|nothing else|no other (text|words|information)|"
    r"without (quotes|punctuation|explanation))\b.*?\b(word|words|character|characters|letter|string|integer|number|"
    r"value|label|line|lines|sentence|json|list)\b|\b(nothing else|no other (text|words|information))\b",
    re.I,
)


def is_format_instruction(text: str, kind: str = "instruction") -> bool:
    """An instruction that mainly tells the model what shape to answer in."""
    f = formats(text, kind)
    if kind == "code":
        return bool(f)
    if not _OUTPUT_VERB.search(text):
        return False
    return bool(f) or bool(_SHAPE.search(text))


# Hedges cap whatever else the sentence says: "You usually must" is not a "must".
HEDGES = {"usually", "generally", "typically", "normally", "rarely", "seldom", "ideally", "preferably",
          "if possible", "optionally", "sometimes", "where appropriate", "when appropriate", "try", "try to",
          "try not to", "could", "might"}


def strength(modals: Counter, text: str = "") -> int:
    """How binding a sentence is: 3 must/always/never, 2 should/avoid, 1 may/can/try, 0 none.

    A bare imperative ("Use one h1") binds like "must": given `text`, one without any modal counts 3.
    """
    if any(m in HEDGES for m in modals):
        return min(MODALS[m] for m in modals)
    if not modals and text and is_imperative(text):
        return 3
    return max((MODALS[m] for m in modals), default=0)


# Verbs prompts open their rules with. A rule in the imperative is a command, so adding one is
# a material change; a description ("The user is a developer") is not.
_IMPERATIVES = frozenset("""
act add address adhere aim analyze analyse answer apply ask assign assume avoid be begin break call check choose
cite classify compare compute confirm consider convert correct create decide define describe determine do document
draft emphasize end ensure escalate estimate evaluate explain extract find flag focus follow format generate give
highlight identify ignore include infer inform insist keep label limit link list look make mark mention name note
offer omit output pay pick place prefer present preserve print prioritize produce provide put quote rank rate read
recommend refer refuse reject rely remember remove repeat rephrase reply report request respond restate return
review rewrite say select send separate show skip sort speak specify start state stay stick structure suggest
summarize summarise take tell think translate treat try turn use validate verify wait warn write
""".split())


def is_imperative(text: str) -> bool:
    words = re.findall(r"[A-Za-z']+", text)
    if not words:
        return False
    first = words[0].lower()
    if first in ("please", "always", "never", "also", "then", "finally", "first", "now") and len(words) > 1:
        first = words[1].lower()
    return first in _IMPERATIVES


def is_rule(text: str, kind: str = "instruction") -> bool:
    """A sentence that commits the model to something: a modal of 'should' strength or more, or an imperative."""
    if kind != "instruction":
        return kind == "code"
    return strength(cues(text).modals, text) >= 2
