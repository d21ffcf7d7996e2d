"""The Adaline Gateway, Cohere and Replicate providers: config names translated as promptfoo reads
them, answers shaped as promptfoo outputs them, and the calls over real loopback HTTP against the
scripted model server (Replicate's pending predictions, Cohere's embeddings as a grader's)."""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest

from bot.core.config import Budget, EvalsConfig
from bot.core.errors import CheckError
from bot.core.files import MemoryTree
from bot.evals.loader import load_suite
from bot.evals.providers import Caller, Completion, Meter, ProviderError
from bot.evals.providers_wire import WireError, parse, request
from bot.modelserver import create_app
from bot.serving import start_in_thread

KEY = "scripted-key"
ASK = (("system", "You are a helpful assistant."), ("user", 'Please reply with "pong"'))
TEXT = (("user", "What is the weather in Boston?"),)  # a text prompt (not a message list)
WEATHER = {"name": "get_weather", "description": "Weather of a place",
           "parameters": {"type": "object", "properties": {"location": {"type": "string"}}, "required": ["location"]}}


@pytest.fixture(scope="module")
def server():
    running = start_in_thread(create_app(api_key=KEY))
    yield running.url
    running.stop()


def suite_of(providers: str, extra: str = ""):
    suite, errors = load_suite(MemoryTree({"promptfooconfig.yaml": f"providers:\n{providers}\ntests:\n  - vars: {{prompt: hi}}\n{extra}"}),
                               "promptfooconfig.yaml")
    return suite, [f"{e.line}: {e.message}" for e in errors]


def provider(providers: str):
    suite, errors = suite_of(providers)
    assert errors == []
    return suite.providers[0]


def call(env: dict[str, str], spec, messages=ASK) -> Completion | ProviderError:
    async def go():
        async with httpx.AsyncClient() as client:
            caller = Caller.for_run(client, env, EvalsConfig(timeout_s=10), Meter(Budget()))
            try:
                return await caller.complete(spec, messages)
            except ProviderError as exc:
                return exc

    return asyncio.run(go())


# ---- Adaline Gateway ----------------------------------------------------------------------------


def test_adaline_config_names_reach_each_vendor_in_its_own_form():
    def gateway(vendor: str, model: str):
        return provider(f"  - id: adaline:{vendor}:chat:{model}\n    config:\n      maxTokens: 120\n      topP: 0.9\n      seed: 7\n"
                        "      toolChoice: get_weather\n      tools: [{type: function, definition: {schema: " + json.dumps(WEATHER) + "}}]\n")

    path, body = request(gateway("openai", "gpt-4.1-mini"), TEXT)
    assert path == "/chat/completions" and body["max_tokens"] == 120 and body["top_p"] == 0.9 and body["seed"] == 7
    assert body["temperature"] == 0  # promptfoo's default for OpenAI through Adaline
    assert body["tools"] == [{"type": "function", "function": WEATHER}]
    assert body["tool_choice"] == {"type": "function", "function": {"name": "get_weather"}}

    path, body = request(gateway("anthropic", "claude-sonnet-4-0"), TEXT)
    assert path == "/v1/messages" and body["max_tokens"] == 120 and "seed" not in body
    assert body["tools"] == [{"name": "get_weather", "description": "Weather of a place", "input_schema": WEATHER["parameters"]}]
    assert body["tool_choice"] == {"type": "tool", "name": "get_weather"}

    path, body = request(gateway("google", "gemini-2.5-flash"), TEXT)
    assert path.endswith("/models/gemini-2.5-flash:generateContent")
    assert body["tools"] == [{"functionDeclarations": [WEATHER]}] and body["generationConfig"]["maxOutputTokens"] == 120
    assert body["toolConfig"] == {"functionCallingConfig": {"mode": "ANY", "allowedFunctionNames": ["get_weather"]}}
    assert "temperature" not in body["generationConfig"]  # no default for Google in Adaline's format


