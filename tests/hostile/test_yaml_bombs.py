"""Hostile YAML in a pull request (suites, test files, chat prompts, the repo config) is bounded
before anything is built: an alias bomb, an oversize or too-deep document, a recursive alias and
tags that would construct objects are errors naming the file, the line and the limit."""

from __future__ import annotations

import subprocess

import pytest

from bot.checkconfig import check_tree
from bot.core.config import parse_config
from bot.core.errors import UserError
from bot.core.semdiff import diff_texts
from bot.core.yamlsrc import load_yaml
from bot.evals.loader import load_suite
from bot.pipeline.trees import DirTree, GitTree

SUITE = "evals/promptfooconfig.yaml"
GOOD_SUITE = """\
prompts: ["Answer: {{ question }}"]
providers: [openai:chat:gpt-4o]
tests:
  - vars: {question: hi}
    assert: [{type: contains, value: hi}]
"""


def billion_laughs(levels: int = 9) -> str:
    """The classic alias bomb: under 1 KB of text, 9**levels strings once expanded."""
    lines = ['lol0: &lol0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for i in range(1, levels):
        lines.append(f"lol{i}: &lol{i} [" + ", ".join([f"*lol{i - 1}"] * 9) + "]")
    return "\n".join(lines) + "\n"


def git_tree(root, files: dict[str, str | bytes]) -> GitTree:
    """A real repository with `files` committed, read the way the service reads a PR's head."""
    for path, text in files.items():
        target = root / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(text if isinstance(text, bytes) else text.encode())
    for args in (["init", "-q"], ["add", "-A"], ["-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-qm", "pr"]):
        subprocess.run(["git", *args], cwd=root, check=True)
    return GitTree(str(root), "HEAD")


def only_error(errors):
    assert len(errors) == 1, [str(e) for e in errors]
    return errors[0]


@pytest.mark.timeout(60)  # before the bound this ran until memory was gone
def test_alias_bomb_in_a_suite_is_refused_naming_file_line_and_limit(tmp_path):
    bomb = GOOD_SUITE.replace("tests:", "x-bomb:\n" + "".join("  " + line + "\n" for line in billion_laughs().splitlines()) + "tests:")
    assert len(bomb) < 1200
    tree = git_tree(tmp_path, {SUITE: bomb})
    suite, errors = load_suite(tree, SUITE)
    error = only_error(errors)
    assert suite is None and error.file == SUITE and error.line == 9  # the alias that passes the bound
    assert error.message == "the YAML document holds more than 250,000 values, counting each alias at its expanded size (limit 250,000)"


def test_alias_bomb_in_one_suite_leaves_the_other_suites_checked(tmp_path):
    files = {
        ".github/prompt-review.yml": "suites: [evals/bomb.yaml, evals/good.yaml]\n",
        "evals/bomb.yaml": billion_laughs(),
        "evals/good.yaml": GOOD_SUITE,
    }
    for path, text in files.items():
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_text(text)
    errors, checked = check_tree(DirTree(str(tmp_path)))
    assert [str(e) for e in errors] == [
        "evals/bomb.yaml:6: the YAML document holds more than 250,000 values, counting each alias at its expanded size (limit 250,000)"
    ]
    assert checked == [".github/prompt-review.yml", "evals/bomb.yaml", "evals/good.yaml"]


def test_alias_bomb_in_the_repo_config_names_the_config_file():
    with pytest.raises(UserError) as info:
        parse_config(billion_laughs())
    assert str(info.value).startswith(".github/prompt-review.yml:6: the YAML document holds more than 250,000 values")


def test_alias_bomb_in_a_yaml_chat_prompt_is_a_diff_error_not_a_crash():
    diff = diff_texts("prompts/chat.yaml", "- role: user\n  content: hi\n", billion_laughs())
    assert [str(e) for e in diff.errors] == [
        "prompts/chat.yaml:6: the YAML document holds more than 250,000 values, counting each alias at its expanded size (limit 250,000)"
    ]


def test_aliases_within_the_limits_still_expand():
    doc = load_yaml(billion_laughs(levels=4) + "all: [*lol3, *lol3]\n", "f.yaml")
    assert len(doc.data["all"]) == 2 and doc.data["all"][0][0][0][0] == ["lol"] * 9


@pytest.mark.timeout(60)
def test_recursive_alias_is_an_error_with_its_line():
    with pytest.raises(UserError) as info:
        load_yaml("ok: 1\nloop: &a\n  - 1\n  - *a\n", "evals/cases.yaml")
    assert str(info.value) == "evals/cases.yaml:4: the YAML alias *a refers to a value that contains it (a recursive alias)"


def test_more_aliases_than_the_limit_is_an_error_naming_the_limit():
    text = "v: &v 1\nall:\n" + "- *v\n" * (10_000 + 1)
    with pytest.raises(UserError) as info:
        load_yaml(text, "evals/cases.yaml")
    assert str(info.value) == f"evals/cases.yaml:{10_000 + 3}: more than 10,000 YAML aliases (limit 10,000)"


@pytest.mark.parametrize(
    "value, shown",
    [
        ("!!python/object:os.system {cmd: ls}", "!!python/object:os.system"),
        ("!!python/object/apply:os.system [ls]", "!!python/object/apply:os.system"),
        ("!!python/name:os.system [1]", "!!python/name:os.system"),
        ("!foo {a: 1}", "!foo"),
        ("!foo [1, 2]", "!foo"),
        ("!!set {a, b}", "!!set"),
        ("!!binary aGk=", "!!binary"),
    ],
)
def test_tags_outside_the_core_schema_are_errors_with_their_line_not_dropped(tmp_path, value, shown):
    tree = git_tree(tmp_path, {SUITE: GOOD_SUITE.replace("vars: {question: hi}", f"vars:\n      question: {value}")})
    suite, errors = load_suite(tree, SUITE)
    error = only_error(errors)
    assert suite is None and (error.file, error.line) == (SUITE, 5)
    assert error.message == (f"the YAML tag {shown} is not allowed (only the YAML 1.2 core schema: "
                             "!!str, !!int, !!float, !!bool, !!null, !!seq, !!map)")


def test_core_schema_tags_are_still_allowed():
    doc = load_yaml("a: !!str 10\nb: !!map {x: !!int 3}\nc: !!seq [! x]\nd: !!null ''\n", "f.yaml")
    assert doc.data == {"a": "10", "b": {"x": 3}, "c": ["x"], "d": None}


def test_oversize_yaml_document_is_refused_before_it_is_parsed(tmp_path):
    big = GOOD_SUITE + "description: |\n" + ("  " + "x" * 98 + "\n") * 100_001
    tree = git_tree(tmp_path, {SUITE: big})
    suite, errors = load_suite(tree, SUITE)
    assert suite is None
    assert [str(e) for e in errors] == [
        f"{SUITE}: the YAML document is {len(big):,} bytes, over the limit of 10,000,000 bytes; split it into smaller files"
    ]


@pytest.mark.timeout(60)
def test_deeply_nested_yaml_is_refused_with_the_line_where_it_passes_the_limit():
    text = "root:\n" + "".join(" " * (i + 1) + f"k{i}:\n" for i in range(2000)) + " " * 2001 + "leaf: 1\n"
    with pytest.raises(UserError) as info:
        load_yaml(text, "evals/cases.yaml")
    assert str(info.value) == "evals/cases.yaml:101: the YAML document nests deeper than 100 levels (limit 100)"
