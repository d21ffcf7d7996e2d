"""is-sql and contains-sql with promptfoo's semantics: valid SQL of the suite's `databaseType`, and only
the tables and columns its whitelists allow (entries read as case-insensitive regexes, as promptfoo's
node-sql-parser reads them). Verdicts below are the ones promptfoo 0.121.20 gives on the same texts.
"""

from __future__ import annotations

import asyncio

import pytest

from bot.evals.assertions import AssertionBroken, score_output
from bot.evals.suite import AssertionSpec
from tests.compat.test_features import ok, refused

SHOP = {"databaseType": "MySQL", "allowedTables": ["select::null::Products", "select::null::Shipments"]}
JOIN = ("SELECT SUM(s.quantity) FROM Shipments s JOIN Products p ON s.product_id = p.product_id "
        "WHERE p.name = 'apples' AND s.shipped_at >= DATE_SUB(CURDATE(), INTERVAL 1 MONTH);")


def passes(kind: str, output: str, value=None) -> bool:
    return asyncio.run(score_output((AssertionSpec(kind, value),), None, output)).passed


@pytest.mark.parametrize("output, valid", [
    ("SELECT name, price FROM Products WHERE id = 3", True),
    (JOIN, True),
    ("UPDATE Products SET price = 2 WHERE id = 1", True),
    ("Hello world", False),  # a bare expression, not a statement
    ("I cannot write that query.", False),
    ("SELECT * FROM", False),
    ("SELECT id name FROM Products", False),  # a dropped comma: promptfoo fails it although it parses
    ("SELECT 'a b' , id FROM Products", True),  # ... but not inside quoted text
    ("select id from `Products", False),  # an unclosed backtick
    ("```sql\nSELECT 1\n```", False),  # a fenced block is not SQL (contains-sql reads the block)
    ("", False),
])
def test_is_sql_passes_valid_statements_only(output, valid):
    assert passes("is-sql", output) is valid
    assert passes("not-is-sql", output) is not valid


def test_allowed_tables_fail_a_query_that_reads_another_table():
    assert passes("is-sql", JOIN, SHOP)
    assert not passes("is-sql", "SELECT COUNT(*) FROM Orders", SHOP)
    assert passes("is-sql", "SELECT COUNT(*) FROM orders", {"allowedTables": ["select::null::(orders|products)"]})


def test_allowed_columns_name_each_column_with_its_table_and_an_unqualified_one_matches_too():
    columns = {"allowedColumns": ["select::Products::name", "select::Products::id"]}
    assert passes("is-sql", "SELECT name FROM Products WHERE id = 3", columns)
    assert passes("is-sql", "SELECT p.name FROM Products p", columns)  # alias resolved to its table
    assert not passes("is-sql", "SELECT price FROM Products", columns)
    assert not passes("is-sql", "SELECT * FROM Products", columns)  # `*` is every column
    assert not passes("is-sql", "SELECT name FROM Products", {"allowedColumns": ["select::null::DoesntExist"]})


def test_contains_sql_reads_the_sql_code_blocks_of_an_answer():
    answer = "Here you go:\n```sql\nSELECT name FROM Products\n```\nAnything else?"
    assert passes("contains-sql", answer) and not passes("is-sql", answer)
    assert not passes("contains-sql", "Here you go:\n```python\nprint(1)\n```")
    assert passes("not-contains-sql", "No SQL here.")


def test_a_database_type_picks_the_dialect():
    assert passes("is-sql", "SELECT generate_series(1, 3)", {"databaseType": "PostgreSQL"})
    assert not passes("is-sql", "SELECT generate_series(1, 3)", {"databaseType": "MySQL"})
    assert passes("is-sql", "SELECT TOP 3 name FROM [Products]", {"databaseType": "TransactSQL"})


@pytest.mark.parametrize("output, why", [
    ("SELECT 1 " * 20_000, "the output is 180,000 characters long"),
    ("SELECT " + "(" * 40_000 + "1" + ")" * 40_000, "the output nests too deeply to parse"),
])
def test_an_output_that_cannot_be_parsed_is_an_error_never_a_verdict(output, why):
    with pytest.raises(AssertionBroken) as caught:
        asyncio.run(score_output((AssertionSpec("not-is-sql", file="s.yaml", line=4),), None, output))
    assert str(caught.value).startswith(f"s.yaml:4: not-is-sql: {why}")


SUITE = "prompts: ['{{q}}']\nproviders: [openai:chat:gpt-4o-mini]\ntests:\n  - vars: {q: count}\n    assert:\n"


def test_is_sql_loads_with_promptfoos_value_and_rejects_a_bad_one_with_its_line():
    suite = ok(SUITE + "      - type: is-sql\n      - type: not-is-sql\n        value: {databaseType: PostgreSQL, allowedTables: ['select::null::t']}\n")
    assert [a.type for a in suite.tests[0].asserts] == ["is-sql", "not-is-sql"]
    errors = refused(SUITE + "      - type: is-sql\n        value: {databaseType: Oracle9}\n"
                             "      - type: is-sql\n        value: {allowedTables: ['select::null::(']}\n"
                             "      - type: is-sql\n        value: SELECT 1\n")
    assert errors[0].startswith("evals/promptfooconfig.yaml:7: is-sql: databaseType 'Oracle9' is not one of")
    assert errors[1].startswith("evals/promptfooconfig.yaml:9: is-sql: allowedTables entry 'select::null::(' is not a valid regular expression")
    assert errors[2].startswith("evals/promptfooconfig.yaml:11: is-sql: value must be a mapping")
