"""Per-model variants in the manifest: which prompt file serves which model at a commit, and the choice
for a model an app asks for.

A variant is promptfoo's own mechanism: a suite lists several prompt files and each provider's `prompts:`
selects the ones it runs (bot.evals.variants). At a deployment the service reads the suites at its commit
and keeps, per commit, the groups of variant files with the names of the models that run each one
(provider id, model and label: whichever the app calls it by). The manifest lists, with each prompt of a
group, the group (`variants`), so the SDK can choose offline; `?model=M` makes the service choose.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from bot.core.config import RepoConfig
from bot.core.errors import UserError
from bot.core.files import FileTree, matches
from bot.evals.generators import base_code
from bot.evals.loader import load_suite
from bot.evals.suite import SUITE_NAMES, Suite
from bot.github.client import GitHubError

log = logging.getLogger("prompt_review.release")
MAX_SUITES = 50  # suites read at a deployment for their variants; past that, the rest are not looked at
MAX_VARIANTS = 20  # files in one group kept in the manifest


@dataclass(frozen=True)
class Variant:
    path: str
    models: tuple[str, ...]  # what an app may call a model that runs this file: provider ids, models, labels

    def serves(self, model: str) -> bool:
        return model in self.models

    def as_json(self) -> dict:
        return {"path": self.path, "models": list(self.models)}


Groups = tuple[tuple[Variant, ...], ...]


def suite_groups(suite: Suite) -> tuple[Variant, ...]:
    """The suite's prompt files with the names of the models that run them, when some provider selects
    prompts (else: no group)."""
    if not any(p.prompts for p in suite.providers):
        return ()
    names: dict[str, list[str]] = {}
    for prompt in suite.prompts:
        if prompt.source is None:
            continue  # an inline prompt is no file to serve
        slot = names.setdefault(prompt.source, [])
        for provider in suite.providers:
            if provider.runs(prompt):
                slot += [n for n in (provider.label, provider.id, provider.model) if n and n not in slot]
    group = tuple(Variant(path, tuple(models)) for path, models in names.items() if models)
    return group[:MAX_VARIANTS] if len(group) >= 2 else ()


def groups_at(tree: FileTree, config: RepoConfig) -> Groups:
    """The variant groups of the suites at a commit (the config's `suites`, else every promptfooconfig).
    A suite that does not load gives no group: variants are served only where they are well defined."""
    paths = config.suites if config.suites is not None else sorted(
        p for p in tree.paths() if matches(p, [f"**/{n}" for n in SUITE_NAMES]))
    out: list[tuple[Variant, ...]] = []
    for path in paths[:MAX_SUITES]:
        try:
            suite, errors = load_suite(tree, path, config.limits, code=base_code(config.limits))  # a commit of the default branch
        except (UserError, GitHubError, ValueError) as exc:  # a suite we cannot read must not stop the deployment
            log.warning("variants: suite %s could not be read: %s", path, exc)
            continue
        if suite is not None and not errors and (group := suite_groups(suite)):
            out.append(group)
    return tuple(out)


def to_json(groups: Groups) -> bytes:
    return json.dumps([[v.as_json() for v in g] for g in groups]).encode()


def from_json(data: bytes | None) -> Groups:
    if not data:
        return ()
    return tuple(tuple(Variant(str(v["path"]), tuple(str(m) for m in v["models"])) for v in g) for g in json.loads(data))


def group_of(path: str, groups: Groups) -> tuple[Variant, ...]:
    return next((g for g in groups if any(v.path == path for v in g)), ())


def choose(path: str, model: str | None, group: Sequence[Variant], available: Mapping[str, object]) -> str:
    """The file that serves `path` to `model`: the prompt itself when it runs on that model (or no model
    is asked, or no variant is declared for it), else the first variant in the suite's order that does
    and is at the label (`available`)."""
    if model is None or not group:
        return path
    if any(v.path == path and v.serves(model) for v in group):
        return path
    return next((v.path for v in group if v.serves(model) and v.path in available), path)