def test_adaline_json_schema_format_is_sent_and_the_answer_is_the_parsed_object():
    spec = provider("  - id: adaline:openai:chat:gpt-4.1-mini\n    config:\n      responseFormat: json_schema\n"
                    "      responseSchema: {name: analysis, strict: true, schema: {type: object}}\n")
    _, body = request(spec, TEXT)
    assert body["response_format"] == {"type": "json_schema", "json_schema": {"name": "analysis", "strict": True, "schema": {"type": "object"}}}
    answer = {"choices": [{"message": {"content": '{"category": "billing"}'}, "finish_reason": "stop"}]}
    parsed = parse(spec, answer)
    assert parsed.structured and json.loads(parsed.text) == {"category": "billing"}
    with pytest.raises(WireError, match="not the JSON its json_schema response format asks for"):
        parse(spec, {"choices": [{"message": {"content": "Sure! Here it is"}, "finish_reason": "stop"}]})


def test_adaline_tool_calls_come_back_in_the_format_the_config_was_written_in():
    openai_answer = {"choices": [{"message": {"content": None, "tool_calls": [
        {"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": '{"location": "Boston"}'}}]},
        "finish_reason": "tool_calls"}]}
    gateway = provider("  - id: adaline:openai:chat:gpt-4.1-mini\n    config:\n"
                       "      tools: [{type: function, definition: {schema: " + json.dumps(WEATHER) + "}}]\n")
    parsed = parse(gateway, openai_answer)
    assert parsed.structured and json.loads(parsed.text) == [
        {"modality": "tool-call", "index": 0, "id": "call_1", "name": "get_weather", "arguments": '{"location": "Boston"}'}]
    openai_form = provider("  - id: adaline:anthropic:chat:claude-sonnet-4-0\n    config:\n"
                           "      tools: [{type: function, function: " + json.dumps(WEATHER) + "}]\n")
    claude_answer = {"content": [{"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {"location": "Boston"}}],
                     "stop_reason": "tool_use", "usage": {"input_tokens": 5, "output_tokens": 3}}
    parsed = parse(openai_form, claude_answer)
    assert json.loads(parsed.text) == [{"id": "toolu_1", "type": "function",  # arguments as JSON.stringify writes them
                                        "function": {"name": "get_weather", "arguments": '{"location":"Boston"}'}}]
    assert parsed.finish_reason == "tool_calls" and parsed.tokens_in == 5


def test_adaline_ids_that_are_not_ours_are_refused_naming_the_reason():
    _, errors = suite_of("  - adaline:voyage:chat:voyage-3\n  - adaline:openai:image:dall-e-3\n  - adaline:openai:gpt-4o\n"
                         "  - id: adaline:openai:chat:gpt-4o\n    config: {apiKey: sk-123, minP: 0.1}\n")
    assert errors[0].startswith("2: unsupported: provider 'adaline:voyage:chat:voyage-3': Adaline's 'voyage' is not part")
    assert "is not a chat model (image)" in errors[1]
    assert "adaline:VENDOR:chat:MODEL" in errors[2]
    assert "6: refused: apiKey: credentials come from the environment only" in errors[3]
    assert len(errors) == 4  # minP: a key the provider drops, a warning (tests/compat/test_provider_config_keys.py)


def test_an_adaline_embedding_model_is_the_similar_assertions_grader():
    suite, errors = suite_of("  - adaline:openai:chat:gpt-4.1-mini\n",
                             "    assert:\n      - type: similar\n        value: pong\n"
                             "        provider: adaline:openai:embedding:text-embedding-3-small\n")
    assert errors == []
    grader = suite.tests[0].asserts[0].grader
    assert (grader.kind, grader.model, grader.option("api")) == ("openai", "text-embedding-3-small", "embedding")


# ---- Cohere -------------------------------------------------------------------------------------


def test_cohere_gets_promptfoos_defaults_and_the_chat_as_preamble_history_and_message():
    spec = provider("  - id: cohere:command-r-plus\n    config: {temperature: 0, connectors: [{id: web-search}]}\n")
    chat = (("system", "Be brief."), ("user", "Hi"), ("assistant", "Hello"), ("user", "Who found gravity?"))
    path, body = request(spec, chat)
    assert path == "/v1/chat" and body["model"] == "command-r-plus"
    assert body["message"] == "Who found gravity?" and body["preamble"] == "Be brief."
    assert body["chat_history"] == [{"role": "USER", "message": "Hi"}, {"role": "CHATBOT", "message": "Hello"}]
    assert (body["temperature"], body["p"], body["k"], body["prompt_truncation"]) == (0, 0.75, 0, "OFF")
    assert body["connectors"] == [{"id": "web-search"}]


def test_cohere_shows_its_search_queries_when_asked_and_its_embeddings_grade_similar(server):
    env = {"COHERE_API_BASE_URL": server, "COHERE_API_KEY": KEY}
    spec = provider("  - id: cohere:command\n    config: {connectors: [{id: web-search}], showSearchQueries: true}\n")
    outcome = call(env, spec, (("user", 'Please reply with "pong"'),))
    assert isinstance(outcome, Completion), outcome
    assert outcome.text == 'pong\n\nSearch Queries:\nPlease reply with "pong"'

    suite, errors = suite_of("  - cohere:command\n",
                             "defaultTest:\n  options:\n    provider:\n      embedding: cohere:embedding:embed-english-v3.0\n"
                             "  assert: [{type: similar, value: isaac newton}]\n")
    assert errors == []
    grader = suite.tests[0].asserts[0].grader

    async def embed(text: str, environment: dict[str, str]):
        async with httpx.AsyncClient() as client:
            caller = Caller.for_run(client, environment, EvalsConfig(timeout_s=10), Meter(Budget()))
            try:
                return await caller.embed(grader, text)
            except ProviderError as exc:
                return exc

    a, b = asyncio.run(embed("isaac newton", env)), asyncio.run(embed("Isaac Newton discovered gravity", env))
    assert isinstance(a, list) and len(a) == 64 and sum(x * y for x, y in zip(a, b)) > 0
    wrong = asyncio.run(embed("x", {**env, "COHERE_API_KEY": "wrong"}))
    assert isinstance(wrong, ProviderError) and wrong.kind is CheckError.BAD_CREDENTIALS


def test_a_cohere_error_in_a_200_answer_is_a_case_error_with_its_message():
    spec = provider("  - cohere:command\n")
    with pytest.raises(WireError, match="cohere:command: cohere: model 'command' was removed"):
        parse(spec, {"message": "model 'command' was removed on September 15, 2025"})
    with pytest.raises(WireError) as hostile:  # a hostile endpoint's text is shown as one short clean line
        parse(spec, {"message": "\x1b[31mred\nFAKE: all checks passed\r" + "x" * 10_000})
    shown = str(hostile.value)
    assert "\n" not in shown and "\x1b" not in shown and len(shown) < 160


# ---- Replicate ----------------------------------------------------------------------------------


def test_replicate_input_is_the_config_with_the_prompt_as_promptfoo_builds_it():
    spec = provider("  - id: replicate:meta/llama-2-7b-chat\n    config:\n      temperature: 0.01\n      max_new_tokens: 1024\n"
                    "      prompt: {prefix: '[INST] ', suffix: ' [/INST]'}\n")
    path, body = request(spec, (("user", "hello there"),))
    assert path == "/models/meta/llama-2-7b-chat/predictions"
    assert body == {"input": {"temperature": 0.01, "max_new_tokens": 1024, "prompt": "[INST] hello there [/INST]"}}
    versioned = provider("  - id: replicate:cjwbw/gemma-7b-it:" + "a" * 64 + "\n    config: {system_prompt: Be kind.}\n")
    path, body = request(versioned, (("system", "Be brief."), ("user", "Hi"), ("assistant", "Hello"), ("user", "Bye")))
    assert path == "/predictions" and body["version"] == "a" * 64
    assert body["input"] == {"system_prompt": "Be brief.", "prompt": "Hi"}  # promptfoo sends the first user message


def test_a_replicate_prediction_still_running_is_looked_up_until_it_finishes(server):
    httpx.post(f"{server}/_control/reset").raise_for_status()
    spec = provider("  - replicate:scripted/queued-llm\n")
    outcome = call({"REPLICATE_BASE_URL": f"{server}/v1", "REPLICATE_API_TOKEN": KEY}, spec)
    assert isinstance(outcome, Completion), outcome
    assert outcome.text == "pong" and outcome.tokens_out > 0
    assert httpx.get(f"{server}/_control/stats").json()["by_endpoint"].get("replicate.get", 0) >= 1


def test_a_failed_or_non_text_prediction_is_a_case_error_naming_why():
    spec = provider("  - replicate:meta/meta-llama-3-8b-instruct\n")
    with pytest.raises(WireError, match=r"did not succeed \(CUDA out of memory\)"):
        parse(spec, {"id": "abc", "status": "failed", "error": "CUDA out of memory"})
    with pytest.raises(WireError, match="the output is not text"):
        parse(spec, {"id": "abc", "status": "succeeded", "output": [{"url": "https://example.com/x.png"}]})


def test_replicate_video_models_and_odd_model_names_are_refused():  # image models: tests/compat/test_providers_image.py
    _, errors = suite_of("  - replicate:video:minimax/video-01\n  - replicate:../../admin\n")
    assert "is not a chat model (video)" in errors[0]
    assert "a Replicate model is replicate:OWNER/NAME or replicate:OWNER/NAME:VERSION" in errors[1]


# ---- Amazon SageMaker ---------------------------------------------------------------------------


@pytest.mark.parametrize("model_type", ["openai", "llama", "huggingface", "jumpstart", "custom"])
def test_each_sagemaker_model_type_sends_its_payload_signed_and_reads_its_answer(server, model_type):
    from bot.modelserver.vendors import TEST_AWS_KEY_ID, TEST_AWS_SECRET

    env = {"SAGEMAKER_BASE_URL": server, "AWS_ACCESS_KEY_ID": TEST_AWS_KEY_ID, "AWS_SECRET_ACCESS_KEY": TEST_AWS_SECRET}
    spec = provider(f"  - id: sagemaker:{model_type}:my-endpoint\n    config: {{region: us-west-2, maxTokens: 64}}\n")
    # a text prompt, and a chat (TGI-style types get the chat's JSON text as `inputs`, as promptfoo sends it)
    for messages in (ASK, ASK[1:]) if model_type in ("openai", "llama", "custom") else (ASK[1:],):
        outcome = call(env, spec, messages)
        assert isinstance(outcome, Completion) and outcome.text == "pong", (model_type, messages, outcome)
    wrong = call({**env, "AWS_SECRET_ACCESS_KEY": "wrong"}, spec)
    assert isinstance(wrong, ProviderError) and wrong.kind is CheckError.BAD_CREDENTIALS


def test_sagemaker_payloads_are_promptfoos_and_a_response_path_picks_the_output():
    jumpstart = provider("  - sagemaker:jumpstart:llama\n")
    assert request(jumpstart, ASK)[1]["inputs"] == json.dumps([{"role": r, "content": c} for r, c in ASK])
    hf = provider("  - id: sagemaker:huggingface:mistral\n    config:\n      temperature: 0.7\n      maxTokens: 256\n"
                  "      contentType: application/json\n      responseFormat: {path: 'json[0].generated_text'}\n")
    path, body = request(hf, (("user", "Tell a joke"),))
    assert path == "/endpoints/mistral/invocations"
    assert body == {"inputs": "Tell a joke", "parameters": {"max_new_tokens": 256, "temperature": 0.7, "top_p": 1.0,
                                                           "do_sample": True, "return_full_text": False}}
    assert parse(hf, [{"generated_text": "Why did…"}]).text == "Why did…"
    assert parse(hf, {"error": "cold"}).text == '{"error":"cold"}'  # the path is not there: the whole answer, as promptfoo
    assert parse(provider("  - sagemaker:custom:plain\n"), "Hello there").text == "Hello there"  # an answer that is not JSON
    by_config = provider("  - id: sagemaker:my-endpoint\n    config: {modelType: openai}\n")
    assert request(by_config, ASK)[1] == {"messages": [{"role": r, "content": c} for r, c in ASK], "max_tokens": 1024,
                                          "temperature": 0.7, "top_p": 1.0}


def test_sagemaker_settings_that_run_code_or_read_local_credentials_are_refused():
    _, errors = suite_of("  - id: sagemaker:jumpstart:ep\n    config:\n"
                         "      responseFormat: {path: 'json.choices.map(c => c.text).join()'}\n      profile: dev\n"
                         "  - sagemaker:ep2\n  - sagemaker:anthropic:claude-ep\n")
    assert errors[0].startswith("4: refused: responseFormat.path: executes code from the PR")
    assert errors[1].startswith("5: refused: profile: credentials come from the environment only")
    assert errors[2].startswith("6: provider 'sagemaker:ep2': a SageMaker model type must be set")
    assert errors[3].startswith("7: provider 'sagemaker:anthropic:claude-ep': model type 'anthropic' is not one of SageMaker's")


# ---- Databricks, Hugging Face, llama.cpp ----------------------------------------------------------


def test_a_suites_databricks_workspace_is_a_suite_url_and_never_gets_the_operators_token(server):
    spec = provider("  - id: databricks:databricks-claude-3-7-sonnet\n    config:\n      workspaceUrl: https://attacker.example.com\n"
                    "      isPayPerToken: true\n      usageContext: {project: demo}\n")
    assert spec.base_url == "https://attacker.example.com/serving-endpoints"
    assert request(spec, ASK)[1]["usage_context"] == {"project": "demo"}
    httpx.post(f"{server}/_control/reset").raise_for_status()
    outcome = call({"DATABRICKS_WORKSPACE_URL": server, "DATABRICKS_TOKEN": KEY}, spec)
    assert isinstance(outcome, ProviderError) and outcome.kind is CheckError.URL_REFUSED
    assert "config.workspaceUrl" in str(outcome) and "is not an allowed model URL" in str(outcome)
    missing = call({}, provider("  - databricks:databricks-meta-llama-3-3-70b-instruct\n"))
    assert isinstance(missing, ProviderError) and "DATABRICKS_WORKSPACE_URL is not set" in str(missing)


def test_huggingface_text_generation_sends_inputs_and_parameters_and_reads_generated_text(server):
    spec = provider("  - id: huggingface:text-generation:google/gemma-7b-it\n    config: {max_new_tokens: 50, temperature: 0.2}\n")
    path, body = request(spec, (("user", "Write a tweet about bananas:"),))
    assert path == "/google/gemma-7b-it"
    assert body == {"inputs": "Write a tweet about bananas:", "parameters": {"return_full_text": False, "max_new_tokens": 50, "temperature": 0.2}}
    env = {"HUGGINGFACE_BASE_URL": f"{server}/hf", "HF_API_TOKEN": KEY}
    outcome = call(env, spec, ASK[1:])
    assert isinstance(outcome, Completion) and outcome.text == "pong", outcome
    wrong = call({**env, "HF_API_TOKEN": "wrong"}, spec, ASK[1:])
    assert isinstance(wrong, ProviderError) and wrong.kind is CheckError.BAD_CREDENTIALS
    with pytest.raises(WireError, match="huggingface: Model is loading"):
        parse(spec, {"error": "Model is loading", "estimated_time": 20})
    endpoint = provider("  - id: huggingface:text-generation:gemma-7b-it\n    config: {apiEndpoint: 'https://x1.us-east-1.aws.endpoints.huggingface.cloud'}\n")
    assert endpoint.base_url == "https://x1.us-east-1.aws.endpoints.huggingface.cloud" and request(endpoint, ASK[1:])[0] == ""
    _, errors = suite_of("  - huggingface:text-classification:facebook/roberta-hate\n")
    assert "is not a chat model (text-classification)" in errors[0]


def test_a_llama_cpp_server_is_the_operators_and_the_suites_base_url_changes_nothing(server):
    spec = provider("  - id: llama\n    config: {baseUrl: 'http://localhost:8080', temperature: 0.1}\n")
    assert spec.base_url is None
    assert request(spec, ASK[1:]) == ("/completion", {"prompt": ASK[1][1], "n_predict": 512, "temperature": 0.1})
    outcome = call({"LLAMA_BASE_URL": server}, spec, ASK[1:])
    assert isinstance(outcome, Completion) and outcome.text == "pong" and outcome.finish_reason == "stop", outcome
    missing = call({}, spec, ASK[1:])
    assert isinstance(missing, ProviderError) and "LLAMA_BASE_URL (a llama.cpp server) is not set" in str(missing)


def test_a_voyage_embedding_model_grades_similar_and_is_no_chat_model(server):
    suite, errors = suite_of("  - anthropic:claude-3-5-haiku-20241022\n",
                             "defaultTest:\n  options:\n    provider:\n      embedding: 'voyage:voyage-2'\n"
                             "  assert: [{type: similar, value: yellowish, threshold: 0.5}]\n")
    assert errors == []
    grader = suite.tests[0].asserts[0].grader

    async def embed(environment: dict[str, str]):
        async with httpx.AsyncClient() as client:
            caller = Caller.for_run(client, environment, EvalsConfig(timeout_s=10), Meter(Budget()))
            try:
                return await caller.embed(grader, "yellow bananas")
            except ProviderError as exc:
                return exc

    vector = asyncio.run(embed({"VOYAGE_BASE_URL": f"{server}/v1", "VOYAGE_API_KEY": KEY}))
    assert isinstance(vector, list) and len(vector) == 64 and sum(vector) == 2
    missing = asyncio.run(embed({}))
    assert isinstance(missing, ProviderError) and str(missing) == "voyage:voyage-2: VOYAGE_API_KEY is not set"
    _, errors = suite_of("  - voyage:voyage-2\n")
    assert "is not a chat model (Voyage AI serves embeddings" in errors[0]


def test_a_suites_helicone_gateway_is_a_suite_url_under_its_router():
    spec = provider("  - id: helicone:openai/gpt-4o\n    config: {baseUrl: 'https://gw.example.com', router: prod, model: openai/gpt-4o-mini}\n")
    assert spec.base_url == "https://gw.example.com/router/prod" and spec.model == "openai/gpt-4o-mini"


@pytest.mark.parametrize("entry", ["huggingface:text-generation:../../api/whoami", "bedrock:..", "azure:chat:.."])
def test_a_model_name_that_climbs_out_of_its_path_is_refused_before_any_request(server, entry):
    """`..` as a path segment would reach another endpoint of the same host, where the operator's key goes."""
    httpx.post(f"{server}/_control/reset").raise_for_status()
    env = {"HUGGINGFACE_BASE_URL": f"{server}/hf", "HF_API_TOKEN": KEY, "BEDROCK_BASE_URL": server, "AWS_REGION": "us-east-1",
           "AWS_BEARER_TOKEN_BEDROCK": KEY, "AZURE_OPENAI_BASE_URL": server, "AZURE_OPENAI_API_KEY": KEY}
    outcome = call(env, provider(f"  - {entry}\n"), ASK[1:])
    assert isinstance(outcome, ProviderError) and outcome.kind is CheckError.URL_REFUSED, outcome
    assert "'..' is not a valid name" in str(outcome)
    assert httpx.get(f"{server}/_control/stats").json().get("requests", 0) == 0


def test_a_docker_embedding_model_with_a_tag_is_the_graders_embedding(server):
    suite, errors = suite_of("  - docker:ai/smollm3:Q4_K_M\n",
                             "defaultTest:\n  options:\n    provider:\n      id: docker:ai/smollm3:Q4_K_M\n      embedding:\n"
                             "        id: docker:embeddings:ai/mxbai-embed-large:335M-F16\n"
                             "  assert: [{type: similar, value: whales}]\n")
    assert errors == []
    grader = suite.tests[0].asserts[0].grader
    assert (grader.kind, grader.model) == ("docker", "ai/mxbai-embed-large:335M-F16")

    async def embed():
        async with httpx.AsyncClient() as client:
            caller = Caller.for_run(client, {"DOCKER_MODEL_RUNNER_BASE_URL": server}, EvalsConfig(timeout_s=10), Meter(Budget()))
            try:
                return await caller.embed(grader, "whales sing")
            except ProviderError as exc:
                return exc

    vector = asyncio.run(embed())
    assert isinstance(vector, list) and len(vector) == 64 and sum(vector) == 2, vector


@pytest.mark.parametrize("model", ["amazon.titan-embed-text-v2:0", "cohere.embed-english-v3"])
def test_a_bedrock_embedding_model_is_called_signed_through_invoke_model(server, model):
    from bot.modelserver.vendors import TEST_AWS_KEY_ID, TEST_AWS_SECRET

    suite, errors = suite_of("  - bedrock:converse:amazon.nova-lite-v1:0\n",
                             "defaultTest:\n  options:\n    provider:\n      embedding:\n"
                             f"        id: bedrock:embeddings:{model}\n        config: {{region: us-east-1}}\n"
                             "  assert: [{type: similar, value: sunny}]\n")
    assert errors == []
    grader = suite.tests[0].asserts[0].grader
    env = {"BEDROCK_BASE_URL": server, "AWS_ACCESS_KEY_ID": TEST_AWS_KEY_ID, "AWS_SECRET_ACCESS_KEY": TEST_AWS_SECRET}

    async def embed(environment: dict[str, str]):
        async with httpx.AsyncClient() as client:
            caller = Caller.for_run(client, environment, EvalsConfig(timeout_s=10), Meter(Budget()))
            try:
                return await caller.embed(grader, "sunny and warm")
            except ProviderError as exc:
                return exc

    vector = asyncio.run(embed(env))
    assert isinstance(vector, list) and sum(vector) == 3, vector
    wrong = asyncio.run(embed({**env, "AWS_SECRET_ACCESS_KEY": "wrong"}))
    assert isinstance(wrong, ProviderError) and wrong.kind is CheckError.BAD_CREDENTIALS


def test_a_package_provider_the_repository_lacks_is_refused_naming_where_it_was_looked_for():
    _, errors = suite_of("  - package:testpackage:Provider\n")
    assert len(errors) == 1 and errors[0].startswith(
        "2: unsupported: provider 'package:testpackage:Provider': package 'testpackage' is not in the repository"), errors


def test_adaline_reads_a_gateway_config_in_openais_names_for_a_chat_prompt_as_promptfoo_does():
    spec = provider("  - id: adaline:openai:chat:gpt-4.1-mini\n    config: {maxTokens: 120, temperature: 0.4, responseFormat: json_schema,"
                    " responseSchema: {name: x, schema: {type: object}}}\n")
    _, text_body = request(spec, ASK[1:])
    assert text_body["max_tokens"] == 120 and "response_format" in text_body
    _, chat_body = request(spec, ASK)  # a message list: promptfoo builds an OpenAI request, where maxTokens means nothing
    assert chat_body["max_tokens"] == 1024 and chat_body["temperature"] == 0.4 and "response_format" not in chat_body
    answer = {"choices": [{"message": {"content": "not json"}, "finish_reason": "stop"}]}
    assert parse(spec, answer, chat=True).text == "not json"


def test_a_review_of_a_suite_over_the_new_vendors_scores_each_answer_end_to_end(server):
    """The whole run (cases, cache, scoring) over real HTTP: each vendor's answer reaches the assertions
    in the form promptfoo gives it (Replicate's pieces joined, an Adaline answer, Cohere's text)."""
    from bot.evals import EvalRequest, MemoryCache, run_evals
    from bot.modelserver.vendors import TEST_AWS_KEY_ID, TEST_AWS_SECRET

    suite = ("prompts: ['Please reply with \"pong\"']\nproviders:\n"
             "  - cohere:command-r-plus\n"
             "  - {id: 'replicate:meta/llama-2-7b-chat', config: {prompt: {prefix: '[INST] ', suffix: ' [/INST]'}}}\n"
             "  - {id: 'adaline:openai:chat:gpt-4.1-mini', config: {maxTokens: 50}}\n"
             "  - {id: 'sagemaker:jumpstart:my-endpoint', config: {region: us-west-2}}\n"
             "  - databricks:databricks-meta-llama-3-3-70b-instruct\n"
             "tests:\n  - assert: [{type: equals, value: pong}, {type: finish-reason, value: stop}]\n"
             "  - assert: [{type: starts-with, value: po}]\n")
    env = {"COHERE_API_BASE_URL": server, "COHERE_API_KEY": KEY, "REPLICATE_BASE_URL": f"{server}/v1", "REPLICATE_API_TOKEN": KEY,
           "OPENAI_BASE_URL": f"{server}/v1", "OPENAI_API_KEY": KEY, "SAGEMAKER_BASE_URL": server,
           "AWS_ACCESS_KEY_ID": TEST_AWS_KEY_ID, "AWS_SECRET_ACCESS_KEY": TEST_AWS_SECRET,
           "DATABRICKS_WORKSPACE_URL": server, "DATABRICKS_TOKEN": KEY}
    request = EvalRequest(MemoryTree({}), MemoryTree({"promptfooconfig.yaml": suite}), EvalsConfig(timeout_s=10), env=env)
    report = asyncio.run(run_evals(request, MemoryCache()))
    verdicts = {(c.key.rsplit("::", 1)[1], c.head.passed, c.head.error) for c in report.cases()}
    slots = ["cohere:command-r-plus", "replicate:meta/llama-2-7b-chat", "adaline:openai:chat:gpt-4.1-mini",
             "sagemaker:jumpstart:my-endpoint", "databricks:databricks-meta-llama-3-3-70b-instruct"]
    assert {(s, True, None) for s in slots} <= verdicts, verdicts  # starts-with: every vendor
    # equals + finish-reason: every vendor but SageMaker's JumpStart, whose answer reports no finish reason,
    # which makes that assertion a case error there (never a pass)
    sagemaker = [v for v in verdicts if v[0] == "sagemaker:jumpstart:my-endpoint" and v[2]]
    assert len(sagemaker) == 1 and "did not report why the answer ended" in sagemaker[0][2]
    assert len(report.cases()) == 10 and len(verdicts) == 6


def test_coheres_newest_models_speak_the_v2_chat_api_as_promptfoo_sends_them(server):
    spec = provider("  - id: cohere:command-a-plus-05-2026\n    config: {preamble: Be brief., max_tokens: 50}\n")
    path, body = request(spec, ASK)
    assert path == "/v2/chat" and body["messages"][0] == {"role": "system", "content": "Be brief."}
    assert body["messages"][1:] == [{"role": r, "content": c} for r, c in ASK] and (body["temperature"], body["p"]) == (0.3, 0.75)
    outcome = call({"COHERE_API_BASE_URL": server, "COHERE_API_KEY": KEY}, spec)
    assert isinstance(outcome, Completion) and outcome.text == "pong" and outcome.finish_reason == "stop" and outcome.tokens_out == 1
    with pytest.raises(WireError, match="has no connectors"):
        request(provider("  - id: cohere:north-mini-code-1-0\n    config: {connectors: [{id: web-search}]}\n"), ASK)
    with pytest.raises(WireError, match="generation failed with finish_reason ERROR"):
        parse(spec, {"message": {"role": "assistant", "content": [{"type": "text", "text": "par"}]}, "finish_reason": "ERROR"})
