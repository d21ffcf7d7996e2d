"""The owners file: CODEOWNERS syntax and GitHub's matching semantics, checked against vectors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.core.owners import OwnersFile, parse_owners

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "owners"
VECTORS = json.loads((FIXTURES / "vectors.json").read_text())["vectors"]


def _owners_file(vector: dict) -> OwnersFile:
    if "file" in vector:
        return parse_owners((FIXTURES / vector["file"]).read_text(), file=vector["file"])
    return parse_owners(vector["rules"])


def _vector_id(vector: dict) -> str:
    return f"{vector.get('file') or vector['rules']} :: {vector['path']}"


def test_there_are_at_least_forty_vectors_from_docs_and_real_files():
    assert len(VECTORS) >= 40
    assert {v["file"] for v in VECTORS if "file" in v} == {"github-docs.CODEOWNERS", "cpython-excerpt.CODEOWNERS"}


@pytest.mark.parametrize("vector", VECTORS, ids=_vector_id)
def test_owners_for_path_match_github_semantics(vector):
    owners_file = _owners_file(vector)
    assert owners_file.errors == ()
    expected = None if vector["owners"] is None else tuple(vector["owners"])
    assert owners_file.owners_for(vector["path"]) == expected
    if "line" in vector:
        assert owners_file.rule_for(vector["path"]).line == vector["line"]


def test_fixture_files_parse_without_errors():
    for name in ("github-docs.CODEOWNERS", "cpython-excerpt.CODEOWNERS"):
        assert parse_owners((FIXTURES / name).read_text(), file=name).errors == ()


def test_last_matching_line_wins_even_over_a_more_specific_earlier_line():
    owners = parse_owners("/prompts/support/system.md @alice\n/prompts/ @acme/prompt-owners\n")
    assert owners.owners_for("prompts/support/system.md") == ("@acme/prompt-owners",)


def test_rule_for_explains_which_line_matched():
    owners = parse_owners("# owners\n* @acme/everyone\n\n/prompts/support/ @acme/support   # the support bot\n")
    rule = owners.rule_for("prompts/support/system.md")
    assert (rule.pattern, rule.owners, rule.line) == ("/prompts/support/", ("@acme/support",), 4)
    assert rule.describe() == "line 4: /prompts/support/ @acme/support"


def test_no_rule_and_explicitly_unowned_are_different():
    owners = parse_owners("/prompts/ @acme/prompts\n/prompts/drafts/\n")
    assert owners.owners_for("README.md") is None
    assert owners.owners_for("prompts/drafts/idea.md") == ()
    assert owners.rule_for("README.md") is None


def test_missing_file_has_no_rules_and_says_so():
    owners = parse_owners(None)
    assert owners.exists is False
    assert owners.owners_for("prompts/a.md") is None
    assert owners.file == ".github/PROMPTOWNERS"


def test_empty_file_exists_but_owns_nothing():
    owners = parse_owners("")
    assert owners.exists is True and owners.rules == () and owners.errors == ()


def test_paths_are_normalized_before_matching():
    owners = parse_owners("/prompts/ @acme/prompts\n")
    assert owners.owners_for("./prompts/a.md") == ("@acme/prompts",)


def test_bytes_and_crlf_line_endings_are_accepted():
    owners = parse_owners(b"* @a\r\n/prompts/ @b\r\n")
    assert owners.errors == ()
    assert owners.owners_for("prompts/x.md") == ("@b",)


def test_indented_rules_and_tabs_between_owners_work():
    owners = parse_owners("   /prompts/\t@a\t\t@org/team-x   \n")
    assert owners.owners_for("prompts/x.md") == ("@a", "@org/team-x")


def test_inline_comment_ends_the_owner_list():
    owners = parse_owners("/prompts/ @a # owned by @b too?\n")
    assert owners.owners_for("prompts/x.md") == ("@a",)


def test_hash_inside_a_pattern_is_a_literal_character():
    owners = parse_owners("/prompts/c#.md @a\n")
    assert owners.owners_for("prompts/c#.md") == ("@a",)


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("!/prompts/secret.md @a", "negation with '!' is not supported"),
        ("/prompts/[ab].md @a", "character ranges with '[ ]' are not supported"),
        ("\\#prompts.md @a", "escaping a leading '#'"),
        ("/prompts/ alice", "'alice' is not an owner"),
        ("/prompts/ @a @", "'@' is not an owner"),
        ("/prompts/ @acme/", "'@acme/' is not an owner"),
        ("/prompts/ not-an-email@", "is not an owner"),
        ("/prompts/*** @a", "three consecutive '*'"),
        ("/ @a", "matches no file"),
        ("/prompts/../secrets/ @a", "'.' and '..' segments"),
    ],
)
def test_bad_lines_are_reported_with_line_numbers_and_skipped(line, message):
    owners = parse_owners(f"* @fallback\n\n{line}\n/docs/ @docs\n", file=".github/PROMPTOWNERS")
    assert len(owners.errors) == 1
    error = owners.errors[0]
    assert (error.file, error.line) == (".github/PROMPTOWNERS", 3)
    assert message in error.message
    assert str(error).startswith(".github/PROMPTOWNERS:3: ")
    # The bad line is skipped, the good ones around it still apply (GitHub ignores invalid lines).
    assert [r.line for r in owners.rules] == [1, 4]
    assert owners.owners_for("prompts/secret.md") == ("@fallback",)


def test_escaped_brackets_are_literal_and_allowed():
    owners = parse_owners("/prompts/\\[draft\\].md @a\n")
    assert owners.errors == ()
    assert owners.owners_for("prompts/[draft].md") == ("@a",)


def test_several_errors_are_all_reported_in_line_order():
    owners = parse_owners("!a @x\n* @ok\n[b] @y\nc bad owner\n")
    assert [e.line for e in owners.errors] == [1, 3, 4]
    assert [r.line for r in owners.rules] == [2]


@pytest.mark.parametrize(
    "owner",
    ["@alice", "@Alice-Smith", "@acme/support-prompts", "@acme/team_x"]
    + ["docs@example.com", "first.last+tag@example.co.uk"],
)
def test_owner_forms_accepted(owner):
    owners = parse_owners(f"* {owner}\n")
    assert owners.errors == ()
    assert owners.owners_for("x") == (owner,)
