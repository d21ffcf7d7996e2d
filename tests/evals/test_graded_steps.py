"""g-eval, answer-relevance and the context-* checks, step by step as promptfoo 0.121 scores them: each
grader call, how its reply is read, the score and the pass mark; graded by the scripted model
(bot.modelserver) and by hand-written replies for the parsing rules."""

from __future__ import annotations

import asyncio
import json

import pytest

from bot.core.files import MemoryTree
from bot.evals.assertions import CodeContext, cosine, score_output
from bot.evals.grading import ModelGrader
from bot.evals.loader import load_suite
from bot.evals.providers import Completion, ProviderError
from bot.evals.suite import AssertionSpec, ProviderSpec
from bot.modelserver import answer
from bot.modelserver.wire import bag_of_words

EMBEDDER = ProviderSpec("openai:embedding:text-embedding-3-large", "openai", "text-embedding-3-large")


class Grader:
    """The grader's model: the scripted model server's answer (or the next hand-written reply), and its
    bag-of-words embeddings; keeps every request."""

    def __init__(self, *replies: str):
        self.replies, self.asked, self.embedded = list(replies), [], []

    async def complete(self, spec, messages):
        self.asked.append(messages)
        if self.replies:
            return Completion(self.replies.pop(0))
        return Completion(answer([{"role": r, "content": c} for r, c in messages], spec.model, {}))

    async def embed(self, spec, text):
        self.embedded.append((spec.model, text))
        return bag_of_words(text)


def grade(assertion: AssertionSpec, output: str, grader: Grader, prompt: str = "Reply with the answer.") -> tuple[bool, float]:
    context = CodeContext({}, prompt, {}, {})
    outcome = asyncio.run(score_output((assertion,), None, output, ModelGrader(grader), context=context))
    return outcome.passed, outcome.score


def test_g_eval_asks_for_steps_then_a_score_out_of_10_and_passes_from_7():
    grader = Grader()
    passed, score = grade(AssertionSpec("g-eval", "Names the capital of France"), "Paris is the capital of France", grader)
    assert (passed, score) == (True, 0.7)  # capital and france of name, capital, france: 7 of 10
    steps, evaluate = grader.asked
    assert '"steps"' in steps[0][1] and "Names the capital of France" in steps[1][1]
    assert "- Check it against: Names the capital of France" in evaluate[1][1]  # the steps the grader wrote
    assert "Reply with the answer." in evaluate[1][1] and "Paris is the capital of France" in evaluate[1][1]
    assert grade(AssertionSpec("g-eval", "Names the capital of France"), "The capital is lovely", Grader()) == (False, 0.3)
    assert grade(AssertionSpec("g-eval", "Names the capital of France", threshold=0.3), "The capital is lovely", Grader())[0] is True


def test_g_eval_scores_each_criterion_in_turn_and_averages_them():
    grader = Grader()
    passed, score = grade(AssertionSpec("g-eval", ["Names the capital of France", "Mentions the weather"]), "Paris is the capital of France", grader)
    assert (passed, score) == (False, 0.35) and len(grader.asked) == 4
    assert grade(AssertionSpec("not-g-eval", "Mentions the weather"), "Paris is the capital of France", Grader()) == (True, 1.0)


@pytest.mark.parametrize("steps, evaluation", [
    ("Here are some steps.", '{"score": 8, "reason": "ok"}'),  # no JSON list of steps
    ('{"steps": []}', '{"score": 8, "reason": "ok"}'),
    ('{"steps": ["Check it."]}', '{"score": 11, "reason": "too high"}'),
    ('{"steps": ["Check it."]}', '{"score": 8}'),  # no reason
])
def test_a_g_eval_reply_out_of_its_format_is_an_error_not_a_verdict(steps, evaluation):
    with pytest.raises(ProviderError):
        grade(AssertionSpec("g-eval", "coherent"), "text", Grader(steps, evaluation))


def test_answer_relevance_compares_three_generated_questions_with_the_query_by_embedding():
    grader = Grader()
    spec = AssertionSpec("answer-relevance", threshold=0.5, inputs=(("query", "How many days do refunds take?"),), embedder=EMBEDDER)
    passed, score = grade(spec, "Refunds take five days", grader)
    assert len(grader.asked) == 3 and all("Refunds take five days" in m[1][1] for m in grader.asked)
    expected = cosine(bag_of_words("How many days do refunds take?"), bag_of_words("Refunds take five days?"))
    assert passed is True and score == pytest.approx(expected) and 0.5 < expected < 0.8
    assert {model for model, _ in grader.embedded} == {"text-embedding-3-large"}
    passed, score = grade(spec, "Hello there", Grader())
    assert passed is False and score < 0.5


