"""A grader's transform, as promptfoo 0.121 applies it (checked against promptfoo itself: its loadApiProvider sets the
provider's `transform` to the entry's after constructing it). A SageMaker grader's entry `transform` is its prompt
transform: the text of each grader call (for `similar`, the expected text and the output) goes through it before it
is embedded — run in the sandbox under the code gate. Its `config.transform` is never run (promptfoo drops it), and
another grader's `transform` changes nothing (promptfoo's graders are called directly). Through the eval engine
against the scripted model server (SageMaker signed with SigV4)."""

from __future__ import annotations

import asyncio

from bot.core.config import EvalsConfig
from bot.core.files import MemoryTree
from bot.evals import EvalRequest, NoCache, run_evals
from bot.evals.loader import load_suite
from bot.evals.sandbox import Origin, may_run
from bot.evals.select import plan_suite
from bot.modelserver.vendors import TEST_AWS_KEY_ID, TEST_AWS_SECRET
from tests.compat.reviewing import PATH


def suite(grader: str) -> str:
    return ("prompts: ['Reply with exactly \"{{word}}\".']\n"
            "providers: [openai:chat:gpt-4o-mini]\n"
            "tests:\n"
            "  - description: similar\n"
            "    vars: {word: apples and pears}\n"
            "    assert:\n"
            "      - type: similar\n"
            "        value: zzzz qqqq\n"  # no word in common with the answer
            "        threshold: 0.99\n"
            "        provider:\n" + grader)


EMBEDDER = "          id: sagemaker:embedding:emb\n          config: {region: us-west-2, modelType: openai}\n"
# the same text whatever is embedded: every pair is as similar as can be
SAME = "          transform: |\n            return `Topic: one and the same`;\n"


def review(url: str, text: str, files: dict[str, str] | None = None):
    env = {"OPENAI_BASE_URL": f"{url}/v1", "OPENAI_API_KEY": "test", "SAGEMAKER_BASE_URL": url,
           "AWS_ACCESS_KEY_ID": TEST_AWS_KEY_ID, "AWS_SECRET_ACCESS_KEY": TEST_AWS_SECRET}
    request = EvalRequest(base=MemoryTree({}), head=MemoryTree({PATH: text, **(files or {})}), suites=[PATH], env=env)
    (case,) = asyncio.run(run_evals(request, NoCache())).cases()
    return case.head


def test_a_sagemaker_graders_transform_rewrites_the_texts_it_embeds(server_url):
    plain = review(server_url, suite(EMBEDDER))
    assert plain.error is None and not plain.passed, plain  # disjoint words: far apart
    transformed = review(server_url, suite(EMBEDDER + SAME))
    assert transformed.error is None and transformed.passed, transformed
    # a file, called with (prompt, context) as promptfoo calls it
    js = "module.exports = (prompt, context) => context.prompt.raw === prompt ? 'Topic: same' : prompt;\n"
    from_file = review(server_url, suite(EMBEDDER + "          transform: file://same.js\n"), {"evals/same.js": js})
    assert from_file.error is None and from_file.passed, from_file


def test_a_graders_config_transform_is_never_run_as_promptfoo_drops_it(server_url):
    grader = EMBEDDER.replace("modelType: openai}", "modelType: openai, transform: 'return `Topic: one and the same`;'}")
    case = review(server_url, suite(grader))
    assert case.error is None and not case.passed, case  # the texts were embedded as they are


def test_a_throwing_grader_transform_is_a_case_error_naming_it(server_url):
    case = review(server_url, suite(EMBEDDER + "          transform: throw new Error('no text for you');\n"))
    assert case.error is not None and "transform of grader sagemaker:embedding:emb" in case.error and "no text for you" in case.error, case


def test_another_graders_transform_changes_nothing():
    text = suite("          id: openai:embedding:text-embedding-3-small\n" + SAME)
    loaded, errors = load_suite(MemoryTree({PATH: text}), PATH)
    assert errors == [] and loaded is not None
    (a,) = loaded.tests[0].asserts
    assert a.code_items() == ()  # nothing runs: no code item for the gate or the fingerprint


def test_a_fork_adding_a_grader_transform_is_refused_and_a_same_repo_pr_runs_it():
    base_tree, head_tree = MemoryTree({PATH: suite(EMBEDDER)}), MemoryTree({PATH: suite(EMBEDDER + SAME)})
    (base, _), (head, errors) = load_suite(base_tree, PATH), load_suite(head_tree, PATH)
    assert errors == [] and base is not None and head is not None
    fork = plan_suite(PATH, base_tree, head_tree, base, head, pr_code=lambda what: may_run(Origin.PR, False, EvalsConfig(), what))
    (case,) = [c for c in fork.cases if c.head is not None]
    assert case.head is not None and case.head.error is not None and case.head.error.line == 7
    assert case.head.error.message == ("refused: executes code from a fork's pull request (similar grader sagemaker:embedding:emb "
                                       "transform) — code from forks never runs; only the base branch's code does")
    same_repo = plan_suite(PATH, base_tree, head_tree, base, head, pr_code=lambda what: may_run(Origin.PR, True, EvalsConfig(), what))
    assert all(c.head is None or c.head.error is None for c in same_repo.cases)
    assert [c.reasons for c in same_repo.cases if c.head is not None] == [("assertions changed",)]


def test_the_transforms_file_is_part_of_the_fingerprint_so_an_edit_reruns_the_case():
    text = suite(EMBEDDER + "          transform: file://same.js\n")
    tree = MemoryTree({PATH: text, "evals/same.js": "module.exports = (p) => 'a';\n"})
    changed = MemoryTree({PATH: text, "evals/same.js": "module.exports = (p) => 'b';\n"})
    (base, _), (head, _) = load_suite(tree, PATH), load_suite(changed, PATH)
    assert [c.reasons for c in plan_suite(PATH, tree, changed, base, head).cases if c.head is not None] == [("assertions changed",)]
    assert [c for c in plan_suite(PATH, tree, tree, base, base).cases if c.head is not None] == []
