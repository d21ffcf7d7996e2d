"""A provider written in code as a grader (an assertion's `provider:` or options.provider of `file://x.js` / `.py`),
as promptfoo 0.121 uses one: text grading calls its callApi with the grading prompt, `similar` and answer-relevance
call its callEmbeddingApi (Python: call_embedding_api) for each text. It runs in the sandbox under the code gate.
Run through the eval engine against the scripted model server (whose embeddings the JavaScript grader fetches)."""

from __future__ import annotations

import asyncio

import httpx
from bot.core.config import EvalsConfig
from bot.core.files import MemoryTree
from bot.evals import EvalRequest, NoCache, run_evals
from bot.evals.loader import load_suite
from bot.evals.sandbox import Origin, may_run
from bot.evals.select import plan_suite
from tests.compat.reviewing import PATH

EMBEDDER_JS = """\
const fetch = require('node-fetch');
class Embedder {
  constructor(options) { this.providerId = options.id || 'embedder'; }
  id() { return this.providerId; }
  async callApi() { return null; }
  async callEmbeddingApi(text) {
    const response = await fetch('https://api.openai.com/v1/embeddings', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${process.env.OPENAI_API_KEY}` },
      body: JSON.stringify({ model: 'text-embedding-3-large', input: text }),
    });
    const data = await response.json();
    return { embedding: data.data[0].embedding, tokenUsage: { prompt: data.usage.prompt_tokens } };
  }
}
module.exports = Embedder;
"""
# a text grader: passes when the graded output (inside the grading prompt) names the word in its config
JUDGE_JS = """\
module.exports = class {
  constructor(options) { this.word = options.config.word; }
  async callApi(prompt, context) {
    const pass = prompt.includes(this.word) && context.prompt.label === 'grader';
    return { output: JSON.stringify({ pass, score: pass ? 1 : 0, reason: pass ? 'names it' : 'does not' }) };
  }
};
"""
EMBEDDER_PY = "def call_embedding_api(prompt, options):\n    return {'embedding': [1.0, float(len(prompt) % 3)]}\n"
NO_EMBEDDINGS_JS = "module.exports = { callApi: async () => ({ output: 'x' }) };\n"

SUITE = (
    "prompts: ['Reply with exactly \"{{word}}\".']\n"
    "providers: [openai:chat:gpt-4o-mini]\n"
    "tests:\n"
    "  - description: similar by code\n"
    "    vars: {word: apples and pears}\n"
    "    assert:\n"
    "      - type: similar\n"
    "        value: pears and apples\n"
    "        threshold: 0.9\n"
    "        provider: ./embedder.js\n"
    "      - type: not-similar\n"
    "        value: a different sentence entirely\n"
    "        threshold: 0.5\n"
    "        provider: ./embedder.js\n"
    "  - description: rubric by code\n"
    "    vars: {word: plum}\n"
    "    options:\n"
    "      provider: {id: file://judge.js, config: {word: plum}}\n"
    "    assert:\n"
    "      - type: llm-rubric\n"
    "        value: names a fruit\n"
    "  - description: rubric by code fails\n"
    "    vars: {word: fig}\n"
    "    options:\n"
    "      provider: {id: file://judge.js, config: {word: plum}}\n"
    "    assert:\n"
    "      - type: llm-rubric\n"
    "        value: names a fruit\n"
)
FILES = {"evals/embedder.js": EMBEDDER_JS, "evals/judge.js": JUDGE_JS}


def review(url: str, suite: str, files: dict[str, str]):
    env = {"OPENAI_BASE_URL": f"{url}/v1", "OPENAI_API_KEY": "test"}
    request = EvalRequest(base=MemoryTree({}), head=MemoryTree({PATH: suite, **files}), suites=[PATH], env=env)
    return {c.description: c.head for c in asyncio.run(run_evals(request, NoCache())).cases()}