def test_answer_relevance_without_a_query_var_compares_with_the_prompt_and_the_default_embedder():
    grader = Grader("What are refunds?", "What are refunds?", "What are refunds?")
    passed, score = grade(AssertionSpec("answer-relevance"), "Refunds.", grader, prompt="Tell me about refunds")
    assert passed is True and score > 0  # the default threshold is 0
    assert grader.embedded[0] == ("text-embedding-3-small", "Tell me about refunds")


def test_context_recall_is_the_share_of_marked_sentences_that_are_attributed():
    context = (("context", "Paris is the capital of France. It lies on the Seine."),)
    spec = AssertionSpec("context-recall", "Paris is the capital of France. Berlin hosts the federal parliament.", threshold=0.5, inputs=context)
    grader = Grader()
    assert grade(spec, "ignored", grader) == (True, 0.5)
    assert "Berlin hosts the federal parliament." in grader.asked[0][1][1]
    reply = "Thinking first.\n1. Paris is the capital. So [Attributed]\n2. Berlin. So [Not Attributed]\n3. More. So [Not Attributed]"
    assert grade(spec, "ignored", Grader(reply)) == (False, pytest.approx(1 / 3))
    assert grade(spec, "ignored", Grader("I cannot tell.")) == (False, 0.0)  # no marked line scores 0


def test_context_relevance_counts_distinct_extracted_sentences_over_the_contexts_sentences():
    inputs = (("query", "What is the capital of France?"), ("context", "Paris is the capital of France. Bananas are yellow. Cats sleep. France is in Europe."))
    spec = AssertionSpec("context-relevance", threshold=0.5, inputs=inputs)
    assert grade(spec, "ignored", Grader()) == (True, 0.5)  # the first and the last sentence share words with the query
    duplicated = "Paris is the capital of France.\nParis is the capital of France."
    assert grade(spec, "ignored", Grader(duplicated)) == (False, 0.25)
    assert grade(spec, "ignored", Grader("Insufficient Information")) == (False, 0.0)
    lines = (("query", "What is the capital of France?"), ("context", "Paris is the capital of France. It is big.\nBananas are yellow.\n"))
    assert grade(AssertionSpec("context-relevance", threshold=0.5, inputs=lines), "ignored", Grader()) == (True, 0.5)  # a line is a unit


def test_context_faithfulness_splits_the_output_into_statements_then_counts_supported_verdicts():
    inputs = (("query", "What is the capital of France?"), ("context", "Paris is the capital of France and its largest city."))
    spec = AssertionSpec("context-faithfulness", threshold=0.75, inputs=inputs)
    grader = Grader()
    assert grade(spec, "Paris is the capital. Bananas are yellow.", grader) == (False, 0.5)
    statements, verdicts = grader.asked
    assert "What is the capital of France?" in statements[1][1]
    assert "1. Paris is the capital.\n2. Bananas are yellow." in verdicts[1][1]
    three = "A is b.\nC is d.\nE is f."
    assert grade(spec, "x", Grader(three, "Final verdict for each statement in order: Yes. No.")) == (False, pytest.approx(1 / 3))  # missing: no
    assert grade(spec, "x", Grader(three, "1. Verdict: Yes.\n2. Verdict: Yes.\n3. Verdict: No.")) == (False, pytest.approx(2 / 3))
    assert grade(spec, "x", Grader(three, "Final verdict for each statement in order: Yes. Yes. Yes.")) == (True, 1.0)


def test_rubric_prompts_replace_the_steps_prompts_in_the_forms_promptfoo_reads():
    geval = AssertionSpec("g-eval", "coherent", rubric_prompt=json.dumps({"evaluate": "Rate {{output}} on {{criteria}} to {{maxScore}}: {{steps}}"}))
    grader = Grader('{"steps": ["One.", "Two."]}', '{"score": 10, "reason": "fine"}')
    assert grade(geval, "text", grader) == (True, 1.0)
    assert grader.asked[0][0][0] == "system"  # no steps prompt given: prompt-review's own
    assert grader.asked[1] == (("user", "Rate text on coherent to 10: One.\n- Two."),)
    plain = Grader('{"steps": ["One."]}', '{"score": 10, "reason": "fine"}')
    grade(AssertionSpec("g-eval", "coherent", rubric_prompt="Ignored {{output}}"), "text", plain)  # promptfoo reads only the object form
    assert plain.asked[1][0][0] == "system"
    faithful = AssertionSpec("context-faithfulness", inputs=(("query", "q?"), ("context", "ctx")),
                             rubric_prompt=json.dumps(["Split {{answer}} for {{question}}", 'In {{context}}: {{statements|join(" | ")}}']))
    grader = Grader("A.\nB.", "Final verdict for each statement in order: Yes. Yes.")
    grade(faithful, "A. B.", grader)
    assert [m[0][1] for m in grader.asked] == ["Split A. B. for q?", "In ctx: A. | B."]
    recall = AssertionSpec("context-recall", "Paris.", inputs=(("context", "ctx"),), rubric_prompt='[{"role": "user", "content": "{{ context }} / {{ groundTruth | dump }}"}]')
    grader = Grader("1. Paris. [Attributed]")
    assert grade(recall, "x", grader) == (True, 1.0) and grader.asked == [(("user", 'ctx / "Paris."'),)]


