"""promptfoo's Amazon Bedrock knowledge base provider (`bedrock:kb:MODEL`): the RetrieveAndGenerate request it sends
and the output and metadata (citations) it makes of the answer, pinned against promptfoo 0.121.20 itself —
data/kb_promptfoo.json is what `PROMPTFOO_CACHE_ENABLED=false node bench/kb_oracle.mjs PROMPTFOO/dist/src/index.js
< data/kb_cases.json` printed —; the call over real loopback HTTP against the scripted model server (SigV4 checked);
and a review whose contextTransform reads the knowledge base's citations, end to end."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import httpx
import pytest

from bot.core.config import Budget, EvalsConfig
from bot.core.errors import CheckError
from bot.core.files import MemoryTree
from bot.evals import EvalRequest, NoCache, run_evals
from bot.evals.providers import Caller, Completion, Meter, ProviderError
from bot.evals.providers_config import VENDORS
from bot.evals.providers_kb import KB, kb_answer, kb_region, kb_request
from bot.modelserver import create_app
from bot.serving import start_in_thread
from tests.compat.bedrock import agent_runtime_env, complete, load, provider

DATA = Path(__file__).parent / "data"
CASES = json.loads((DATA / "kb_cases.json").read_text())
PROMPTFOO = json.loads((DATA / "kb_promptfoo.json").read_text())
KEY = "scripted-key"
PATH = "evals/promptfooconfig.yaml"


@pytest.fixture(scope="module")
def server():
    running = start_in_thread(create_app(api_key=KEY))
    yield running.url
    running.stop()


def call(environ: dict[str, str], pid: str, config: dict, prompt: str = "How long do refunds take?") -> Completion | ProviderError:
    return complete(environ, pid, config, prompt)


@pytest.mark.parametrize("index", range(len(CASES)))
def test_the_request_is_the_one_promptfoo_sends(index):
    case, promptfoo = CASES[index], PROMPTFOO[index]
    spec = provider(case["provider"], case["config"])
    assert kb_request(spec, (("user", case["prompt"]),), kb_region(spec, {})) == promptfoo["request"]["body"]


@pytest.mark.parametrize("index", [i for i, p in enumerate(PROMPTFOO) if "error" not in p])
def test_the_output_and_the_citations_are_what_promptfoo_makes_of_the_answer(index):
    output, metadata = kb_answer(CASES[index]["response"])
    assert (output, metadata) == (PROMPTFOO[index]["output"], PROMPTFOO[index]["metadata"])


def test_the_citations_reach_the_review_over_http_signed_for_bedrock(server):
    got = call(agent_runtime_env(server), "bedrock:kb:anthropic.claude-3-5-haiku-20241022-v1:0", {"knowledgeBaseId": "KB1", "numberOfResults": 1})
    assert isinstance(got, Completion), got
    assert got.text.startswith("You said: How long do refunds take?")
    (citation,) = got.metadata["citations"]
    assert citation["generatedResponsePart"]["textResponsePart"]["text"] == got.text
    (reference,) = citation["retrievedReferences"]  # numberOfResults: 1 was sent
    assert reference["content"] == {"type": "TEXT", "text": got.text}
    assert reference["location"] == {"type": "S3", "s3Location": {"uri": "s3://scripted-kb-kb1/doc-1.txt"}}


def test_a_bedrock_api_key_is_sent_as_a_bearer_token(server):
    got = call({"BEDROCK_AGENT_RUNTIME_BASE_URL": server, "AWS_BEARER_TOKEN_BEDROCK": KEY}, "bedrock:kb:amazon.nova-lite-v1:0",
               {"knowledgeBaseId": "KB1"})
    assert isinstance(got, Completion) and len(got.metadata["citations"][0]["retrievedReferences"]) == 2


def test_wrong_credentials_missing_ones_and_an_invalid_request_are_case_errors(server):
    wrong = call(agent_runtime_env(server, AWS_SECRET_ACCESS_KEY="wrong"), "bedrock:kb:amazon.nova-lite-v1:0", {"knowledgeBaseId": "KB1"})
    assert isinstance(wrong, ProviderError) and wrong.kind is CheckError.BAD_CREDENTIALS
    missing = call({"BEDROCK_AGENT_RUNTIME_BASE_URL": server}, "bedrock:kb:amazon.nova-lite-v1:0", {"knowledgeBaseId": "KB1"})
    assert isinstance(missing, ProviderError) and missing.kind is CheckError.MISSING_CREDENTIALS
    # bedrock:kb:default without config.modelArn sends no model, as promptfoo; AWS refuses it
    no_model = call(agent_runtime_env(server), "bedrock:kb:default", {"knowledgeBaseId": "KB1"})
    assert isinstance(no_model, ProviderError) and "HTTP 400" in str(no_model) and "modelArn" in str(no_model)
    long = call(agent_runtime_env(server), "bedrock:kb:amazon.nova-lite-v1:0", {"knowledgeBaseId": "KB1"}, "x" * 1001)
    assert isinstance(long, ProviderError) and "HTTP 400: 1 validation error detected: Value at 'input.text'" in str(long)


def test_requests_go_to_the_agent_runtime_of_the_configured_region_unless_the_operator_says_otherwise():
    async def base(environ: dict[str, str], config: dict) -> str | None:
        async with httpx.AsyncClient() as client:
            caller = Caller.for_run(client, environ, EvalsConfig(), Meter(Budget()))
            return caller.vendor_base(VENDORS[KB], provider("bedrock:kb:amazon.nova-lite-v1:0", {"knowledgeBaseId": "KB1", **config}))

    assert asyncio.run(base({}, {"region": "us-east-2"})) == "https://bedrock-agent-runtime.us-east-2.amazonaws.com"
    assert asyncio.run(base({"AWS_BEDROCK_REGION": "eu-west-1"}, {})) == "https://bedrock-agent-runtime.eu-west-1.amazonaws.com"
    assert asyncio.run(base({}, {})) == "https://bedrock-agent-runtime.us-east-1.amazonaws.com"  # promptfoo's default
    assert asyncio.run(base({"BEDROCK_AGENT_RUNTIME_BASE_URL": "http://proxy.internal/"}, {})) == "http://proxy.internal"


def test_config_keys_are_checked_at_load_with_their_lines():
    _, errors = load({"id": "bedrock:kb:amazon.nova-lite-v1:0", "config": {"region": "us-east-2"}})
    assert errors == [(4, "provider 'bedrock:kb:amazon.nova-lite-v1:0': a Bedrock knowledge base provider needs config.knowledgeBaseId; "
                          "promptfoo refuses it too")]
    _, errors = load({"id": "bedrock:kb:amazon.nova-lite-v1:0", "config": {
        "knowledgeBaseId": "not an id!", "numberOfResults": 0, "modelArn": "ftp://x", "topics": 3, "temperature": 0.2,
        "accessKeyId": "AKIA"}})
    assert [m for _, m in errors] == [
        "refused: accessKeyId: credentials come from the environment only, never from the repository",
        "knowledgeBaseId must be a knowledge base id (up to 10 letters and digits, e.g. 0VMCLLCVGB)",
        "modelArn must be a Bedrock model or inference profile ARN (arn:aws:bedrock:…), as AWS's API reference gives its form",
        "numberOfResults must be a whole number from 1 to 100",
        "unsupported provider config key 'topics' for a Bedrock knowledge base (supported: knowledgeBaseId, modelArn, "
        "numberOfResults, region; sampling settings are accepted and, as in promptfoo, not sent)",
    ]
    _, errors = load({"id": "bedrock:kb:", "config": {"knowledgeBaseId": "KB1"}})
    assert errors and errors[0][1].startswith("unsupported: provider 'bedrock:kb:': a Bedrock knowledge base provider needs the model")


SUITE = """\
prompts: ['Answer briefly: {{query}}']
providers:
  - id: bedrock:kb:anthropic.claude-3-5-haiku-20241022-v1:0
    label: KB
    config: {region: us-east-2, knowledgeBaseId: KB1, temperature: 0, max_tokens: 500}
  - id: bedrock:anthropic.claude-3-5-haiku-20241022-v1:0
    label: Direct
    config: {region: us-east-2}
