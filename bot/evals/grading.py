"""Model-graded assertions (llm-rubric, similar) through a configurable grader provider.

The grader is set per suite with `defaultTest.options.provider`, per test with
`options.provider`, or per assertion with `provider`; these are the defaults otherwise.
"""

from __future__ import annotations

import json

from bot.evals.assertions import cosine, json_candidates
from bot.evals.providers import Caller, ProviderError
from bot.evals.suite import ProviderSpec

DEFAULT_GRADER = ProviderSpec("openai:chat:gpt-4.1-mini", "openai", "gpt-4.1-mini", params=(("temperature", 0),))
DEFAULT_EMBEDDER = ProviderSpec("openai:text-embedding-3-small", "openai", "text-embedding-3-small")

RUBRIC_SYSTEM = (
    "You grade an output against a rubric. Reply with only a JSON object: "
    '{"reason": "<one sentence>", "pass": true or false, "score": <number from 0 to 1>}.'
)


class ModelGrader:
    def __init__(self, caller: Caller):
        self.caller = caller

    async def rubric(self, grader: ProviderSpec | None, rubric: str, output: str) -> tuple[bool, float, str]:
        spec = grader or DEFAULT_GRADER
        messages = (
            ("system", RUBRIC_SYSTEM),
            ("user", f"<Output>\n{output}\n</Output>\n<Rubric>\n{rubric}\n</Rubric>"),
        )
        reply = (await self.caller.complete(spec, messages)).text
        for candidate in json_candidates(reply):
            if isinstance(candidate, dict) and "pass" in candidate:
                passed = bool(candidate["pass"])
                try:
                    score = float(candidate.get("score", 1.0 if passed else 0.0))
                except (TypeError, ValueError):
                    score = 1.0 if passed else 0.0
                return passed, max(0.0, min(1.0, score)), str(candidate.get("reason", ""))
        raise ProviderError(f"grader {spec.id} did not answer with a JSON verdict: {json.dumps(reply[:120])}")

    async def similarity(self, grader: ProviderSpec | None, expected: str, output: str) -> float:
        spec = grader if grader is not None and "embedding" in grader.model else DEFAULT_EMBEDDER
        if grader is not None and spec is DEFAULT_EMBEDDER and grader.base_url:
            spec = ProviderSpec(DEFAULT_EMBEDDER.id, "openai", DEFAULT_EMBEDDER.model, base_url=grader.base_url)
        a = await self.caller.embed(spec, expected)
        b = await self.caller.embed(spec, output)
        return cosine(a, b)
