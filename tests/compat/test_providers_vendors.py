"""promptfoo 0.121's chat vendors that speak chat completions under their own ids, URLs and key variables
(bot.evals.providers_vendors): each id as promptfoo reads it, the request it makes (URL, key, headers, body)
and, for several, a whole review against the scripted model server."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from bot.core.config import Budget, EvalsConfig
from bot.core.errors import CheckError
from bot.core.files import MemoryTree
from bot.evals import EvalRequest, NoCache, run_evals
from bot.evals.loader import load_suite
from bot.evals.providers import Caller, Completion, Meter, ProviderError
from bot.modelserver import create_app
from bot.serving import start_in_thread

KEY = "vendor-key"
PATH = "evals/promptfooconfig.yaml"


def load(entry: str):
    return load_suite(MemoryTree({PATH: f"providers:\n  - {entry}\ntests:\n  - vars: {{prompt: hi}}\n"}), PATH)


def provider(entry: str):
    suite, errors = load(entry)
    assert errors == [], [str(e) for e in errors]
    return suite.providers[0]


def problems(entry: str) -> list[str]:
    _, errors = load(entry)
    return [f"{e.file}:{e.line}: {e.message}" for e in errors]


ANSWER = {"id": "c1", "object": "chat.completion", "model": "m", "usage": {"prompt_tokens": 3, "completion_tokens": 1, "total_tokens": 4},
          "choices": [{"index": 0, "message": {"role": "assistant", "content": "pong"}, "finish_reason": "stop"}]}


RESPONSES_ANSWER = {"id": "r1", "object": "response", "model": "m", "status": "completed", "usage": {"input_tokens": 3, "output_tokens": 1},
                    "output": [{"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "pong"}]}]}
EMBEDDING_ANSWER = {"object": "list", "data": [{"object": "embedding", "index": 0, "embedding": [0.5, 0.25]}]}


def grader(entry: str):
    """`entry` as a grader's embedding model (defaultTest's options.provider.embedding)."""
    suite, errors = load_suite(MemoryTree({PATH: (
        f"providers: [echo]\ndefaultTest:\n  options:\n    provider:\n      embedding: {entry}\n"
        "tests:\n  - vars: {prompt: hi}\n    assert: [{type: similar, value: hello}]\n")}), PATH)
    assert errors == [], [str(e) for e in errors]
    return suite.tests[0].asserts[0].grader


def sent(entry: str, env: dict[str, str], embedding: bool = False) -> tuple[Completion | list[float] | ProviderError, dict[str, Any]]:
    """The answer and the one request the provider made (url, headers, body), over a recording transport; with
    `embedding`, the entry is a grader's embedding model asked for one embedding."""
    seen: dict[str, Any] = {}

    def handler(request: httpx.Request) -> httpx.Response:
        seen.update(url=str(request.url), headers=dict(request.headers), body=json.loads(request.content))
        path = request.url.path
        return httpx.Response(200, json=RESPONSES_ANSWER if path.endswith("/responses") else
                              EMBEDDING_ANSWER if path.endswith("/embeddings") else ANSWER)

    async def go():
        async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as client:
            caller = Caller.for_run(client, env, EvalsConfig(timeout_s=10), Meter(Budget()))
            try:
                if embedding:
                    return await caller.embed(grader(entry), "hi")
                return await caller.complete(provider(entry), (("user", "hi"),))
            except ProviderError as exc:
                return exc

    return asyncio.run(go()), seen


