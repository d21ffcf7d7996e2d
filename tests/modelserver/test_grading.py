"""The scripted model as a grader: select-best and conversation-relevance requests, in promptfoo's
prompt shape and prompt-review's, get a grader's answer by the rules of bot.modelserver.grading."""

from __future__ import annotations

import json

from bot.modelserver import answer
from bot.modelserver.grading import grader_reply


def ask(text: str, role: str = "user") -> str:
    return answer([{"role": role, "content": text}], "gpt-4.1-mini", {})


def test_select_best_picks_the_output_sharing_most_words_with_the_criterion_in_either_prompt_shape():
    ours = ('<Criterion>\nthe funniest tweet\n</Criterion>\n<Output index="0">\nBananas.\n</Output>\n'
            '<Output index="1">\nBananas are the funniest fruit.\n</Output>')
    theirs = ("You are comparing multiple pieces of text to see which best fits the following criteria: the funniest tweet\n\n"
              '<Text index="0">\nBananas are the funniest fruit.\n</Text>\n<Text index="1">\nBananas.\n</Text>\nOutput the index.')
    assert ask(ours) == "1"
    assert ask(theirs, role="system") == "0"


def test_select_best_ties_go_to_the_longest_then_the_first_output():
    listed = '<Output index="0">\nshort\n</Output>\n<Output index="1">\nmuch longer\n</Output>\n<Output index="2">\nmuch longer\n</Output>'
    assert ask(f"<Criterion>\nunrelated words\n</Criterion>\n{listed}") == "1"


def test_a_relevance_request_judges_the_last_assistant_message_of_the_last_message_list():
    def window(last: str) -> str:
        messages = [{"role": "user", "content": "We plan a garden party"}, {"role": "assistant", "content": "Lovely!"},
                    {"role": "user", "content": "What about flowers?"}, {"role": "assistant", "content": last}]
        return 'Answer with a JSON object with a "verdict" key, yes or no.\nMessages:\n' + json.dumps(messages, indent=2)

    assert json.loads(ask(window("Roses suit a garden party.")))["verdict"] == "yes"
    assert json.loads(ask(window("Which colours do you like?")))["verdict"] == "yes"  # a question back is relevant
    assert json.loads(ask(window("Tech stocks fell sharply.")))["verdict"] == "no"


def test_prompts_that_are_not_grading_requests_get_no_grader_answer():
    assert grader_reply([{"role": "user", "content": "You are a support bot.\n\nWhere is my parcel?"}]) is None
    assert grader_reply([{"role": "user", "content": 'One <Output index="0">\nx\n</Output> alone is no comparison'}]) is None


def test_a_rubric_request_in_either_prompt_shape_is_judged_by_the_words_output_and_rubric_share():
    ours_system = ('You grade an output against a rubric. Reply with only a JSON object: '
                   '{"reason": "<one sentence>", "pass": true or false, "score": <number from 0 to 1>}.')
    theirs_system = ("You are grading output according to a user-specified rubric. You respond with a JSON object with "
                     "this structure: {reason: string; pass: boolean; score: number;}")
    for system in (ours_system, theirs_system):
        met = json.loads(answer([{"role": "system", "content": system},
                                 {"role": "user", "content": "<Output>\nParis is the capital.\n</Output>\n<Rubric>\nNames the capital city\n</Rubric>"}],
                                "gpt-4.1-mini", {}))
        unmet = json.loads(answer([{"role": "system", "content": system},
                                   {"role": "user", "content": "<Output>\nHello there.\n</Output>\n<Rubric>\nNames the capital city\n</Rubric>"}],
                                  "gpt-4.1-mini", {}))
        assert (met["pass"], met["score"]) == (True, 0.333)  # of names, capital, city: "capital" is shared
        assert (unmet["pass"], unmet["score"]) == (False, 0.0)


def test_factuality_and_g_eval_requests_get_their_own_fields():
    factuality = ('Classify it. Reply with only {"category": "A"|"B"|"C"|"D"|"E", "reason": "<one sentence>"}.\n'
                  "<Expert answer>\nParis is the capital\n</Expert answer>\n<Output>\n{}\n</Output>")
    assert json.loads(ask(factuality.replace("{}", "The capital is Paris")))["category"] == "C"
    assert json.loads(ask(factuality.replace("{}", "Paris, surely")))["category"] == "A"
    assert json.loads(ask(factuality.replace("{}", "Berlin")))["category"] == "D"
    assert "pass" not in json.loads(ask(factuality.replace("{}", "Berlin")))
    g_eval = ('Rate from 0 (does not meet them) to 10 (fully meets them). Reply with only {"score": <0-10>, "reason": "<one sentence>"}.\n'
              "<Evaluation criteria>\ncoherent answer about dogs\n</Evaluation criteria>\n<Output>\ndogs are great\n</Output>")
    assert json.loads(ask(g_eval))["score"] == 2  # 1 of 4 words, on the 0-10 scale the prompt asks for


def test_a_prompt_that_asks_for_a_category_field_but_holds_no_output_block_is_not_a_grading_request():
    assert grader_reply([{"role": "user", "content": 'Reply in JSON {"answer": "…", "category": "…"}. Where is my parcel?'}]) is None


