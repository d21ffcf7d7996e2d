"""Reference-overlap scores (bleu, gleu, rouge-n, meteor) and word counts, with promptfoo 0.121's semantics.

promptfoo tokenises with JavaScript's `\\s` and `toLowerCase`, so whitespace here is JavaScript's set, not
Python's: the same text gives the same tokens, counts and float scores as the suites' original runner.
"""
from __future__ import annotations

import math
import re
import unicodedata
from collections import Counter
from collections.abc import Sequence
from typing import TypeGuard

from bot.evals.meteor import meteor

# JavaScript's \s (and String.prototype.trim): Python's str.split/strip use a different set
_JS_SPACE = "\t\n\v\f\r \u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff"
_SPACES = re.compile(f"[{_JS_SPACE}]+")
_SPACE_CHARS = "\t\n\v\f\r \u00a0\u1680" + "".join(map(chr, range(0x2000, 0x200B))) + "\u2028\u2029\u202f\u205f\u3000\ufeff"
_SPACES_NEL = re.compile(f"[{_JS_SPACE}\u0085]+")
_JS_SPACE_RE = re.compile(f"[{_JS_SPACE}]")

BLEU_THRESHOLD = 0.5
GLEU_THRESHOLD = 0.5
ROUGE_THRESHOLD = 0.75
METEOR_THRESHOLD = 0.5


def _trim(text: str) -> str:
    return text.strip(_SPACE_CHARS)


def _words(text: str) -> list[str]:
    """Lower-cased whitespace-separated words; an empty text is one empty word, as in JavaScript."""
    return _SPACES.split(_trim(text.lower()))


def _ngrams(words: Sequence[str], n: int) -> list[str]:
    if n <= 0 or n > len(words):
        return []
    return [" ".join(words[i:i + n]) for i in range(len(words) - n + 1)]


def _clipped(candidate: Counter[str], reference: Counter[str]) -> int:
    return sum(min(count, reference.get(gram, 0)) for gram, count in candidate.items())


def word_count(text: str) -> int:
    return len([w for w in _SPACES.split(_trim(text)) if w])


def bleu(candidate: str, references: Sequence[str]) -> float:
    """Sentence BLEU, orders 1-4 weighted equally over the orders the candidate is long enough for;
    a zero precision counts as 1e-7; brevity penalty against the reference length closest to the candidate's
    (the shorter on a tie); clipped counts taken from the single best reference per order."""
    if not _trim(candidate):
        return 0.0
    words = _words(candidate)
    refs = [_words(r) for r in references]
    closest = len(refs[0])
    for ref in refs[1:]:
        here, best = abs(len(ref) - len(words)), abs(closest - len(words))
        if here < best or (here == best and len(ref) < closest):
            closest = len(ref)
    orders: list[float] = []
    for n in range(1, 5):
        grams = _ngrams(words, n)
        if not grams:
            continue
        counts = Counter(grams)
        best_clipped = max(_clipped(counts, Counter(_ngrams(ref, n))) for ref in refs)
        orders.append(best_clipped / len(grams))
    penalty = 1.0 if len(words) > closest else math.exp(1 - closest / len(words))
    weight = 0.25 * len(orders)
    total = 0.0
    for precision in orders:
        total += 0.25 / weight * math.log(1e-7 if precision == 0 else precision)
    return penalty * math.exp(total)


def _gleu_words(text: str) -> list[str]:
    return [w.rstrip(".") for w in _words(text)]


def gleu(candidate: str, references: Sequence[str]) -> float | None:
    """Google-BLEU: min(precision, recall) of the 1-4-gram matches pooled over orders, best reference;
    words lose trailing dots; an identical word list scores 1. None for an empty candidate, which promptfoo
    refuses ("Invalid inputs") rather than scores."""
    if not candidate:
        return None
    words = _gleu_words(candidate)
    scores = []
    for reference in references:
        ref = _gleu_words(reference)
        if ref == words:
            scores.append(1.0)
            continue
        matched = cand_total = ref_total = 0
        for n in range(1, 5):
            grams, ref_grams = _ngrams(words, n), _ngrams(ref, n)
            matched += _clipped(Counter(grams), Counter(ref_grams))
            cand_total += len(grams)
            ref_total += len(ref_grams)
        scores.append(0.0 if cand_total == 0 or ref_total == 0 else min(matched / cand_total, matched / ref_total))
    return max(scores)


