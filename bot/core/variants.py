"""Per-model prompt variants in the review: which changed prompts are variants of one prompt (files a
suite runs on different models through its providers' `prompts:` lists), so the comment shows them
together. Pure: a report's suites in, groups out."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from bot.core.report import EvalReport, PromptVariant


@dataclass(frozen=True)
class VariantGroup:
    suite: str
    variants: tuple[PromptVariant, ...]  # every variant file of the suite, as the suite lists them

    def models_of(self, path: str) -> tuple[str, ...]:
        return next((v.models for v in self.variants if v.path == path), ())


def variant_groups(report: EvalReport | None) -> tuple[VariantGroup, ...]:
    """Suites whose prompt files are per-model variants (two or more files, each on its own models)."""
    if report is None:
        return ()
    return tuple(VariantGroup(s.path, s.variants) for s in report.suites if len(s.variants) >= 2)


def group_order(paths: Sequence[str], groups: Sequence[VariantGroup]) -> list[tuple[str, VariantGroup | None]]:
    """The changed prompts in review order, each variant moved up beside the first changed variant of its
    group, with the group it belongs to (a file in several suites' groups: the first)."""
    group_of: dict[str, VariantGroup] = {}
    for g in groups:
        for v in g.variants:
            group_of.setdefault(v.path, g)
    out: list[tuple[str, VariantGroup | None]] = []
    placed: set[str] = set()
    for path in paths:
        if path in placed:
            continue
        group = group_of.get(path)
        members = [v.path for v in group.variants if v.path in paths and group_of.get(v.path) is group] if group else [path]
        for m in [path] + [m for m in members if m != path]:
            placed.add(m)
            out.append((m, group))
    return out


__all__ = ["VariantGroup", "variant_groups", "group_order"]
