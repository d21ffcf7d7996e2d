"""Model-graded assertions (llm-rubric, similar, factuality, closed QA, g-eval, answer relevance and the
context-* checks) through a configurable grader provider.

The grader is set per suite with `defaultTest.options.provider`, per test with
`options.provider`, or per assertion with `provider`; these are the defaults otherwise.
"""

from __future__ import annotations

import json
import re
from typing import Any

from bot.core.parts import Parts, leaves, replace_leaves
from bot.evals import graded_steps
from bot.evals.assertions import CodeContext, json_candidates
from bot.evals.similarity import measure
from bot.evals.classifier import EMBED_APIS, SIMILARITY_API
from bot.evals.providers import Caller, Completion, ProviderError
from bot.evals.grader_transform import grader_prompt
from bot.evals.providers_code import call_code_provider, code_embedding
from bot.evals.providers_parts import prompt_json
from bot.evals.suite import FACTUALITY_CATEGORIES, STEPPED_GRADED, AssertionSpec, ProviderSpec

DEFAULT_GRADER = ProviderSpec("openai:chat:gpt-4.1-mini", "openai", "gpt-4.1-mini", params=(("temperature", 0),))
DEFAULT_EMBEDDER = ProviderSpec("openai:text-embedding-3-small", "openai", "text-embedding-3-small")

RUBRIC_SYSTEM = (
    "You grade an output against a rubric. Reply with only a JSON object: "
    '{"reason": "<one sentence>", "pass": true or false, "score": <number from 0 to 1>}.'
)


# Our own instructions per one-call model-graded type; each asks for one JSON object so the verdict is parsed, not
# guessed (g-eval, answer-relevance and the context-* checks take several steps: bot.evals.graded_steps).
GRADED_TASKS = {
    "factuality": (
        "Compare the factual content of a submitted answer with an expert answer to the same question. Classify it: "
        "A = the submission is a subset of the expert answer and consistent with it; B = a superset and consistent; "
        "C = the same details; D = it disagrees with the expert answer; E = they differ, but not in a way that "
        'matters for factuality. Reply with only {"category": "A"|"B"|"C"|"D"|"E", "reason": "<one sentence>"}.'
    ),
    "model-graded-closedqa": (
        "Decide whether a submitted answer meets the given criterion. "
        'Reply with only {"pass": true or false, "reason": "<one sentence>"}.'
    ),
}
GRADED_TASKS["model-graded-factuality"] = GRADED_TASKS["factuality"]
RELEVANCE_TASK = (
    "Below is a conversation between a user and an assistant as a JSON list of messages. Decide whether the last "
    "assistant message is relevant to what the user said, using the earlier messages as context; only a reply that "
    "has nothing to do with the user's messages is irrelevant (a vague answer to a vague message is relevant). "
    'Reply with only {"verdict": "yes" or "no", "reason": "<one sentence, when no>"}.'
)
SELECT_BEST_TASK = (
    "Several outputs were written for the same task. Pick the one output that meets the criterion best. "
    "Reply with only its index (the number in its <Output index=...> tag), nothing else."
)
_PLACEHOLDER = re.compile(r"{{\s*(output|rubric|input|query|context|prompt)\s*(\|\s*dump\s*)?}}")


def fill(template: str, values: dict[str, str]) -> str:
    """A rubricPrompt with {{ output }}, {{ rubric }}, {{ query }}, {{ context }} filled in (`| dump`: as JSON)."""
    def one(m: re.Match) -> str:
        name = "query" if m.group(1) in ("input", "prompt") else m.group(1)
        value = values.get(name, "")
        return json.dumps(value, ensure_ascii=False) if m.group(2) else value

    return _PLACEHOLDER.sub(one, template)


def rubric_messages(rubric_prompt: str, values: dict[str, str]) -> tuple[tuple[str, str], ...]:
    """A rubricPrompt as messages: a JSON message list, or one user message."""
    try:
        data = json.loads(rubric_prompt)
    except ValueError:
        data = None
    if isinstance(data, list):
        return tuple((m["role"], _fill_content(m["content"], values)) for m in data)
    return (("user", fill(rubric_prompt, values)),)


def _fill_content(content: Any, values: dict[str, str]) -> str:
    if isinstance(content, list):  # content parts: every text in them filled in, the parts kept
        texts = [fill(t, values) for t in leaves(content)]
        return Parts(replace_leaves(content, texts))
    return fill(content, values)


