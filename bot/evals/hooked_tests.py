"""The tests of a suite as its extension hooks leave them (bot.evals.hooks runs the hooks): promptfoo's view of the
suite and of each test is built here from what the suite wrote, and what a hook changed is read back like a written
test — the tests and the defaultTest it did not change keep their files and lines, the rest are located at the hook.
"""

from __future__ import annotations

import posixpath
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from bot.core.files import FileTree, MemoryTree
from bot.core.yamlsrc import LocatedYaml, Path
from bot.evals.hooks import Extension, HookOutput, Sessions, before_all, before_each
from bot.evals.sandbox.repo_files import RepoFiles
from bot.evals.sandbox.result import CodeLimits
from bot.evals.sources import Collector
from bot.evals.suite import TestSpec

Source = tuple[LocatedYaml, Path, Any]


@dataclass(frozen=True)
class SuiteHooks:
    """A suite's extensions that run while it loads, with promptfoo's view of the rest of the suite (prompts,
    providers, …) a beforeAll hook is given beside the tests."""

    extensions: tuple[Extension, ...]
    suite: dict[str, Any]
    limits: CodeLimits
    # each JavaScript hook file's runtime for this load: its module state carries from beforeAll to beforeEach
    sessions: Sessions = field(default_factory=dict, compare=False)
    # (the side's tree, the suite's folder): what a JavaScript hook's `fs` reads, one reader per hook file for the load
    reader: tuple[FileTree, str] | None = field(default=None, compare=False)
    _readers: dict[str, RepoFiles] = field(default_factory=dict, compare=False)

    def readers(self, path: str) -> RepoFiles:
        if path not in self._readers:
            tree, cwd = self.reader if self.reader is not None else (MemoryTree({}), "")
            self._readers[path] = RepoFiles(tree, cwd)
        return self._readers[path]

    def runs(self, hook: str) -> bool:
        return any(e.runs(hook) for e in self.extensions)


@dataclass
class Written:
    """The parts of the suite a beforeAll hook may change, with where each came from."""

    default: Source
    tests: list[Source]
    scenarios: list[Source]
    implicit: bool  # no tests and no scenarios: promptfoo runs the suite once, with defaultTest's vars
    default_changed: bool = False


def default_view(default: dict[str, Any], metadata: Any) -> dict[str, Any]:
    """promptfoo's suite.defaultTest as hooks see it: the suite's metadata and empty options under the written
    defaultTest, and an assert list always there (its ensureDefaultTestForExtensions)."""
    view: dict[str, Any] = {"metadata": metadata if metadata is not None else {}, "options": {}, **default}
    view["assert"] = view.get("assert") or []
    return view


def apply_before_all(hooks: SuiteHooks, located: LocatedYaml, written: Written, metadata: Any, errors: Collector,
                     max_cases: int) -> Written | None:
    """The suite's tests, defaultTest and scenarios after its beforeAll hooks; None when a hook failed or gave back
    something that cannot be read (the errors are in `errors`)."""
    tests = [item for _, _, item in written.tests]
    scenarios = [item for _, _, item in written.scenarios]
    given = {**hooks.suite, "tests": tests, "defaultTest": default_view(written.default[2], metadata),
             **({"scenarios": scenarios} if scenarios else {})}
    done = before_all(hooks.extensions, given, located, errors, hooks.limits, hooks.sessions, hooks.readers)
    if done is None:
        return None
    suite, ext = done
    if ext is None:
        return written
    out = Written(written.default, [], written.scenarios, False)
    new_tests = suite.get("tests") or []
    if not isinstance(new_tests, list):
        errors.add(located, ext.where, f"extension hook {ext.ref} (beforeAll) must leave `tests` a list")
        return None
    if len(new_tests) > max_cases:
        errors.add(located, ext.where, f"extension hook {ext.ref} (beforeAll) returned {len(new_tests):,} tests, over the limit of "
                                       f"{max_cases:,} cases per suite")
        return None
    doc = HookOutput(ext, "beforeAll", {"suite": suite})
    unused = list(range(len(written.tests)))
    for j, item in enumerate(new_tests):
        if not isinstance(item, dict):  # promptfoo read the test files before beforeAll: a hook gives tests themselves
            errors.add(doc, ("suite", "tests", j), "a test must be a mapping with vars and assert")
            continue
        same = next((i for i in ([j] if j in unused else []) + unused if written.tests[i][2] == item), None)
        if same is not None:  # a test the hook left as it was keeps its place in the suite's files
            unused.remove(same)
            out.tests.append(written.tests[same])
        else:
            out.tests.append((doc, ("suite", "tests", j), item))
    if suite.get("defaultTest") != given["defaultTest"]:
        new_default = suite.get("defaultTest") or {}
        out.default = (doc, ("suite", "defaultTest"), new_default)
        out.default_changed = True
    if suite.get("scenarios") != given.get("scenarios"):
        new_scenarios = suite.get("scenarios") or []
        if not isinstance(new_scenarios, list):
            errors.add(located, ext.where, f"extension hook {ext.ref} (beforeAll) must leave `scenarios` a list")
            return None
        out.scenarios = [(doc, ("suite", "scenarios", i), sc) for i, sc in enumerate(new_scenarios)]
    out.implicit = not out.tests and not out.scenarios
    return out


