"""promptfoo's `nunjucksFilters: {name: filter.js}`: a template's `{{ body | allcaps }}` calls the file's
exported function with the value (and the filter's arguments); the JavaScript runs in the sandbox under
the code gate, each call from the render worker answered by the reviewer, within the render's time."""

from __future__ import annotations

from bot.core.config import EvalsConfig
from bot.core.files import MemoryTree
from bot.evals.loader import load_suite
from bot.evals.render import Renderer
from bot.evals.sandbox import Origin, may_run
from bot.evals.select import CodeGate, expand, plan_suite

PATH = "evals/promptfooconfig.yaml"
ALLCAPS = "module.exports = function (str) { return str.toUpperCase(); };\n"
WRAP = "export default function (str, left, right) { if (str === 'boom') throw new Error('cannot wrap boom'); return left + str + right; }\n"
PROMPTS = "Rephrase this in {{language}}: {{body | allcaps}}\n---\nTranslate to {{language}}: {{ body | wrap('[', ']') }}\n"


def suite(body: str = "Hello world", filters: str = "  allcaps: ./allcaps.js\n  wrap: file://wrap.js\n") -> str:
    return (f"prompts: [file://prompts.txt]\nproviders: [openai:chat:gpt-4o]\nnunjucksFilters:\n{filters}"
            f"tests:\n  - description: one\n    vars: {{language: French, body: {body}}}\n")


FILES = {"evals/prompts.txt": PROMPTS, "evals/allcaps.js": ALLCAPS, "evals/wrap.js": WRAP}


def cases(text: str, files: dict[str, str] = FILES):
    tree = MemoryTree({PATH: text, **files})
    loaded, errors = load_suite(tree, PATH)
    assert errors == [], [str(e) for e in errors]
    found, _ = expand(loaded, Renderer(tree), gate=CodeGate())
    return sorted(found.values(), key=lambda c: c.prompt.label)


def test_filters_from_files_render_every_prompt_of_a_split_prompt_file():
    first, second = cases(suite())
    assert first.messages == (("user", "Rephrase this in French: HELLO WORLD"),)
    assert second.messages == (("user", "Translate to French: [Hello world]"),)


def test_a_filter_that_throws_is_a_render_error_at_the_templates_line():
    _, second = cases(suite("boom"))
    assert second.messages is None
    assert str(second.error) == ("evals/prompts.txt:1: nunjucks filter wrap (evals/wrap.js): "
                                 "JavaScript code threw an error: Error: cannot wrap boom")


def test_a_filter_called_too_often_in_one_render_is_stopped():
    files = {**FILES, "evals/prompts.txt": "{% for i in range(1001) %}{{ body | allcaps }}{% endfor %}\n"}
    (case,) = cases(suite(), files)
    assert case.messages is None and "more than 1,000 calls of nunjucks filters in one render" in str(case.error)


def test_a_ruby_or_missing_filter_is_an_error_with_its_line():
    tree = MemoryTree({PATH: suite(filters="  allcaps: ./allcaps.rb\n  wrap: ./gone.js\n"), **FILES})
    _, errors = load_suite(tree, PATH)
    assert [(e.line, e.message.split(":")[0]) for e in errors] == [(4, "unsupported"), (5, "nunjucks filter file './gone.js' not found")]


def test_a_fork_adding_a_filter_is_refused_naming_the_rule_and_a_same_repo_change_reruns():
    base_files = {**FILES, "evals/prompts.txt": "Rephrase this in {{language}}: {{body}}\n"}
    base_tree = MemoryTree({PATH: suite(filters="  noop: ./allcaps.js\n"), **base_files})
    head_tree = MemoryTree({PATH: suite(), **FILES})
    base, _ = load_suite(base_tree, PATH)
    head, _ = load_suite(head_tree, PATH)
    fork = plan_suite(PATH, base_tree, head_tree, base, head, pr_code=lambda what: may_run(Origin.PR, False, EvalsConfig(), what))
    refused = [c.head.error for c in fork.cases if c.head is not None]
    assert refused and all(e is not None and e.line == 3 and e.message == (
        "refused: executes code from a fork's pull request (nunjucks filter wrap) — code from forks never runs; "
        "only the base branch's code does") for e in refused)
    # the base's own filter file (same bytes) is base code on a fork's head too
    same = plan_suite(PATH, base_tree, base_tree, base, base, pr_code=lambda what: may_run(Origin.PR, False, EvalsConfig(), what))
    assert same.unaffected == 1 and same.cases == []
    changed_tree = MemoryTree({PATH: suite(), **FILES, "evals/allcaps.js": ALLCAPS.replace("toUpperCase", "toLowerCase")})
    changed, _ = load_suite(changed_tree, PATH)
    rerun = plan_suite(PATH, head_tree, changed_tree, head, changed)
    (case,) = rerun.cases
    assert case.head.messages == (("user", "Rephrase this in French: hello world"),)
