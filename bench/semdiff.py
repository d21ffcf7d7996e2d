"""Semantic diff figures: precision/recall over the synthetic labelled corpus, the four figures
of issue #19 over real edits labelled by hand, and the time to diff a 50 KB prompt pair.
Run: .venv/bin/python bench/semdiff.py

Targets: synthetic (issue #5) recall 1.0 on high-severity types, precision >= 0.95; real edits
(issue #19, read from ../shared/corpora/semdiff-real beside the repository) label recall >= 0.90,
high-severity edits with a high change >= 95%, formatting-only recognised >= 80%, change types
no label names <= 0.3 per pair; < 50 ms per 50 KB pair.
"""

from __future__ import annotations

import random
import statistics
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.core.files import MemoryTree  # noqa: E402
from bot.core.semdiff import diff_texts  # noqa: E402
from bot.core.semdiff.evaluate import load_corpus, load_real_corpus, real_totals, score, score_real, totals  # noqa: E402

REAL = ROOT.parent / "shared" / "corpora" / "semdiff-real"

_TOPICS = ["refunds", "shipping", "billing", "accounts", "warranty", "returns", "privacy", "tone", "escalation"]
_VERBS = ["must", "should", "always", "never", "may"]
_ACTS = ["check the order number", "confirm the address", "offer a coupon", "mention the loyalty programme",
         "ask for a photo of the damage", "quote the policy section", "escalate to a supervisor"]


def big_prompt(size: int = 50_000, seed: int = 7) -> str:
    """A realistic long system prompt: many sections of list items and paragraphs."""
    rng = random.Random(seed)
    parts, n = ["# Acme support assistant\n\nYou are the support assistant for Acme.\n"], 0
    while sum(map(len, parts)) < size:
        n += 1
        parts.append(f"\n## {rng.choice(_TOPICS).title()} rules {n}\n")
        for k in range(rng.randint(4, 9)):
            days = rng.choice([7, 14, 30, 60, 90])
            parts.append(f"- You {rng.choice(_VERBS)} {rng.choice(_ACTS)} for case {n}.{k} within {days} days.\n")
        parts.append(
            f"\nWhen a customer in group {n} writes in, {rng.choice(_VERBS)} {rng.choice(_ACTS)} before replying. "
            f"Keep the reply under {rng.randint(50, 200)} words and do not promise dates.\n"
        )
    return "".join(parts)


def edited(text: str, seed: int = 11) -> str:
    """The same prompt with twenty-odd scattered edits of every kind and two sections swapped."""
    rng = random.Random(seed)
    lines = text.split("\n")
    items = [i for i, line in enumerate(lines) if line.startswith("- ")]
    paras = [i for i, line in enumerate(lines) if line.startswith("When a customer")]
    for n, i in enumerate(rng.sample(items, 20)):
        kind = n % 4
        if kind == 0:
            lines[i] = lines[i].replace("- You ", "- You usually ", 1)  # weakened (or strengthened)
        elif kind == 1:
            lines[i] = ""  # instruction removed
        elif kind == 2:
            lines[i] = lines[i].replace(" days", " business days", 1)  # unit changed
        else:
            lines[i] = lines[i].replace(" for case", " politely for case", 1)  # reworded
    for i in rng.sample(paras, 4):
        lines[i] = lines[i].replace("do not promise", "promise")  # negation removed
    heads = [i for i, line in enumerate(lines) if line.startswith("## ")]
    a, b, c = heads[3], heads[4], heads[5]
    lines[a:c] = lines[b:c] + lines[a:b]  # section moved
    return "\n".join(lines)


def corpus_figures() -> None:
    folder = ROOT / "tests" / "fixtures" / "semdiff"
    pairs = load_corpus(MemoryTree({p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*") if p.is_file()}))
    scores = [score(p, p.diff()) for p in pairs]
    t = totals(scores)
    print(f"corpus: {len(pairs)} pairs, {t.expected} labelled changes, {t.reported} reported")
    print(f"precision (all types):      {t.precision:.3f}   target >= 0.95")
    print(f"recall (all types):         {t.recall:.3f}")
    print(f"recall (high-severity):     {t.high_recall:.3f}   target 1.0  ({t.high_found}/{t.high_expected})")
    missed = Counter(m["type"] for s in scores for m in s.missed)
    extra = Counter(c.type.value for s in scores for c in s.extra)
    if missed or extra:
        print(f"missed by type: {dict(missed)}; unexpected by type: {dict(extra)}")
    failing = [s.pair for s in scores if not s.ok]
    print(f"pairs not exactly right: {len(failing)} {failing if failing else ''}".rstrip())


def real_figures(folder: Path = REAL) -> None:
    if not folder.is_dir():
        print(f"real edits: {folder.name} not found beside the repository (expected at ../shared/corpora/{folder.name}); skipped")
        return
    tree = MemoryTree({p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*") if p.is_file()})
    pairs = load_real_corpus(tree)
    scores = [score_real(p, p.diff()) for p in pairs]
    t = real_totals(scores)
    print(f"real edits: {t.pairs} pairs, {t.labels} hand labels")
    print(f"label recall:                      {t.label_recall:.2f} ({t.found}/{t.labels})   target >= 0.90")
    print(f"high-severity edits with a high:   {t.high_hit}/{t.high_pairs} ({t.high_share:.0%})   target >= 95%")
    print(f"formatting-only recognised:        {t.formatting_hit}/{t.formatting_pairs} ({t.formatting_share:.0%})   target >= 80%")
    print(f"unlabelled change types per pair:  {t.unlabelled_per_pair:.2f} ({t.unlabelled})   target <= 0.3")
    for s in scores:
        if s.missed or s.unlabelled or (s.high_severity and not s.has_high):
            print(f"  {s.pair}: missed {list(s.missed)}, unlabelled {list(s.unlabelled)}"
                  + ("" if s.has_high or not s.high_severity else ", no high change"))


def timing_figures(runs: int = 15) -> None:
    before = big_prompt()
    after = edited(before)
    diff_texts("prompts/big.md", before, after)  # warm caches (regex compilation, imports)
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        diff = diff_texts("prompts/big.md", before, after)
        times.append((time.perf_counter() - start) * 1000)
    kinds = Counter(c.type.value for c in diff.changes)
    print(f"50 KB pair: {len(before.encode()) / 1000:.1f} KB -> {len(after.encode()) / 1000:.1f} KB, "
          f"{len(diff.changes)} changes {dict(kinds)}")
    print(f"time to diff: median {statistics.median(times):.1f} ms, min {min(times):.1f} ms, "
          f"max {max(times):.1f} ms over {runs} runs   target < 50 ms")


if __name__ == "__main__":
    corpus_figures()
    real_figures()
    timing_figures()