# --- rouge-n: js-rouge 3.2's Penn Treebank tokenizer, unigram F1 -----------------------------------------

def _is_punct(ch: str) -> bool:
    return unicodedata.category(ch).startswith("P")


def _quote_token(text: str, at: int, quote: str, opened: bool, following: str | None) -> bool:
    """Whether the `"`, `` or '' at `at` opens a quotation (js-rouge's rule, less its modifier-letter case)."""
    if quote == "``":
        return True
    before = text[at - 1] if at > 0 else ""
    if opened or before in (".", "!", "?"):
        return False
    if not (at + len(quote) < len(text) or at == 0 or _JS_SPACE_RE.match(before) or before == "<"
            or (before and unicodedata.category(before) == "Ps")):
        return False
    if not (at == 0 or _JS_SPACE_RE.match(before) or before == "<" or _is_punct(before) or text[max(0, at - 2):at] == "``"):
        return False
    if quote == '"':
        return True
    after = text[at + 2] if at + 2 < len(text) else ""
    if not after or not (unicodedata.category(after)[0] in "LN" or unicodedata.category(after) in ("Sc", "Ps")):
        return False
    return following == "''"


_WORD_CHAR = r"[\w\u200c\u200d]"
_SPLITS = [re.compile(f"(?<!{_WORD_CHAR}){p}(?!{_WORD_CHAR})", re.IGNORECASE) for p in (
    "(can)(not)", "(d)('ye)", "(gim)(me)", "(gon)(na)", "(got)(ta)", "(lem)(me)", "(more)('n)", "(wan)(na)(?= )",
    "('t)(is)", "('t)(was)")]


def treebank_tokens(text: str) -> list[str]:
    """js-rouge's treeBankTokenize: Penn Treebank splitting of punctuation, quotes and clitics."""
    t = _trim(_SPACES_NEL.sub(" ", text))
    if not t:
        return []
    out: list[str] = []
    opened = False
    last = 0
    quotes = list(re.finditer(r"``|''|\"", t))
    for k, m in enumerate(quotes):
        opened = _quote_token(t, m.start(), m.group(0), opened, quotes[k + 1].group(0) if k + 1 < len(quotes) else None)
        out.append(t[last:m.start()])
        out.append(" `` " if opened else " '' ")
        last = m.end()
    out.append(t[last:])
    r = "".join(out)
    r = r.replace("...", " ... ")
    r = re.sub(r"[:,](?!\d)", r" \g<0> ", r)
    r = re.sub(r"[;@#$%&]", r" \g<0> ", r)
    r = re.sub(r"([^.])(?<!\b[A-Za-z]\.[A-Za-z])(\.)([\])}>'\s]*)\Z", r"\1 \2\3 ", r, flags=re.ASCII)
    r = re.sub(r"[?!]", r" \g<0> ", r)
    r = re.sub(r"[\][(){}<>]", r" \g<0> ", r)
    r = r.replace("--", " -- ")
    r = f" {r} "
    r = re.sub(r"([^'])' ", r"\1 ' ", r)
    r = re.sub(r"'([sSmMdD]) ", r" '\1 ", r)
    r = re.sub(r"('ll|'LL|'re|'RE|'ve|'VE|n't|N'T) ", r" \1 ", r)
    for split in _SPLITS:
        r = split.sub(r" \1 \2 ", r)
    r = re.sub(r" {2,}", " ", r)
    r = re.sub(r"^ | $", "", r)
    return r.split(" ")


def _f1(precision: float, recall: float) -> float:
    """js-rouge's fMeasure with beta 1, in its order of float operations."""
    if precision == recall:
        return precision
    if precision == 0 or recall == 0:
        return 0.0
    if precision > recall:
        return min(precision, recall * (2 / (1 + recall / precision)))
    return min(recall, precision * (2 / (1 + precision / recall)))


def rouge_n(candidate: str, reference: str) -> float:
    """ROUGE-1 F1 of the lower-cased texts' treebank tokens (promptfoo's rouge-n is always n = 1)."""
    cand, ref = treebank_tokens(candidate.lower()), treebank_tokens(reference.lower())
    if not cand or not ref:
        return 0.0
    overlap = _clipped(Counter(cand), Counter(ref))
    if overlap == 0:
        return 0.0
    return _f1(overlap / len(cand), overlap / len(ref))


