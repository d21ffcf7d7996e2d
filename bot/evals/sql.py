"""The is-sql / contains-sql assertions: is the output SQL of the given database's dialect, and does it
touch only the tables and columns a whitelist allows (promptfoo's `value: {databaseType, allowedTables,
allowedColumns}`). Parsed with sqlglot; the whitelist entries are regexes from the suite, run through
bot.evals.patterns like every suite pattern.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import sqlglot
from sqlglot import exp
from sqlglot.errors import SqlglotError

from bot.evals.patterns import RegexClock

MAX_SQL_CHARS = 100_000  # a longer "query" is not parsed: the case is an error, never a pass

# promptfoo's databaseType names (node-sql-parser's) → sqlglot's dialect; "" is sqlglot's generic SQL
DIALECTS = {
    "mysql": "mysql", "mariadb": "mysql", "postgresql": "postgres", "sqlite": "sqlite", "transactsql": "tsql",
    "bigquery": "bigquery", "snowflake": "snowflake", "redshift": "redshift", "hive": "hive", "athena": "athena",
    "trino": "trino", "db2": "", "flinksql": "", "noql": "",
}
VALUE_KEYS = {"databaseType", "allowedTables", "allowedColumns"}
_STATEMENTS = (exp.Query, exp.Insert, exp.Update, exp.Delete, exp.Merge, exp.DDL, exp.Alter, exp.Drop, exp.Use,
               exp.Set, exp.Show, exp.Describe, exp.Transaction, exp.Commit, exp.Rollback, exp.TruncateTable, exp.Command)
_IDENT = r"[A-Za-z_][A-Za-z0-9_]*"
_MYSQL_MODIFIERS = ("all", "distinct", "distinctrow", "high_priority", "straight_join", "sql_big_result",
                    "sql_buffer_result", "sql_cache", "sql_calc_found_rows", "sql_no_cache", "sql_small_result")


class SqlNotRead(ValueError):
    """The output was not parsed (longer than MAX_SQL_CHARS, or nested past the parser's recursion): no
    verdict, since calling it "not SQL" would let a not-is-sql pass unchecked."""


@dataclass(frozen=True)
class SqlValue:
    """An is-sql assertion's value, checked when the suite is loaded."""

    database: str = "MySQL"
    tables: tuple[str, ...] | None = None
    columns: tuple[str, ...] | None = None


def parse_value(value: Any) -> tuple[SqlValue | None, str | None]:
    """(the value, or None and what is wrong with it): a mapping with promptfoo's keys, or nothing."""
    if value is None:
        return SqlValue(), None
    if not isinstance(value, dict):
        return None, "value must be a mapping (databaseType, allowedTables, allowedColumns) or absent"
    unknown = sorted(set(value) - VALUE_KEYS)
    if unknown:
        return None, f"unknown key {unknown[0]!r} (is-sql reads {', '.join(sorted(VALUE_KEYS))})"
    database = value.get("databaseType") or "MySQL"
    if not isinstance(database, str) or database.lower() not in DIALECTS:
        return None, f"databaseType {database!r} is not one of {', '.join(sorted(DIALECTS))} (any case)"
    lists: dict[str, tuple[str, ...] | None] = {}
    for key in ("allowedTables", "allowedColumns"):
        entries = value.get(key)
        if entries is not None and (not isinstance(entries, list) or not all(isinstance(e, str) for e in entries)):
            return None, f"{key} must be a list of 'type::database::table' (or 'type::table::column') texts"
        lists[key] = tuple(entries) if entries is not None else None
    return SqlValue(database, lists["allowedTables"], lists["allowedColumns"]), None


def _missing_comma(sql: str, database: str) -> bool:
    """`SELECT a b FROM t` is valid SQL (b an alias of a) but almost always a dropped comma: promptfoo
    fails it, so we do too. Quoted text and comments are blanked first so they cannot trigger it."""
    brackets = database.lower() in ("transactsql", "sqlite")
    blanked = re.sub(r"'(?:[^'\\]|\\.|'')*'?|\"(?:[^\"\\]|\\.|\"\")*\"?|`[^`]*`?" + (r"|\[[^\]]*\]?" if brackets else "")
                     + r"|--[^\r\n]*|#[^\r\n]*|/\*.*?(?:\*/|$)|\$(\w*)\$.*?(?:\$\1\$|$)", " ? ", sql, flags=re.S)
    modifiers = _MYSQL_MODIFIERS if database.lower() in ("mysql", "mariadb") else ("all", "distinct")
    words = rf"(?:{'|'.join(modifiers)})"
    return re.search(rf"\bselect\s+(?:{words}\s+)*(?!{words}\b){_IDENT}\s+{_IDENT}\s+from\b", blanked, re.I) is not None


def _statements(sql: str, database: str) -> list[exp.Expr] | None:
    """The parsed statements, or None when the text is not SQL of this dialect."""
    text = sql.strip()
    if not text or text.count("`") % 2:
        return None
    if _missing_comma(text, database) or (database == "MySQL" and re.search(r"\bgenerate_series\s*\(", text, re.I)):
        return None
    try:
        parsed = [s for s in sqlglot.parse(text, read=DIALECTS[database.lower()] or None) if s is not None]
    except RecursionError:
        raise SqlNotRead("the output nests too deeply to parse") from None
    except (SqlglotError, ValueError):
        return None
    if not parsed or not all(isinstance(s, _STATEMENTS) for s in parsed):
        return None  # a bare expression ("Hello world" reads as a column alias) is not a statement
    if any(isinstance(s, exp.Select) and not s.expressions for s in parsed):
        return None
    return parsed


def _kind(node: exp.Expr, root: exp.Expr) -> str:
    """The statement kind a table or column is used under: the target of an INSERT/UPDATE/DELETE is
    written, everything else is read (`select`), as node-sql-parser names them."""
    if isinstance(root, exp.Insert) and node in (root.this, getattr(root.this, "this", None)):
        return "insert"
    if isinstance(root, exp.Update) and node is root.this:
        return "update"
    if isinstance(root, exp.Delete) and node is root.this:
        return "delete"
    if isinstance(root, exp.DDL | exp.Drop | exp.Alter) and node is root.this:
        return type(root).__name__.upper()
    return "select"


def authorities(statements: list[exp.Expr]) -> tuple[list[str], list[str]]:
    """('kind::db::table' for each table, 'kind::table::column' for each column): the names whitelists
    match, with `null` for a missing database or table and `(.*)` for `*`."""
    tables: list[str] = []
    columns: list[str] = []
    for root in statements:
        aliases = {t.alias_or_name: t.name for t in root.find_all(exp.Table) if t.name}
        for t in root.find_all(exp.Table):
            if t.name:
                tables.append(f"{_kind(t, root)}::{t.db or 'null'}::{t.name}")
        for c in root.find_all(exp.Column):
            if isinstance(c.this, exp.Star):
                columns.append(f"select::{aliases.get(c.table, c.table) or 'null'}::(.*)")
                continue
            kind = "update" if isinstance(root, exp.Update) and isinstance(c.parent, exp.EQ) and c.parent.this is c \
                and c.parent.parent is root else "select"
            table = aliases.get(c.table, c.table) if c.table else "null"
            columns.append(f"{kind}::{table}::{c.name}")
        if isinstance(root, exp.Insert) and isinstance(root.this, exp.Schema) and isinstance(root.this.this, exp.Table):
            columns += [f"insert::{root.this.this.name}::{i.name}" for i in root.this.expressions]
        if isinstance(root, exp.Delete) and isinstance(root.this, exp.Table):
            columns.append(f"delete::{root.this.name}::(.*)")
        for select in root.find_all(exp.Select):
            if any(isinstance(e, exp.Star) for e in select.expressions):
                columns.append("select::null::(.*)")
    return list(dict.fromkeys(tables)), list(dict.fromkeys(columns))


def _allowed(found: list[str], allowed: tuple[str, ...], regexes: RegexClock) -> bool:
    # node-sql-parser's rule: every name must match one entry, read as a case-insensitive regex
    return all(any(regexes.search(f"(?i)^(?:{entry})$", name) for entry in allowed) for name in found)


def is_sql(output: str, value: SqlValue, regexes: RegexClock) -> bool:
    """promptfoo's is-sql: valid SQL of `value.database`, and only whitelisted tables and columns.
    Raises SqlNotRead; a whitelist regex that is slow raises PatternTimeout (bot.evals.patterns)."""
    if len(output) > MAX_SQL_CHARS:
        raise SqlNotRead(f"the output is {len(output):,} characters long; is-sql parses at most {MAX_SQL_CHARS:,}")
    statements = _statements(output, value.database)
    if statements is None:
        return False
    tables, columns = authorities(statements)
    if value.tables is not None and not _allowed(tables, value.tables, regexes):
        return False
    if value.columns is not None:
        columns_allowed = list(value.columns)
        for entry in value.columns:  # promptfoo: 'kind::Table::col' also allows the unqualified 'kind::null::col'
            parts = entry.split("::")
            if len(parts) == 3 and parts[1] != "null":
                columns_allowed.append(f"{parts[0]}::null::{parts[2]}")
        if not _allowed(columns, tuple(columns_allowed), regexes):
            return False
    return True


_FENCE = re.compile(r"^[ \t]{0,3}(`{3,}|~{3,})[ \t]*([^\r\n]*)$")


def sql_blocks(output: str) -> list[str]:
    """The bodies of the output's fenced code blocks tagged `sql` or untagged."""
    blocks: list[str] = []
    open_fence: tuple[str, bool] | None = None
    body: list[str] = []
    for line in re.split(r"\r\n?|\n", output):
        m = _FENCE.match(line)
        if open_fence is None:
            if m:
                open_fence, body = (m.group(1), m.group(2).strip().lower() in ("", "sql")), []
            continue
        if m and not m.group(2).strip() and m.group(1)[0] == open_fence[0][0] and len(m.group(1)) >= len(open_fence[0]):
            if open_fence[1]:
                blocks.append("\n".join(body).strip())
            open_fence = None
        else:
            body.append(line)
    return blocks


def contains_sql(output: str, value: SqlValue, regexes: RegexClock) -> bool:
    """promptfoo's contains-sql: one of the output's sql (or untagged) code blocks, or the whole output
    when it has none, passes is-sql."""
    candidates = sql_blocks(output) or [output]
    return any(is_sql(c, value, regexes) for c in candidates if c.strip())
