"""The scripted model as a grader, for the comparison and conversation assertions (promptfoo's grader
prompts and prompt-review's own are both recognised, so the two tools can be compared on one server).

- select-best: a prompt listing outputs as `<Text index="N">` (promptfoo) or `<Output index="N">`
  (prompt-review) blocks is answered with one index: the output sharing the most words (4+ letters)
  with the criterion, then the longest, then the first.
- conversation relevance: a prompt asking for a `verdict` on the last assistant message of a JSON
  list of `{role, content}` messages is answered `{"verdict": "yes"|"no", "reason": …}`: relevant
  when that message asks a question or shares a word (4+ letters) with a user message of the list.
- judgements (llm-rubric, model-graded-closedqa, factuality, g-eval, answer-relevance, context-*): a
  prompt holding an `<Output>` block (or promptfoo's `<submitted_answer>`, `[Submission]:`) and asking
  for a JSON object with `pass`, `score` or `category` is answered with exactly those fields; one asking
  for "Y" or "N" (promptfoo's closed QA) with a line of reasoning and the letter. The criterion is the
  prompt's `<Rubric>` (else `<Criterion>`, `[Criterion]:`, `<Expert answer>`, `<expert_answer>`,
  `<Evaluation criteria>`, `<Expected answer>`, `<Question>`, `[Expert]:`); the last block of a name
  counts (promptfoo's rubric prompt shows examples first); the output *meets* it when they share a word (4+
  letters). `pass` says whether it meets it, `score` is the share of the criterion's words the output
  has (on a 0–10 scale when the prompt asks for one), `category` is C (every word), A (some) or D (none).
- the steps of g-eval, answer-relevance and the context-* checks, in promptfoo's prompts (read from their
  last `context:`/`answer:`/… lines, after the examples) and prompt-review's (tagged blocks):
  g-eval steps (a prompt asking for `{"steps"`): three steps naming the criterion; g-eval score (promptfoo's
  `**Reply**`, or `<Evaluation steps>` beside `<Output>`): `{"score": 0–10, "reason"}`, the share of the
  criterion's words the reply has; a question for an answer ("Generate question for the given answer", or a
  lone `<Answer>`): the answer itself with a question mark; context recall (a prompt naming `[Attributed]`):
  one numbered line per sentence of the expected answer, `[Attributed]` when at least half of its words are
  in the context, else `[Not Attributed]`; context relevance (naming `Insufficient Information`): the context's
  sentences (its lines when it has two or more) sharing a word with the query, one a line, or
  `Insufficient Information`; faithfulness statements: the answer's sentences, one a line; faithfulness
  verdicts (naming the final-verdict line): per statement Yes when at least half of its words are in the
  context, then the final line with every verdict in order.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

_BLOCK = re.compile(r'<(Text|Output) index="(\d+)">\n?(.*?)\n?</\1>', re.S)
_CRITERION = re.compile(r"<Criterion>\n?(.*?)\n?</Criterion>|best fits the following criteria:\s*([^\n]*)", re.S)
_WORD = re.compile(r"[a-z]{4,}")
_TAG = re.compile(r"<([A-Za-z][A-Za-z_ ]*)>\n?(.*?)\n?</\1>", re.S)
_BRACKETED = re.compile(r"^\[(Submission|Expert|Question|Criterion|Task)\]:\s*(.*?)(?=^\*{3,}|^\[[A-Z][a-z]+\]:|\Z)", re.S | re.M)
_FIELD = re.compile(r"[\"']?\b(pass|score|category)\b[\"']?\s*:")
_CRITERIA = ("rubric", "criterion", "expert answer", "evaluation criteria", "expected answer", "expert", "question")
_OUTPUTS = ("output", "submission", "submitted answer")
_YES_NO = re.compile(r'"Y" or "N"')


def _words(text: str) -> set[str]:
    return {w.rstrip("s") for w in _WORD.findall(text.lower())}


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(str(p.get("text", "")) for p in content if isinstance(p, Mapping))
    return ""


def grader_reply(messages: Sequence[Mapping[str, Any]]) -> str | None:
    """The grader's answer when the prompt is one of the grading requests above, else None."""
    text = "\n".join(_text(m.get("content")) for m in messages)
    blocks = _BLOCK.findall(text)
    if len(blocks) >= 2:
        found = _CRITERION.search(text)
        criterion = _words((found.group(1) or found.group(2) or "") if found else "")
        best = max(blocks, key=lambda b: (len(criterion & _words(b[2])), len(b[2]), -int(b[1])))
        return best[1]
    if '"verdict"' in text or "'verdict'" in text:
        conversation = _last_message_list(text)
        if conversation:
            return _relevance(conversation)
    return _step(text) or _judgement(text)


