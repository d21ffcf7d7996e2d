"""A .csv prompt file is several prompts, one per row, as promptfoo 0.121's processCsvPrompts reads it (it had been
sent whole, header and quotes included, as one prompt: silently wrong)."""

from __future__ import annotations

from bot.core.files import MemoryTree
from bot.evals.loader import csv_prompts, load_suite

PATH = "evals/promptfooconfig.yaml"


def prompts(entry: str, files: dict[str, str]):
    suite, errors = load_suite(MemoryTree({PATH: f"prompts: [{entry}]\nproviders: [openai:gpt-4o]\ntests: [{{vars: {{text: hi}}}}]\n",
                                           **{f"evals/{k}": v for k, v in files.items()}}), PATH)
    assert errors == [], [str(e) for e in errors]
    return [(p.label, p.template, p.source) for p in suite.prompts]


def test_a_table_with_prompt_and_label_columns_is_one_prompt_per_row():
    table = 'prompt,label\n"Translate to French: {{text}}",French\n  Translate to German: {{text}}  ,\n,empty\n\n'
    assert prompts("file://p.csv", {"p.csv": table}) == [
        ("French", "Translate to French: {{text}}", "evals/p.csv"),
        ("Prompt 2 - Translate to German: {{text}}", "Translate to German: {{text}}", "evals/p.csv"),  # values trimmed
    ]


def test_text_without_commas_is_one_prompt_per_line_after_an_optional_header():
    assert csv_prompts("prompt\nSay {{text}}\n\nShout {{text}}\n", None) == [
        ("Prompt 1 - Say {{text}}", "Say {{text}}"), ("Prompt 2 - Shout {{text}}", "Shout {{text}}")]
    assert csv_prompts("\ufeffSay {{text}}\r\n", "Mine") == [("Mine", "Say {{text}}")]


def test_the_entrys_label_names_every_row_and_a_filter_by_it_selects_them_all():
    suite, errors = load_suite(MemoryTree({
        PATH: "prompts:\n  - {id: file://p.csv, label: Translations}\n  - 'Other {{text}}'\n"
              "providers:\n  - {id: openai:gpt-4o, prompts: [Translations]}\ntests: [{vars: {text: hi}}]\n",
        "evals/p.csv": "prompt\nFrench: {{text}}\nGerman: {{text}}\n"}), PATH)
    assert errors == []
    labels = [p.label for p in suite.prompts]
    assert labels == ["Translations: French: {{text}}", "Translations: German: {{text}}", "Other {{text}}"]
    (provider,) = suite.providers
    assert [provider.runs(p) for p in suite.prompts] == [True, True, False]


def test_a_row_holding_a_chat_message_list_is_a_chat_prompt():
    table = 'prompt,label\n"[{""role"": ""system"", ""content"": ""Be brief""}, {""role"": ""user"", ""content"": ""{{text}}""}]",chat\n'
    suite, errors = load_suite(MemoryTree({PATH: "prompts: [file://p.csv]\nproviders: [openai:gpt-4o]\ntests: [{vars: {text: hi}}]\n",
                                           "evals/p.csv": table}), PATH)
    assert errors == []
    (prompt,) = suite.prompts
    assert prompt.format == "chat" and prompt.messages == (("system", "Be brief"), ("user", "{{text}}"))