# (suite entry, environment, vendor, model, the URL promptfoo posts to, the key variable it reads)
VENDORS = [
    ("meta:chat:muse-spark-1.1", {}, "meta", "muse-spark-1.1", "https://api.meta.ai/v1/chat/completions", "MODEL_API_KEY"),
    ("github:openai/gpt-4.1", {}, "github", "openai/gpt-4.1", "https://models.github.ai/inference/chat/completions", "GITHUB_TOKEN"),
    ("'github:'", {}, "github", "openai/gpt-5", "https://models.github.ai/inference/chat/completions", "GITHUB_TOKEN"),
    ("moonshot:chat:kimi-k2-0905-preview", {}, "moonshot", "kimi-k2-0905-preview", "https://api.moonshot.ai/v1/chat/completions",
     "MOONSHOT_API_KEY"),
    ("minimax:MiniMax-M2", {}, "minimax", "MiniMax-M2", "https://api.minimax.io/v1/chat/completions", "MINIMAX_API_KEY"),
    ("nvidia:meta/llama-3.1-8b-instruct", {}, "nvidia", "meta/llama-3.1-8b-instruct",
     "https://integrate.api.nvidia.com/v1/chat/completions", "NVIDIA_API_KEY"),
    ("nvidia:meta/llama-3.1-8b-instruct", {"NVIDIA_API_BASE_URL": "http://nim.internal:8000/v1"}, "nvidia",
     "meta/llama-3.1-8b-instruct", "http://nim.internal:8000/v1/chat/completions", "NVIDIA_API_KEY"),
    ("novita:meta-llama/llama-3.1-8b-instruct", {}, "novita", "meta-llama/llama-3.1-8b-instruct",
     "https://api.novita.ai/openai/v1/chat/completions", "NOVITA_API_KEY"),
    ("novita:chat:deepseek/deepseek-r1", {}, "novita", "deepseek/deepseek-r1", "https://api.novita.ai/openai/v1/chat/completions",
     "NOVITA_API_KEY"),
    ("atlascloud:deepseek-ai/DeepSeek-V3", {}, "atlascloud", "deepseek-ai/DeepSeek-V3", "https://api.atlascloud.ai/v1/chat/completions",
     "ATLASCLOUD_API_KEY"),
    ("orcarouter:auto", {}, "orcarouter", "auto", "https://api.orcarouter.ai/v1/chat/completions", "ORCAROUTER_API_KEY"),
    ("llamaapi:chat:Llama-4-Maverick-17B-128E-Instruct-FP8", {}, "llamaapi", "Llama-4-Maverick-17B-128E-Instruct-FP8",
     "https://api.llama.com/compat/v1/chat/completions", "LLAMA_API_KEY"),
    ("alibaba:qwen-max", {}, "alibaba", "qwen-max", "https://dashscope-intl.aliyuncs.com/compatible-mode/v1/chat/completions",
     "DASHSCOPE_API_KEY"),
    ("alicloud:chat:qwen-plus", {}, "alibaba", "qwen-plus", "https://dashscope-intl.aliyuncs.com/compatible-mode/v1/chat/completions",
     "DASHSCOPE_API_KEY"),
    ("aliyun:qwen-turbo", {}, "alibaba", "qwen-turbo", "https://dashscope-intl.aliyuncs.com/compatible-mode/v1/chat/completions",
     "DASHSCOPE_API_KEY"),
    ("dashscope:qwen3-max", {}, "alibaba", "qwen3-max", "https://dashscope-intl.aliyuncs.com/compatible-mode/v1/chat/completions",
     "DASHSCOPE_API_KEY"),
    ("ai21:jamba-1.5-mini", {}, "ai21", "jamba-1.5-mini", "https://api.ai21.com/studio/v1/chat/completions", "AI21_API_KEY"),
    ("portkey:gpt-4.1-mini", {}, "portkey", "gpt-4.1-mini", "https://api.portkey.ai/v1/chat/completions", "PORTKEY_API_KEY"),
    ("jfrog:my-llm", {}, "jfrog", "my-llm", "https://models.qwak-prod.qwak.ai/v1/my-llm/chat/completions", "QWAK_TOKEN"),
    ("qwak:my-llm", {}, "jfrog", "my-llm", "https://models.qwak-prod.qwak.ai/v1/my-llm/chat/completions", "QWAK_TOKEN"),
    ("togetherai:chat:meta-llama/Llama-3.3-70B-Instruct-Turbo", {}, "together", "meta-llama/Llama-3.3-70B-Instruct-Turbo",
     "https://api.together.xyz/v1/chat/completions", "TOGETHER_API_KEY"),
    ("cloudflare-ai:chat:@cf/meta/llama-3.1-8b-instruct", {"CLOUDFLARE_ACCOUNT_ID": "acct42"}, "cloudflare-ai",
     "@cf/meta/llama-3.1-8b-instruct", "https://api.cloudflare.com/client/v4/accounts/acct42/ai/v1/chat/completions",
     "CLOUDFLARE_API_KEY"),
    ("snowflake:mistral-large2", {"SNOWFLAKE_ACCOUNT_IDENTIFIER": "myorg-myacct"}, "snowflake", "mistral-large2",
     "https://myorg-myacct.snowflakecomputing.com/api/v2/cortex/inference:complete", "SNOWFLAKE_API_KEY"),
    ("cloudera:llama-3-8b", {"CDP_DOMAIN": "ml-1234.cloudera.site"}, "cloudera", "llama-3-8b",
     "https://ml-1234.cloudera.site/namespaces/serving-default/endpoints/llama-3-8b/v1/chat/completions", "CDP_TOKEN"),
    ("mlflow-gateway:chat-endpoint", {"MLFLOW_GATEWAY_URL": "http://mlflow.internal:5000/"}, "mlflow-gateway", "chat-endpoint",
     "http://mlflow.internal:5000/gateway/mlflow/v1/chat/completions", "MLFLOW_GATEWAY_API_KEY"),
    ("envoy:gpt-4o-mini", {"ENVOY_API_BASE_URL": "http://envoy.internal:10000"}, "envoy", "gpt-4o-mini",
     "http://envoy.internal:10000/v1/chat/completions", "OPENAI_API_KEY"),
    ("envoy:gpt-4o-mini", {"ENVOY_API_BASE_URL": "http://envoy.internal:10000/v1"}, "envoy", "gpt-4o-mini",
     "http://envoy.internal:10000/v1/chat/completions", "OPENAI_API_KEY"),
    ("f5:/openai/v1", {"F5_BASE_URL": "https://f5.internal"}, "f5", "openai/v1", "https://f5.internal/openai/v1/chat/completions",
     "F5_API_KEY"),
]


