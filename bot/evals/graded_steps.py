"""The multi-step model-graded checks, scored the way promptfoo 0.121 scores them: g-eval (steps, then a
0–10 score), answer-relevance (questions from the output, compared with the query by embedding),
context-recall (sentences of the expected answer marked attributed), context-relevance (context sentences
extracted for the query) and context-faithfulness (statements from the output, then a verdict on each).
The instructions are prompt-review's own; each asks for the answer format its parser below reads.
"""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from bot.core.parts import Parts, leaves, replace_leaves
from bot.evals.assertions import cosine, json_candidates
from bot.evals.providers import ProviderError

Messages = tuple[tuple[str, str], ...]
Ask = Callable[[Messages], Awaitable[str]]  # one grader call: the reply's text
Embed = Callable[[str], Awaitable[list[float]]]

GEVAL_MAX = 10
ANSWER_RELEVANCE_QUESTIONS = 3  # promptfoo generates three questions and averages their similarity
ATTRIBUTED, NOT_ATTRIBUTED = "[Attributed]", "[Not Attributed]"
INSUFFICIENT = "Insufficient Information"
FINAL_VERDICTS = "Final verdict for each statement in order:"

GEVAL_STEPS_TASK = (
    "You turn evaluation criteria into a short checklist. Write 3 or 4 brief steps a reviewer can follow on any "
    "text to decide whether it satisfies the criteria. Reply with only a minified JSON object with one key, "
    '"steps", whose value is the list of steps as strings, for example {"steps":["…","…","…"]}.'
)
GEVAL_EVALUATE_TASK = (
    "Rate one reply to a prompt on a single criterion, following the evaluation steps. Reply with only a minified "
    f'JSON object with two keys: "score", a whole number from 0 to {GEVAL_MAX} ({GEVAL_MAX}: the criterion is fully and '
    'clearly met by the reply; 0: not met at all), and "reason", a short explanation that names what in the prompt '
    "and the reply led to it without repeating the score."
)
QUESTION_TASK = "Read the answer below and write the one question it most directly answers. Reply with only that question."
RECALL_TASK = (
    "Check an expected answer against a context one sentence at a time. For each sentence of the expected answer "
    f"write one numbered line: the sentence, a few words on whether the context backs it, then {ATTRIBUTED} when the "
    f"context supports it or {NOT_ATTRIBUTED} when it does not. Write nothing but these lines."
)
RELEVANCE_TASK = (
    "Copy, word for word and one per line, the sentences of the context that are needed to answer the query, and "
    "nothing else. If no sentence helps, or the query cannot be answered from the context, reply with exactly: "
    f"{INSUFFICIENT}"
)
STATEMENTS_TASK = (
    "Break the response to the question below into short standalone statements, at least one per sentence of the "
    "response, each on its own line, with pronouns replaced by what they refer to. Reply with only the statements."
)
VERDICTS_TASK = (
    "Decide for each numbered statement whether the context supports it. For each, write the statement, a short "
    "explanation and then 'Verdict: Yes.' or 'Verdict: No.'. Finish with one line that starts with "
    f"'{FINAL_VERDICTS}' followed by the verdicts in order, each written as 'Yes.' or 'No.'."
)


@dataclass(frozen=True)
class Graded:
    score: float  # 0..1
    reason: str


# ---- rubricPrompt overrides ----------------------------------------------------------------------

_VAR = re.compile(r"{{\s*([A-Za-z_]\w*)\s*(?:\|\s*(dump|join\(\s*(\"(?:[^\"\\]|\\.)*\"|'[^']*')\s*\))\s*)?}}")


def render(template: str, values: dict[str, Any]) -> Messages:
    """A rubricPrompt (text, or a JSON list of {role, content} messages) filled with this step's values:
    `{{ name }}`, `{{ name | dump }}` (as JSON), `{{ name | join("sep") }}` (a list joined); an unknown name
    is empty, as in promptfoo's templates."""
    def one(m: re.Match) -> str:
        value = values.get(m.group(1), "")
        if m.group(2) == "dump":
            return json.dumps(value, ensure_ascii=False)
        if m.group(3) is not None and isinstance(value, list):
            sep = json.loads(m.group(3)) if m.group(3).startswith('"') else m.group(3)[1:-1]
            return sep.join(str(v) for v in value)
        return ",".join(str(v) for v in value) if isinstance(value, list) else str(value)

    def fill(text: str) -> str:
        return _VAR.sub(one, text)

    try:
        data = json.loads(template)
    except ValueError:
        data = None
    if isinstance(data, list) and all(isinstance(m, dict) and "role" in m for m in data):
        return tuple((str(m["role"]), Parts(replace_leaves(m["content"], [fill(t) for t in leaves(m["content"])]))
                      if isinstance(m["content"], list) else fill(str(m["content"]))) for m in data)
    return (("user", fill(template)),)