# --- assertions: value checks at load time, verdicts at run time ---------------------------------------

REFERENCE_TYPES = ("bleu", "gleu", "rouge-n", "meteor")
TYPES = frozenset((*REFERENCE_TYPES, "word-count"))
_DEFAULT_THRESHOLD = {"bleu": BLEU_THRESHOLD, "gleu": GLEU_THRESHOLD, "rouge-n": ROUGE_THRESHOLD, "meteor": METEOR_THRESHOLD}
_JS_NUMBER = re.compile(r"[+-]?(?:Infinity|(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)|0[xX][0-9a-fA-F]+|0[oO][0-7]+|0[bB][01]+")


# promptfoo's meteor reads these assertion keys; prompt-review scores with their defaults only
METEOR_KEYS = ("alpha", "beta", "gamma")
METEOR_KEYS_REFUSAL = ("unsupported: meteor's {key} is not read by prompt-review yet (it scores with promptfoo's defaults: "
                       "alpha 0.9, beta 3, gamma 0.5); remove the key")


class NotScored(ValueError):
    """promptfoo stops on this input instead of scoring it: gleu or meteor of an empty output, or a templated value
    that rendered into one the type cannot read."""


def _js_number(text: str) -> float | None:
    """JavaScript's Number(text), None where that is NaN."""
    text = _trim(text)
    if not text:
        return 0.0
    if not _JS_NUMBER.fullmatch(text):
        return None
    if text[:2].lower() in ("0x", "0o", "0b"):
        return float(int(text, 0))
    return float(text.replace("Infinity", "inf"))


def _is_number(value: object) -> TypeGuard[int | float]:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def value_problem(base: str, value: object) -> str | None:
    """Why `value` cannot be scored by `base` (one of TYPES), or None. A template is judged once rendered."""
    if isinstance(value, str) and ("{{" in value or "{%" in value):
        return None
    if base == "rouge-n":
        return None if isinstance(value, str) else "value must be the reference text"
    if base in REFERENCE_TYPES:
        if isinstance(value, str):
            return None
        if isinstance(value, list) and value and all(isinstance(v, str) for v in value):
            return None
        return "value must be a reference text or a non-empty list of reference texts"
    if isinstance(value, dict):
        unknown = sorted(str(k) for k in value if k not in ("min", "max"))
        if unknown:
            return f"unknown key {unknown[0]!r} (word-count reads min and max)"
        if "min" not in value and "max" not in value:
            return "value needs min and/or max"
        for key in ("min", "max"):
            if key in value and not _is_number(value[key]):
                return f"{key} must be a number of words"
        if "min" in value and "max" in value and value["min"] > value["max"]:
            return f"min ({value['min']}) must be at most max ({value['max']})"
        return None
    if _is_number(value) or (isinstance(value, str) and _js_number(value) is not None):
        return None
    return "value must be a number of words or a mapping with min and/or max"


def verdict(base: str, value: object, threshold: float | None, output: str) -> tuple[bool, float]:
    """(pass, score) of a non-negated bleu/gleu/rouge-n/meteor/word-count assertion; NotScored where promptfoo stops."""
    problem = value_problem(base, value)
    if problem:
        raise NotScored(f"the rendered value: {problem}")
    if base == "word-count":
        words = word_count(output)
        if isinstance(value, dict):
            ok = ("min" not in value or words >= value["min"]) and ("max" not in value or words <= value["max"])
        else:
            expected = float(value) if _is_number(value) else _js_number(str(value))
            if expected is None:
                raise NotScored(f"the rendered value {str(value)[:80]!r} is not a number of words")
            ok = words == expected
        return ok, 1.0 if ok else 0.0
    limit = _DEFAULT_THRESHOLD[base] if threshold is None else threshold
    if base == "rouge-n":
        score = rouge_n(output, str(value))
    else:
        references = [str(v) for v in value] if isinstance(value, list) else [str(value)]
        found = bleu(output, references) if base == "bleu" else gleu(output, references) if base == "gleu" else meteor(output, references)
        if found is None:
            raise NotScored("the output is empty, which promptfoo does not score")
        score = found
    return score >= limit, score
