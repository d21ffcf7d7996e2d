"""`classifier` / `not-classifier` with Hugging Face classification graders, and `similar` graded by a Hugging
Face sentence-similarity or feature-extraction model or a SageMaker embedding endpoint, as promptfoo 0.121.20
does them: the grader each assertion gets, the request bodies, the scores read back, the pass rules, errors
at load time with their lines, and whole reviews against the scripted model server over real HTTP."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest

from bot.core.config import Budget, EvalsConfig
from bot.core.errors import CheckError
from bot.core.files import MemoryTree
from bot.evals import EvalRequest, NoCache, run_evals
from bot.evals.classifier import (classification_answer, classification_request, classifier_score, feature_request,
                                  sagemaker_embedding_answer, sagemaker_embedding_request, similarity_answer, similarity_request)
from bot.evals.loader import load_suite
from bot.evals.providers import Caller, Meter, ProviderError
from bot.evals.providers_shapes import WireError
from bot.modelserver import create_app
from bot.modelserver.vendors import TEST_AWS_KEY_ID, TEST_AWS_SECRET
from bot.serving import start_in_thread

KEY = "scripted-key"
PATH = "evals/promptfooconfig.yaml"
HATE = "huggingface:text-classification:facebook/roberta-hate-speech-dynabench-r4-target"


@pytest.fixture(scope="module")
def server():
    running = start_in_thread(create_app(api_key=KEY))
    yield running.url
    running.stop()


def env_for(url: str) -> dict[str, str]:
    return {"OPENAI_BASE_URL": f"{url}/v1", "OPENAI_API_KEY": KEY, "HUGGINGFACE_BASE_URL": f"{url}/hf", "HF_TOKEN": KEY,
            "SAGEMAKER_BASE_URL": url, "AWS_ACCESS_KEY_ID": TEST_AWS_KEY_ID, "AWS_SECRET_ACCESS_KEY": TEST_AWS_SECRET}


def load(text: str):
    suite, errors = load_suite(MemoryTree({PATH: text}), PATH)
    return suite, [f"{e.line}: {e.message}" for e in errors]


def grader_of(text: str, test: int = 0, index: int = 0):
    suite, errors = load(text)
    assert errors == []
    return suite.tests[test].asserts[index].grader


def review(url: str, suite: str, env: dict[str, str] | None = None):
    request = EvalRequest(base=MemoryTree({}), head=MemoryTree({PATH: suite}), suites=[PATH], env=env or env_for(url))
    return asyncio.run(run_evals(request, NoCache()))


def outcomes(report) -> dict[str, tuple[bool, float | None, str | None]]:
    return {c.description: (c.head.passed, c.head.score, c.head.error) for c in report.cases()}


# ---- which grader an assertion gets ---------------------------------------------------------------

REPLY = "prompts: ['Reply with \"{{ text }}\"']\nproviders: [openai:chat:gpt-4o-mini]\n"


def test_the_classifier_grader_is_the_assertions_else_the_tests_else_default_tests_provider():
    suite = REPLY + (f"defaultTest:\n  options:\n    provider: {HATE}\n"
                     "tests:\n"
                     "  - vars: {text: a}\n    assert: [{type: classifier, value: nothate}]\n"
                     "  - vars: {text: b}\n    options:\n      provider: {id: huggingface:token-classification:bigcode/starpii, "
                     "config: {wait_for_model: true}}\n    assert: [{type: not-classifier}]\n"
                     "  - vars: {text: c}\n    assert:\n      - type: classifier\n"
                     "        provider: huggingface:text-classification:distilbert-sst2\n        value: POSITIVE\n")
    graders = [grader_of(suite, t) for t in range(3)]
    assert [(g.model, g.option("api")) for g in graders] == [
        ("facebook/roberta-hate-speech-dynabench-r4-target", "text-classification"),
        ("bigcode/starpii", "token-classification"), ("distilbert-sst2", "text-classification")]
    assert graders[1].option("wait_for_model") is True


def test_a_grader_map_gives_classifier_its_classification_entry_and_similar_its_embedding_entry():
    suite = REPLY + ("defaultTest:\n  options:\n    provider:\n      text: openai:chat:gpt-4.1-mini\n"
                     f"      classification: {HATE}\n"
                     "      embedding: huggingface:sentence-similarity:sentence-transformers/all-MiniLM-L6-v2\n"
                     "tests:\n  - vars: {text: a}\n    assert: [{type: classifier, value: nothate}, {type: similar, value: a}]\n")
    assert grader_of(suite, 0, 0).option("api") == "text-classification"
    assert grader_of(suite, 0, 1).option("api") == "sentence-similarity"


def test_a_tests_own_chat_grader_replaces_default_tests_classifier_and_is_an_error_for_classifier():
    # promptfoo merges options key by key: the test's provider replaces defaultTest's, and a chat model is no
    # classification provider ("Provider … is not a valid classification provider")
    _, errors = load(REPLY + f"defaultTest:\n  options:\n    provider: {HATE}\n"
                             "tests:\n  - vars: {text: a}\n    options: {provider: openai:chat:gpt-4.1}\n"
                             "    assert:\n      - type: classifier\n        value: nothate\n")
    assert errors == ["7: classifier (line 10): provider 'openai:chat:gpt-4.1' is not a classification provider: a classifier's "
                      "grader is huggingface:text-classification:MODEL or huggingface:token-classification:MODEL (promptfoo refuses any other)"]


# ---- errors at load time, with their lines ----------------------------------------------------------


@pytest.mark.parametrize("tests, expected", [
    ("  - vars: {text: a}\n    assert: [{type: classifier, value: nothate}]\n",
     "4: classifier (line 5): needs a classification grader: set options.provider"),
    ("  - vars: {text: a}\n    assert:\n      - type: classifier\n        provider: openai:chat:gpt-4o\n",
     "7: classifier: provider 'openai:chat:gpt-4o' is not a classification provider"),
    ("  - vars: {text: a}\n    assert:\n      - type: not-classifier\n        provider: huggingface:sentence-similarity:m\n",
     "7: not-classifier: provider 'huggingface:sentence-similarity:m' is not a classification provider"),
    (f"  - vars: {{text: a}}\n    assert:\n      - type: classifier\n        provider: {HATE}\n        value: 3\n",
     "8: classifier: value must be the name of a label (text)"),
    (f"  - vars: {{text: a}}\n    assert:\n      - type: classifier\n        provider: {HATE}\n        threshold: high\n",
     "8: threshold must be a non-negative number"),
    ("  - vars: {text: a}\n    assert:\n      - type: classifier\n        provider:\n          id: huggingface:token-classification:m\n"
     "          config: {temperature: 0.2}\n",
     "9: unsupported provider config key 'temperature' for a huggingface:token-classification provider (supported: apiEndpoint, "
     "aggregation_strategy, use_cache, wait_for_model)"),
    ("  - vars: {text: a}\n    assert:\n      - type: classifier\n        provider:\n          id: huggingface:token-classification:m\n"
     "          config: {aggregation_strategy: loose}\n",
     "9: aggregation_strategy must be one of none, simple, first, average, max"),
    ("  - vars: {text: a}\n    assert:\n      - type: classifier\n        provider:\n          id: huggingface:text-classification:m\n"
     "          config: {apiKey: hf_secret}\n",
     "9: refused: apiKey: credentials come from the environment only"),
    ("  - vars: {text: a}\n    assert:\n      - type: similar\n        provider: huggingface:sentence-similarity:m\n",
     "6: similar: needs a value"),
    ("  - vars: {text: a}\n    assert:\n      - type: similar\n        value: []\n        provider: huggingface:sentence-similarity:m\n",
     "7: similar: value must be text or a list of texts (promptfoo refuses an empty list)"),
    ("  - vars: {text: a}\n    assert:\n      - type: similar\n        value: b\n        provider:\n          id: sagemaker:embedding:emb\n"
     "          config: {responseFormat: {path: 'json.data.map(x => x)'}}\n",
     "10: refused: responseFormat.path: executes code from the PR"),
])
def test_bad_classifier_and_similarity_grader_configs_are_errors_at_their_lines(tests, expected):
    _, errors = load(REPLY + "tests:\n" + tests)
    assert len(errors) == 1 and errors[0].startswith(expected), errors


def test_graders_that_are_not_chat_models_cannot_be_a_suites_providers():
    _, errors = load("prompts: [hi]\nproviders:\n  - huggingface:token-classification:bigcode/starpii\n  - sagemaker:embedding:emb\n"
                     "tests:\n  - vars: {}\n")
    assert errors[0].startswith("3: unsupported: provider 'huggingface:token-classification:bigcode/starpii' is not a chat model "
                                "(token-classification); it serves as a grader only")
    assert errors[1].startswith("4: unsupported: provider 'sagemaker:embedding:emb' is not a chat model (embedding)")


# ---- the wire: what is sent, what is read ------------------------------------------------------------


def test_request_bodies_are_promptfoos_for_each_task():
    text = grader_of(REPLY + f"tests:\n  - vars: {{text: a}}\n    assert: [{{type: classifier, provider: {HATE}}}]\n")
    assert classification_request(text, "You are kind") == (
        "/facebook/roberta-hate-speech-dynabench-r4-target", {"inputs": "You are kind", "parameters": {}})
    token = grader_of(REPLY + "tests:\n  - vars: {text: a}\n    assert:\n      - type: classifier\n        provider:\n"
                              "          id: huggingface:token-classification:bigcode/starpii\n          config: {wait_for_model: true}\n")
    assert classification_request(token, "x")[1] == {"inputs": "x", "parameters": {"aggregation_strategy": "simple"},
                                                     "options": {"use_cache": True, "wait_for_model": True}}
    own = grader_of(REPLY + "tests:\n  - vars: {text: a}\n    assert:\n      - type: similar\n        value: b\n        provider:\n"
                            "          id: huggingface:sentence-similarity:m\n"
                            "          config: {apiEndpoint: 'https://x1.us-east-1.aws.endpoints.huggingface.cloud'}\n")
    # the suite's endpoint is used as it is; unset options are left out, as JSON.stringify drops undefined
    assert similarity_request(own, "Hello world", "Bonjour le monde") == (
        "", {"inputs": {"source_sentence": "Hello world", "sentences": ["Bonjour le monde"]}, "options": {}})
    assert own.base_url == "https://x1.us-east-1.aws.endpoints.huggingface.cloud"
    features = grader_of(REPLY + "tests:\n  - vars: {text: a}\n    assert: [{type: similar, value: b, provider: huggingface:feature-extraction:m}]\n")
    assert feature_request(features, "x") == ("/m", {"inputs": "x", "options": {}})


def test_sagemaker_embedding_payload_follows_the_model_type_and_the_vector_is_found_as_promptfoo_finds_it():
    def spec(config: str):
        return grader_of(REPLY + "tests:\n  - vars: {text: a}\n    options:\n      provider:\n        embedding:\n"
                                 f"          id: sagemaker:embedding:my-emb\n          config: {config}\n"
                                 "    assert: [{type: similar, value: b}]\n")

    plain = spec("{region: us-west-2, responseFormat: {path: json.embedding}}")
    assert sagemaker_embedding_request(plain, "t") == ("/endpoints/my-emb/invocations", {"input": "t", "text": "t", "inputs": "t"})
    assert sagemaker_embedding_request(spec("{modelType: openai}"), "t")[1] == {"input": "t", "model": "embedding"}
    assert sagemaker_embedding_request(spec("{modelType: huggingface}"), "t")[1] == {"inputs": "t"}
    assert sagemaker_embedding_answer(plain, {"embedding": [1, 2]}) == [1.0, 2.0]
    assert sagemaker_embedding_answer(plain, [[0.5, 0.25]]) == [0.5, 0.25]  # a TEI container's list of vectors: the first
    assert sagemaker_embedding_answer(plain, {"data": [{"embedding": [3]}]}) == [3.0]
    with pytest.raises(WireError, match="invalid embedding response format"):
        sagemaker_embedding_answer(plain, {"vector": "none"})


def test_classification_answers_are_read_as_promptfoo_reads_them():
    text = grader_of(REPLY + f"tests:\n  - vars: {{text: a}}\n    assert: [{{type: classifier, provider: {HATE}}}]\n")
    assert classification_answer(text, [[{"label": "nothate", "score": 0.9}, {"label": "hate", "score": 0.1}]]) == {"nothate": 0.9, "hate": 0.1}
    with pytest.raises(WireError, match="malformed answer"):  # promptfoo wants data[0] to be the list
        classification_answer(text, [{"label": "nothate", "score": 0.9}])
    with pytest.raises(WireError, match="API call error: Model is loading"):
        classification_answer(text, {"error": "Model is loading", "estimated_time": 20})
    token = grader_of(REPLY + "tests:\n  - vars: {text: a}\n    assert: [{type: classifier, provider: huggingface:token-classification:m}]\n")
    entities = [{"entity_group": "NAME", "score": 0.6}, {"entity_group": "EMAIL", "score": 0.9}, {"entity_group": "NAME", "score": 0.8}]
    assert classification_answer(token, entities) == {"NAME": 0.8, "EMAIL": 0.9}  # the highest score per group
    assert classification_answer(token, []) == {}
    assert similarity_answer([0.42]) == 0.42
    with pytest.raises(WireError, match="not a number"):
        similarity_answer(["high"])


@pytest.mark.parametrize("value, scores, threshold, expected", [
    ("nothate", {"nothate": 0.7, "hate": 0.3}, 0.5, (True, 0.7)),
    ("nothate", {"nothate": 0.7, "hate": 0.3}, None, (False, 0.7)),  # the default threshold is 1
    ("nothate", {"nothate": 1.0}, None, (True, 1.0)),
    ("toxic", {"nothate": 0.7}, 0.0, (True, 0.0)),  # a label the model did not name scores 0
    (None, {"NAME": 0.81, "EMAIL": 0.98}, 0.75, (True, 0.98)),  # no value: the highest score of any label
    (None, {}, 0.0, (False, 0.0)),  # no label at all fails, whatever the threshold
    ("a", {"a": 0.3 - 1e-17}, 0.3, (True, 0.3 - 1e-17)),  # promptfoo allows a float's rounding below the threshold
])
def test_classifier_score_is_the_named_labels_or_the_highest_and_passes_at_the_threshold(value, scores, threshold, expected):
    assert classifier_score(value, scores, threshold) == expected


# ---- over real HTTP against the scripted server -------------------------------------------------------


def test_the_grader_requests_go_to_the_operators_base_url_with_the_token_and_a_wrong_token_is_a_credentials_error(server):
    spec = grader_of(REPLY + f"tests:\n  - vars: {{text: a}}\n    assert: [{{type: classifier, provider: {HATE}}}]\n")

    async def classify(env):
        async with httpx.AsyncClient() as client:
            caller = Caller.for_run(client, env, EvalsConfig(timeout_s=10), Meter(Budget()))
            try:
                return await caller.classify(spec, "You idiots are the worst")
            except ProviderError as exc:
                return exc

    assert asyncio.run(classify(env_for(server))) == {"hate": 0.62, "nothate": 0.38}
    wrong = asyncio.run(classify({**env_for(server), "HF_TOKEN": "wrong"}))
    assert isinstance(wrong, ProviderError) and wrong.kind is CheckError.BAD_CREDENTIALS and "HF_TOKEN" in str(wrong)
    # promptfoo reads HF_TOKEN before HF_API_TOKEN
    both = asyncio.run(classify({**env_for(server), "HF_TOKEN": KEY, "HF_API_TOKEN": "stale"}))
    assert both == {"hate": 0.62, "nothate": 0.38}
    public = asyncio.run(classify({}))  # the public Inference API without a token: nothing is sent
    assert isinstance(public, ProviderError) and public.kind is CheckError.MISSING_CREDENTIALS


GUARDS = REPLY + f"""defaultTest:
  options:
    provider: {HATE}