@pytest.mark.parametrize("entry, env, vendor, model, url, key_var", VENDORS, ids=[f"{v[0]}|{sorted(v[1])}" for v in VENDORS])
def test_each_vendor_posts_chat_completions_to_its_url_with_its_key(entry, env, vendor, model, url, key_var):
    spec = provider(entry)
    assert (spec.kind, spec.model) == (vendor, model)
    outcome, request = sent(entry, {**env, key_var: KEY})
    assert isinstance(outcome, Completion) and outcome.text == "pong", outcome
    assert request["url"] == url
    assert request["headers"]["authorization"] == f"Bearer {KEY}"
    assert request["body"]["model"] == model and request["body"]["messages"] == [{"role": "user", "content": "hi"}]


PUBLIC = [v for v in VENDORS if not v[1] or v[2] in ("cloudflare-ai", "snowflake")]  # public APIs: a key is required


@pytest.mark.parametrize("entry, env, vendor, model, url, key_var", PUBLIC, ids=[v[0] for v in PUBLIC])
def test_a_vendor_api_is_not_called_without_its_key_and_the_error_names_the_variable(entry, env, vendor, model, url, key_var):
    outcome, request = sent(entry, {**env, "OPENAI_API_KEY": KEY} if key_var != "OPENAI_API_KEY" else env)
    assert isinstance(outcome, ProviderError) and outcome.kind is CheckError.MISSING_CREDENTIALS
    assert f"{key_var} is not set" in str(outcome) and request == {}


@pytest.mark.parametrize("entry, needs", [
    ("cloudflare-ai:chat:@cf/meta/llama-3.1-8b-instruct", "CLOUDFLARE_ACCOUNT_ID is not set"),
    ("snowflake:mistral-large2", "SNOWFLAKE_ACCOUNT_IDENTIFIER is not set"),
    ("cloudera:llama-3-8b", "CDP_DOMAIN is not set"),
    ("mlflow-gateway:chat-endpoint", "MLFLOW_GATEWAY_URL is not set"),
    ("envoy:gpt-4o-mini", "ENVOY_API_BASE_URL is not set"),
    ("f5:openai/v1", "F5_BASE_URL is not set"),
])
def test_a_vendor_that_needs_an_account_or_a_gateway_names_the_setting_when_it_is_missing(entry, needs):
    outcome, request = sent(entry, {k: KEY for k in ("CLOUDFLARE_API_KEY", "SNOWFLAKE_API_KEY", "CDP_TOKEN", "OPENAI_API_KEY", "F5_API_KEY")})
    assert isinstance(outcome, ProviderError) and outcome.kind is CheckError.MISSING_CREDENTIALS
    assert str(outcome).startswith(f"{entry}: {needs}") and request == {}
    assert "of the provider at suite line 2)" in str(outcome)  # where the suite names it, and the config key it may use


def test_the_suite_may_name_the_account_as_promptfoo_reads_it():
    entry = "id: cloudflare-ai:chat:@cf/meta/llama-3.1-8b-instruct\n    config: {accountId: acct7, max_tokens: 800, seed: 1, lora: my-adapter}"
    outcome, request = sent(entry, {"CLOUDFLARE_API_KEY": KEY, "CLOUDFLARE_ACCOUNT_ID": "acct42"})
    assert isinstance(outcome, Completion)
    assert request["url"] == "https://api.cloudflare.com/client/v4/accounts/acct7/ai/v1/chat/completions"
    # promptfoo passes every other Workers AI config key in the body
    assert {k: request["body"][k] for k in ("max_tokens", "seed", "lora")} == {"max_tokens": 800, "seed": 1, "lora": "my-adapter"}
    outcome, request = sent("id: snowflake:llama3.1-70b\n    config: {accountIdentifier: other-acct}", {"SNOWFLAKE_API_KEY": KEY})
    assert request["url"] == "https://other-acct.snowflakecomputing.com/api/v2/cortex/inference:complete"
    outcome, request = sent("id: cloudera:llama\n    config: {namespace: team-a, endpoint: llama-prod}",
                            {"CDP_TOKEN": KEY, "CDP_DOMAIN": "ml-1.cloudera.site"})
    assert request["url"] == "https://ml-1.cloudera.site/namespaces/team-a/endpoints/llama-prod/v1/chat/completions"


