"""`prompt-review check-config [PATH]`: validate a repo's config, suites and owners file locally.

Prints file:line errors to stderr and exits 1 when anything is wrong, 0 when all is valid. Warnings
(a suite key promptfoo ignores) go to stderr too and leave the exit code alone.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass

from bot.core.config import CONFIG_PATH, RepoConfig, parse_config
from bot.core.errors import SourceError, UserError
from bot.core.files import is_prompt
from bot.evals import find_dependencies
from bot.evals.generators import CodePolicy
from bot.evals.loaded import LoadedSuites
from bot.evals.runner import discover, readers_as_cases_run, rendered_reads
from bot.pipeline.stages import load_owners
from bot.pipeline.trees import DirTree


@dataclass(frozen=True)
class Checked:
    """What check-config found: the problems, what was checked, and the parsed config and suites that
    the list of files under review is then computed from (nothing is parsed twice)."""

    errors: list[SourceError]
    checked: list[str]
    config: RepoConfig
    loaded: LoadedSuites
    warnings: list[SourceError]


def check_tree(tree) -> tuple[list[SourceError], list[str]]:
    """All problems found, and a list of what was checked (for the success message)."""
    found = check(tree)
    return found.errors, found.checked


def check(tree) -> Checked:
    errors: list[SourceError] = []
    warnings: list[SourceError] = []
    checked: list[str] = []
    raw = tree.read(CONFIG_PATH)
    try:
        config = parse_config(raw)
        checked.append(CONFIG_PATH if raw is not None else f"{CONFIG_PATH} (absent: defaults)")
    except UserError as exc:
        errors.extend(exc.errors)
        config = RepoConfig()
    loaded = LoadedSuites(config.limits, CodePolicy(tree, limits=config.limits))  # a local checkout: its own generators run
    for path in discover(tree, tree, config.suites):
        if tree.read(path) is None:
            errors.append(SourceError(CONFIG_PATH, f"suite {path} does not exist", None, "suites"))
            continue
        _suite, suite_errors = loaded.load(tree, path)
        errors.extend(suite_errors)
        warnings.extend(loaded.warnings(tree, path))
        checked.append(path)
    owners = load_owners(tree, config)
    if owners.exists:
        errors.extend(owners.errors)
        checked.append(owners.file)
    return Checked(errors, checked, config, loaded, warnings)


def check_config_command(path: str) -> int:
    tree = DirTree.of_checkout(path)
    found = check(tree)
    errors, checked = found.errors, found.checked
    for warning in found.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    for error in errors:
        print(f"error: {error}", file=sys.stderr)
    if errors:
        print(f"{len(errors)} problem(s) found", file=sys.stderr)
        return 1
    for item in checked:
        print(f"ok: {item}")
    reviewed = reviewed_files(tree, found.config, found.loaded)
    if reviewed:
        print("under review (a pull request changing any of these is reviewed and gated):")
        for file, why in reviewed:
            print(f"  {file}: {why}")
    readers = readers_as_cases_run(tree, tree, found.config.suites, found.loaded)
    if readers:
        print("also under review, once their cases run: the files this code reads as it runs (a case whose read file "
              f"a pull request changes re-runs): {', '.join(readers)}")
    return 0


def reviewed_files(tree, config: RepoConfig, loaded: LoadedSuites) -> list[tuple[str, str]]:
    """Every file a pull request would have reviewed, and why: what the suites read, then the
    files matching prompts.include."""
    why: dict[str, str] = {}
    for dep in find_dependencies(tree, tree, config.suites, loaded):
        why.setdefault(dep.path, dep.reason)
    for dep in rendered_reads(tree, tree, config.suites, loaded, config.evals, config.limits, True):
        why.setdefault(dep.path, dep.reason)
    for path in tree.paths():
        if path not in why and is_prompt(path, config.prompts.include, config.prompts.exclude):
            why[path] = "matches prompts.include"
    return sorted(why.items())

