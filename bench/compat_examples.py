"""How many promptfoo configs load: each `promptfooconfig*.yaml` under a folder (e.g. a checkout of
promptfoo's examples/) is copied with its directory into a fresh repo and checked like
`prompt-review check-config` does. Prints one line per config and the totals.

    .venv/bin/python bench/compat_examples.py PATH/TO/promptfoo/examples
    .venv/bin/python bench/compat_examples.py --repos PATH/TO/gathered-repositories   # each top folder a repository
    .venv/bin/python bench/compat_examples.py --other PATH                            # and every error of class other

An error is *unclear* when it has no line or shows a Python exception's text; a config that raises
is a crash. A config that loads is then expanded into its cases (every prompt rendered with every
test's vars, transformVars and prompt functions run in the sandbox as the base branch's code) and its
case errors counted. Each error is put in a class by the rule its message names, and a refused config is
counted once, under the first class of its errors in this order:

- code: runs code prompt-review does not run (providers in TSX or other languages, Python
  providers that import packages, extension hooks that need the network, files or processes) — a rule, not a gap
  to close here;
- vendor: another vendor's provider or a non-chat model (image, audio, agents, …);
- by design: out of scope on purpose (redteam, promptfoo's hosted simulated user, remote datasets and sheets, credentials in the suite, client
  certificates, multi-turn server sessions, vendor moderation, providers that ask no model: browser, MCP, Slack,
  manual input);
- multimodal: content parts or binary var files prompt-review does not send (PDF var files, parts in
  another vendor's form than the API's, Adaline image URLs, parts to a text-only provider, audio-only answers);
- invalid: not valid promptfoo (keys or assertion types its schema lacks, files the folder lacks, modules it
  requires from outside the gathered folder, an `apiKey: ${NAME}` promptfoo sends as those characters);
- other: anything else — a valid, non-executing feature refused; these are the ones to fix.
"""

from __future__ import annotations

import re
import shutil
import sys
import tempfile
from collections import Counter
from pathlib import Path

from bot.checkconfig import check_tree
from bot.evals.generators import base_code
from bot.evals.loader import load_suite
from bot.evals.render import Renderer
from bot.evals.select import CodeGate, expand
from bot.pipeline.trees import DirTree

EXCEPTION_WORDS = ("Traceback", "Error(", "object has no attribute", "NoneType", "KeyError", "TypeError")


CLASSES = ("code", "vendor", "by design", "multimodal", "invalid", "other")
_RULES = (
    ("code", r"executes code|prompt function|test generator|is not a \.js or \.py file|a var computed by a code file"
             r"|run code from the repository|would run code|exec providers run"
             r"|a Python provider runs in the sandbox with the standard library"
             r"|extension hook .*which the sandbox refuses|MCP servers run tools"
             r"|reads the repository's files only for code that runs while its suite loads|EROFS: read-only file system"
             r"|not packages npm installs|has no JavaScript entry"),
    ("vendor", r"unsupported: provider '(?!file://)(?!.*promptfoo's hosted model)(?!.*is no provider id)(?!.*(?:headless browser|an MCP server|a Slack channel|manual-input))|is not a chat model|runs an agent SDK|unsupported provider key 'provider'"),
    ("by design", r"redteam is not part|promptfoo's hosted model|Hugging Face|Google Sheets|remote test|langfuse://|portkey://|helicone://|moderation: vendor"
                  r"|suite-level env|a suite.s env is not read|credentials come from the environment|templated headers"
                  r"|providerOutput|signatureAuth|provider config key 'tls'|unsupported: tls: client certificates"
                  r"|multi-turn server sessions|MCP servers run tools|tools of an MCP server|headless browser|a Slack channel|manual-input provider"),
    ("multimodal", r"content parts?\b|is not text \(a PDF|an image URL would be downloaded|an audio-only answer"),
    ("invalid", r"unknown test key|unknown test option"
                r"|assertion type '(?:min-length|max-length|not-empty|json-schema-valid|contains-json-property)'"
                r"|not found|does not exist|a suite needs `providers`|a grader needs an `id`|promptfoo refuses it too"
                r"|promptfoo does not read `(?:file|path)`|is no provider id, in promptfoo 0.121 either|a mapping key must be a plain value|points outside the repository"
                r"|Cannot find module '\.\.?/|names no prompt of the suite|the test file is empty"
                r"|would be sent as the key itself|duplicate key|promptfoo cannot load it either|no files match"),  # `apiKey: ${X}`: promptfoo sends those characters as the key  # a relative module the gathered folder lacks
)