def _parts(template: str | None, kind: str) -> dict[str, str]:
    """g-eval's {steps, evaluate} object, context-faithfulness's [statements, verdicts] list (stored as JSON)."""
    if template is None:
        return {}
    try:
        data = json.loads(template)
    except ValueError:
        data = None
    if kind == "g-eval":  # promptfoo reads only the object form for g-eval; text or a message list is ignored
        return {k: v for k, v in data.items() if isinstance(v, str)} if isinstance(data, dict) else {}
    if not isinstance(data, list):
        raise ProviderError("context-faithfulness: rubricPrompt must be a list of two prompts (statements, then verdicts)")
    found = {}
    for key, item in zip(("statements", "verdicts"), data):
        text = item if isinstance(item, str) else item.get("content") if isinstance(item, dict) else None
        if isinstance(text, str):
            found[key] = text
    return found


def _messages(override: str | None, values: dict[str, Any], task: str, user: str) -> Messages:
    return render(override, values) if override is not None else (("system", task), ("user", user))


# ---- sentence splitting (the same units promptfoo counts) ----------------------------------------------

def lines(text: str) -> list[str]:
    return [line for line in text.split("\n") if line.strip()]


def sentences(text: str) -> list[str]:
    """Two or more non-empty lines are the units; otherwise the text split after . ! ? (bare list markers dropped)."""
    found = lines(text)
    units = found if len(found) > 1 else re.split(r"(?<=[.!?])\s+", text)
    return [u.strip() for u in units if u.strip() and not re.fullmatch(r"\d+[.)]", u.strip())]


# ---- the checks ------------------------------------------------------------------------------------------

async def g_eval(ask: Ask, criteria: Sequence[str], prompt: str, output: str, override: str | None) -> Graded:
    """Each criterion: the grader writes evaluation steps, then scores the output 0–10 with them; the score is
    the mean over the criteria of score / 10."""
    if not criteria:
        raise ProviderError("g-eval needs at least one criterion")
    prompts = _parts(override, "g-eval")
    scores, reasons = [], []
    for criterion in criteria:
        reply = await ask(_messages(prompts.get("steps"), {"criteria": criterion}, GEVAL_STEPS_TASK,
                                    f"<Evaluation criteria>\n{criterion}\n</Evaluation criteria>"))
        steps = next((c["steps"] for c in json_candidates(reply) if isinstance(c, dict) and "steps" in c), None)
        if not isinstance(steps, list) or not steps or not all(isinstance(s, str) and s.strip() for s in steps):
            raise ProviderError(f"g-eval: the grader did not answer with a non-empty JSON list of steps: {json.dumps(reply[:120])}")
        values = {"criteria": criterion, "steps": "\n- ".join(steps), "maxScore": str(GEVAL_MAX), "input": prompt, "output": output}
        listed = "\n".join(f"- {s}" for s in steps)
        reply = await ask(_messages(prompts.get("evaluate"), values, GEVAL_EVALUATE_TASK,
                                    f"<Evaluation criteria>\n{criterion}\n</Evaluation criteria>\n<Evaluation steps>\n{listed}\n"
                                    f"</Evaluation steps>\n<Prompt>\n{prompt}\n</Prompt>\n<Output>\n{output}\n</Output>"))
        answer = next((c for c in json_candidates(reply) if isinstance(c, dict) and "score" in c), None)
        raw = answer.get("score") if answer else None
        try:
            score = float(raw) if isinstance(raw, (int, float, str)) and not isinstance(raw, bool) else float("nan")
        except ValueError:
            score = float("nan")
        if not 0 <= score <= GEVAL_MAX:  # NaN too
            raise ProviderError(f"g-eval: the grader's score is not a number from 0 to {GEVAL_MAX}: {json.dumps(reply[:120])}")
        reason = answer.get("reason") if answer else None
        if not isinstance(reason, str) or not reason.strip():
            raise ProviderError(f"g-eval: the grader gave no reason: {json.dumps(reply[:120])}")
        scores.append(score / GEVAL_MAX)
        reasons.append(reason)
    return Graded(sum(scores) / len(scores), "\n\n".join(reasons))


