"""TypeScript suite code: esbuild strips the types (a bounded child process), QuickJS runs the JavaScript."""

from __future__ import annotations

import asyncio

import pytest

from bot.evals.sandbox import Fault, JsCode, SandboxError, code_for, run_code, transform
import bot.evals.sandbox.typescript as typescript
from bot.evals.sandbox.typescript import TranspileError, transpile
from bot.evals.suite import code_fingerprint, code_identity

GRADER = """\
interface Context { vars: Record<string, string> }
type Verdict = { pass: boolean; score: number; reason: string };

enum Level { Low = 1, High = 2 }

export function mentions(output: string, context: Context): Verdict {
  const word = context.vars.word as string;
  const hit: boolean = output.includes(word);
  return { pass: hit, score: hit ? Level.High / 2 : 0, reason: `looked for ${word}` };
}

export default (output: string): number => output.length > 3 ? 1 : 0;
"""

FILES = {
    "evals/grade.ts": GRADER,
    "evals/upper.mts": "export default function (output: string): string { return output.toUpperCase() as string }\n",
    "evals/broken.ts": "const ok = 1;\nconst x: = ;\n",
}


def test_a_typescript_assertion_runs_its_named_and_default_exports():
    named = code_for("javascript", "file://evals/grade.ts:mentions", FILES.get)
    assert isinstance(named, JsCode) and named.file == "evals/grade.ts" and named.written == GRADER
    assert "interface" not in named.source and ": string" not in named.source
    result = asyncio.run(run_code(named, "30 days", {"vars": {"word": "days"}}))
    assert result.passed and result.score == 1.0 and result.reason == "looked for days"
    assert not asyncio.run(run_code(named, "a week", {"vars": {"word": "days"}})).passed
    default = code_for("javascript", "file://evals/grade.ts", FILES.get)
    assert asyncio.run(run_code(default, "long", {})).passed
    assert not asyncio.run(run_code(default, "no", {})).passed


def test_a_typescript_transform_runs():
    code = code_for("javascript", "file://evals/upper.mts", FILES.get)
    assert asyncio.run(transform(code, "30 days", {})) == "30 DAYS"


def test_a_typescript_syntax_error_names_the_file_line_and_column():
    with pytest.raises(SandboxError) as caught:
        code_for("javascript", "file://evals/broken.ts", FILES.get)
    assert caught.value.fault is Fault.UNSUPPORTED
    assert caught.value.message.startswith("evals/broken.ts:2:10: TypeScript syntax error: Unexpected")


def test_jsx_in_a_ts_file_is_a_located_error_not_code():
    with pytest.raises(TranspileError) as caught:
        transpile("const a = 1;\nconst b = <div/>;\n", "evals/view.ts")
    assert (caught.value.file, caught.value.line) == ("evals/view.ts", 2)


def test_the_code_gate_compares_the_typescript_as_written():
    # a change to the types alone makes the same JavaScript, and is still changed code
    base = code_for("javascript", "file://g.ts", {"g.ts": "export default (o: string) => o.length > 1;\n"}.get)
    head = code_for("javascript", "file://g.ts", {"g.ts": "export default (o: any) => o.length > 1;\n"}.get)
    assert isinstance(base, JsCode) and isinstance(head, JsCode) and base.source == head.source
    assert code_identity(base) != code_identity(head)
    assert code_fingerprint(base) != code_fingerprint(head)


def test_hostile_typescript_is_bounded_in_memory():
    # nested parentheses cost esbuild's parser ~2 KB each: 400 KB of them needs ~930 MB unbounded
    deep = "const a: number = " + "(" * 200_000 + "1" + ")" * 200_000 + ";\n"
    with pytest.raises(TranspileError) as caught:
        transpile(deep, "evals/deep.ts")
    assert "needed over 512 MB" in caught.value.message


def test_without_esbuild_typescript_is_an_error_saying_so(monkeypatch, tmp_path):
    monkeypatch.setenv("PROMPT_REVIEW_ESBUILD", str(tmp_path / "absent"))
    with pytest.raises(SandboxError) as caught:
        code_for("javascript", "file://evals/grade.ts", FILES.get)
    assert caught.value.message == ("evals/grade.ts: TypeScript is not run here: esbuild is not installed "
                                    "(npm ci in tools/esbuild, or set PROMPT_REVIEW_ESBUILD)")


def test_an_esbuild_on_the_path_is_used_when_the_repository_has_none(monkeypatch, tmp_path):
    """The container image installs the package (no tools/esbuild beside it) and puts the binary on PATH."""
    installed = typescript.esbuild_path()
    assert installed is not None
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "esbuild").symlink_to(installed)
    monkeypatch.delenv("PROMPT_REVIEW_ESBUILD", raising=False)
    monkeypatch.setattr(typescript, "_MODULES", tmp_path / "no-node-modules")
    monkeypatch.setenv("PATH", str(bin_dir))
    assert typescript.esbuild_path() == str(bin_dir / "esbuild")
    assert "const x = 1" in transpile("const x: number = 1;\n", "evals/x.ts")
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    assert typescript.esbuild_path() is None
