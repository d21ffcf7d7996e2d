"""Running every case of a revision's suites, `repeats` times each, for a comparison with a baseline.

The eval engine compares two trees; here the "base" is empty, so every case of the revision is new
and runs on the head side only. Nothing is read from the result cache: the point is to ask the
model again, since the model may have changed behind the same name.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass

from bot.core.config import CONFIG_PATH, RepoConfig, parse_config
from bot.core.errors import UserError
from bot.core.files import FileTree, MemoryTree, normalize
from bot.evals import EvalRequest, NoCache, run_evals
from bot.evals.types import EvalReport


@dataclass(frozen=True)
class Run:
    config: RepoConfig
    report: EvalReport
    repeats: int


def run_revision(tree: FileTree, env: Mapping[str, str], suites: list[str] | None = None, repeats: int | None = None) -> Run:
    """Raises UserError (file, line) when the revision's repo config is invalid."""
    config = parse_config(tree.read(CONFIG_PATH))
    reval = config.revalidate
    k = repeats or (reval.repeats if reval is not None else None) or max(config.evals.repeats, 1)
    request = EvalRequest(
        base=MemoryTree({}), head=tree, config=replace_repeats(config, k), suites=suites or config.suites,
        env=dict(env), limits=config.limits,
    )
    return Run(config, asyncio.run(run_evals(request, NoCache())), k)


class OverlayTree:
    """A revision with some files replaced: the default branch's suites over the prompt versions a label serves."""

    def __init__(self, base: FileTree, files: Mapping[str, bytes]):
        self._base, self._files = base, {normalize(p): v for p, v in files.items()}

    def paths(self) -> list[str]:
        return sorted(set(self._base.paths()) | set(self._files))

    def read(self, path: str) -> bytes | None:
        path = normalize(path)
        return self._files[path] if path in self._files else self._base.read(path)


def replace_repeats(config: RepoConfig, k: int):
    return config.evals.model_copy(update={"repeats": k})


__all__ = ["Run", "OverlayTree", "run_revision", "UserError"]
