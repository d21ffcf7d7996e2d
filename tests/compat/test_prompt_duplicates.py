"""A prompt listed twice (by name and again through a glob) is one prompt; two different prompts under one label are
an error. promptfoo 0.121.20 runs a listed-twice prompt twice, with the same result each time."""

from __future__ import annotations

from bot.core.files import MemoryTree
from bot.evals.loader import load_suite

PATH = "evals/promptfooconfig.yaml"


def load(prompts: str, files: dict[str, str]):
    suite = f"prompts:\n{prompts}providers: [echo]\ntests:\n  - vars: {{topic: cats}}\n"
    return load_suite(MemoryTree({PATH: suite, **{f"evals/{k}": v for k, v in files.items()}}), PATH)


def test_a_prompt_listed_by_name_and_through_a_glob_runs_once():
    suite, errors = load("  - file://prompt.txt\n  - '*.txt'\n  - 'file://*.txt'\n",
                         {"prompt.txt": "Tell me about {{topic}}\n", "another.txt": "Other {{topic}}\n"})
    assert errors == [] and suite is not None
    assert sorted(p.label for p in suite.prompts) == ["evals/another.txt", "evals/prompt.txt"]


def test_two_different_prompts_under_one_label_are_an_error_at_the_prompts_line():
    suite, errors = load("  - id: 'Tell me about {{topic}}'\n    label: same\n  - id: 'Say nothing about {{topic}}'\n    label: same\n", {})
    assert suite is None and len(errors) == 1
    assert "two different prompts share the label 'same'" in errors[0].message and errors[0].line == 1


def test_the_same_text_with_another_config_under_one_label_is_an_error():
    suite, errors = load("  - id: 'Hi {{topic}}'\n    label: same\n  - id: 'Hi {{topic}}'\n    label: same\n    config: {temperature: 1}\n", {})
    assert suite is None and "share the label 'same'" in errors[0].message


def test_a_prompt_written_as_a_bare_path_or_glob_is_read_from_the_file_as_promptfoo_reads_it():
    """promptfoo takes `prompts/a.txt` and `*.txt` (no file://) for files; sending the path as the prompt would be
    a silent misread."""
    suite, errors = load("  - prompts/a.txt\n  - 'p*.md'\n  - 'Tell me about {{topic}}'\n  - 'none*.txt'\n",
                         {"prompts/a.txt": "From a file: {{topic}}\n", "p1.md": "Markdown {{topic}}\n"})
    assert errors == [] and suite is not None
    assert [(p.label, p.template.strip()) for p in suite.prompts] == [
        ("evals/prompts/a.txt", "From a file: {{topic}}"), ("evals/p1.md", "Markdown {{topic}}"),
        ("Tell me about {{topic}}", "Tell me about {{topic}}"), ("none*.txt", "none*.txt")]  # a glob matching nothing is text


def test_a_bare_path_to_a_missing_file_is_an_error_not_a_prompt():
    suite, errors = load("  - prompts/missing.txt\n", {})
    assert suite is None and "not found" in errors[0].message and errors[0].line == 2