def test_promptfoos_closed_qa_and_factuality_prompt_shapes_are_judged_too():
    closed_qa = ("[BEGIN DATA]\n***\n[Task]: How long?\n***\n[Submission]: {}\n***\n[Criterion]: States the days\n***\n[END DATA]\n"
                 'Then print only the single character "Y" or "N" on its own line.')
    assert ask(closed_qa.replace("{}", "Five days")).splitlines()[-1] == "Y"
    assert ask(closed_qa.replace("{}", "Hello")).splitlines()[-1] == "N"
    factuality = ('Respond ONLY with a JSON object: {"category": "[LETTER]", "reason": "…"}\n<question>\nCapital?\n</question>\n'
                  "<expert_answer>\nParis is the capital\n</expert_answer>\n<submitted_answer>\n{}\n</submitted_answer>")
    assert json.loads(ask(factuality.replace("{}", "Berlin")))["category"] == "D"
    assert json.loads(ask(factuality.replace("{}", "The capital, Paris")))["category"] == "C"


# ---- the steps of g-eval, answer-relevance and the context-* checks ------------------------------------
# promptfoo's step prompts are shown examples first and end with the real values on `name:` lines; these
# shapes keep that structure (the bench runs promptfoo's own prompts: bench/vs_promptfoo.py --suite graded)

def test_g_eval_steps_and_score_in_either_prompt_shape():
    ours = ask('Reply with {"steps": [...]}.\n<Evaluation criteria>\nNames the capital of France\n</Evaluation criteria>', role="system")
    theirs = ask('Write steps.\n\n**EVALUATION CRITERIA**\nNames the capital of France\n\n**OUTPUT FORMAT**\nExample: {"steps":["a"]}\nJSON:\n')
    assert ours == theirs and json.loads(ours)["steps"][1] == "Check it against: Names the capital of France"
    ours = ask("Score 0 to 10.\n<Evaluation criteria>\nNames the capital of France\n</Evaluation criteria>\n<Evaluation steps>\n- Read.\n"
               "</Evaluation steps>\n<Output>\nParis is the capital of France\n</Output>")
    theirs = ask("Rate it.\n**Evaluation Criteria**\nNames the capital of France\n\n**Evaluation Steps**\n- Read.\n\n**Prompt**\nSay it\n\n"
                 "**Reply**\nParis is the capital of France\n\n**OUTPUT FORMAT**\nscore and reason")
    assert json.loads(ours)["score"] == json.loads(theirs)["score"] == 7  # 2 of the criterion's 3 words


def test_a_question_for_an_answer_is_the_answer_asked_back():
    assert ask("Write the question this answers.\n<Answer>\nRefunds take five days.\n</Answer>") == "Refunds take five days?"
    assert ask("Generate question for the given answer.\nAnswer:\nIt is Paris.\nQuestion: Where?\n\nAnswer:Refunds take five days.\nQuestion:") \
        == "Refunds take five days?"
    assert grader_reply([{"role": "user", "content": "Summarise <Answer>\nx\n</Answer> for me"}]) is None  # no question asked


def test_context_recall_marks_each_sentence_attributed_when_half_its_words_are_in_the_context():
    ours = ask("Mark [Attributed] or [Not Attributed].\n<Context>\nParis is the capital of France.\n</Context>\n"
               "<Expected answer>\nParis is the capital. Berlin hosts the federal parliament.\n</Expected answer>")
    theirs = ask("Mark [Attributed] or not.\n\ncontext: Rome is old.\nanswer: Rome is old.\nclassification\n1. Rome is old. So [Attributed]\n\n"
                 "context:Paris is the capital of France.\nanswer:Paris is the capital. Berlin hosts the federal parliament.\nclassification:\n")
    assert ours == theirs == ("1. Paris is the capital. So [Attributed]\n"
                              "2. Berlin hosts the federal parliament. So [Not Attributed]")


def test_context_relevance_copies_the_sentences_sharing_a_word_with_the_query():
    context = "Paris is the capital of France. Bananas are yellow. France is in Europe."
    ours = ask(f"Copy them, or say Insufficient Information.\n<Query>\nWhat is the capital of France?\n</Query>\n<Context>\n{context}\n</Context>")
    theirs = ask(f'Extract, or return "Insufficient Information".\n\nquery: What is the capital of France?\ncontext: {context}\ncandidate sentences:\n')
    assert ours == theirs == "Paris is the capital of France.\nFrance is in Europe."
    assert ask("Say Insufficient Information.\n<Query>\nWhy?\n</Query>\n<Context>\nBananas are yellow.\n</Context>") == "Insufficient Information"


def test_context_faithfulness_statements_then_verdicts_in_either_prompt_shape():
    ours = ask("Split into statements.\n<Question>\nWhat is the capital?\n</Question>\n<Response>\nParis is the capital. Bananas are yellow.\n</Response>")
    theirs = ask("Create statements from each sentence.\nquestion: Who?\nanswer: He.\nstatements:\nHe is.\n"
                 "question:What is the capital?\nanswer: Paris is the capital. Bananas are yellow.\nstatements:\n")
    assert ours == theirs == "Paris is the capital.\nBananas are yellow."
    ours = ask("End with Final verdict for each statement in order:\n<Context>\nParis is the capital of France.\n</Context>\n"
               "<Statements>\n1. Paris is the capital.\n2. Bananas are yellow.\n</Statements>")
    theirs = ask("Final verdict for each statement in order: in the format.\nContext:\nJohn studies.\nstatements:\n1. John studies.\nAnswer:\n...\n"
                 "context:\nParis is the capital of France.\nstatements:\nParis is the capital.\nBananas are yellow.\nAnswer:\n")
    assert ours.splitlines()[-1] == theirs.splitlines()[-1] == "Final verdict for each statement in order: Yes. No."
    assert "Verdict: Yes." in ours.splitlines()[1] and "Verdict: No." in ours.splitlines()[3]
