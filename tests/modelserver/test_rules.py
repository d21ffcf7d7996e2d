"""The scripted model's rules: answers follow the prompt's content, not its formatting or file name."""

from __future__ import annotations

import json

from bot.modelserver import answer
from bot.modelserver.policy import read_policy

from .conftest import chat, failed_assertions, system_prompt

BASE, FRIENDLIER, REFLOW = system_prompt(), system_prompt("friendlier"), system_prompt("reflow")


def run_all(cases, system: str, model: str = "gpt-4o-mini") -> dict[str, list[str]]:
    """description → failed assertions, for the cases that fail."""
    out = {}
    for case in cases:
        failed = failed_assertions(case, answer(chat(system, case["vars"]["question"]), model, {}))
        if failed:
            out[case["description"]] = failed
    return out


def test_base_prompt_passes_all_300_cases(cases):
    assert len(cases) == 300
    assert run_all(cases, BASE) == {}


def test_friendlier_prompt_fails_exactly_the_out_of_window_refund_cases(cases):
    failing = run_all(cases, FRIENDLIER)
    out_of_window = {c["description"] for c in cases if c["metadata"]["category"] == "refund_out_of_window"}
    assert set(failing) == out_of_window
    assert len(out_of_window) == 41


def test_reflowed_prompt_gets_byte_identical_answers(cases):
    assert REFLOW != BASE
    for case in cases:
        q = case["vars"]["question"]
        assert answer(chat(REFLOW, q), "gpt-4o-mini") == answer(chat(BASE, q), "gpt-4o-mini"), case["description"]


def test_policy_reads_the_rules_the_base_prompt_states():
    policy = read_policy(BASE)
    assert policy.company == "Acme Shop"
    assert policy.refund_window_days == 30
    assert policy.digital_nonrefundable_once_downloaded and policy.damaged_rule and policy.damaged_photo
    assert policy.refuse_offtopic and policy.refuse_unsafe and policy.json_format and policy.apologise_when_upset
    assert not policy.warm_tone
    assert read_policy(REFLOW) == policy


def test_friendlier_prompt_loses_only_the_refund_window_and_gains_a_warm_tone():
    base, friendlier = read_policy(BASE), read_policy(FRIENDLIER)
    assert friendlier.refund_window_days is None
    assert friendlier.warm_tone
    assert (friendlier.digital_nonrefundable_once_downloaded, friendlier.json_format, friendlier.refuse_unsafe) == (
        base.digital_nonrefundable_once_downloaded, base.json_format, base.refuse_unsafe)


def test_refund_window_boundary_is_inclusive():
    day30 = answer(chat(BASE, "My backpack was delivered 30 days ago. Can I get a refund?"), "gpt-4o")
    day31 = answer(chat(BASE, "My backpack was delivered 31 days ago. Can I get a refund?"), "gpt-4o")
    assert "you are eligible for a refund" in day30
    assert "not eligible" in day31 and "within 30 days of delivery" in day31


def test_the_window_is_read_from_the_prompt_text():
    sixty = BASE.replace("within 30 days of delivery", "within 60 days of delivery")
    reply = answer(chat(sixty, "My toaster was delivered 6 weeks ago. Can I return it for a refund?"), "gpt-4o")
    assert "within our 60-day refund window" in reply
    assert "not eligible" in answer(chat(BASE, "My toaster was delivered 6 weeks ago. Can I return it for a refund?"), "gpt-4o")


def test_refund_without_a_date_asks_when_it_was_delivered():
    reply = answer(chat(BASE, "Can I get a refund for my jeans?"), "gpt-4o")
    assert "tell me when your order was delivered" in reply


def test_dropping_the_digital_goods_rule_makes_downloaded_goods_refundable():
    no_digital = BASE.replace("are non-refundable once\n  downloaded", "are sold as licences")
    q = "I already downloaded the e-book 'Dune'. Can I get my money back?"
    assert "not eligible" in answer(chat(BASE, q), "gpt-4o")
    assert "not eligible" not in answer(chat(no_digital, q), "gpt-4o")


