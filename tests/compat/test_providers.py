"""Every vendor's provider, from the suite line to the answer, over real loopback HTTP against the
scripted model server (which speaks each vendor's wire format and checks its credentials)."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from bot.core.config import Budget, EvalsConfig
from bot.core.errors import CheckError
from bot.core.files import MemoryTree
from bot.evals.loader import load_suite
from bot.evals.providers import Caller, Completion, Meter, ProviderError
from bot.evals.providers_shapes import WireError
from bot.evals.providers_wire import request
from bot.modelserver import create_app
from bot.modelserver.vendors import TEST_AWS_KEY_ID, TEST_AWS_SECRET
from bot.serving import start_in_thread

KEY = "scripted-key"
ASK = (("system", "You are a helpful assistant."), ("user", 'Please reply with "pong"'))


@pytest.fixture(scope="module")
def server():
    running = start_in_thread(create_app(api_key=KEY))
    yield running.url
    running.stop()


def provider(entry: str):
    suite, errors = load_suite(MemoryTree({"promptfooconfig.yaml": f"providers:\n  - {entry}\ntests:\n  - vars: {{prompt: hi}}\n"}),
                               "promptfooconfig.yaml")
    assert errors == []
    return suite.providers[0]


def call(env: dict[str, str], entry: str, messages=ASK) -> Completion | ProviderError:
    async def go():
        async with httpx.AsyncClient() as client:
            caller = Caller.for_run(client, env, EvalsConfig(timeout_s=10), Meter(Budget()))
            try:
                return await caller.complete(provider(entry), messages)
            except ProviderError as exc:
                return exc

    return asyncio.run(go())


def vendors(url: str) -> list[tuple[str, dict[str, str]]]:
    return [
        ("openai:responses:gpt-4.1-mini", {"OPENAI_BASE_URL": f"{url}/v1", "OPENAI_API_KEY": KEY}),
        ("anthropic:claude-sonnet-4-0", {"ANTHROPIC_BASE_URL": url, "ANTHROPIC_API_KEY": KEY}),
        ("azure:chat:my-gpt4o-deployment", {"AZURE_OPENAI_BASE_URL": url, "AZURE_OPENAI_API_KEY": KEY}),
        ("google:gemini-2.5-flash", {"GEMINI_BASE_URL": url, "GEMINI_API_KEY": KEY}),
        ("id: vertex:gemini-2.5-pro\n    config: {projectId: my-project, region: europe-west4}",
         {"VERTEX_BASE_URL": url, "VERTEX_ACCESS_TOKEN": KEY}),
        ("vertex:claude-sonnet-4@20250514", {"VERTEX_BASE_URL": url, "VERTEX_ACCESS_TOKEN": KEY, "GOOGLE_CLOUD_PROJECT": "my-project"}),
        ("id: vertex:llama-3.2-90b-vision-instruct-maas\n    config: {generationConfig: {temperature: 0.7}, llamaConfig: {safetySettings: {enabled: false}}}",
         {"VERTEX_BASE_URL": url, "VERTEX_ACCESS_TOKEN": KEY, "VERTEX_PROJECT_ID": "my-project"}),
        ("bedrock:anthropic.claude-3-5-haiku-20241022-v1:0",
         {"BEDROCK_BASE_URL": url, "AWS_REGION": "us-east-1", "AWS_ACCESS_KEY_ID": TEST_AWS_KEY_ID, "AWS_SECRET_ACCESS_KEY": TEST_AWS_SECRET}),
        ("bedrock:converse:amazon.nova-lite-v1:0", {"BEDROCK_BASE_URL": url, "AWS_REGION": "us-east-1", "AWS_BEARER_TOKEN_BEDROCK": KEY}),
        ("mistral:mistral-large-latest", {"MISTRAL_BASE_URL": f"{url}/v1", "MISTRAL_API_KEY": KEY}),
        ("groq:llama-3.3-70b-versatile", {"GROQ_BASE_URL": f"{url}/v1", "GROQ_API_KEY": KEY}),
        ("openrouter:meta-llama/llama-3.1-8b-instruct", {"OPENROUTER_BASE_URL": f"{url}/v1", "OPENROUTER_API_KEY": KEY}),
        ("ollama:chat:llama3.2", {"OLLAMA_BASE_URL": url}),
        ("cometapi:chat:gpt-5-mini", {"COMETAPI_BASE_URL": f"{url}/v1", "COMETAPI_KEY": KEY}),
        ("nscale:openai/gpt-oss-120b", {"NSCALE_BASE_URL": f"{url}/v1", "NSCALE_API_KEY": KEY}),
        ("truefoundry:openai-main/gpt-5", {"TRUEFOUNDRY_BASE_URL": f"{url}/v1", "TRUEFOUNDRY_API_KEY": KEY}),
        # promptfoo's Adaline Gateway calls the vendor's own API with the vendor's credentials
        ("adaline:openai:chat:gpt-4.1-mini", {"OPENAI_BASE_URL": f"{url}/v1", "OPENAI_API_KEY": KEY}),
        ("id: adaline:anthropic:chat:claude-sonnet-4-0\n    config: {maxTokens: 200, temperature: 0.5}",
         {"ANTHROPIC_BASE_URL": url, "ANTHROPIC_API_KEY": KEY}),
        ("adaline:azureopenai:chat:my-gpt4o-deployment", {"AZURE_OPENAI_BASE_URL": url, "AZURE_OPENAI_API_KEY": KEY}),
        ("adaline:google:chat:gemini-2.5-flash", {"GEMINI_BASE_URL": url, "GEMINI_API_KEY": KEY}),
        ("cohere:command-r-plus", {"COHERE_API_BASE_URL": url, "COHERE_API_KEY": KEY}),
        ("id: replicate:meta/meta-llama-3-8b-instruct\n    config: {temperature: 0.5, max_new_tokens: 200}",
         {"REPLICATE_BASE_URL": f"{url}/v1", "REPLICATE_API_TOKEN": KEY}),
        ("replicate:replicate/hello-world:5c7d5dc6dd8bf75c1acaa8565735e7986bc5b66206b55cca93cb72c9bf15ccaa",
         {"REPLICATE_BASE_URL": f"{url}/v1", "REPLICATE_API_KEY": KEY}),
        ("databricks:databricks-meta-llama-3-3-70b-instruct", {"DATABRICKS_WORKSPACE_URL": url, "DATABRICKS_TOKEN": KEY}),
        ("docker:ai/llama3.2:3B-Q4_K_M", {"DOCKER_MODEL_RUNNER_BASE_URL": url}),
        ("helicone:openai/gpt-4o-mini", {"HELICONE_BASE_URL": url, "HELICONE_API_KEY": KEY}),
        ("id: helicone:anthropic/claude-3-5-sonnet\n    config: {router: production}", {"HELICONE_BASE_URL": url, "HELICONE_API_KEY": KEY}),
    ]


N_VENDORS = len(vendors("http://127.0.0.1"))


@pytest.mark.parametrize("index", range(N_VENDORS))
def test_each_vendor_speaks_its_wire_format_with_the_credentials_from_the_environment(server, index):
    entry, env = vendors(server)[index]
    outcome = call(env, entry)
    assert isinstance(outcome, Completion), f"{entry}: {outcome}"
    assert outcome.text == "pong" and outcome.finish_reason == "stop"
    assert outcome.tokens_in > 0 and outcome.tokens_out > 0 and outcome.latency_ms is not None


@pytest.mark.parametrize("index", range(N_VENDORS))
def test_a_wrong_key_is_a_credentials_error_for_every_vendor(server, index):
    entry, env = vendors(server)[index]
    if not any(k.endswith(("_KEY", "_TOKEN", "_BEDROCK")) for k in env):
        return  # ollama has no credentials
    wrong = {k: ("wrong" if k.endswith(("API_KEY", "_TOKEN", "SECRET_ACCESS_KEY", "BEARER_TOKEN_BEDROCK")) else v) for k, v in env.items()}
    outcome = call(wrong, entry)
    assert isinstance(outcome, ProviderError) and outcome.kind is CheckError.BAD_CREDENTIALS, f"{entry}: {outcome}"


def test_a_bedrock_signature_over_a_different_body_is_refused(server):
    """The server re-signs the request with the test credentials: a forged or stale signature fails."""
    headers = {"authorization": f"AWS4-HMAC-SHA256 Credential={TEST_AWS_KEY_ID}/20260101/us-east-1/bedrock/aws4_request, "
                                "SignedHeaders=host;x-amz-date, Signature=" + "0" * 64, "x-amz-date": "20260101T000000Z"}
    r = httpx.post(f"{server}/model/amazon.nova-lite-v1%3A0/converse", json={"messages": []}, headers=headers)
    assert r.status_code == 403 and "signature" in r.json()["message"]


def test_a_missing_key_names_the_vendors_variable_before_any_request(server):
    outcome = call({}, "google:gemini-2.5-flash")
    assert isinstance(outcome, ProviderError) and outcome.kind is CheckError.MISSING_CREDENTIALS
    assert str(outcome) == "google:gemini-2.5-flash: GEMINI_API_KEY is not set"
    outcome = call({}, "ollama:llama3.2")
    assert isinstance(outcome, ProviderError) and "OLLAMA_BASE_URL is not set" in str(outcome)


def test_an_http_provider_reads_the_answer_at_its_json_path_when_its_url_is_allowed(server):
    entry = (f"id: {server}/custom/generate\n    config:\n      body: {{prompt: '{{{{prompt}}}}'}}\n"
             "      transformResponse: json.result.text")
    allowed = {"PROMPT_REVIEW_ALLOWED_MODEL_URLS": server, "PROMPT_REVIEW_ALLOW_PRIVATE_MODEL_URLS": "1"}
    outcome = call(allowed, entry, ASK[1:])  # a text prompt: {{prompt}} is its text
    assert isinstance(outcome, Completion) and outcome.text == "pong"


def test_an_http_provider_whose_url_is_not_allowed_sends_nothing(server):
    httpx.post(f"{server}/_control/reset").raise_for_status()
    outcome = call({}, f"id: {server}/custom/generate\n    config: {{transformResponse: json.result.text}}")
    assert isinstance(outcome, ProviderError) and outcome.kind is CheckError.URL_REFUSED
    assert "is not an allowed model URL" in str(outcome)
    assert httpx.get(f"{server}/_control/stats").json().get("requests", 0) == 0


def test_a_suites_api_base_url_never_receives_the_operators_key(server):
    """A PR pointing a vendor at its own server (allowed by the base branch) gets no credentials."""
    seen = {}

    async def go():
        def handler(request: httpx.Request) -> httpx.Response:
            seen.update(request.headers)
            return httpx.Response(200, json={"candidates": [{"content": {"parts": [{"text": "x"}]}, "finishReason": "STOP"}]})

        async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as client:
            config = EvalsConfig(allowed_base_urls=["https://gateway.example.com"])
            caller = Caller.for_run(client, {"GEMINI_API_KEY": KEY, "PROMPT_REVIEW_ALLOW_PRIVATE_MODEL_URLS": "1"}, config, Meter(Budget()))
            spec = provider("id: google:gemini-2.5-flash\n    config: {apiBaseUrl: 'https://gateway.example.com'}")
            return await caller.complete(spec, ASK)

    assert asyncio.run(go()).text == "x"
    assert "x-goog-api-key" not in seen and "authorization" not in seen


def test_a_mistral_answer_is_priced_by_the_table_promptfoo_uses_so_cost_assertions_run(server):
    env = {"MISTRAL_BASE_URL": f"{server}/v1", "MISTRAL_API_KEY": KEY}
    outcome = call(env, "mistral:magistral-medium-latest")
    assert isinstance(outcome, Completion), outcome
    # promptfoo 0.121: magistral-medium-latest at $2 in / $5 out per million tokens
    assert outcome.cost_usd == pytest.approx((outcome.tokens_in * 2.0 + outcome.tokens_out * 5.0) / 1e6)
    assert outcome.cost_usd > 0


def test_llama_on_vertex_sends_promptfoos_body_and_only_in_us_central1():
    spec = provider("id: vertex:llama-3.3-70b-instruct-maas\n    config: {projectId: p, temperature: 0.2, topK: 5, maxOutputTokens: 300,"
                    " generationConfig: {temperature: 0.9}, llamaConfig: {safetySettings: {llama_guard_settings: {x: 1}}}}")
    path, body = request(spec, (("system", "Be brief."), ("user", "Hi")))
    assert path == "/v1beta1/projects/p/locations/us-central1/endpoints/openapi/chat/completions"
    assert body == {"model": "meta/llama-3.3-70b-instruct-maas", "max_tokens": 300, "stream": False, "temperature": 0.2, "top_k": 5,
                    "messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}],
                    "extra_body": {"google": {"model_safety_settings": {"enabled": True, "llama_guard_settings": {"x": 1}}}}}
    elsewhere = provider("id: vertex:llama-3.3-70b-instruct-maas\n    config: {projectId: p, region: europe-west4}")
    with pytest.raises(WireError, match="us-central1 only"):
        request(elsewhere, (("user", "Hi"),))


@pytest.mark.parametrize("kind, model, price", [
    # promptfoo 0.121.20's ANTHROPIC_MODELS and OPENAI_CHAT_MODELS, $ per million tokens in / out
    ("anthropic", "claude-sonnet-5", (3.0, 15.0)),
    ("anthropic", "claude-opus-4-5-20251101", (5.0, 25.0)),  # not claude-opus-4's 15 / 75
    ("anthropic", "claude-opus-4-1", (15.0, 75.0)),
    ("anthropic", "claude-fable-5", (10.0, 50.0)),
    ("openai", "o1-mini-2024-09-12", (1.1, 4.4)),  # not o1's
    ("openai", "gpt-5.4-mini", (0.75, 4.5)),
    ("openai", "gpt-4-0613", (30.0, 60.0)),
])
def test_openai_and_anthropic_models_are_priced_as_promptfoo_prices_them_so_cost_assertions_agree(kind, model, price):
    # a real user's `cost` assertion on claude-sonnet-5 was a case error here (unpriced) and a pass in promptfoo
    from bot.evals.providers import price_of
    found = price_of(kind, model)
    assert found is not None and (found["input"], found["output"]) == pytest.approx(price)
