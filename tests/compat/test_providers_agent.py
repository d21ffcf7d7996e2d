"""promptfoo's Amazon Bedrock Agents provider (`bedrock-agent:AGENT_ID`): the InvokeAgent request promptfoo 0.121's
AwsBedrockAgentsProvider sends, and the output and metadata it makes of the answer — an AWS event stream of binary
frames — pinned against promptfoo 0.121.20 itself (data/agent_promptfoo.json is what `PROMPTFOO_CACHE_ENABLED=false
node bench/agent_oracle.mjs PROMPTFOO/dist/src/index.js < data/agent_cases.json` printed, keeping its JSON line); over
real loopback HTTP against the scripted model server (SigV4 checked), the frame checks (CRC32s, lengths), promptfoo's
error messages, the config keys at load, and a review end to end."""

from __future__ import annotations

import asyncio
import base64
import json
import re
from pathlib import Path

import httpx
import pytest

from bot.core.config import Budget, EvalsConfig
from bot.core.files import MemoryTree
from bot.evals import EvalRequest, NoCache, run_evals
from bot.evals.providers import Caller, Completion, Meter, ProviderError
from bot.evals.providers_agent import AgentError, agent_answer, agent_request, frames
from bot.evals.providers_config import VENDORS
from bot.modelserver import create_app
from bot.modelserver.agents import event, exception, frame
from bot.serving import start_in_thread
from tests.compat.bedrock import agent_runtime_env, complete, load, provider

KEY = "scripted-key"
PATH = "evals/promptfooconfig.yaml"
DATA = Path(__file__).parent / "data"
CASES = json.loads((DATA / "agent_cases.json").read_text())
PROMPTFOO = json.loads((DATA / "agent_promptfoo.json").read_text())


@pytest.fixture(scope="module")
def server():
    running = start_in_thread(create_app(api_key=KEY))
    yield running.url
    running.stop()


def call(environ: dict[str, str], pid: str, config: dict, prompt: str = "Which plan fits a team of 50?") -> Completion | ProviderError:
    return complete(environ, pid, config, prompt)


@pytest.mark.parametrize("index", range(len(CASES)))
def test_the_request_the_output_and_the_metadata_are_promptfoos(index):
    case, promptfoo = CASES[index], PROMPTFOO[index]
    spec = provider(case["provider"], case["config"])
    path, body, session = agent_request(spec, (("user", case["prompt"]),))
    sent = promptfoo["request"]
    assert (body, sent["signed_for"]) == (sent["body"], ["us-east-1", "bedrock"])
    if case["config"].get("sessionId"):
        assert path == sent["path"]
    else:  # a fresh session per call: session-UUID, both
        assert re.sub(r"session-[0-9a-f-]{36}", "S", path) == re.sub(r"session-[0-9a-f-]{36}", "S", sent["path"])
    try:
        got = agent_answer(spec, base64.b64decode(case["body_base64"]), case["headers"])
    except AgentError as exc:
        assert "error" in promptfoo and str(exc) == promptfoo["error"]
    else:
        assert got == (promptfoo["output"], promptfoo["metadata"])


def test_the_request_is_the_one_promptfoo_sends():
    spec = provider("bedrock-agent:basic-agent", {"agentId": "ABCDEFGHIJ", "agentAliasId": "PROD1", "region": "us-east-1"})
    path, body, session = agent_request(spec, (("user", "What can you do?"),))
    # config.agentId wins over the path's id; a fresh session per call; only the set members in the body
    assert re.fullmatch(r"session-[0-9a-f-]{36}", session)
    assert path == f"/agents/ABCDEFGHIJ/agentAliases/PROD1/sessions/{session}/text"
    assert body == {"inputText": "What can you do?"}
    assert agent_request(spec, (("user", "x"),))[2] != session
    spec = provider("bedrock-agent:AGENT1", {
        "agentAliasId": "A/1", "sessionId": "s 1", "enableTrace": True, "endSession": False, "memoryId": "MEM1",
        "sessionState": {"sessionAttributes": {"tier": "gold"}, "invocationId": "i-1"},
        "temperature": 0.2, "inferenceConfig": {"topP": 0.9}, "guardrailConfiguration": {"guardrailId": "G1", "guardrailVersion": "1"},
        "actionGroups": [{"actionGroupName": "x"}]})
    path, body, session = agent_request(spec, (("system", "Be brief."), ("user", "Hi")))
    assert (path, session) == ("/agents/AGENT1/agentAliases/A%2F1/sessions/s%201/text", "s 1")  # ids are percent-encoded
    # a chat prompt is sent as its JSON; the inference and guardrail settings are not members of InvokeAgent's request
    assert body == {"inputText": json.dumps([{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}]),
                    "enableTrace": True, "endSession": False, "memoryId": "MEM1",
                    "sessionState": {"sessionAttributes": {"tier": "gold"}, "invocationId": "i-1"}}