def test_a_javascript_grader_embeds_through_its_call_embedding_api_and_grades_text_through_call_api(server_url):
    before = httpx.get(f"{server_url}/_control/stats").json()["by_model"].get("text-embedding-3-large", 0)
    cases = review(server_url, SUITE, FILES)
    # the grader's own requests (its model, through the sandbox's fetch): two texts for each of the two assertions
    assert httpx.get(f"{server_url}/_control/stats").json()["by_model"].get("text-embedding-3-large", 0) - before == 4
    similar = cases["similar by code"]
    assert similar.error is None and similar.passed, similar  # bag-of-words embeddings from the scripted server
    assert cases["rubric by code"].error is None and cases["rubric by code"].passed, cases["rubric by code"]
    failed = cases["rubric by code fails"]
    assert failed.error is None and not failed.passed


def test_a_python_embedding_grader_calls_call_embedding_api(server_url):
    suite = SUITE.replace("provider: ./embedder.js", "provider: file://embedder.py").replace("threshold: 0.5", "threshold: 0.99")
    suite = suite.replace("value: pears and apples", "value: zzzz zzzz zzzz z")  # no word in common with the output
    cases = review(server_url, suite, {**FILES, "evals/embedder.py": EMBEDDER_PY})
    # [1, len % 3]: 'apples and pears' (16) and 'zzzz zzzz zzzz z' (16) are the same vector; the other (29) is not
    assert cases["similar by code"].error is None and cases["similar by code"].passed, cases["similar by code"]


def test_a_grader_without_call_embedding_api_used_for_similar_is_a_case_error_naming_it(server_url):
    cases = review(server_url, SUITE.replace("./embedder.js", "./plain.js"), {**FILES, "evals/plain.js": NO_EMBEDDINGS_JS})
    error = cases["similar by code"].error
    assert error is not None and "embedding grader ./plain.js (evals/plain.js): evals/plain.js has no callEmbeddingApi" in error, error


def test_a_fork_adding_a_grader_in_code_is_refused_naming_the_rule_and_a_same_repo_pr_runs_it():
    base_suite = SUITE.replace("        provider: ./embedder.js\n", "")
    base_tree, head_tree = MemoryTree({PATH: base_suite, **FILES}), MemoryTree({PATH: SUITE, **FILES})
    (base, _), (head, errors) = load_suite(base_tree, PATH), load_suite(head_tree, PATH)
    assert errors == [] and base is not None and head is not None
    fork = plan_suite(PATH, base_tree, head_tree, base, head, pr_code=lambda what: may_run(Origin.PR, False, EvalsConfig(), what))
    (case,) = [c for c in fork.cases if c.head is not None and c.head.description == "similar by code"]
    assert case.head is not None and case.head.error is not None and case.head.error.line == 7
    assert case.head.error.message == ("refused: executes code from a fork's pull request (similar grader ./embedder.js) — "
                                       "code from forks never runs; only the base branch's code does")
    assert "assertions changed" in case.reasons
    same_repo = plan_suite(PATH, base_tree, head_tree, base, head, pr_code=lambda what: may_run(Origin.PR, True, EvalsConfig(), what))
    assert all(c.head is None or c.head.error is None for c in same_repo.cases)


def test_the_graders_code_is_part_of_the_fingerprint_so_a_changed_grader_reruns_its_cases():
    tree = MemoryTree({PATH: SUITE, **FILES})
    changed = MemoryTree({PATH: SUITE, **FILES, "evals/judge.js": JUDGE_JS.replace("'names it'", "'it names it'")})
    (base, _), (head, _) = load_suite(tree, PATH), load_suite(changed, PATH)
    plan = plan_suite(PATH, tree, changed, base, head)
    assert {c.head.description for c in plan.cases if c.head is not None} == {"rubric by code", "rubric by code fails"}
    assert all(c.reasons == ("grader changed",) for c in plan.cases), [c.reasons for c in plan.cases]
