"""Score diffs against a labelled corpus (tests/fixtures/semdiff/<pair>/expected.yaml):
which expected changes were found, which reported changes nobody expected.

Pure like the rest of core: the corpus comes in as a FileTree (callers read the folder from disk).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from posixpath import splitext

from bot.core.files import FileTree, MemoryTree
from bot.core.semdiff import diff_prompt, diff_texts
from bot.core.semdiff.model import HIGH_SEVERITY_TYPES, Change, ChangeType, PromptDiff
from bot.core.yamlsrc import load_yaml


@dataclass(frozen=True)
class Pair:
    name: str
    path: str
    expected: dict
    before: str | None = None
    after: str | None = None
    base: MemoryTree | None = None
    head: MemoryTree | None = None

    def diff(self) -> PromptDiff:
        if self.base is not None and self.head is not None:
            return diff_prompt(self.path, self.base, self.head)
        return diff_texts(self.path, self.before, self.after)


@dataclass
class Score:
    pair: str
    found: list[dict] = field(default_factory=list)
    missed: list[dict] = field(default_factory=list)
    extra: list[Change] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # formatting_only / fallback / error lines

    @property
    def ok(self) -> bool:
        return not (self.missed or self.extra or self.problems)


def load_corpus(corpus: FileTree) -> list[Pair]:
    """Every `<pair>/expected.yaml` in the tree, with its `before.EXT`/`after.EXT` texts or its
    `base/` and `head/` repository trees (for includes and multi-file prompts)."""
    files = corpus.paths()
    pairs = []
    for name in sorted({path.split("/", 1)[0] for path in files if path.count("/") == 1 and path.endswith("/expected.yaml")}):
        expected = load_yaml(corpus.read(f"{name}/expected.yaml") or b"", f"{name}/expected.yaml").data
        path = expected["path"]
        if any(f.startswith(f"{name}/base/") for f in files):
            pairs.append(Pair(name, path, expected, base=_subtree(corpus, files, f"{name}/base/"),
                              head=_subtree(corpus, files, f"{name}/head/")))
            continue
        ext = splitext(path)[1]
        before, after = corpus.read(f"{name}/before{ext}"), corpus.read(f"{name}/after{ext}")
        pairs.append(Pair(name, path, expected, before.decode() if before is not None else None,
                          after.decode() if after is not None else None))
    return pairs


def _subtree(corpus: FileTree, files: list[str], prefix: str) -> MemoryTree:
    return MemoryTree({f[len(prefix):]: corpus.read(f) or b"" for f in files if f.startswith(prefix)})


def score(pair: Pair, diff: PromptDiff) -> Score:
    result = Score(pair.name)
    left = list(diff.changes)
    for want in pair.expected.get("changes", []):
        hit = next((c for c in left if matches(c, want)), None)
        if hit is None:
            result.missed.append(want)
        else:
            result.found.append(want)
            left.remove(hit)
    if not pair.expected.get("allow_extra"):
        result.extra = left
    if diff.formatting_only != pair.expected.get("formatting_only", False):
        result.problems.append(f"formatting_only is {diff.formatting_only}")
    if diff.fallback != pair.expected.get("fallback", False):
        result.problems.append(f"fallback is {diff.fallback}")
    want_lines = pair.expected.get("error_lines")
    if want_lines is not None and [e.line for e in diff.errors] != want_lines:
        result.problems.append(f"error lines are {[e.line for e in diff.errors]}")
    return result


def matches(change: Change, want: dict) -> bool:
    if change.type is not ChangeType(want["type"]):
        return False
    for side in ("before", "after"):
        if side in want and (getattr(change, side) is None or want[side] not in getattr(change, side)):
            return False
    checks = {
        "severity": lambda: change.severity.value == want["severity"],
        "base_lines": lambda: change.base_lines == tuple(want["base_lines"]),
        "head_lines": lambda: change.head_lines == tuple(want["head_lines"]),
        "file": lambda: change.file == want["file"],
        "summary_contains": lambda: want["summary_contains"] in change.summary,
        "context_contains": lambda: want["context_contains"] in (change.context or ""),
    }
    return all(check() for key, check in checks.items() if key in want)


@dataclass(frozen=True)
class Totals:
    expected: int
    found: int
    reported: int
    high_expected: int
    high_found: int

    @property
    def precision(self) -> float:
        return self.found / self.reported if self.reported else 1.0

    @property
    def recall(self) -> float:
        return self.found / self.expected if self.expected else 1.0

    @property
    def high_recall(self) -> float:
        return self.high_found / self.high_expected if self.high_expected else 1.0


def totals(scores: list[Score]) -> Totals:
    high = lambda items: [w for w in items if ChangeType(w["type"]) in HIGH_SEVERITY_TYPES]  # noqa: E731
    found = sum(len(s.found) for s in scores)
    return Totals(
        expected=found + sum(len(s.missed) for s in scores),
        found=found,
        reported=found + sum(len(s.extra) for s in scores),
        high_expected=sum(len(high(s.found)) + len(high(s.missed)) for s in scores),
        high_found=sum(len(high(s.found)) for s in scores),
    )


# --- Real edits labelled by type (corpora/semdiff-real: <pair>/base.EXT, head.EXT, meta.json) ---

# A label names what a reader saw; some labels are spelled by more than one change type here.
_LABEL_TYPES: dict[str, frozenset[ChangeType]] = {
    "negation_flipped": frozenset({ChangeType.NEGATION_ADDED, ChangeType.NEGATION_REMOVED}),
    "variable_added": frozenset({ChangeType.VARIABLE_ADDED, ChangeType.VARIABLE_RENAMED}),
    "variable_removed": frozenset({ChangeType.VARIABLE_REMOVED, ChangeType.VARIABLE_RENAMED}),
}
# Reported as a figure next to the changes, not an edit a label could name.
_NOT_AN_EDIT = frozenset({ChangeType.TOKEN_COUNT_CHANGED})


@dataclass(frozen=True)
class RealPair:
    name: str
    path: str
    before: str
    after: str
    labels: tuple[str, ...]
    high_severity: bool
    notes: str = ""

    def diff(self) -> PromptDiff:
        return diff_texts(self.path, self.before, self.after)


@dataclass(frozen=True)
class RealScore:
    pair: str
    labels: tuple[str, ...]
    found: tuple[str, ...]
    missed: tuple[str, ...]
    unlabelled: tuple[str, ...]  # change types reported that no label names
    high_severity: bool
    has_high: bool
    formatting_only_label: bool
    formatting_only: bool


def load_real_corpus(corpus: FileTree) -> list[RealPair]:
    """Every `<pair>/meta.json` with its `base.*` and `head.*` files (the path keeps the pair's
    real file name, so the format is detected as it would be in the repository)."""
    files = corpus.paths()
    out = []
    for name in sorted({p.split("/", 1)[0] for p in files if p.count("/") == 1 and p.endswith("/meta.json")}):
        meta = json.loads(corpus.read(f"{name}/meta.json") or b"{}")
        base = next(f for f in files if f.startswith(f"{name}/base."))
        head = next(f for f in files if f.startswith(f"{name}/head."))
        out.append(RealPair(name, meta["path"], (corpus.read(base) or b"").decode("utf-8", "replace"),
                            (corpus.read(head) or b"").decode("utf-8", "replace"), tuple(meta["labels"]),
                            bool(meta.get("high_severity")), meta.get("notes", "")))
    return out


def score_real(pair: RealPair, diff: PromptDiff) -> RealScore:
    reported = {c.type for c in diff.changes if c.type not in _NOT_AN_EDIT}
    found: list[str] = []
    missed: list[str] = []
    for label in pair.labels:
        if label == "formatting_only":
            hit = diff.formatting_only
        else:
            hit = bool(reported & _LABEL_TYPES.get(label, frozenset({ChangeType(label)})))
        (found if hit else missed).append(label)
    named: set[ChangeType] = set()
    for label in pair.labels:
        named |= _LABEL_TYPES.get(label, frozenset({ChangeType(label)}))
    unlabelled = sorted(t.value for t in reported if t not in named)
    return RealScore(
        pair.name, pair.labels, tuple(found), tuple(missed), tuple(unlabelled), pair.high_severity,
        any(c.severity.value == "high" for c in diff.changes), "formatting_only" in pair.labels, diff.formatting_only,
    )


@dataclass(frozen=True)
class RealTotals:
    labels: int
    found: int
    high_pairs: int
    high_hit: int
    formatting_pairs: int
    formatting_hit: int
    pairs: int
    unlabelled: int

    @property
    def label_recall(self) -> float:
        return self.found / self.labels if self.labels else 1.0

    @property
    def high_share(self) -> float:
        return self.high_hit / self.high_pairs if self.high_pairs else 1.0

    @property
    def formatting_share(self) -> float:
        return self.formatting_hit / self.formatting_pairs if self.formatting_pairs else 1.0

    @property
    def unlabelled_per_pair(self) -> float:
        return self.unlabelled / self.pairs if self.pairs else 0.0


def real_totals(scores: list[RealScore]) -> RealTotals:
    return RealTotals(
        labels=sum(len(s.labels) for s in scores),
        found=sum(len(s.found) for s in scores),
        high_pairs=sum(s.high_severity for s in scores),
        high_hit=sum(s.high_severity and s.has_high for s in scores),
        formatting_pairs=sum(s.formatting_only_label for s in scores),
        formatting_hit=sum(s.formatting_only_label and s.formatting_only for s in scores),
        pairs=len(scores),
        unlabelled=sum(len(s.unlabelled) for s in scores),
    )