async def answer_relevance(ask: Ask, embed: Embed, query: str, output: str, override: str | None) -> Graded:
    """Questions the output answers (three grader calls), each embedded and compared with the query by
    cosine similarity; the score is their mean."""
    messages = _messages(override, {"answer": output}, QUESTION_TASK, f"<Answer>\n{output}\n</Answer>")
    questions = []
    for _ in range(ANSWER_RELEVANCE_QUESTIONS):
        reply = await ask(messages)
        if not reply:
            raise ProviderError("answer-relevance: the grader wrote no question")
        questions.append(reply)
    target = await embed(query)
    similarities = [cosine(target, await embed(q)) for q in questions]
    score = sum(similarities) / len(similarities)
    return Graded(score, f"Relevance {score:.2f}: the questions the output answers, compared with the query")


async def context_recall(ask: Ask, context: str, expected: str, override: str | None, variables: dict[str, str]) -> Graded:
    """The share of the grader's lines marked [Attributed] among its lines marked [Attributed] or [Not Attributed]."""
    reply = await ask(_messages(override, {**variables, "context": context, "groundTruth": expected}, RECALL_TASK,
                                f"<Context>\n{context}\n</Context>\n<Expected answer>\n{expected}\n</Expected answer>"))
    marked = [line.lower() for line in lines(reply) if ATTRIBUTED.lower() in line.lower() or NOT_ATTRIBUTED.lower() in line.lower()]
    attributed = sum(1 for line in marked if NOT_ATTRIBUTED.lower() not in line)
    score = attributed / len(marked) if marked else 0.0
    return Graded(score, f"Recall {score:.2f}: {attributed} of {len(marked)} sentences are attributed to the context")


async def context_relevance(ask: Ask, query: str, context: str, override: str | None) -> Graded:
    """Distinct sentences the grader extracted as needed for the query, over the context's sentences (at most 1)."""
    reply = await ask(_messages(override, {"context": context, "query": query}, RELEVANCE_TASK,
                                f"<Query>\n{query}\n</Query>\n<Context>\n{context}\n</Context>"))
    units = sentences(context)
    segmented = len(lines(context)) > 1
    extracted = [] if INSUFFICIENT in reply else list(dict.fromkeys(lines(reply) if segmented else sentences(reply)))
    score = min(len(extracted), len(units)) / len(units) if units else 0.0
    return Graded(score, f"Context relevance {score:.2f}: {min(len(extracted), len(units))} of {len(units)} context sentences are needed")


async def context_faithfulness(ask: Ask, query: str, output: str, context: str, override: str | None,
                               variables: dict[str, str]) -> Graded:
    """Statements from the output (one grader call), then a verdict per statement against the context (another);
    the score is the share of statements judged supported (a missing verdict counts as unsupported)."""
    prompts = _parts(override, "context-faithfulness")
    reply = await ask(_messages(prompts.get("statements"), {**variables, "question": query, "answer": output}, STATEMENTS_TASK,
                                f"<Question>\n{query}\n</Question>\n<Response>\n{output}\n</Response>"))
    statements = lines(reply)
    listed = "\n".join(f"{i}. {s}" for i, s in enumerate(statements, 1))
    verdicts = (await ask(_messages(prompts.get("verdicts"), {**variables, "context": context, "statements": statements},
                                    VERDICTS_TASK, f"<Context>\n{context}\n</Context>\n<Statements>\n{listed}\n</Statements>"))).lower().strip()
    score = 0.0
    if statements:
        final = FINAL_VERDICTS.lower()
        if final in verdicts:
            given = [v for v in verdicts[verdicts.index(final) + len(final):].split(".") if v.strip()]
            if given:
                unsupported = sum(1 for v in given if "yes" not in v) + max(0, len(statements) - len(given))
                score = 1 - unsupported / len(statements)
        else:
            no, yes = verdicts.count("verdict: no"), verdicts.count("verdict: yes")
            if no + yes:
                score = 1 - (no + max(0, len(statements) - no - yes)) / len(statements)
    score = min(1.0, max(0.0, score))
    return Graded(score, f"Faithfulness {score:.2f} over {len(statements)} statements")