def classify(message: str) -> str:
    for name, pattern in _RULES:
        if re.search(pattern, message):
            return name
    return "other"


def repository_for(root: Path, config: Path, tmp: Path, repos: bool) -> tuple[Path, str]:
    """A fresh repository under `tmp` holding `config` (with `repos`, the whole top folder of `root` it is in, so files it
    reads outside its folder are there; else its folder, as evals/) and a prompt-review config naming it: (the
    repository, the suite's path in it)."""
    repo = tmp / "repo"
    if repos:
        source = root / config.relative_to(root).parts[0]
        shutil.copytree(source, repo, ignore=shutil.ignore_patterns(".git", "node_modules"))
        suite = config.relative_to(source).as_posix()
    else:
        shutil.copytree(config.parent, repo / "evals")
        suite = f"evals/{config.name}"
    (repo / ".github").mkdir(exist_ok=True)
    (repo / ".github" / "prompt-review.yml").write_text(f"suites: [{suite}]\n")
    return repo, suite


def configs_under(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("promptfooconfig*.y*ml") if "node_modules" not in p.parts)


def main(root: Path, repos: bool = False, show_other: bool = False) -> int:
    """With `repos`, each folder at the top of `root` is a repository (a gathered snapshot of a project): it is copied
    whole and its configs are checked where they are, so the files they read outside their folder are there."""
    configs = configs_under(root)
    totals: Counter[str] = Counter()
    for config in configs:
        with tempfile.TemporaryDirectory() as tmp:
            repo, suite = repository_for(root, config, Path(tmp), repos)
            try:
                errors, _ = check_tree(DirTree(str(repo)))
                expanded = _expand(DirTree(str(repo)), suite) if not errors else None
            except Exception as exc:  # noqa: BLE001 - a crash is what this counts
                totals["crash"] += 1
                print(f"CRASH  {config.relative_to(root)}: {type(exc).__name__}")
                continue
        if not errors:
            totals["loads"] += 1
            cases, failing, example = expanded or (0, 0, "")
            totals["cases"] += cases
            totals["case errors"] += failing
            print(f"ok     {config.relative_to(root)}: {cases} cases" + (f", {failing} errors, e.g. {example[:150]}" if failing else ""))
            continue
        kinds = {classify(e.message) for e in errors}
        kind = next(k for k in CLASSES if k in kinds)
        unclear = [e for e in errors if e.line is None or any(w in e.message for w in EXCEPTION_WORDS)]
        totals["refused"] += 1
        totals["unclear messages"] += len(unclear)
        totals[f"refused: {kind}"] += 1
        totals["with other"] += "other" in kinds
        first = next(e for e in errors if classify(e.message) == kind)
        print(f"no     {config.relative_to(root)} [{kind}]: {first.line}: {first.message[:150]}" + (f" (+{len(errors) - 1})" if len(errors) > 1 else ""))
        if show_other:  # every error of class other, the ones to look at first
            for e in errors:
                if classify(e.message) == "other":
                    print(f"         other: {e.file}:{e.line}: {e.message[:300]}")
    n = len(configs)
    by_class = ", ".join(f"{k} {totals[f'refused: {k}']}" for k in CLASSES)
    print(f"\n{totals['loads']} of {n} configs load ({100 * totals['loads'] / max(n, 1):.0f} %); "
          f"refused {totals['refused']} ({by_class}; {totals['with other']} have an error of class other); "
          f"crashes {totals['crash']}; errors without a line or with exception text {totals['unclear messages']}")
    print(f"the configs that load expand to {totals['cases']} cases; {totals['case errors']} of them are errors "
          "(prompts rendered; generators, transformVars, computed vars, prompt functions and filters run as the base branch's code)")
    return 0


def _expand(tree: DirTree, path: str) -> tuple[int, int, str]:
    """(cases, cases that are errors, one error): every prompt rendered with every test's vars, as a
    review of the base branch does before calling a model."""
    suite, _ = load_suite(tree, path, code=base_code())  # the base branch's generators run, as in check-config
    if suite is None:
        return 0, 0, ""
    cases, _ = expand(suite, Renderer(tree), gate=CodeGate())
    failing = [c for c in cases.values() if c.error]
    return len(cases), len(failing), str(failing[0].error) if failing else ""


if __name__ == "__main__":
    args = [a for a in sys.argv[1:] if a not in ("--repos", "--other")]
    sys.exit(main(Path(args[0] if args else "."), repos="--repos" in sys.argv[1:], show_other="--other" in sys.argv[1:]))