def test_the_output_joins_the_chunks_bytes_and_the_trace_is_kept_only_with_enable_trace():
    euro = "Price: 5 €".encode()
    stream = (event("trace", {"agentId": "A", "eventTime": "2026-01-01T00:00:00Z", "extra": 1,
                              "trace": {"orchestrationTrace": {"rationale": {"text": "why"}}}})
              + event("chunk", {"bytes": base64.b64encode(euro[:-2]).decode()})  # the € split across two chunks
              + event("chunk", {"bytes": base64.b64encode(euro[-2:]).decode()})
              + event("returnControl", {"invocationId": "i"}))
    plain = provider("bedrock-agent:A1", {"agentAliasId": "AL1"})
    assert agent_answer(plain, stream, {"x-amz-bedrock-agent-session-id": "s-9"}) == ("Price: 5 €", {"sessionId": "s-9"})
    traced = provider("bedrock-agent:A1", {"agentAliasId": "AL1", "enableTrace": True, "memoryId": "M1",
                                           "guardrailConfiguration": {"guardrailId": "G1", "guardrailVersion": "2"}})
    output, metadata = agent_answer(traced, stream, {})
    assert output == "Price: 5 €"
    # the trace as AWS's SDK hands it over: only the members of AWS's model
    assert metadata == {"trace": [{"agentId": "A", "eventTime": "2026-01-01T00:00:00.000Z",
                                   "trace": {"orchestrationTrace": {"rationale": {"text": "why"}}}}],
                        "memoryId": "M1", "guardrails": {"applied": True, "guardrailId": "G1", "guardrailVersion": "2"}}


def test_frames_are_checked_and_exceptions_carry_promptfoos_messages():
    good = event("chunk", {"bytes": base64.b64encode(b"ok").decode()})
    assert [h[":event-type"] for h, _ in frames(good + good)] == ["chunk", "chunk"]
    spec = provider("bedrock-agent:A1", {"agentAliasId": "AL1"})
    for broken, why in ((good[:-1] + bytes([good[-1] ^ 1]), "corrupt"),  # the message CRC
                        (good[:8] + bytes([good[8] ^ 1]) + good[9:], "corrupt"),  # the prelude CRC
                        (good[:-3], "do not fit"),  # a truncated frame
                        (b"\x00\x00\x00\x00" * 4, "do not fit"),  # a frame of length 0 would never advance
                        (good + b"\x00\x00", "ends inside a frame")):
        with pytest.raises(AgentError, match=why):
            agent_answer(spec, broken, {})
    messages = {"resourceNotFoundException": "Agent or alias not found. Verify agentId: A1 and agentAliasId: AL1",
                "accessDeniedException": "Access denied. Check IAM permissions for bedrock:InvokeAgent",
                "validationException": "Invalid configuration: bad input",
                "throttlingException": "Rate limit exceeded. Please retry later.",
                "dependencyFailedException": "Failed to invoke agent: bad input"}
    for kind, message in messages.items():
        with pytest.raises(AgentError) as raised:
            agent_answer(spec, good + exception(kind, "bad input"), {})
        assert str(raised.value) == message
    with pytest.raises(AgentError, match="not base64"):
        agent_answer(spec, event("chunk", {"bytes": "***"}), {})
    odd = frame({":message-type": "event", ":event-type": "chunk"}, b"not json")
    with pytest.raises(AgentError, match="not JSON"):
        agent_answer(spec, odd, {})


def test_an_agent_answers_over_http_signed_for_bedrock_as_an_event_stream(server):
    got = call(agent_runtime_env(server), "bedrock-agent:AGENT1", {"agentAliasId": "ALIAS1", "sessionId": "session-7", "enableTrace": True,
                                                    "memoryId": "MEM1"})
    assert isinstance(got, Completion), got
    assert got.text.startswith("You said: Which plan fits a team of 50?")
    (trace,) = got.metadata["trace"]
    assert "unmodeledMember" not in trace and trace["trace"]["orchestrationTrace"]["rationale"]["text"].startswith("Answering:")
    assert got.metadata["sessionId"] == "session-7" and got.metadata["memoryId"] == "MEM1"
    fresh = call(agent_runtime_env(server), "bedrock-agent:AGENT1", {"agentAliasId": "ALIAS1"})
    assert isinstance(fresh, Completion) and set(fresh.metadata) == {"sessionId"}
    assert fresh.metadata["sessionId"].startswith("session-")  # the server names the session the client made
    bearer = call({"BEDROCK_AGENT_RUNTIME_BASE_URL": server, "AWS_BEARER_TOKEN_BEDROCK": KEY}, "bedrock-agent:AGENT1", {"agentAliasId": "ALIAS1"})
    assert isinstance(bearer, Completion) and bearer.text == fresh.text