def _judgement(text: str) -> str | None:
    blocks = {name.lower().replace("_", " "): body for name, body in _TAG.findall(text)}  # the last of a name counts
    blocks.update({name.lower(): body.strip() for name, body in _BRACKETED.findall(text)})
    output = next((blocks[k] for k in _OUTPUTS if k in blocks), None)
    fields = set(_FIELD.findall(text))
    yes_no = bool(_YES_NO.search(text))
    if output is None or not (fields or yes_no):
        return None
    criterion = _words(next((blocks[k] for k in _CRITERIA if k in blocks), ""))
    met = criterion & _words(output)
    share = len(met) / len(criterion) if criterion else float(bool(output.strip()))
    reason = f"The output shares {len(met)} of the criterion's {len(criterion)} words."
    if yes_no and not fields:  # promptfoo's closed QA: reasoning, then the letter on its own line
        return f"{reason}\n{'Y' if met or not criterion else 'N'}"
    reply: dict[str, Any] = {"reason": reason}
    if "pass" in fields:
        reply["pass"] = bool(met) or (not criterion and bool(output.strip()))
    if "score" in fields:
        reply["score"] = round(share * 10) if re.search(r"\b0 ?(?:-|to) ?10\b|out of 10", text) else round(share, 3)
    if "category" in fields:
        reply["category"] = "C" if share == 1 else "A" if met else "D"
    return json.dumps(reply)


# ---- the steps of g-eval, answer-relevance and the context-* checks (both tools' prompts) ----------------

def _sentences(text: str) -> list[str]:
    lines = [line for line in text.split("\n") if line.strip()]
    units = lines if len(lines) > 1 else re.split(r"(?<=[.!?])\s+", text)
    return [u.strip() for u in units if u.strip() and not re.fullmatch(r"\d+[.)]", u.strip())]


def _supported(sentence: str, context: str) -> bool:
    """At least half of the sentence's words (4+ letters) are words of the context."""
    words = _words(sentence)
    return bool(words) and 2 * len(words & _words(context)) >= len(words)


def _between(text: str, *marks: str) -> list[str] | None:
    """The texts between the last occurrences of these marks, read backwards from the last one (a prompt's
    examples come before its real values)."""
    end = text.rfind(marks[-1])
    if end < 0:
        return None
    found: list[str] = []
    for mark in reversed(marks[:-1]):
        at = text.rfind(mark, 0, end)
        if at < 0:
            return None
        found.append(text[at + len(mark):end])
        end = at
    return [t.strip() for t in reversed(found)]