def test_a_gateway_url_the_suite_writes_is_a_suite_url_that_never_gets_the_key():
    """mlflow-gateway's gatewayUrl, jfrog's baseUrl, cloudera's domain: the URL policy applies (loopback is refused)
    and the operator's key is not sent."""
    for entry in ("id: mlflow-gateway:ep\n    config: {gatewayUrl: 'http://127.0.0.1:5000'}",
                  "id: jfrog:my-llm\n    config: {baseUrl: 'http://127.0.0.1:9000/v1'}",
                  "id: f5:openai/v1\n    config: {apiBaseUrl: 'http://127.0.0.1:8443'}"):
        outcome, request = sent(entry, {"MLFLOW_GATEWAY_API_KEY": KEY, "QWAK_TOKEN": KEY, "F5_API_KEY": KEY})
        assert isinstance(outcome, ProviderError) and outcome.kind is CheckError.URL_REFUSED, (entry, outcome)
        assert request == {}
    spec = provider("id: mlflow-gateway:ep\n    config: {gatewayUrl: 'https://mlflow.example.com/'}")
    assert spec.base_url == "https://mlflow.example.com/gateway/mlflow/v1"
    assert provider("id: jfrog:my-llm\n    config: {baseUrl: 'https://models.example.com/v1'}").base_url == "https://models.example.com/v1/my-llm"
    assert provider("id: envoy:gpt-4o\n    config: {apiBaseUrl: 'https://envoy.example.com'}").base_url == "https://envoy.example.com"  # as written
    assert provider("id: f5:/openai/v1\n    config: {apiBaseUrl: 'https://f5.example.com'}").base_url == "https://f5.example.com/openai/v1"


def test_portkey_sends_its_config_as_x_portkey_headers_as_promptfoo_does():
    entry = "id: portkey:gpt-4.1-mini\n    config: {portkeyProvider: openai, portkeyVirtualKey: vk-1, portkeyMetadata: {team: a}, temperature: 0.5}"
    outcome, request = sent(entry, {"PORTKEY_API_KEY": KEY})
    assert isinstance(outcome, Completion)
    headers = request["headers"]
    assert (headers["x-portkey-provider"], headers["x-portkey-virtual-key"], headers["x-portkey-metadata"]) == (
        "openai", "vk-1", '{"team":"a"}')
    assert headers["temperature"] == "0.5" and request["body"]["temperature"] == 0.5  # promptfoo sends every key as a header too
    assert headers["authorization"] == f"Bearer {KEY}"
    outcome, request = sent("portkey:gpt-4.1-mini", {"PORTKEY_API_KEY": KEY, "PORTKEY_API_BASE_URL": "http://portkey.internal/v1"})
    assert request["url"] == "http://portkey.internal/v1/chat/completions"


def test_orcarouter_sends_promptfoos_attribution_headers_and_its_routing_fields():
    outcome, request = sent("id: orcarouter:auto\n    config: {models: [a/b, c/d], route: fallback, headers: {X-Title: my-app}}",
                            {"ORCAROUTER_API_KEY": KEY})
    assert isinstance(outcome, Completion)
    assert (request["headers"]["http-referer"], request["headers"]["x-title"]) == ("https://promptfoo.dev/", "my-app")
    assert (request["body"]["models"], request["body"]["route"]) == (["a/b", "c/d"], "fallback")


def test_ai21_and_novita_send_promptfoos_defaults():
    _, request = sent("ai21:jamba-1.5-large", {"AI21_API_KEY": KEY})
    body = {k: v for k, v in request["body"].items() if k not in ("model", "messages")}
    assert body == {"temperature": 0.1, "top_p": 1, "max_tokens": 1024, "n": 1, "stop": [], "response_format": {"type": "text"}}
    _, request = sent("id: ai21:jamba-1.5-large\n    config: {temperature: 0.7, max_tokens: 50}", {"AI21_API_KEY": KEY})
    assert (request["body"]["temperature"], request["body"]["max_tokens"], request["body"]["top_p"]) == (0.7, 50, 1)
    _, request = sent("novita:chat:x/y", {"NOVITA_API_KEY": KEY})
    assert request["body"]["temperature"] == 1
    _, request = sent("id: novita:x/y\n    config: {temperature: 0.2}", {"NOVITA_API_KEY": KEY})
    assert request["body"]["temperature"] == 0.2


