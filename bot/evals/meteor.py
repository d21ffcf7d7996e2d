"""METEOR as promptfoo 0.121 computes it: exact, then Porter-stem word matches (natural 8.1's stemmer, quirks
included), Fmean and a fragmentation penalty. promptfoo's third stage, WordNet synonyms, is not run: there is
no WordNet offline here (docs/promptfoo-compat.md, Assertions)."""
from __future__ import annotations

import math
import re
from collections.abc import Sequence

# JavaScript's \s: promptfoo splits on it
_SPACES = re.compile("[\t\n\v\f\r \u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff]+")


def _groups(token: str) -> str:
    return re.sub(r"[^V]+", "C", re.sub(r"[aeiou]+", "V", re.sub(r"[^aeiouy]+y", "CV", token)))


def _chars(token: str) -> str:
    return re.sub(r"[^V]", "C", re.sub(r"[aeiou]", "V", re.sub(r"[^aeiouy]y", "CV", token)))


def _measure(token: str | None) -> float:
    if not token:
        return -1
    return len(re.sub(r"V\Z", "", re.sub(r"\AC", "", _groups(token)))) / 2


def _suffix(token: str, suffix: str, replacement: str) -> str | None:
    return token[: len(token) - len(suffix)] + replacement if token.endswith(suffix) else None


def _all_suffixes(token: str, rules: Sequence[tuple[str, str]], above: float | None) -> str:
    """natural's rule loop: every rule whose stem measures above `above` rewrites the (already rewritten) word."""
    out = token
    for suffix, replacement in rules:
        if above is None or _measure(_suffix(token, suffix, "")) > above:
            out = _suffix(out, suffix, replacement) or out
    return out


def _step1b_tail(token: str) -> str | None:
    if "V" not in _groups(token):
        return None
    out = _all_suffixes(token, (("at", "ate"), ("bl", "ble"), ("iz", "ize")), None)
    if out != token:
        return out
    if re.search(r"([^aeiou])\1\Z", token) and re.search(r"[^lsz]\Z", token):
        return token[:-1]
    if _measure(token) == 1 and _chars(token)[-3:] == "CVC" and re.search(r"[^wxy]\Z", token):
        return token + "e"
    return token


_STEP2 = (("ational", "ate"), ("tional", "tion"), ("enci", "ence"), ("anci", "ance"), ("izer", "ize"), ("abli", "able"),
          ("bli", "ble"), ("alli", "al"), ("entli", "ent"), ("eli", "e"), ("ousli", "ous"), ("ization", "ize"), ("ation", "ate"),
          ("ator", "ate"), ("alism", "al"), ("iveness", "ive"), ("fulness", "ful"), ("ousness", "ous"), ("aliti", "al"),
          ("iviti", "ive"), ("biliti", "ble"), ("logi", "log"))
_STEP3 = (("icate", "ic"), ("ative", ""), ("alize", "al"), ("iciti", "ic"), ("ical", "ic"), ("ful", ""), ("ness", ""))
_STEP4 = re.compile(r"(.+?)(al|ance|ence|er|ic|able|ible|ant|ement|ment|ent|ou|ism|ate|iti|ous|ive|ize)", re.DOTALL)
_STEP4_ION = re.compile(r"(.+?)(s|t)ion", re.DOTALL)


def porter_stem(word: str) -> str:
    """natural 8's PorterStemmer (the one promptfoo's meteor uses), quirks included: a step-2/3 rule list
    applies every matching rule in turn, and words under three characters stay as they are."""
    if len(word) < 3:
        return word
    t = word.lower()
    if re.search(r"(ss|i)es\Z", t):
        t = t[:-2]
    elif t[-1] == "s" and t[-2] != "s":
        t = t[:-1]
    if t[-3:] == "eed":
        if _measure(t[:-3]) > 0:
            t = t[:-1]
    else:
        m = re.search(r"(ed|ing)\Z", t)
        stem = t[:m.start()] if m else ""
        if stem:
            t = _step1b_tail(stem) or t
    if t[-1:] == "y" and "V" in _groups(t)[:-1]:
        t = t[:-1] + "i"
    t = _all_suffixes(t, _STEP2, 0)
    t = _all_suffixes(t, _STEP3, 0)
    for pattern, keep in ((_STEP4, 1), (_STEP4_ION, 2)):
        found = pattern.fullmatch(t)
        if found and _measure("".join(found.group(*range(1, keep + 1)) if keep > 1 else found.group(1))) > 1:
            t = "".join(found.group(1, 2)) if keep > 1 else found.group(1)
            break
    measured = _measure(t[:-1] if t.endswith("e") else t)
    chars = _chars(t)
    if measured > 1 or (measured == 1 and not (chars[max(len(chars) - 4, 0):][:3] == "CVC" and re.search(r"[^wxy].\Z", t, re.DOTALL))):
        t = t[:-1] if t.endswith("e") else t
    if _measure(t) > 1 and t.endswith("ll"):
        t = t[:-1]
    return t


Pair = tuple[int, int]


def _match(candidate: list[tuple[int, str]], reference: list[tuple[int, str]]) -> tuple[list[Pair], list[tuple[int, str]], list[tuple[int, str]]]:
    """promptfoo's greedy pairing: from the last candidate word back, each takes the last unpaired equal
    reference word (kept per word as a stack of positions, so it is linear, not promptfoo's nested scan)."""
    positions: dict[str, list[int]] = {}
    for k, (_, word) in enumerate(reference):
        positions.setdefault(word, []).append(k)
    pairs: list[Pair] = []
    paired_cand: set[int] = set()
    paired_ref: set[int] = set()
    for k in range(len(candidate) - 1, -1, -1):
        stack = positions.get(candidate[k][1])
        if stack:
            r = stack.pop()
            pairs.append((candidate[k][0], reference[r][0]))
            paired_cand.add(k)
            paired_ref.add(r)
    return (pairs, [c for k, c in enumerate(candidate) if k not in paired_cand],
            [r for k, r in enumerate(reference) if k not in paired_ref])


def _meteor_words(text: str) -> list[str]:
    return [w.rstrip(".") for w in _SPACES.split(text)]  # no trim: an edge space is an empty word


def _meteor_one(reference: list[str], candidate: list[str], alpha: float, beta: float, gamma: float) -> float:
    cand = [(i, w.lower()) for i, w in enumerate(candidate)]
    ref = [(i, w.lower()) for i, w in enumerate(reference)]
    exact, cand_left, ref_left = _match(cand, ref)
    stemmed, _, _ = _match([(i, porter_stem(w)) for i, w in cand_left], [(i, porter_stem(w)) for i, w in ref_left])
    pairs = sorted(exact + stemmed, key=lambda p: p[0])
    if not pairs:
        return 0.0
    precision, recall = len(pairs) / len(cand), len(pairs) / len(ref)
    denominator = alpha * precision + (1 - alpha) * recall
    if denominator == 0:
        return 0.0
    fmean = precision * recall / denominator
    chunks = 1 + sum(1 for a, b in zip(pairs, pairs[1:]) if b[0] != a[0] + 1 or b[1] != a[1] + 1)
    return (1 - gamma * math.pow(chunks / len(pairs), beta)) * fmean


def meteor(candidate: str, references: Sequence[str], alpha: float = 0.9, beta: float = 3, gamma: float = 0.5) -> float | None:
    """METEOR as promptfoo 0.121 scores it, less its WordNet synonym stage; None for an empty candidate."""
    if not candidate:
        return None
    words = _meteor_words(candidate)
    return max(_meteor_one(_meteor_words(r), words, alpha, beta, gamma) for r in references)