def test_the_suite_loads_step_prompts_their_values_and_the_embedding_grader():
    path = "evals/promptfooconfig.yaml"
    suite = ("prompts: ['{{query}}']\nproviders: [openai:chat:gpt-4o-mini]\n"
             "defaultTest:\n  options:\n    provider: {text: openai:chat:gpt-4.1, embedding: openai:embedding:text-embedding-3-large}\n"
             "tests:\n  - vars: {query: refunds?, context: Refunds within 30 days.}\n    assert:\n"
             "      - type: answer-relevance\n        rubricPrompt: 'Which question does {{answer}} answer?'\n"
             "      - type: g-eval\n        value: clear\n        rubricPrompt: {steps: 'Steps for {{criteria}} as {\"steps\": []}'}\n"
             "      - type: context-faithfulness\n        rubricPrompt: ['{{question}} {{answer}}', '{{context}} {{statements|join(\"\\n\")}}']\n"
             "      - type: context-recall\n        value: 30 days\n        rubricPrompt: '{{context}} {{groundTruth}} {{query}}'\n")
    loaded, errors = load_suite(MemoryTree({path: suite}), path)
    assert errors == []
    relevance, geval, faithful, recall = loaded.tests[0].asserts
    assert relevance.embedder is not None and relevance.embedder.model == "text-embedding-3-large"
    assert json.loads(geval.rubric_prompt or "") == {"steps": 'Steps for {{criteria}} as {"steps": []}'}
    assert json.loads(faithful.rubric_prompt or "") == ["{{question}} {{answer}}", 'Refunds within 30 days. {{statements|join("\\n")}}']
    assert recall.rubric_prompt == "Refunds within 30 days. {{groundTruth}} refunds?"  # the test's vars, filled at load
    _, errors = load_suite(MemoryTree({path: suite.replace("{{groundTruth}} {{query}}", "{{groundTruth}} {{nope}}")}), path)
    assert [e.message for e in errors] == ["the rubricPrompt of context-recall (line 16) uses nope, which is not a var of this test "
                                           "(the rendered prompt is not available to a rubricPrompt yet)"]


def test_context_recall_without_a_context_var_reads_the_rendered_prompt_as_promptfoo_does():
    path = "evals/promptfooconfig.yaml"
    suite = ("prompts: ['Paris is the capital of France. {{q}}']\nproviders: [openai:chat:gpt-4o-mini]\n"
             "tests:\n  - vars: {q: Where?}\n    assert:\n      - {type: context-recall, value: Paris is the capital of France., threshold: 0.9}\n"
             "  - vars: {q: Where?}\n    assert:\n      - {type: context-relevance}\n")
    _, errors = load_suite(MemoryTree({path: suite}), path)
    assert [e.message for e in errors] == ["context-relevance (line 9) reads the vars query, context: set it in the test's vars"]
    loaded, errors = load_suite(MemoryTree({path: suite.split("  - vars: {q: Where?}\n    assert:\n      - {type: context-relevance}")[0]}), path)
    assert errors == []
    grader = Grader()
    assert grade(loaded.tests[0].asserts[0], "x", grader, prompt="Paris is the capital of France. Where?") == (True, 1.0)
    assert "<Context>\nParis is the capital of France. Where?\n</Context>" in grader.asked[0][1][1]


def test_results_cached_by_the_one_call_grader_are_not_reused_for_the_stepped_types():
    stepped, rubric = AssertionSpec("g-eval", "clear"), AssertionSpec("llm-rubric", "clear")
    assert stepped.fingerprint() != {"type": "g-eval", "value": "clear", "threshold": None, "weight": 1.0, "metric": None, "grader": None}
    assert rubric.fingerprint() == {"type": "llm-rubric", "value": "clear", "threshold": None, "weight": 1.0, "metric": None, "grader": None}


def test_a_faithfulness_rubric_prompt_that_is_not_a_list_of_two_prompts_is_refused_at_load():
    path = "evals/promptfooconfig.yaml"
    suite = ("prompts: ['{{query}}']\nproviders: [openai:chat:gpt-4o-mini]\n"
             "tests:\n  - vars: {query: q?, context: ctx}\n    assert:\n"
             "      - type: context-faithfulness\n        rubricPrompt: 'Judge {{ output }}'\n")
    _, errors = load_suite(MemoryTree({path: suite}), path)
    assert [(e.line, e.message) for e in errors] == [
        (4, "context-faithfulness (line 6): rubricPrompt must be a list of two prompts, statements then verdicts (promptfoo refuses other forms)")]