@pytest.mark.parametrize("entry, words", [
    ("id: portkey:gpt-4o\n    config: {portkeyApiKey: pk-123}", "3: refused: portkeyApiKey: credentials come from the environment only"),
    ("id: github:openai/gpt-4.1\n    config: {apiBaseUrl: 'https://example.com/v1'}",
     "3: apiBaseUrl has no effect on github providers: promptfoo sets their URL from the GitHub Models URL"),
    ("id: ai21:jamba-1.5-mini\n    config: {seed: 3}", "3: seed is not read by promptfoo's AI21 provider"),
    ("id: cloudflare-ai:chat:m\n    config: {accountIdEnvar: MY_ACCOUNT}", "3: refused: accountIdEnvar: reading arbitrary environment variables"),
    ("id: snowflake:m\n    config: {accountIdentifier: 'a/b'}", "3: accountIdentifier must be a Snowflake account identifier"),
    ("id: orcarouter:auto\n    config: {headers: {Authorization: x}}", "3: header 'Authorization' cannot be set by a suite"),
    ("nvidia:chat:meta/llama-3.1-8b-instruct", "2: unsupported: provider 'nvidia:chat:meta/llama-3.1-8b-instruct': NVIDIA NIM ids are nvidia:MODEL"),
    ("novita:image:flux", "2: unsupported: provider 'novita:image:flux': 'image' is not one of Novita's sub-types"),
    ("cloudflare-ai:completion:m", "2: unsupported: provider 'cloudflare-ai:completion:m' is not a chat model (completion)"),
    ("vercel:openai/gpt-4o", "2: unsupported: provider 'vercel:openai/gpt-4o': promptfoo calls Vercel's AI Gateway through the AI SDK"),
    ("modelslab:image:flux", "2: unsupported: provider 'modelslab:image:flux': ModelsLab serves image generation only"),
    ("quiverai:arrow-1.1", "2: unsupported: provider 'quiverai:arrow-1.1': QuiverAI generates SVG images"),
    ("meta:muse-spark-1.1", "2: unsupported: provider 'meta:muse-spark-1.1': meta:MODEL and meta:responses:MODEL call the Meta Model API's Responses API"),
    ("meta:image:muse", "2: unsupported: provider 'meta:image:muse' is not a chat model (image)"),
    ("id: meta:chat:muse-spark-1.1\n    config: {stop: [END]}", "3: stop is not supported by Muse Spark models (promptfoo refuses it)"),
    ("id: meta:chat:muse-spark-1.1\n    config: {reasoning_effort: extreme}", "3: reasoning_effort 'extreme' is not supported by Muse Spark models"),
    ("cloudflare-gateway:openai:gpt-4o", "2: unsupported: provider 'cloudflare-gateway:openai:gpt-4o': Cloudflare AI Gateway"),
    ("'snowflake:'", "2: unsupported: provider 'snowflake:': a model is required (snowflake:MODEL)"),
    ("id: cometapi:chat:gpt-5-mini\n    config: {apiBaseUrl: 'https://example.com/v1'}",
     "3: apiBaseUrl has no effect on cometapi providers: promptfoo sets their URL from the CometAPI URL"),
])
def test_settings_and_ids_promptfoo_would_not_honour_are_errors_with_file_and_line(entry, words):
    (problem,) = problems(entry)
    assert problem.startswith(f"{PATH}:{words}"), problem


def test_embedding_forms_serve_graders_only():
    for entry, vendor, model in (("alibaba:embedding:text-embedding-v3", "alibaba", "text-embedding-v3"),
                                 ("novita:embedding:baai/bge-m3", "novita", "baai/bge-m3"),
                                 ("togetherai:embedding:BAAI/bge-large-en-v1.5", "together", "BAAI/bge-large-en-v1.5"),
                                 ("cloudflare-ai:embedding:@cf/baai/bge-base-en-v1.5", "cloudflare-ai", "@cf/baai/bge-base-en-v1.5")):
        suite = (f"providers: [openai:chat:gpt-4o-mini]\ndefaultTest:\n  options:\n    provider:\n      embedding: {entry}\n"
                 "tests:\n  - vars: {prompt: hi}\n    assert: [{type: similar, value: hello}]\n")
        loaded, errors = load_suite(MemoryTree({PATH: suite}), PATH)
        assert errors == [], (entry, [str(e) for e in errors])
        (problem,) = problems(entry)
        assert "is not a chat model (embedding); it serves as a grader's embedding only" in problem


# ---- whole reviews against the scripted model server -------------------------------------------------


@pytest.fixture(scope="module")
def server():
    running = start_in_thread(create_app(api_key=KEY))
    yield running.url
    running.stop()


