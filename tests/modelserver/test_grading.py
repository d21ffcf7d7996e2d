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