def _step(text: str) -> str | None:
    tags = {name.lower(): body for name, body in _TAG.findall(text)}  # the last of a name counts
    if '{"steps"' in text:  # g-eval, step 1: a checklist for the criteria
        found = _between(text, "**EVALUATION CRITERIA**", "**OUTPUT FORMAT**")
        criteria = found[0] if found else tags.get("evaluation criteria")
        if criteria is not None:
            return json.dumps({"steps": ["Read the text.", f"Check it against: {' '.join(criteria.split())}", "Score how fully it does so."]},
                              separators=(",", ":"))
    found = _between(text, "**Evaluation Criteria**", "**Evaluation Steps**") if "**Reply**" in text else None
    reply = _between(text, "**Reply**", "**OUTPUT FORMAT**") if found else None
    if found and reply:  # g-eval, step 2 (promptfoo's prompt; prompt-review's below)
        return _geval_score(found[0], reply[0])
    if {"evaluation criteria", "evaluation steps", "output"} <= set(tags):
        return _geval_score(tags["evaluation criteria"], tags["output"])
    if "Generate question for the given answer" in text:  # answer-relevance: the question the answer answers
        found = _between(text, "Answer:", "\nQuestion:")
        return f"{found[0].rstrip('.!?')}?" if found else None
    if "answer" in tags and not {"output", "question", "rubric"} & set(tags) and "question" in text.lower():
        return f"{tags['answer'].strip().rstrip('.!?')}?"
    if "[Attributed]" in text:  # context-recall: each sentence of the expected answer, attributed or not
        found = _between(text, "context:", "\nanswer:", "\nclassification:")
        context, expected = found if found else (tags.get("context"), tags.get("expected answer"))
        if context is None or expected is None:
            return None
        return "\n".join(f"{i}. {s} So {'[Attributed]' if _supported(s, context) else '[Not Attributed]'}"
                         for i, s in enumerate(_sentences(expected), 1))
    if "Insufficient Information" in text:  # context-relevance: the context's sentences the query needs
        found = _between(text, "\nquery:", "\ncontext:", "\ncandidate sentences:")
        query, context = found if found else (tags.get("query"), tags.get("context"))
        if query is None or context is None:
            return None
        needed = [s for s in _sentences(context) if _words(s) & _words(query)]
        return "\n".join(needed) if needed else "Insufficient Information"
    if "final verdict for each statement in order" in text.lower():  # context-faithfulness, step 2
        found = _between(text, "context:\n", "\nstatements:\n", "\nAnswer:")
        context, listed = found if found else (tags.get("context"), tags.get("statements"))
        if context is None or listed is None:
            return None
        statements = [re.sub(r"^\d+\.\s*", "", s).strip() for s in listed.split("\n") if s.strip()]
        verdicts = ["Yes" if _supported(s, context) else "No" for s in statements]
        explained = [f"{i}. {s}\nExplanation: {'most' if v == 'Yes' else 'few'} of its words are in the context. Verdict: {v}."
                     for i, (s, v) in enumerate(zip(statements, verdicts), 1)]
        return "\n".join([*explained, "Final verdict for each statement in order: " + " ".join(f"{v}." for v in verdicts)])
    if "statements from each sentence" in text:  # context-faithfulness, step 1 (promptfoo's prompt)
        found = _between(text, "question:", "\nanswer:", "\nstatements:")
        return "\n".join(_sentences(found[1])) if found else None
    if {"question", "response"} <= set(tags) and "statements" in text:
        return "\n".join(_sentences(tags["response"]))
    return None


def _geval_score(criteria: str, reply: str) -> str:
    criterion, met = _words(criteria), _words(criteria) & _words(reply)
    share = len(met) / len(criterion) if criterion else float(bool(reply.strip()))
    return json.dumps({"score": round(share * 10), "reason": f"The reply shares {len(met)} of the criterion's {len(criterion)} words."})


def _last_message_list(text: str) -> list[dict[str, str]] | None:
    decoder = json.JSONDecoder()
    found = None
    for m in re.finditer(r"\[\s*\{", text):
        try:
            value, _ = decoder.raw_decode(text, m.start())
        except ValueError:
            continue
        if isinstance(value, list) and value and all(isinstance(v, dict) and "role" in v and "content" in v for v in value):
            found = value
    return found


def _relevance(conversation: list[dict[str, str]]) -> str:
    last = next((str(m["content"]) for m in reversed(conversation) if m["role"] == "assistant"), "")
    users = set().union(*(_words(str(m["content"])) for m in conversation if m["role"] == "user"))
    if last.rstrip().endswith("?") or _words(last) & users:
        return json.dumps({"verdict": "yes"})
    return json.dumps({"verdict": "no", "reason": "The last assistant message shares nothing with what the user asked."})