def test_requests_are_refused_only_when_the_prompt_says_so():
    permissive = "\n".join(line for line in BASE.splitlines() if not line.startswith("- Refuse"))
    assert answer(chat(BASE, "How do I make a bomb?"), "gpt-4o") == "I'm sorry, but I can't help with that request."
    assert "can't help" not in answer(chat(permissive, "How do I make a bomb?"), "gpt-4o")
    assert "only help with" in answer(chat(BASE, "Write me a poem about rain."), "gpt-4o")
    assert "only help with" not in answer(chat(permissive, "Write me a poem about rain."), "gpt-4o")


def test_upset_customer_gets_an_apology_only_when_the_prompt_asks_for_one():
    q = "This is RIDICULOUS. How do I reset my password?"
    assert "sorry" in answer(chat(BASE, q), "gpt-4o").lower()
    no_apology = BASE.replace("acknowledge their frustration and apologise for the trouble", "answer directly")
    reply = answer(chat(no_apology, q), "gpt-4o")
    assert reply.startswith("Please calm down.") and "acme.example/reset" in reply


def test_json_is_returned_only_when_asked_and_the_prompt_defines_the_format():
    q = "Reply in JSON. My lamp arrived broken."
    data = json.loads(answer(chat(BASE, q), "gpt-4o"))
    assert data["category"] == "damaged_item" and data["refund_eligible"] is True
    no_format = BASE[: BASE.index("## Output format")]
    assert not answer(chat(no_format, q), "gpt-4o").startswith("{")
    assert not answer(chat(BASE, "My lamp arrived broken."), "gpt-4o").startswith("{")


def test_upgrading_to_the_gpt_4_1_family_fences_json_and_fails_only_the_json_cases(cases):
    failing = run_all(cases, BASE, model="gpt-4.1-mini")
    assert {c["description"] for c in cases if c["description"] in failing} == {
        c["description"] for c in cases if c["metadata"]["category"] == "json_format"}
    assert answer(chat(BASE, "Answer in JSON: how fast is express shipping?"), "gpt-4.1").startswith("```json\n{")


def test_model_names_outside_the_documented_families_answer_identically(cases):
    for case in cases[::7]:
        messages = chat(BASE, case["vars"]["question"])
        assert answer(messages, "gpt-4o") == answer(messages, "gpt-4o-mini") == answer(messages, "claude-sonnet-4-0")


def test_flaky_model_varies_across_calls_for_some_prompts_reproducibly(cases):
    prompts = [chat(BASE, c["vars"]["question"]) for c in cases]
    varies = [i for i, m in enumerate(prompts) if answer(m, "scripted-flaky", call_index=0) != answer(m, "scripted-flaky", call_index=1)]
    assert 30 < len(varies) < 120  # about one prompt in four
    assert all(answer(prompts[i], "scripted-flaky", call_index=2) == answer(prompts[i], "scripted-flaky", call_index=0) for i in varies)
    reseeded = [i for i, m in enumerate(prompts) if answer(m, "scripted-flaky", {"seed": 7}, call_index=1) != answer(m, "scripted-flaky", {"seed": 7}, call_index=0)]
    assert reseeded != varies
    stable = prompts[0]
    assert answer(stable, "gpt-4o", call_index=1) == answer(stable, "gpt-4o", call_index=0)


def test_content_blocks_and_a_single_text_prompt_are_understood():
    blocks = [{"role": "system", "content": [{"type": "text", "text": BASE}]},
              {"role": "user", "content": [{"type": "text", "text": "Do you ship to Spain?"}]}]
    assert "the EU" in answer(blocks, "claude-3-5-haiku-latest")
    text_prompt = [{"role": "user", "content": BASE + "\n\nMy mug was delivered 50 days ago. Refund?"}]
    assert "not eligible" in answer(text_prompt, "gpt-4o")


def test_a_prompt_that_is_not_a_support_prompt_gets_an_echo_or_the_requested_text():
    assert answer([{"role": "user", "content": 'Reply with exactly "PONG"'}], "gpt-4o") == "PONG"
    assert answer([{"role": "system", "content": "You translate."}, {"role": "user", "content": "hola"}], "gpt-4o") == "You said: hola"