SUITE = ("prompts: ['Reply with exactly \"{{message}}\".']\nproviders: [%s]\n"
         "tests:\n  - vars: {message: Mango season is here}\n    assert: [{type: equals, value: Mango season is here}]\n")


def reviewing(url: str) -> list[tuple[str, dict[str, str]]]:
    return [
        ("github:openai/gpt-4.1-mini", {"GITHUB_MODELS_BASE_URL": f"{url}/v1", "GITHUB_TOKEN": KEY}),
        ("dashscope:qwen-max", {"DASHSCOPE_BASE_URL": f"{url}/v1", "DASHSCOPE_API_KEY": KEY}),
        ("moonshot:kimi-k2", {"MOONSHOT_BASE_URL": f"{url}/v1", "MOONSHOT_API_KEY": KEY}),
        ("portkey:gpt-4.1-mini", {"PORTKEY_API_BASE_URL": f"{url}/v1", "PORTKEY_API_KEY": KEY}),
        ("envoy:gpt-4o-mini", {"ENVOY_API_BASE_URL": url, "OPENAI_API_KEY": KEY}),
        ("mlflow-gateway:chat-endpoint", {"MLFLOW_GATEWAY_URL": url, "MLFLOW_GATEWAY_API_KEY": KEY}),
        ("snowflake:mistral-large2", {"SNOWFLAKE_BASE_URL": url, "SNOWFLAKE_API_KEY": KEY}),
        ("cloudflare-ai:chat:@cf/meta/llama-3.1-8b-instruct", {"CLOUDFLARE_BASE_URL": url, "CLOUDFLARE_ACCOUNT_ID": "acct42",
                                                                "CLOUDFLARE_API_KEY": KEY}),
        ("cloudera:llama-3-8b", {"CLOUDERA_BASE_URL": url, "CDP_TOKEN": KEY}),
        ("openclaw", {"OPENCLAW_GATEWAY_URL": url, "OPENCLAW_GATEWAY_TOKEN": KEY}),
        ("cometapi:chat:gpt-4o-mini", {"COMETAPI_BASE_URL": f"{url}/v1", "COMETAPI_KEY": KEY}),
        ("openclaw:responses:support", {"OPENCLAW_GATEWAY_URL": url.replace("http://", "ws://"), "OPENCLAW_GATEWAY_PASSWORD": KEY}),
    ]


N_REVIEWING = len(reviewing("http://127.0.0.1"))


def review(env: dict[str, str], entry: str):
    suite = SUITE % json.dumps(entry)
    request = EvalRequest(base=MemoryTree({}), head=MemoryTree({PATH: suite}), suites=[PATH], env=env)
    return asyncio.run(run_evals(request, NoCache()))


@pytest.mark.parametrize("index", range(N_REVIEWING))
def test_a_review_runs_the_suite_against_each_vendor(server, index):
    entry, env = reviewing(server)[index]
    (case,) = review(env, entry).cases()
    assert case.head.output == "Mango season is here" and case.head.passed, case.head
    wrong = {k: ("wrong" if k.endswith(("_KEY", "_TOKEN", "_PASSWORD")) else v) for k, v in env.items()}
    (case,) = review(wrong, entry).cases()
    assert not case.head.passed and case.head.output != "Mango season is here"


def test_minimax_moonshot_and_orcarouter_shape_the_body_as_promptfoo_does():
    _, request = sent("id: minimax:MiniMax-M2\n    config: {max_tokens: 300, temperature: 0.2}", {"MINIMAX_API_KEY": KEY})
    assert (request["body"].get("max_tokens"), request["body"]["max_completion_tokens"], request["body"]["temperature"]) == (None, 300, 0.2)
    _, request = sent("id: moonshot:kimi-k2-0905-preview\n    config: {max_tokens: 200}", {"MOONSHOT_API_KEY": KEY})
    assert (request["body"].get("max_tokens"), request["body"]["max_completion_tokens"]) == (None, 200)
    _, request = sent("id: moonshot:moonshot-v1-8k\n    config: {max_tokens: 200}", {"MOONSHOT_API_KEY": KEY})
    assert request["body"]["max_tokens"] == 200  # only Kimi models take the cap under its new name
    _, request = sent("id: orcarouter:anthropic/claude-opus-4-1\n    config: {temperature: 0.3}", {"ORCAROUTER_API_KEY": KEY})
    assert "temperature" not in request["body"]
    _, request = sent("id: orcarouter:openai/gpt-4o\n    config: {temperature: 0.3, models: [deepseek/deepseek-r1]}", {"ORCAROUTER_API_KEY": KEY})
    assert "temperature" not in request["body"] and request["body"]["models"] == ["deepseek/deepseek-r1"]
    _, request = sent("id: orcarouter:anthropic/claude-3-opus\n    config: {temperature: 0.3}", {"ORCAROUTER_API_KEY": KEY})
    assert request["body"]["temperature"] == 0.3
    (problem,) = problems("id: moonshot:moonshot-v1-8k\n    config: {reasoning_effort: high}")
    assert problem.startswith(f"{PATH}:2: reasoning_effort is supported on Moonshot's kimi-k3 models only")