tests:
  - vars: {query: refund window for damaged parcels}
    assert:
      - type: context-faithfulness
        contextTransform: 'context?.metadata?.citations?.flatMap(c => c.retrievedReferences || []).map(r => r.content?.text || "").join("\\n") || "No citations found"'
        threshold: 0.5
      - type: context-relevance
        contextTransform: 'context?.metadata?.citations?.[0]?.retrievedReferences?.[1]?.content?.text || "No context found"'
        threshold: 0.5
"""


def test_a_review_grades_the_knowledge_bases_answer_against_its_own_citations(server):
    environ = agent_runtime_env(server, BEDROCK_BASE_URL=server, AWS_REGION="us-east-2", OPENAI_BASE_URL=f"{server}/v1", OPENAI_API_KEY=KEY)
    report = asyncio.run(run_evals(EvalRequest(base=MemoryTree({}), head=MemoryTree({PATH: SUITE}), suites=[PATH], env=environ),
                                   NoCache()))
    assert report.errors == ()
    (suite,) = report.suites
    verdicts = {c.provider_id: (c.head.passed, c.head.error, c.head.failed_assertions) for c in suite.cases}
    # the knowledge base's citations back its answer and restate the query; the direct model has none, so the
    # fallback text is the context and neither check holds
    assert verdicts == {"bedrock:kb:anthropic.claude-3-5-haiku-20241022-v1:0": (True, None, ()),
                        "bedrock:anthropic.claude-3-5-haiku-20241022-v1:0": (False, None, ("context-faithfulness", "context-relevance"))}
