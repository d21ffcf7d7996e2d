"""bot/core stays pure (STYLE.md): no module in it reaches the disk, network, clock, environment or
processes; callers such as bench/ and the pipeline hand it loaded data."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

CORE = Path(__file__).resolve().parents[2] / "bot" / "core"
IMPURE_MODULES = {"os", "pathlib", "io", "shutil", "tempfile", "glob", "socket", "subprocess", "time", "httpx",
                  "requests", "urllib", "sqlalchemy", "sqlite3", "asyncio", "threading"}
IMPURE_CALLS = {"open", "read_text", "read_bytes", "write_text", "write_bytes", "getenv"}


def _problems(source: str) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [f"import {a.name}" for a in node.names if a.name.split(".")[0] in IMPURE_MODULES]
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] in IMPURE_MODULES:
            found.append(f"from {node.module} import …")
        elif isinstance(node, ast.Call):
            name = node.func.id if isinstance(node.func, ast.Name) else getattr(node.func, "attr", None)
            if name in IMPURE_CALLS:
                found.append(f"{name}() on line {node.lineno}")
    return found


@pytest.mark.parametrize("module", sorted(p.relative_to(CORE).as_posix() for p in CORE.rglob("*.py")))
def test_core_module_does_no_io(module):
    assert _problems((CORE / module).read_text(encoding="utf-8")) == []


def test_the_check_catches_a_disk_read():
    assert _problems("from pathlib import Path\ntext = Path('x').read_text()\n") == ["from pathlib import …", "read_text() on line 2"]
