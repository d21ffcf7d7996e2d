"""The example repo's pull requests as real ReviewResults: real prompt files, the real semantic
diff, real evals against the scripted model server on loopback, the real approval verdict."""

from __future__ import annotations

import asyncio
from pathlib import Path

from bot.core.config import EvalsConfig
from bot.core.files import MemoryTree
from bot.core.semdiff import diff_prompt
from bot.evals import EvalRequest, MemoryCache, run_evals
from bot.evals.explain import ExplainRequest, explain
from bot.modelserver.app import create_app
from bot.serving import start_in_thread
from tests.render import builders as b

EXAMPLE = Path(__file__).resolve().parents[2] / "examples/support-bot"
SYSTEM = "prompts/support/system.md"


def tree(pull: str | None = None) -> MemoryTree:
    files = {
        str(p.relative_to(EXAMPLE)): p.read_bytes()
        for p in EXAMPLE.rglob("*")
        if p.is_file() and "pulls" not in p.relative_to(EXAMPLE).parts
    }
    if pull:
        overlay = EXAMPLE / "pulls" / pull
        for p in overlay.rglob("*"):
            if p.is_file() and p.name != "pr.json":
                files[str(p.relative_to(overlay))] = p.read_bytes()
    return MemoryTree(files)


def example_result(pull: str, **fields) -> b.ReviewResult:
    """The review of `pulls/<pull>/` against the example's main branch."""
    base, head = tree(), tree(pull)
    before, after = base.read(SYSTEM).decode(), head.read(SYSTEM).decode()
    semdiff = diff_prompt(SYSTEM, base, head)
    prompt = b.prompt_change(SYSTEM, before, after, semdiff=semdiff)
    with start_in_thread(create_app()) as server:
        request = EvalRequest(
            base=base, head=head, config=EvalsConfig(), suites=["evals/support/promptfooconfig.yaml"],
            env={"OPENAI_BASE_URL": server.url + "/v1", "OPENAI_API_KEY": "test-key"},
            formatting_only=frozenset({SYSTEM}) if semdiff.formatting_only else frozenset(),
        )
        cache = MemoryCache()
        report = asyncio.run(run_evals(request, cache))
        explanation = asyncio.run(explain(
            ExplainRequest(base=base, head=head, prompts=(prompt,), config=request.config, env=request.env), report, cache
        ))
    regressed = bool(report.cases(b.CaseStatus.REGRESSED))
    fields.setdefault("approval", b.approval(regressed=regressed))
    return b.result([prompt], evals=report, explanation=explanation, **fields)
