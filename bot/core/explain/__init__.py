"""Which change broke which cases: clusters of regressed (and fixed) cases, the candidate changes a
PR made, cheap lexical hints, and prompts with one change reverted for ablation. Pure: the
ablation runs themselves live in `bot.evals.explain`."""

from bot.core.explain.cluster import cluster_cases
from bot.core.explain.evidence import rank_changes
from bot.core.explain.model import Cause, ChangeRef, Cluster, Explanation, Hint, candidate_changes
from bot.core.explain.revert import RevertError, revert

__all__ = [
    "Cause",
    "ChangeRef",
    "Cluster",
    "Explanation",
    "Hint",
    "RevertError",
    "candidate_changes",
    "cluster_cases",
    "rank_changes",
    "revert",
]
