"""`prompt-review check-config [PATH]`: validate a repo's config, suites and owners file locally.

Prints file:line errors to stderr and exits 1 when anything is wrong, 0 when all is valid.
"""

from __future__ import annotations

import sys

from bot.core.config import CONFIG_PATH, RepoConfig, parse_config
from bot.core.errors import SourceError, UserError
from bot.core.files import is_prompt
from bot.evals import find_dependencies
from bot.evals.loader import load_suite
from bot.evals.runner import discover
from bot.pipeline.stages import load_owners
from bot.pipeline.trees import DirTree


def check_tree(tree) -> tuple[list[SourceError], list[str]]:
    """All problems found, and a list of what was checked (for the success message)."""
    errors: list[SourceError] = []
    checked: list[str] = []
    raw = tree.read(CONFIG_PATH)
    try:
        config = parse_config(raw)
        checked.append(CONFIG_PATH if raw is not None else f"{CONFIG_PATH} (absent: defaults)")
    except UserError as exc:
        errors.extend(exc.errors)
        config = RepoConfig()
    for path in discover(tree, tree, config.suites):
        if tree.read(path) is None:
            errors.append(SourceError(CONFIG_PATH, f"suite {path} does not exist", None, "suites"))
            continue
        _suite, suite_errors = load_suite(tree, path, config.limits)
        errors.extend(suite_errors)
        checked.append(path)
    owners = load_owners(tree, config)
    if owners.exists:
        errors.extend(owners.errors)
        checked.append(owners.file)
    return errors, checked


def check_config_command(path: str) -> int:
    tree = DirTree(path)
    errors, checked = check_tree(tree)
    for error in errors:
        print(f"error: {error}", file=sys.stderr)
    if errors:
        print(f"{len(errors)} problem(s) found", file=sys.stderr)
        return 1
    for item in checked:
        print(f"ok: {item}")
    reviewed = reviewed_files(tree)
    if reviewed:
        print("under review (a pull request changing any of these is reviewed and gated):")
        for file, why in reviewed:
            print(f"  {file}: {why}")
    return 0


def reviewed_files(tree) -> list[tuple[str, str]]:
    """Every file a pull request would have reviewed, and why: what the suites read, then the
    files matching prompts.include."""
    config = parse_config(tree.read(CONFIG_PATH))
    why: dict[str, str] = {}
    for dep in find_dependencies(tree, tree, config.suites):
        why.setdefault(dep.path, dep.reason)
    for path in tree.paths():
        if path not in why and is_prompt(path, config.prompts.include, config.prompts.exclude):
            why[path] = "matches prompts.include"
    return sorted(why.items())
