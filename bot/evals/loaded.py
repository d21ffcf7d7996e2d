"""The suites of one review, each parsed once per side: what is under review, the eval run and the
explanation read the same `Suite` objects, loaded under the review's limits and code gate."""

from __future__ import annotations

from bot.core.config import LimitsConfig
from bot.core.errors import SourceError
from bot.core.files import FileTree
from bot.evals.generators import NOT_DECIDED, CodePolicy
from bot.evals.loader import SuiteLoad, read_suite
from bot.evals.suite import Suite


class LoadedSuites:
    """A memo of `read_suite` for the trees of one review (held by the review; never shared across reviews).

    `code` is the review's gate for code that runs while a suite loads (test generators, beforeAll/beforeEach
    extension hooks): the base tree's runs, the head's own by the PR's rights; without it no such code runs (the
    suite is an error saying so)."""

    def __init__(self, limits: LimitsConfig | None = None, code: CodePolicy | None = None) -> None:
        self.limits = limits or LimitsConfig()
        self.code = code
        self._trees: dict[int, FileTree] = {}  # keeps each tree alive, so its id names it for the memo's life
        self._memo: dict[tuple[int, str], SuiteLoad] = {}
        self.loads = 0  # how many times a suite file was parsed (tests count these)

    def load(self, tree: FileTree, path: str) -> tuple[Suite | None, list[SourceError]]:
        """The suite at `path` on that side, with its errors; (None, []) when the file is absent there."""
        found = self._read(tree, path)
        return found.suite, list(found.errors)

    def warnings(self, tree: FileTree, path: str) -> tuple[SourceError, ...]:
        """The warnings of the suite at `path` on that side (whether it loaded or not); none when it is absent."""
        return self._read(tree, path).warnings

    def _read(self, tree: FileTree, path: str) -> SuiteLoad:
        key = (id(tree), path)
        if key not in self._memo:
            self._trees[id(tree)] = tree
            if tree.read(path) is None:
                self._memo[key] = SuiteLoad(None, ())
            else:
                self.loads += 1
                code = self.code.for_tree(tree) if self.code is not None else NOT_DECIDED
                self._memo[key] = read_suite(tree, path, self.limits, code=code)
        return self._memo[key]