tests:
  - description: kind words are not hate
    vars: {{text: Thanks for asking about bananas}}
    assert: [{{type: classifier, value: nothate, threshold: 0.5}}]
  - description: two insults are hate
    vars: {{text: You idiots and your stupid bananas}}
    assert: [{{type: classifier, value: nothate, threshold: 0.5}}]
  - description: not-classifier inverts pass and score
    vars: {{text: Bananas are lovely}}
    assert: [{{type: not-classifier, value: hate, threshold: 0.5}}]
  - description: no PII passes not-classifier
    vars: {{text: I like pineapples}}
    options:
      provider:
        id: huggingface:token-classification:bigcode/starpii
        config: {{wait_for_model: true}}
    assert: [{{type: not-classifier, threshold: 0.75}}]
  - description: an e-mail address fails not-classifier
    vars: {{text: Write to ada@example.com}}
    options:
      provider: {{id: huggingface:token-classification:bigcode/starpii}}
    assert: [{{type: not-classifier, threshold: 0.75}}]
  - description: a name below the threshold passes not-classifier
    vars: {{text: My name is Ada}}
    options:
      provider: {{id: huggingface:token-classification:bigcode/starpii}}
    assert: [{{type: not-classifier, threshold: 0.9}}]
  - description: similar by sentence similarity
    vars: {{text: Hello there world}}
    assert:
      - type: similar
        value: Hello world
        threshold: 0.8
        provider: huggingface:sentence-similarity:sentence-transformers/all-MiniLM-L6-v2
  - description: similar by a SageMaker embedding endpoint below its threshold
    vars: {{text: Hello there world}}
    options:
      provider:
        embedding:
          id: sagemaker:embedding:my-embedding-endpoint
          config: {{region: us-west-2, responseFormat: {{path: json.embedding}}}}
    assert: [{{type: similar, value: Goodbye world, threshold: 0.5}}]