# ---- pinned against promptfoo 0.121's own providers ---------------------------------------------------

PINNED = json.loads((Path(__file__).parent / "data" / "vendor_requests.json").read_text())
SUITE_URL_KEYS = {"apiBaseUrl", "baseUrl", "gatewayUrl", "portkeyApiBaseUrl", "apiHost", "gateway_url"}
UNSENT_HEADERS = {"content-type", "x-promptfoo-version", "x-openai-originator"}  # promptfoo's own, not the vendor's


def expected_body(case: dict[str, Any]) -> dict[str, Any]:
    """promptfoo's body without its OpenAI client's defaults (max_tokens 1024, temperature 0 when the config sets
    neither), which prompt-review does not send to any OpenAI-compatible vendor."""
    body, config = dict(case["sent"]["body"]), case.get("config") or {}
    if not case["id"].startswith(("ai21:", "meta:")):  # (AI21's and Meta's are their providers' own: sent here too)
        for cap in ("max_tokens", "max_output_tokens"):  # (the responses API's name)
            if body.get(cap) == 1024 and cap not in config:
                del body[cap]
        if body.get("temperature") == 0 and "temperature" not in config:
            del body["temperature"]
    if isinstance(body.get("input"), str) and not case.get("embedding"):  # the responses API reads a text input as the
        body["input"] = [{"role": "user", "content": body["input"]}]     # user's message: prompt-review sends the message
    return body


@pytest.mark.parametrize("case", PINNED, ids=[f"{c['id']}|{sorted(c.get('config') or {})}|{sorted(c['env'])}" for c in PINNED])
def test_the_request_is_the_one_promptfoo_makes(case):
    """Recorded from promptfoo 0.121.20's own providers by bench/vendor_request_oracle.mjs."""
    config = case.get("config") or {}
    entry = json.dumps({"id": case["id"], "config": config}) if config else json.dumps(case["id"])
    env = {k: (KEY if v == "k" else v) for k, v in case["env"].items()}
    promptfoo = case["sent"]
    if SUITE_URL_KEYS & set(config):  # a suite URL: the URL policy resolves its host, so its place is compared
        assert provider(entry).base_url + "/chat/completions" == promptfoo["url"]
        return
    outcome, request = sent(entry, env, embedding=case.get("embedding", False))
    assert isinstance(outcome, list if case.get("embedding") else Completion), outcome
    assert request["url"] == promptfoo["url"]
    theirs = {k: v.replace("Bearer k", f"Bearer {KEY}") for k, v in promptfoo["headers"].items() if k not in UNSENT_HEADERS}
    assert {k: request["headers"].get(k) for k in theirs} == theirs
    assert request["body"] == expected_body(case)


# ---- OpenClaw: the team's own agent gateway ------------------------------------------------------------

GATEWAY = {"OPENCLAW_GATEWAY_URL": "http://gw.internal:18789", "OPENCLAW_GATEWAY_TOKEN": KEY}


@pytest.mark.parametrize("entry, model, agent, path", [
    ("openclaw", "openclaw/main", "main", "/v1/chat/completions"),
    ("openclaw:default", "openclaw/default", "default", "/v1/chat/completions"),
    ("'openclaw:team:ops'", "openclaw/team:ops", "team:ops", "/v1/chat/completions"),  # everything after the first colon
    ("'openclaw:openclaw/ops'", "openclaw/ops", "openclaw/ops", "/v1/chat/completions"),
    ("openclaw:responses", "openclaw/main", "main", "/v1/responses"),
    ("'openclaw:responses:ops:x'", "openclaw/ops", "ops", "/v1/responses"),  # the third part only
])
def test_openclaw_ids_name_the_agent_as_promptfoo_does(entry, model, agent, path):
    outcome, request = sent(entry, GATEWAY)
    assert isinstance(outcome, Completion) and outcome.text == "pong", outcome
    assert request["url"] == "http://gw.internal:18789" + path
    assert (request["body"]["model"], request["headers"]["x-openclaw-agent-id"]) == (model, agent)
    assert request["headers"]["authorization"] == f"Bearer {KEY}"


