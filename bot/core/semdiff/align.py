"""Align two lists of texts (instructions, sections, examples) so that reordering and light
rewording keep pairs together; find which matched pairs moved."""

from __future__ import annotations

from bisect import bisect_left
from collections import defaultdict
from collections.abc import Callable, Sequence

from rapidfuzz import fuzz, process, utils

# Below this token-sort similarity two sentences are different instructions, not a rewording.
THRESHOLD = 60.0


def align(
    before: Sequence[str],
    after: Sequence[str],
    threshold: float = THRESHOLD,
    group_a: Sequence[object] | None = None,
    group_b: Sequence[object] | None = None,
    allowed: Callable[[int, int], bool] | None = None,
) -> list[tuple[int, int, float]]:
    """Pairs (i, j, score): exact texts first (same group preferred), then best fuzzy matches.

    Groups (e.g. the aligned section of each sentence) break ties so that an unchanged
    sentence pairs with its twin in the same section before one elsewhere.
    """
    pairs: list[tuple[int, int, float]] = []
    used_a: set[int] = set()
    used_b: set[int] = set()
    index: dict[str, list[int]] = defaultdict(list)
    for j, text in enumerate(after):
        index[text].append(j)
    for same_group_only in (True, False):
        for i, text in enumerate(before):
            if i in used_a:
                continue
            for j in index.get(text, ()):
                if j in used_b or (allowed and not allowed(i, j)):
                    continue
                if same_group_only and group_a is not None and group_b is not None and group_a[i] != group_b[j]:
                    continue
                pairs.append((i, j, 100.0))
                used_a.add(i)
                used_b.add(j)
                break
    rest_a = [i for i in range(len(before)) if i not in used_a]
    rest_b = [j for j in range(len(after)) if j not in used_b]
    if rest_a and rest_b:
        choices = {j: after[j] for j in rest_b}
        candidates: list[tuple[float, int, int]] = []
        for i in rest_a:
            for _, score, j in process.extract(
                before[i], choices, scorer=fuzz.token_sort_ratio, processor=utils.default_process,
                score_cutoff=threshold, limit=5,
            ):
                if allowed and not allowed(i, j):
                    continue
                bonus = 5.0 if group_a is not None and group_b is not None and group_a[i] == group_b[j] else 0.0
                # Prefer partners at a similar position when scores tie (repeated boilerplate).
                candidates.append((score + bonus - abs(i - j) * 1e-6, i, j))
        for score, i, j in sorted(candidates, reverse=True):
            if i in used_a or j in used_b:
                continue
            pairs.append((i, j, min(100.0, score)))
            used_a.add(i)
            used_b.add(j)
    # Short sentences differ a lot by characters when one word changes ("Respond in English"
    # -> "Respond in Spanish"): pair them by shared words too.
    rest_a = [i for i in range(len(before)) if i not in used_a]
    rest_b = [j for j in range(len(after)) if j not in used_b]
    if rest_a and rest_b and len(rest_a) * len(rest_b) <= 10_000:
        words_b = {j: _words(after[j]) for j in rest_b}
        scored = []
        for i in rest_a:
            wa = _words(before[i])
            for j in rest_b:
                if allowed and not allowed(i, j):
                    continue
                wb = words_b[j]
                if wa and wb:
                    share = len(wa & wb) / max(len(wa), len(wb))
                    if share >= 0.6:
                        scored.append((share, -abs(i - j), i, j))
        for share, _, i, j in sorted(scored, reverse=True):
            if i not in used_a and j not in used_b:
                pairs.append((i, j, share * 100))
                used_a.add(i)
                used_b.add(j)
    # A sentence that gained or lost a clause still holds most of the other's words in order
    # ("Do not repeat jokes, quotes, facts." / "Do not repeat jokes."): the same instruction.
    rest_a = [i for i in range(len(before)) if i not in used_a]
    rest_b = [j for j in range(len(after)) if j not in used_b]
    if rest_a and rest_b and len(rest_a) * len(rest_b) <= 10_000:
        scored = []
        for i in rest_a:
            la = _word_list(before[i])
            for j in rest_b:
                if allowed and not allowed(i, j):
                    continue
                lb = _word_list(after[j])
                short, long_ = (la, lb) if len(la) <= len(lb) else (lb, la)
                if len(short) < 3:
                    continue
                if _contained(short, long_) or (_persona(la) and _persona(lb)):
                    scored.append((len(short) / len(long_), -abs(i - j), i, j))
        for share, _, i, j in sorted(scored, reverse=True):
            if i not in used_a and j not in used_b:
                pairs.append((i, j, share * 100))
                used_a.add(i)
                used_b.add(j)
    return sorted(pairs)


def _word_list(text: str) -> list[str]:
    return utils.default_process(text.replace("’", "'").replace("you're", "you are").replace("You're", "You are")).split()


def _contained(short: list[str], long_: list[str]) -> bool:
    """All but at most one of the shorter sentence's words appear in the longer one, in order,
    and its opening words are the longer one's (the rule is the same, a clause came or went)."""
    k = 0
    matched = 0
    for w in long_:
        if k < len(short) and w == short[k]:
            k += 1
            matched += 1
    return matched >= len(short) - (1 if len(short) >= 5 else 0) and short[:2] == long_[:2]


def _persona(words: list[str]) -> bool:
    """'You are …' / 'Act as …': the sentence that says who the model is; a new persona rewords the old."""
    return words[:2] == ["you", "are"] or words[:2] == ["act", "as"]


def _words(text: str) -> frozenset[str]:
    return frozenset(utils.default_process(text).split())


def similarity(a: str, b: str) -> float:
    return fuzz.token_sort_ratio(a, b, processor=utils.default_process)


def moved(pairs: Sequence[tuple[int, int]]) -> set[tuple[int, int]]:
    """Pairs outside a longest increasing run of after-positions: the ones that moved."""
    ordered = sorted(pairs)
    if len(ordered) < 2:
        return set()
    tails: list[int] = []
    tails_idx: list[int] = []
    prev = [-1] * len(ordered)
    for k, (_, j) in enumerate(ordered):
        pos = bisect_left(tails, j)
        if pos == len(tails):
            tails.append(j)
            tails_idx.append(k)
        else:
            tails[pos] = j
            tails_idx[pos] = k
        prev[k] = tails_idx[pos - 1] if pos > 0 else -1
    keep: set[int] = set()
    k = tails_idx[-1] if tails_idx else -1
    while k >= 0:
        keep.add(k)
        k = prev[k]
    return {ordered[k] for k in range(len(ordered)) if k not in keep}
