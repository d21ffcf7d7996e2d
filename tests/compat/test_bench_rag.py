"""bench/suites/rag — a Bedrock knowledge base graded against its own citations by contextTransform, beside a chat
model without citations — runs through the eval engine against the scripted model server with the verdicts
`promptfoo eval` 0.121.20 gave on the same server (`bench/vs_promptfoo.py --suite rag`: 18 of 18 agree, on the base
and on the PR head)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from bot.core.files import MemoryTree
from bot.evals import CaseStatus, EvalRequest, NoCache, run_evals

ROOT = Path(__file__).resolve().parents[2] / "bench" / "suites" / "rag"
SUITE = "promptfooconfig.yaml"
KB, CHAT = "bedrock:kb:anthropic.claude-3-5-haiku-20241022-v1:0", "openai:chat:gpt-4o-mini"
# promptfoo 0.121.20 passes these 8 of 18 (the chat model has no citations: its context is a fallback or nothing)
PROMPTFOO_PASSES = {
    ("faithful to every cited passage", KB), ("relevance of the passage that restates the question", KB),
    ("recall of the expected answer in the cited passages (a file)", KB), ("a function body over the answer and the metadata", KB),
    ("a function body over the answer and the metadata", CHAT), ("the context var is replaced by the transform", KB),
    ("the context var is replaced by the transform", CHAT), ("javascript reads the citations", KB),
}


def tree(with_pr: bool = False) -> MemoryTree:
    files = {p.relative_to(ROOT).as_posix(): p.read_bytes() for p in ROOT.rglob("*") if p.is_file() and p.relative_to(ROOT).parts[0] != "pr"}
    if with_pr:
        files.update({p.relative_to(ROOT / "pr").as_posix(): p.read_bytes() for p in (ROOT / "pr").rglob("*") if p.is_file()})
    return MemoryTree(files)


def run(url: str, base: MemoryTree, head: MemoryTree):
    env = {"OPENAI_BASE_URL": f"{url}/v1", "OPENAI_API_KEY": "test", "BEDROCK_AGENT_RUNTIME_BASE_URL": url, "AWS_BEARER_TOKEN_BEDROCK": "test"}
    return asyncio.run(run_evals(EvalRequest(base=base, head=head, suites=[SUITE], env=env), NoCache()))


def test_rag_suite_passes_exactly_the_cases_promptfoo_passes_and_errors_where_promptfoo_errors(server_url):
    report = run(server_url, MemoryTree({}), tree())
    assert report.errors == () and len(report.cases()) == 18
    assert {(c.description, c.provider_id) for c in report.cases() if c.head.passed} == PROMPTFOO_PASSES
    errors = {(c.description, c.provider_id): c.head.error.split(": ", 2)[1] for c in report.cases() if c.head.error}
    assert errors == {
        ("recall of the expected answer in the cited passages (a file)", CHAT): "context-recall contextTransform",
        ("a transform that is not a context (a number)", KB): "context-relevance contextTransform",
        ("a transform that is not a context (a number)", CHAT): "context-relevance contextTransform",
        ("a transform that throws", KB): "context-faithfulness contextTransform",
        ("a transform that throws", CHAT): "context-faithfulness contextTransform",
    }


def test_rag_pr_appending_an_apology_regresses_the_answer_the_regex_anchors(server_url):
    report = run(server_url, tree(), tree(with_pr=True))
    regressed = {(c.description, c.provider_id) for c in report.cases() if c.status is CaseStatus.REGRESSED}
    assert regressed == {("javascript reads the citations", KB)}