def test_openclaw_embeddings_serve_a_graders_similarity_only():
    outcome, request = sent("openclaw:embeddings:ops", GATEWAY, embedding=True)
    assert outcome == [0.5, 0.25] and request["url"] == "http://gw.internal:18789/v1/embeddings"
    assert (request["body"]["model"], request["headers"]["x-openclaw-agent-id"]) == ("openclaw/ops", "ops")
    (problem,) = problems("openclaw:embedding")
    assert "is not a chat model (embedding); it serves as a grader's embedding only" in problem


def test_openclaw_without_a_gateway_url_names_the_setting_and_never_calls_the_local_machine():
    outcome, request = sent("openclaw", {"OPENCLAW_GATEWAY_TOKEN": KEY})
    assert isinstance(outcome, ProviderError) and outcome.kind is CheckError.MISSING_CREDENTIALS and request == {}
    assert str(outcome).startswith("openclaw: OPENCLAW_GATEWAY_URL is not set") and "config.gateway_url" in str(outcome)


def test_openclaw_sends_no_authorization_when_the_operator_set_no_secret():
    outcome, request = sent("openclaw", {"OPENCLAW_GATEWAY_URL": "http://gw.internal:18789"})
    assert isinstance(outcome, Completion) and "authorization" not in request["headers"]


def test_a_gateway_url_in_the_suite_is_allowlisted_and_gets_the_token_only_where_granted():
    entry = "id: openclaw\n    config: {gateway_url: 'wss://gw.example.com'}"
    assert provider(entry).base_url == "https://gw.example.com/v1"
    outcome, request = sent(entry, {"OPENCLAW_GATEWAY_TOKEN": KEY})
    assert isinstance(outcome, ProviderError) and outcome.kind is CheckError.URL_REFUSED and request == {}
    assert "PROMPT_REVIEW_ALLOWED_MODEL_URLS" in str(outcome)
    allowed = {"OPENCLAW_GATEWAY_TOKEN": KEY, "PROMPT_REVIEW_ALLOWED_MODEL_URLS": "https://gw.example.com/",
               "PROMPT_REVIEW_ALLOW_PRIVATE_MODEL_URLS": "1"}  # (no DNS lookup of the example host)
    outcome, request = sent(entry, allowed)
    assert isinstance(outcome, Completion) and request["url"] == "https://gw.example.com/v1/chat/completions"
    assert "authorization" not in request["headers"]  # a suite URL: the operator's token does not go there
    outcome, request = sent(entry, {**allowed, "PROMPT_REVIEW_HTTP_CREDENTIALS": "OPENCLAW_GATEWAY_TOKEN=https://gw.example.com/"})
    assert request["headers"]["authorization"] == f"Bearer {KEY}"  # granted by the operator (or the base branch)
    outcome, request = sent(entry, {**allowed, "PROMPT_REVIEW_HTTP_CREDENTIALS": "OPENCLAW_GATEWAY_TOKEN=https://other.example.com/"})
    assert "authorization" not in request["headers"]


@pytest.mark.parametrize("entry, words", [
    ("openclaw:agent", "2: unsupported: provider 'openclaw:agent' runs an agent with tools on the OpenClaw gateway"),
    ("openclaw:tools:sessions_list", "2: unsupported: provider 'openclaw:tools:sessions_list' invokes the OpenClaw gateway's tools"),
    ("id: openclaw\n    config: {auth_token: secret}", "3: refused: auth_token: credentials come from the environment only"),
    ("id: openclaw\n    config: {auth_password: '{{env.GW_PASSWORD}}'}", "3: refused: auth_password: credentials come from the environment only"),
    ("id: openclaw\n    config: {apiKey: secret}", "3: refused: apiKey: credentials come from the environment only"),
    ("id: openclaw\n    config: {apiBaseUrl: 'https://gw.example.com/v1'}", "3: apiBaseUrl has no effect on openclaw providers"),
    ("id: openclaw:responses\n    config: {text: {format: {type: text}}}", "3: text has no effect on openclaw:responses"),
    ("id: openclaw\n    config: {thinking_level: low}", "3: thinking_level has no effect on openclaw chat, responses and embedding"),
    ("id: openclaw\n    config: {gateway_url: 'ftp://gw'}", "3: gateway_url must be an http(s) or ws(s) URL"),
    ("id: openclaw\n    config: {scopes: operator.read}", "3: scopes must be a list of text"),
    ("id: openclaw\n    config: {headers: {Authorization: x}}", "3: header 'Authorization' cannot be set by a suite"),
])
def test_openclaw_settings_promptfoo_would_not_honour_here_are_errors_with_file_and_line(entry, words):
    (problem,) = problems(entry)
    assert problem.startswith(f"{PATH}:{words}"), problem