def test_stream_errors_and_aws_refusals_are_case_errors(server):
    missing = call(agent_runtime_env(server), "bedrock-agent:MISSINGAGT", {"agentAliasId": "ALIAS1"})
    assert isinstance(missing, ProviderError)
    assert str(missing) == "bedrock-agent:MISSINGAGT: Agent or alias not found. Verify agentId: MISSINGAGT and agentAliasId: ALIAS1"
    corrupt = call(agent_runtime_env(server), "bedrock-agent:BADFRAMES", {"agentAliasId": "ALIAS1"})
    assert isinstance(corrupt, ProviderError) and "CRC32" in str(corrupt)
    invalid = call(agent_runtime_env(server), "bedrock-agent:basic-agent", {"agentAliasId": "PROD_ALIAS_ID"})  # not AWS's id pattern
    assert isinstance(invalid, ProviderError) and "HTTP 400" in str(invalid) and "pattern" in str(invalid)
    wrong = call(agent_runtime_env(server, AWS_SECRET_ACCESS_KEY="wrong"), "bedrock-agent:AGENT1", {"agentAliasId": "ALIAS1"})
    assert isinstance(wrong, ProviderError) and "refused the credentials" in str(wrong)


def test_requests_go_to_the_agent_runtime_of_the_region():
    async def base(environ: dict[str, str], config: dict) -> str | None:
        async with httpx.AsyncClient() as client:
            caller = Caller.for_run(client, environ, EvalsConfig(), Meter(Budget()))
            return caller.vendor_base(VENDORS["bedrock-agent"], provider("bedrock-agent:A1", {"agentAliasId": "AL1", **config}))

    assert asyncio.run(base({}, {"region": "eu-west-1"})) == "https://bedrock-agent-runtime.eu-west-1.amazonaws.com"
    assert asyncio.run(base({}, {})) == "https://bedrock-agent-runtime.us-east-1.amazonaws.com"
    assert asyncio.run(base({"BEDROCK_AGENT_RUNTIME_BASE_URL": "http://proxy.internal/"}, {})) == "http://proxy.internal"


def test_config_keys_are_checked_at_load_with_their_lines():
    _, errors = load({"id": "bedrock-agent:A1", "config": {"region": "us-east-1"}})
    assert errors == [(4, "provider 'bedrock-agent:A1': a Bedrock agent needs config.agentAliasId (promptfoo answers every "
                          "case with 'Agent Alias ID is required')")]
    _, errors = load({"id": "bedrock-agent:", "config": {"agentAliasId": "AL1"}})
    assert [m for _, m in errors] == ["provider 'bedrock-agent:': a Bedrock agent needs its id (bedrock-agent:AGENT_ID or "
                                      "config.agentId); promptfoo refuses it too"]
    _, errors = load({"id": "bedrock-agent:A1", "config": {
        "agentAliasId": "AL1", "enableTrace": "yes", "sessionState": {"conversationHistory": []}, "profile": "dev",
        "topics": 1, "memoryId": 3}})
    assert sorted(m for _, m in errors) == sorted([
        "enableTrace must be true or false",
        "sessionState key 'conversationHistory' is not one promptfoo sends (it sends sessionAttributes, "
        "promptSessionAttributes, invocationId, returnControlInvocationResults)",
        "refused: profile: credentials come from the environment only, never from the repository (an AWS profile is "
        "read from the machine's files)",
        "unsupported provider config key 'topics' for a Bedrock agent (supported: actionGroups, agentAliasId, agentId, "
        "enableTrace, endSession, guardrailConfiguration, inferenceConfig, inputDataConfig, knowledgeBaseConfigurations, "
        "maximumLength, memoryId, promptOverrideConfiguration, region, sessionId, sessionState, stopSequences, temperature, topK, topP)",
        "memoryId must be non-empty text (at most 2048 characters)",
    ])


def test_a_provider_key_is_refused_as_promptfoos_schema_drops_it():
    _, errors = load({"id": "tech-agent", "provider": "bedrock-agent:TECH", "config": {"agentAliasId": "AL1"}})
    assert errors == [(7, "provider key 'provider' is not promptfoo's: its schema drops it and loads the provider that `id` "
                          "names ('tech-agent'), which promptfoo cannot identify either (promptfoo refuses it too); write the "
                          "provider id as `id` and a name for it as `label`")]


SUITE = """\
prompts: ['Customer asks: {{query}}']
providers:
  - id: bedrock-agent:SUPPORT1
    label: support
    config: {agentAliasId: PROD1, region: us-east-1, enableTrace: true}
tests:
  - vars: {query: refund for a duplicate charge}
    assert:
      - type: contains
        value: duplicate charge
      - type: icontains
        value: no such words
"""


def test_a_review_runs_the_agents_cases(server):
    report = asyncio.run(run_evals(EvalRequest(base=MemoryTree({}), head=MemoryTree({PATH: SUITE}), suites=[PATH], env=agent_runtime_env(server)),
                                   NoCache()))
    assert report.errors == ()
    (suite,) = report.suites
    (case,) = suite.cases
    assert (case.head.passed, case.head.error, case.head.failed_assertions) == (False, None, ('icontains "no such words"',))