class ModelGrader:
    def __init__(self, caller: Caller):
        self.caller = caller

    async def _complete(self, spec: ProviderSpec, messages: tuple[tuple[str, Any], ...]) -> Completion:
        """The grader's answer: a model's, or a grader written in code answering in the sandbox as promptfoo calls one
        (callApi with the grading prompt as text, `{prompt: {raw, label}, vars}`); the gate let its code through."""
        if spec.kind != "code":
            if spec.prompt_transform is not None:  # a SageMaker grader's transform (the gate let it through)
                messages = (("user", await grader_prompt(self.caller, spec, prompt_json(messages))),)
            return await self.caller.complete(spec, messages)
        text = prompt_json(messages)
        context = CodeContext({}, text, {}, {"id": spec.id, "label": spec.label}, self.caller.code_limits)
        return await call_code_provider(self.caller, spec, context, "grader")

    async def _embed(self, spec: ProviderSpec, text: str) -> list[float]:
        if spec.kind == "code":  # promptfoo: the provider's callEmbeddingApi
            return await code_embedding(self.caller, spec, text, self.caller.code_limits)
        if spec.prompt_transform is not None:  # promptfoo's SageMaker callEmbeddingApi transforms the text first
            text = await grader_prompt(self.caller, spec, text)
        return await self.caller.embed(spec, text)

    async def _verdict(self, spec: ProviderSpec, messages: tuple[tuple[str, str], ...], field: str) -> dict[str, Any]:
        reply = (await self._complete(spec, messages)).text
        for candidate in json_candidates(reply):
            if isinstance(candidate, dict) and field in candidate:
                return candidate
        raise ProviderError(f"grader {spec.id} did not answer with a JSON verdict: {json.dumps(reply[:120])}")

    async def rubric(self, grader: ProviderSpec | None, rubric: str, output: str, rubric_prompt: str | None = None,
                     inputs: tuple[tuple[str, str], ...] = ()) -> tuple[bool, float, str]:
        spec = grader or DEFAULT_GRADER
        if rubric_prompt is not None:
            messages = rubric_messages(rubric_prompt, {**dict(inputs), "output": output, "rubric": rubric})
        else:
            messages = (
                ("system", RUBRIC_SYSTEM),
                ("user", f"<Output>\n{output}\n</Output>\n<Rubric>\n{rubric}\n</Rubric>"),
            )
        candidate = await self._verdict(spec, messages, "pass")
        passed = bool(candidate["pass"])
        try:
            score = float(candidate.get("score", 1.0 if passed else 0.0))
        except (TypeError, ValueError):
            score = 1.0 if passed else 0.0
        return passed, max(0.0, min(1.0, score)), str(candidate.get("reason", ""))

    async def graded(self, a: AssertionSpec, grader: ProviderSpec | None, value: Any, output: str,
                     prompt: str = "") -> tuple[bool, float, str]:
        """factuality, model-graded-closedqa, g-eval, answer-relevance, context-*: (pass, score 0..1, reason).
        `prompt` is the rendered prompt (g-eval's input; the query or context when the test has no such var)."""
        spec = grader or DEFAULT_GRADER
        kind = a.base_type
        inputs = dict(a.inputs)
        if kind in STEPPED_GRADED:
            graded = await self._stepped(a, spec, value, output, prompt)
            return True, max(0.0, min(1.0, graded.score)), graded.reason
        criteria = "\n".join(str(v) for v in value) if isinstance(value, list) else ("" if value is None else str(value))
        if a.rubric_prompt is not None:
            values = {**inputs, "output": output, "rubric": criteria}
            messages = rubric_messages(a.rubric_prompt, values)
        else:
            parts = [f"<Question>\n{inputs['query']}\n</Question>"] if "query" in inputs else []
            label = {"factuality": "Expert answer", "model-graded-factuality": "Expert answer", "model-graded-closedqa": "Criterion"}.get(kind)
            if label and criteria:
                parts.append(f"<{label}>\n{criteria}\n</{label}>")
            parts.append(f"<Output>\n{output}\n</Output>")
            messages = (("system", GRADED_TASKS[kind]), ("user", "\n".join(parts)))
        if kind in ("factuality", "model-graded-factuality"):
            answer = await self._verdict(spec, messages, "category")
            category = str(answer["category"]).strip().upper()[:1]
            if category not in "ABCDE" or not category:
                raise ProviderError(f"grader {spec.id} answered an unknown factuality category {category!r}")
            # options.factuality scores each category (promptfoo's defaults: all 1 but D, a disagreement, 0);
            # a category scoring more than 0 passes, with that score
            score = dict(a.factuality or ((letter, default) for letter, _, default in FACTUALITY_CATEGORIES))[category]
            return score > 0, score, str(answer.get("reason", ""))
        if kind == "model-graded-closedqa":
            answer = await self._verdict(spec, messages, "pass")
            passed = bool(answer["pass"])
            return passed, 1.0 if passed else 0.0, str(answer.get("reason", ""))
        raise ProviderError(f"{a.type} is not a model-graded type")

    async def _stepped(self, a: AssertionSpec, spec: ProviderSpec, value: Any, output: str, prompt: str) -> graded_steps.Graded:
        kind = a.base_type
        inputs = dict(a.inputs)
        override = a.rubric_prompt

        async def ask(messages: graded_steps.Messages) -> str:
            return (await self._complete(spec, messages)).text

        if kind == "g-eval":
            criteria = [str(v) for v in value] if isinstance(value, list) else ["" if value is None else str(value)]
            return await graded_steps.g_eval(ask, criteria, prompt, output, override)
        if kind == "answer-relevance":
            embedder = self._embedder(a.embedder or spec)

            async def embed(text: str) -> list[float]:
                return await self._embed(embedder, text)

            return await graded_steps.answer_relevance(ask, embed, inputs.get("query", prompt), output, override)
        variables = {k: v for k, v in inputs.items() if not k.startswith("_")}
        if kind == "context-recall":
            return await graded_steps.context_recall(ask, inputs.get("context", prompt), "" if value is None else str(value),
                                                     override, variables)
        if kind == "context-relevance":
            return await graded_steps.context_relevance(ask, inputs.get("query", ""), inputs.get("context", ""), override)
        return await graded_steps.context_faithfulness(ask, inputs.get("query", ""), output, inputs.get("context", ""), override, variables)

    @staticmethod
    def _embedder(grader: ProviderSpec | None) -> ProviderSpec:
        """The grader when it is an embedding model, else the default embedder (at the grader's base URL)."""
        embeds = grader is not None and (grader.kind == "code" or "embedding" in grader.model or grader.option("api") in EMBED_APIS)
        spec = grader if embeds and grader is not None else DEFAULT_EMBEDDER
        if grader is not None and spec is DEFAULT_EMBEDDER and grader.base_url:
            spec = ProviderSpec(DEFAULT_EMBEDDER.id, "openai", DEFAULT_EMBEDDER.model, base_url=grader.base_url)
        return spec

    async def relevant(self, grader: ProviderSpec | None, window: list[tuple[str, str]]) -> bool:
        """conversation-relevance: is the last assistant turn of this window relevant (yes/no)."""
        spec = grader or DEFAULT_GRADER
        chat = [{"role": role, "content": text} for turn in window for role, text in zip(("user", "assistant"), turn)]
        answer = await self._verdict(spec, (("system", RELEVANCE_TASK), ("user", json.dumps(chat, ensure_ascii=False, indent=2))), "verdict")
        verdict = str(answer["verdict"]).strip().lower()
        if verdict not in ("yes", "no"):
            raise ProviderError(f"grader {spec.id} answered a relevance verdict that is neither yes nor no: {verdict[:40]!r}")
        return verdict == "yes"

    async def select_best(self, grader: ProviderSpec | None, criterion: str, outputs: list[str]) -> int:
        """select-best: the index of the output the grader picks (promptfoo reads the first integer of
        the answer); an answer without a valid index is an error, never a pick."""
        spec = grader or DEFAULT_GRADER
        listed = "\n".join(f'<Output index="{i}">\n{o}\n</Output>' for i, o in enumerate(outputs))
        messages = (("system", SELECT_BEST_TASK), ("user", f"<Criterion>\n{criterion}\n</Criterion>\n{listed}"))
        reply = (await self._complete(spec, messages)).text
        found = re.search(r"\d+", reply.strip())
        index = int(found.group(0)) if found else -1
        if not 0 <= index < len(outputs):
            raise ProviderError(f"grader {spec.id} did not answer select-best with the index of one of the {len(outputs)} outputs: "
                                f"{json.dumps(reply[:120])}")
        return index

    async def similarity(self, grader: ProviderSpec | None, expected: str, output: str, metric: str = "cosine") -> float:
        """`similar`'s measure of the two texts: cosine (default), dot product or euclidean distance of their
        embeddings (bot.evals.similarity); a sentence-similarity model scores the pair itself (cosine only)."""
        spec = self._embedder(grader)
        if spec.option("api") == SIMILARITY_API:  # the model scores the pair itself (promptfoo's callSimilarityApi)
            if metric != "cosine":  # the loader refuses it; a grader bound later must not be read as a distance
                raise ProviderError(f"{spec.id}: a sentence-similarity model gives cosine similarity only, not {metric}")
            return await self.caller.similarity(spec, expected, output)
        a = await self._embed(spec, expected)
        b = await self._embed(spec, output)
        return measure(metric, a, b)

    async def classification(self, grader: ProviderSpec, output: str) -> dict[str, float]:
        """`classifier`: the labels and scores the classification model gives the output."""
        return await self.caller.classify(grader, output)
