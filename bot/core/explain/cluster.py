"""Group regressed and fixed cases into clusters: same suite, same status, same failing
assertion(s), similar head outputs (normalised text similarity, rapidfuzz)."""

from __future__ import annotations

import re
from collections.abc import Sequence

from rapidfuzz import fuzz

from bot.core.explain.model import Cluster, ClusterKind
from bot.core.report import CaseResult

# Outputs at least this similar (0–100, after normalising) belong to one cluster.
SIMILARITY = 70.0
_MAX_LEADERS = 50  # bounds the comparisons: a pathological suite ends in few big clusters
_PROMPT_REASON = re.compile(r"^prompt (.+) changed$")


def normalise(text: str) -> str:
    """Case, digits and spacing differ between otherwise identical answers (order numbers, days)."""
    return re.sub(r"\s+", " ", re.sub(r"\d+", "0", text.lower())).strip()[:2000]


def _status(case: CaseResult) -> str:
    return case.status.value


def _failing(case, kind: ClusterKind) -> tuple[str, ...]:
    side = case.head if kind is ClusterKind.REGRESSED else case.base
    if side is None:
        return ()
    if side.error:
        return (f"error: {side.error}",)
    return tuple(side.failed_assertions or ())


def _output(case, kind: ClusterKind) -> str:
    side = case.head if kind is ClusterKind.REGRESSED else case.base
    return normalise(side.output if side is not None else "")


def cluster_cases(cases: Sequence, similarity: float = SIMILARITY) -> tuple[Cluster, ...]:
    """Clusters of the regressed and fixed cases (bot.evals.CaseResult), biggest first."""
    groups: dict[tuple[str, ClusterKind, tuple[str, ...]], list] = {}
    for case in sorted(cases, key=lambda c: c.key):
        status = _status(case)
        if status not in (ClusterKind.REGRESSED.value, ClusterKind.FIXED.value):
            continue
        kind = ClusterKind(status)
        groups.setdefault((case.suite, kind, _failing(case, kind)), []).append(case)
    found: list[tuple[str, ClusterKind, tuple[str, ...], list]] = []
    for (suite, kind, assertions), members in groups.items():
        leaders: list[tuple[str, list]] = []  # (normalised output, members)
        for case in members:
            text = _output(case, kind)
            best, best_score = None, -1.0
            for leader in leaders:
                score = fuzz.ratio(text, leader[0], score_cutoff=similarity)
                if score > best_score and score >= similarity:
                    best, best_score = leader, score
            if best is None and len(leaders) >= _MAX_LEADERS:
                best = max(leaders, key=lambda lead: fuzz.ratio(text, lead[0]))
            if best is None:
                leaders.append((text, [case]))
            else:
                best[1].append(case)
        found += [(suite, kind, assertions, m) for _, m in leaders]
    found.sort(key=lambda f: (f[1] is not ClusterKind.REGRESSED, -len(f[3]), f[0], f[3][0].key))
    return tuple(
        Cluster(
            id=f"c{i}", suite=suite, kind=kind, assertions=assertions,
            cases=tuple(c.key for c in members),
            files=tuple(dict.fromkeys(
                m.group(1) for c in members for r in (c.reasons or ()) if (m := _PROMPT_REASON.match(r))
            )),
        )
        for i, (suite, kind, assertions, members) in enumerate(found, 1)
    )