def test_view(item: dict[str, Any], default: dict[str, Any], combo: dict[str, Any], var_files: dict[str, str],
              base_dir: str) -> dict[str, Any]:
    """promptfoo's evalStep.test, which beforeEach gets: the test as written with this case's vars (a var file still
    named by its file:// reference), defaultTest's assertions first, its options, metadata and filters under the
    test's own (promptfoo's prepareTestCaseForEval)."""
    own_options: dict[str, Any] = item["options"] if isinstance(item.get("options"), dict) else {}
    default_options: dict[str, Any] = default["options"] if isinstance(default.get("options"), dict) else {}
    own_asserts: list[Any] = item["assert"] if isinstance(item.get("assert"), list) else []
    inherited = [] if own_options.get("disableDefaultAsserts") is True else (default.get("assert") or [])
    view = {**item,
            "vars": {k: f"file://{posixpath.relpath(var_files[k], base_dir or '.')}" if k in var_files else v for k, v in combo.items()},
            "assert": [*inherited, *own_asserts],
            "options": {**default_options, **own_options}}
    own_metadata, default_metadata = item.get("metadata") or {}, default.get("metadata") or {}
    view["metadata"] = {**default_metadata, **own_metadata} \
        if isinstance(default_metadata, dict) and isinstance(own_metadata, dict) else own_metadata
    for key in ("threshold", "prompts", "providers", "provider", "assertScoringFunction"):
        if item.get(key) is None and default.get(key) is not None:
            view[key] = default[key]
    return view


def apply_before_each(hooks: SuiteHooks, tests: list[TestSpec], views: list[dict[str, Any]], located: LocatedYaml,
                      errors: Collector, recheck: Callable[[LocatedYaml, Path, dict[str, Any]], TestSpec | None]) -> list[TestSpec] | None:
    """Each test after the suite's beforeEach hooks: one a hook changed is read from what it returned (`recheck`: a
    test checked as written, without defaultTest — promptfoo's test is merged already) and keeps its place in the
    suite; None when a hook failed."""
    names = [f"{t.file}:{t.line}" if t.line else t.file for t in tests]
    done = before_each(hooks.extensions, views, located, errors, hooks.limits, names, hooks.sessions, hooks.readers)
    if done is None:
        return None
    out: list[TestSpec] = []
    for i, (test, (new, by)) in enumerate(zip(tests, done)):
        if not by:
            out.append(test)
            continue
        doc = HookOutput(by[-1], "beforeEach", {"test": new})
        changed = recheck(doc, ("test",), new)
        if changed is None:
            continue
        out.append(replace(changed, index=test.index, file=test.file, line=test.line,
                           hooks=tuple(dict.fromkeys(test.hooks + tuple(e.path for e in by)))))
    return out if len(out) == len(tests) else None
