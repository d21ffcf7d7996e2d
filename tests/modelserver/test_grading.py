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
