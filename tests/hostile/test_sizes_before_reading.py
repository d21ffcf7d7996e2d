"""An oversize file is refused from its size, never read whole first: prompt files and var files
(`file://` vars, bounded by limits.max_prompt_bytes like prompts) in a local git checkout and in a
directory on disk. Real git repositories and real files; the trees count what they read."""

from __future__ import annotations

from pathlib import Path

from bot.core.config import LimitsConfig
from bot.evals.loader import load_suite
from bot.pipeline.trees import DirTree, GitTree

from .prompt_repo import git_tree

SUITE = "evals/promptfooconfig.yaml"
PROMPT_SUITE = "prompts:\n  - file://../prompts/big.md\nproviders: [openai:chat:gpt-4o]\ntests:\n  - vars: {q: hi}\n"
VAR_SUITE = ("prompts: ['Answer {{ q }} using {{ doc }}']\nproviders: [openai:chat:gpt-4o]\ntests:\n"
             "  - vars:\n      q: hi\n      doc: file://big.txt\n")
BIG = "x" * 2_000_000


class Recording:
    """Remembers every path it was asked to read (what a tree hands over whole)."""

    def __init__(self, tree):
        self.tree, self.reads = tree, []

    def paths(self):
        return self.tree.paths()

    def size(self, path):
        return self.tree.size(path)

    def read(self, path):
        self.reads.append(path)
        return self.tree.read(path)


def _dir_tree(root: Path, files: dict[str, str]) -> DirTree:
    for path, text in files.items():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_text(text)
    return DirTree(str(root))


def test_git_and_dir_trees_know_a_files_size_without_reading_it(tmp_path):
    files = {SUITE: PROMPT_SUITE, "prompts/big.md": BIG}
    git = git_tree(tmp_path / "git", files)
    disk = _dir_tree(tmp_path / "dir", files)
    for tree in (git, disk):
        assert tree.size("prompts/big.md") == 2_000_000
        assert tree.size("prompts/missing.md") is None
    assert disk.size("../outside.txt") is None  # outside the checkout: absent, like read()


def test_an_oversize_prompt_in_a_git_checkout_is_refused_without_being_read(tmp_path):
    tree = Recording(git_tree(tmp_path, {SUITE: PROMPT_SUITE, "prompts/big.md": BIG}))
    suite, errors = load_suite(tree, SUITE)
    assert suite is None and "prompt file prompts/big.md is 2,000,000 bytes, over the limit of 1,000,000" in str(errors[0])
    assert "prompts/big.md" not in tree.reads


def test_an_oversize_prompt_on_disk_is_refused_without_being_read(tmp_path):
    tree = Recording(_dir_tree(tmp_path, {SUITE: PROMPT_SUITE, "prompts/big.md": BIG}))
    suite, errors = load_suite(tree, SUITE)
    assert suite is None and "2,000,000 bytes" in str(errors[0])
    assert "prompts/big.md" not in tree.reads


def test_a_var_file_over_max_prompt_bytes_is_an_error_naming_the_file_the_line_and_the_key(tmp_path):
    tree = Recording(git_tree(tmp_path, {SUITE: VAR_SUITE, "evals/big.txt": BIG}))
    suite, errors = load_suite(tree, SUITE)
    assert suite is None
    assert [str(e) for e in errors] == [
        "evals/promptfooconfig.yaml:6 (tests.0.vars.doc): var file evals/big.txt is 2,000,000 bytes, over the limit of "
        "1,000,000 (raise `limits.max_prompt_bytes` in .github/prompt-review.yml)"
    ]
    assert "evals/big.txt" not in tree.reads
    raised, errors = load_suite(tree, SUITE, LimitsConfig(max_prompt_bytes=3_000_000))
    assert errors == [] and raised.tests[0].vars["doc"] == BIG


def test_a_var_file_glob_bounds_each_file(tmp_path):
    suite_text = VAR_SUITE.replace("file://big.txt", "file://docs/*.txt")
    tree = git_tree(tmp_path, {SUITE: suite_text, "evals/docs/a.txt": "small", "evals/docs/b.txt": BIG})
    suite, errors = load_suite(tree, SUITE)
    assert suite is None and "var file evals/docs/b.txt is 2,000,000 bytes" in str(errors[0])