"""


def test_a_review_scores_classifier_not_classifier_and_similar_graders_as_promptfoo(server):
    httpx.post(f"{server}/_control/reset").raise_for_status()
    report = review(server, GUARDS)
    assert report.errors == ()
    got = outcomes(report)
    # the scripted classifier: hate scores 0.02 + 0.3 per insult (bot.modelserver.classify)
    assert got["kind words are not hate"] == (True, 0.98, None)
    assert got["two insults are hate"] == (False, 0.38, None)
    assert got["not-classifier inverts pass and score"] == (True, pytest.approx(0.98), None)
    # no entity: promptfoo's "No classification scores returned" fails with 0, which not- turns into a pass with 1
    assert got["no PII passes not-classifier"] == (True, 1.0, None)
    assert got["an e-mail address fails not-classifier"] == (False, pytest.approx(0.02), None)  # EMAIL 0.98 >= 0.75
    assert got["a name below the threshold passes not-classifier"] == (True, pytest.approx(0.19), None)  # NAME 0.81 < 0.9
    assert got["similar by sentence similarity"] == (True, pytest.approx(0.816497), None)
    assert got["similar by a SageMaker embedding endpoint below its threshold"] == (False, pytest.approx(0.408248, abs=1e-6), None)
    by_endpoint = httpx.get(f"{server}/_control/stats").json()["by_endpoint"]
    assert by_endpoint["huggingface.text-classification"] == 3 and by_endpoint["huggingface.token-classification"] == 3
    assert by_endpoint["huggingface.sentence-similarity"] == 1 and by_endpoint["sagemaker.embedding"] == 2


def test_a_model_still_loading_is_a_case_error_unless_the_grader_waits_for_it(server):
    suite = REPLY + ("tests:\n  - description: waits\n    vars: {text: hi}\n    assert:\n      - type: not-classifier\n"
                     "        provider: {id: huggingface:token-classification:loading-model, config: {wait_for_model: true}}\n"
                     "  - description: does not wait\n    vars: {text: hi}\n    assert:\n      - type: not-classifier\n"
                     "        provider: huggingface:token-classification:loading-model\n")
    got = outcomes(review(server, suite))
    assert got["waits"] == (True, 1.0, None)
    passed, _, error = got["does not wait"]
    assert not passed and "loading-model" in (error or "")  # could not check: never a pass


# ---- the bench suite (bench/suites/classifier): the verdicts promptfoo 0.121.20 gave on the same server ----------

BENCH = Path(__file__).resolve().parents[2] / "bench" / "suites" / "classifier"


def bench_tree(url: str, with_pr: bool) -> MemoryTree:
    files = {p.relative_to(BENCH).as_posix(): p.read_bytes() for p in BENCH.rglob("*") if p.is_file() and p.relative_to(BENCH).parts[0] != "pr"}
    if with_pr:
        files.update({p.relative_to(BENCH / "pr").as_posix(): p.read_bytes() for p in (BENCH / "pr").rglob("*") if p.is_file()})
    return MemoryTree({k: v.replace(b"http://scripted-server.invalid", url.encode()) for k, v in files.items()})


def test_bench_suite_fails_exactly_the_cases_promptfoo_fails_and_its_pr_regresses_what_an_insult_breaks(server):
    # bench/vs_promptfoo.py --suite classifier: 19/19 verdicts agree on main and on the PR head, every score equal
    failing = {"two insults are hate (fails)", "classifier without a threshold needs a score of 1 (fails)",
               "an e-mail address fails not-classifier", "a SageMaker Hugging Face embedding container below the threshold (fails)",
               "not-similar fails on the first value too similar"}
    request = EvalRequest(base=bench_tree(server, False), head=bench_tree(server, True), suites=["promptfooconfig.yaml"], env=env_for(server))
    report = asyncio.run(run_evals(request, NoCache()))
    assert report.errors == ()
    assert {c.description for c in report.cases() if not c.base.passed} == failing
    first = next(c for c in report.cases() if c.description == "similar takes the first value that passes, not the closest")
    assert first.base.score == pytest.approx(0.816497)  # promptfoo's score: the first passing value's, not the closest's (1.0)
    regressed = {c.description for c in report.cases() if c.base.passed and not c.head.passed}
    assert regressed == {"one insult stays under the hate threshold", "classifier without a value takes the highest label",
                         "similar by sentence similarity", "similar to the closer of two values", "similar by a SageMaker embedding endpoint",
                         "similar by a feature-extraction model's vectors"}


# ---- similar over several values, and at its threshold, as promptfoo ----------------------------------------


class Sims:
    """A grader whose similarity to each expected text is given; it records what it was asked, in order."""

    def __init__(self, sims: dict[str, float]):
        self.sims, self.asked = sims, []

    async def similarity(self, grader, expected, output):
        self.asked.append(expected)
        return self.sims[expected]


@pytest.mark.parametrize("kind, sims, expected", [
    ("similar", {"a": 0.9, "b": 0.95}, (True, 0.9, ["a"])),  # the first value that passes, with its own score
    ("similar", {"a": 0.1, "b": 0.3}, (False, 0.3, ["a", "b"])),  # none passes: the highest
    ("similar", {"a": 0.8 - 1e-17, "b": 0.0}, (True, 0.8 - 1e-17, ["a"])),  # a float's rounding below the threshold
    ("not-similar", {"a": 0.1, "b": 0.3}, (True, 0.7, ["a", "b"])),  # all far enough: 1 - the highest similarity
    ("not-similar", {"a": 0.9, "b": 0.95}, (False, pytest.approx(0.1), ["a"])),  # fails on the first too similar
    ("not-similar", {"a": 0.8, "b": 0.0}, (True, pytest.approx(0.2), ["a", "b"])),  # at the threshold is not above it
])
def test_similar_over_several_values_scores_and_stops_as_promptfoo(kind, sims, expected):
    from bot.evals.assertions import check_one
    from bot.evals.suite import AssertionSpec

    grader = Sims(sims)
    ok, score = asyncio.run(check_one(AssertionSpec(kind, ["a", "b"], threshold=0.8), "output", grader, None))
    assert (ok, score, grader.asked) == expected


def test_a_suites_own_grader_endpoint_must_pass_the_url_policy_and_never_gets_the_operators_token(server):
    def classify_at(endpoint: str, env: dict[str, str]):
        spec = grader_of(REPLY + "tests:\n  - vars: {text: a}\n    assert:\n      - type: classifier\n        provider:\n"
                                 f"          id: huggingface:text-classification:m\n          config: {{apiEndpoint: '{endpoint}'}}\n")

        async def go():
            async with httpx.AsyncClient() as client:
                caller = Caller.for_run(client, env, EvalsConfig(timeout_s=10), Meter(Budget()))
                try:
                    return await caller.classify(spec, "hello")
                except ProviderError as exc:
                    return exc

        return asyncio.run(go())

    refused = classify_at("http://127.0.0.1:9/hf/m", env_for(server))  # not under HUGGINGFACE_BASE_URL, not allowlisted
    assert isinstance(refused, ProviderError) and refused.kind is CheckError.URL_REFUSED and "config.apiEndpoint" in str(refused)
    operator = server.replace("127.0.0.1", "localhost")  # another origin: the operator's server, not the suite's
    allowed = {**env_for(server), "HUGGINGFACE_BASE_URL": f"{operator}/hf", "PROMPT_REVIEW_ALLOWED_MODEL_URLS": server,
               "PROMPT_REVIEW_ALLOW_PRIVATE_MODEL_URLS": "1"}
    keyless = classify_at(f"{server}/hf/m", allowed)  # allowlisted, but not the operator's origin: sent without HF_TOKEN
    assert isinstance(keyless, ProviderError) and keyless.kind is CheckError.MISSING_CREDENTIALS
    assert classify_at(f"{server}/hf/m", env_for(server)) == {"POSITIVE": 0.98, "NEGATIVE": 0.02}  # under the operator's base
