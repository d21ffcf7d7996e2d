"""Provider entries of a suite (`providers:` / `targets:`) → ProviderSpec, with the vendor table:
which promptfoo provider ids we call, over which wire format, and which operator settings
(credentials, base URLs) each vendor reads from the environment. Nothing here runs code from the
repository: refused forms say which rule refused them, with file and line. Code a provider applies to its
answers (a JavaScript `transformResponse`, the provider's `transform`) is read here as a `Code` through the
loader's reader, and run only later by the runner, under the code gate (docs/sandbox.md).
"""

from __future__ import annotations

import difflib
import json
import posixpath
import re
import dataclasses
from dataclasses import dataclass
from typing import Annotated, Any

from bot.core.yamlsrc import LocatedYaml, Path
from bot.evals.providers_adaline import ADALINE_FORMS, adaline_config, adaline_kind
from bot.evals.providers_mantle import MANTLE, MANTLE_ANTHROPIC, mantle_kind
from bot.evals.providers_more import Reading, more_config, more_kind
from bot.evals.providers_ollama import ollama_kind
from bot.evals.providers_shapes import INERT_CONFIG, json_path
from bot.evals.providers_vendors import HEADS as VENDOR_HEADS, vendor_config, vendor_finish, vendor_kind, vendor_passthrough
from bot.evals.shapes import Rejected, Says, Shape, check
from bot.evals.providers_wire_extra import HF_PARAMETERS, LLAMACPP_PARAMS
from bot.evals.providers_code_check import code_provider
from bot.evals import http_config, key_envar
from bot.evals.http_raw import IGNORED_WITH_REQUEST, RAW, REQUEST_FILE, FileReader, parse_request
from bot.evals.http_templates import sandboxed, template_problem
from bot.evals.providers_http import CodeReader, http_body_problem, http_problem, response_code
from bot.evals.providers_ws import WS_IDS, WS_INERT, WS_KEYS, WS_REFUSED, data_path, response_source, stream_source, ws_problem
from bot.evals.sandbox.py import EXEC, PyCode
from bot.evals.suite import Code, ProviderSpec
from bot.evals.providers_request import request_code
from bot.evals.tool_callbacks import CALLBACK_KINDS, CONFIG_KEY, parse_callbacks

CODE_EXTS = (".py", ".js", ".mjs", ".cjs", ".ts", ".mts", ".cts", ".tsx", ".sh", ".bash", ".rb", ".go", ".exe")


@dataclass(frozen=True)
class Vendor:
    """One vendor's wire format and operator settings. `key_env` are tried in order; `base_env` is the
    operator's base URL (a suite's own URL must pass the URL allowlist, and never receives the key)."""

    name: str
    wire: str  # openai | anthropic | gemini | vertex | bedrock | ollama | cohere | replicate | http
    key_env: tuple[str, ...]
    base_env: str
    default_base: str | None  # None: the operator must set base_env (or the suite a URL)
    auth: str = "bearer"  # bearer | x-api-key | api-key | x-goog-api-key | sigv4 | none


def _compat(name: str, key: str, base: str) -> Vendor:
    return Vendor(name, "openai", (key,), f"{name.upper()}_BASE_URL", base)


VENDORS: dict[str, Vendor] = {
    "openai": Vendor("openai", "openai", ("OPENAI_API_KEY",), "OPENAI_BASE_URL", "https://api.openai.com/v1"),
    "anthropic": Vendor("anthropic", "anthropic", ("ANTHROPIC_API_KEY",), "ANTHROPIC_BASE_URL", "https://api.anthropic.com", "x-api-key"),
    "azure": Vendor("azure", "openai", ("AZURE_OPENAI_API_KEY", "AZURE_API_KEY"), "AZURE_OPENAI_BASE_URL", None, "api-key"),
    "google": Vendor("google", "gemini", ("GEMINI_API_KEY", "GOOGLE_API_KEY"), "GEMINI_BASE_URL",
                     "https://generativelanguage.googleapis.com", "x-goog-api-key"),
    "vertex": Vendor("vertex", "vertex", ("VERTEX_ACCESS_TOKEN",), "VERTEX_BASE_URL", None),
    "bedrock": Vendor("bedrock", "bedrock", ("AWS_BEARER_TOKEN_BEDROCK",), "BEDROCK_BASE_URL", None, "sigv4"),
    # a Bedrock knowledge base (RetrieveAndGenerate, bot.evals.providers_kb): the agent runtime's host, its own base URL
    "bedrock-kb": Vendor("bedrock-kb", "bedrock-kb", ("AWS_BEARER_TOKEN_BEDROCK",), "BEDROCK_AGENT_RUNTIME_BASE_URL", None, "sigv4"),
    # a Bedrock agent (InvokeAgent, bot.evals.providers_agent): the same runtime, host and base URL
    "bedrock-agent": Vendor("bedrock-agent", "bedrock-agent", ("AWS_BEARER_TOKEN_BEDROCK",), "BEDROCK_AGENT_RUNTIME_BASE_URL", None, "sigv4"),
    # Bedrock's OpenAI-compatible mantle endpoint (bot.evals.providers_mantle): bedrock-mantle.REGION.api.aws, a Bedrock API key
    MANTLE: Vendor(MANTLE, "openai", ("AWS_BEARER_TOKEN_BEDROCK",), "BEDROCK_MANTLE_BASE_URL", None),
    MANTLE_ANTHROPIC: Vendor(MANTLE_ANTHROPIC, "anthropic", ("AWS_BEARER_TOKEN_BEDROCK",), "BEDROCK_ANTHROPIC_BASE_URL", None, "x-api-key"),
    # promptfoo sends OLLAMA_API_KEY as a bearer token when it is set (an Ollama behind an authenticating proxy)
    "ollama": Vendor("ollama", "ollama", ("OLLAMA_API_KEY",), "OLLAMA_BASE_URL", None),
    "mistral": _compat("mistral", "MISTRAL_API_KEY", "https://api.mistral.ai/v1"),
    "groq": _compat("groq", "GROQ_API_KEY", "https://api.groq.com/openai/v1"),
    "together": _compat("together", "TOGETHER_API_KEY", "https://api.together.xyz/v1"),
    "openrouter": _compat("openrouter", "OPENROUTER_API_KEY", "https://openrouter.ai/api/v1"),
    "deepseek": _compat("deepseek", "DEEPSEEK_API_KEY", "https://api.deepseek.com/v1"),
    "fireworks": _compat("fireworks", "FIREWORKS_API_KEY", "https://api.fireworks.ai/inference/v1"),
    "perplexity": _compat("perplexity", "PERPLEXITY_API_KEY", "https://api.perplexity.ai"),
    "xai": _compat("xai", "XAI_API_KEY", "https://api.x.ai/v1"),
    "aimlapi": _compat("aimlapi", "AIMLAPI_API_KEY", "https://api.aimlapi.com/v1"),
    "cerebras": _compat("cerebras", "CEREBRAS_API_KEY", "https://api.cerebras.ai/v1"),
    "hyperbolic": _compat("hyperbolic", "HYPERBOLIC_API_KEY", "https://api.hyperbolic.xyz/v1"),
    "cometapi": _compat("cometapi", "COMETAPI_KEY", "https://api.cometapi.com/v1"),
    "nscale": Vendor("nscale", "openai", ("NSCALE_API_KEY", "NSCALE_SERVICE_TOKEN"), "NSCALE_BASE_URL", "https://inference.api.nscale.com/v1"),
    "truefoundry": _compat("truefoundry", "TRUEFOUNDRY_API_KEY", "https://llm-gateway.truefoundry.com"),
    "cohere": Vendor("cohere", "cohere", ("COHERE_API_KEY",), "COHERE_API_BASE_URL", "https://api.cohere.ai"),
    "sagemaker": Vendor("sagemaker", "sagemaker", (), "SAGEMAKER_BASE_URL", None, "sigv4"),
    "replicate": Vendor("replicate", "replicate", ("REPLICATE_API_TOKEN", "REPLICATE_API_KEY"), "REPLICATE_BASE_URL",
                        "https://api.replicate.com/v1"),
    # Databricks serving endpoints speak chat completions at WORKSPACE/serving-endpoints (see Caller._operator_base)
    "databricks": Vendor("databricks", "openai", ("DATABRICKS_TOKEN",), "DATABRICKS_WORKSPACE_URL", None),
    "huggingface": Vendor("huggingface", "huggingface", ("HF_TOKEN", "HF_API_TOKEN"), "HUGGINGFACE_BASE_URL",  # promptfoo reads HF_TOKEN first
                          "https://router.huggingface.co/hf-inference/models"),
    "llama": Vendor("llama", "llamacpp", (), "LLAMA_BASE_URL", None, "none"),  # a llama.cpp server (promptfoo's `llama`)
    # Docker Model Runner and a self-hosted Helicone AI Gateway: chat completions under the operator's server
    # (DOCKER_MODEL_RUNNER_BASE_URL + /engines/v1; HELICONE_BASE_URL + /ai or /router/NAME, see Caller._operator_base)
    "docker": Vendor("docker", "openai", ("DOCKER_MODEL_RUNNER_API_KEY",), "DOCKER_MODEL_RUNNER_BASE_URL", None),
    "helicone": Vendor("helicone", "openai", ("HELICONE_API_KEY",), "HELICONE_BASE_URL", None),
    # Voyage AI serves embeddings only (a grader's `embedding:`), in OpenAI's embeddings format
    "voyage": Vendor("voyage", "openai", ("VOYAGE_API_KEY",), "VOYAGE_BASE_URL", "https://api.voyageai.com/v1"),
    "litellm": Vendor("litellm", "openai", ("LITELLM_API_KEY",), "LITELLM_BASE_URL", None),
    "localai": Vendor("localai", "openai", (), "LOCALAI_BASE_URL", None, "none"),
    "echo": Vendor("echo", "echo", (), "", None, "none"),
    # a provider written in code (JavaScript or Python), run in the sandbox: bot.evals.providers_code
    "code": Vendor("code", "code", (), "", None, "none"),
    "http": Vendor("http", "http", (), "", None, "none"),
    "websocket": Vendor("websocket", "websocket", (), "", None, "none"),
    # IBM watsonx.ai: an IAM API key (exchanged for a bearer token) or a bearer token, as promptfoo reads them
    # fal.ai's queue API (image generation only: fal:image:MODEL), `Authorization: Key …`
    "fal": Vendor("fal", "fal", ("FAL_KEY",), "FAL_BASE_URL", "https://queue.fal.run", "key"),
    "watsonx": Vendor("watsonx", "watsonx", ("WATSONX_AI_APIKEY", "WATSONX_AI_BEARER_TOKEN"), "WATSONX_BASE_URL",
                      "https://us-south.ml.cloud.ibm.com"),
    # promptfoo's chat vendors over its OpenAI chat-completions client (ids, keys and URLs: bot.evals.providers_vendors);
    # a base variable promptfoo reads itself keeps its name (NVIDIA_API_BASE_URL, PORTKEY_API_BASE_URL, AI21_API_BASE_URL, …)
    "meta": Vendor("meta", "openai", ("MODEL_API_KEY",), "META_BASE_URL", "https://api.meta.ai/v1"),  # the Meta Model API (chat)
    "github": Vendor("github", "openai", ("GITHUB_TOKEN",), "GITHUB_MODELS_BASE_URL", "https://models.github.ai/inference"),
    "moonshot": _compat("moonshot", "MOONSHOT_API_KEY", "https://api.moonshot.ai/v1"),
    "minimax": _compat("minimax", "MINIMAX_API_KEY", "https://api.minimax.io/v1"),
    "nvidia": Vendor("nvidia", "openai", ("NVIDIA_API_KEY",), "NVIDIA_API_BASE_URL", "https://integrate.api.nvidia.com/v1"),
    "novita": _compat("novita", "NOVITA_API_KEY", "https://api.novita.ai/openai/v1"),
    "atlascloud": _compat("atlascloud", "ATLASCLOUD_API_KEY", "https://api.atlascloud.ai/v1"),
    "orcarouter": _compat("orcarouter", "ORCAROUTER_API_KEY", "https://api.orcarouter.ai/v1"),
    "llamaapi": Vendor("llamaapi", "openai", ("LLAMA_API_KEY",), "LLAMAAPI_BASE_URL", "https://api.llama.com/compat/v1"),
    "alibaba": Vendor("alibaba", "openai", ("DASHSCOPE_API_KEY",), "DASHSCOPE_BASE_URL",
                      "https://dashscope-intl.aliyuncs.com/compatible-mode/v1"),
    "ai21": Vendor("ai21", "openai", ("AI21_API_KEY",), "AI21_API_BASE_URL", "https://api.ai21.com/studio/v1"),
    "portkey": Vendor("portkey", "openai", ("PORTKEY_API_KEY",), "PORTKEY_API_BASE_URL", "https://api.portkey.ai/v1"),
    "jfrog": Vendor("jfrog", "openai", ("QWAK_TOKEN",), "JFROG_BASE_URL", "https://models.qwak-prod.qwak.ai/v1"),  # + /MODEL
    "cloudflare-ai": Vendor("cloudflare-ai", "openai", ("CLOUDFLARE_API_KEY",), "CLOUDFLARE_BASE_URL", "https://api.cloudflare.com/client/v4"),
    # the operator's own servers: the base comes from the settings named (bot.evals.providers_vendors.operator_base)
    "snowflake": Vendor("snowflake", "openai", ("SNOWFLAKE_API_KEY",), "SNOWFLAKE_ACCOUNT_IDENTIFIER", None),
    "cloudera": Vendor("cloudera", "openai", ("CDP_TOKEN",), "CDP_DOMAIN", None),
    "mlflow-gateway": Vendor("mlflow-gateway", "openai", ("MLFLOW_GATEWAY_API_KEY",), "MLFLOW_GATEWAY_URL", None),
    "envoy": Vendor("envoy", "openai", ("OPENAI_API_KEY",), "ENVOY_API_BASE_URL", None),  # promptfoo sends the OpenAI key there
    "f5": Vendor("f5", "openai", ("F5_API_KEY",), "F5_BASE_URL", None),
    # the team's OpenClaw gateway (chat completions, responses, embeddings at GATEWAY/v1): a token or a password, both
    # sent as the bearer, in promptfoo's order (CLAWDBOT_*: its older names); the URL from OPENCLAW_GATEWAY_URL
    "openclaw": Vendor("openclaw", "openai", ("OPENCLAW_GATEWAY_TOKEN", "CLAWDBOT_GATEWAY_TOKEN", "OPENCLAW_GATEWAY_PASSWORD",
                                              "CLAWDBOT_GATEWAY_PASSWORD"), "OPENCLAW_GATEWAY_URL", None),
}
EMBEDDING_ONLY = {"voyage"}
PUBLIC_HOSTS = frozenset(
    posixpath.basename(v.default_base.split("://", 1)[1].split("/", 1)[0]) for v in VENDORS.values() if v.default_base
)

# Sampling parameters, as promptfoo spells them in `config`; each wire format maps them to its own names.
PROVIDER_PARAMS = {
    "temperature", "max_tokens", "top_p", "seed", "stop", "presence_penalty", "frequency_penalty",
    "max_output_tokens", "max_completion_tokens", "top_k", "maxOutputTokens", "topP", "topK", "num_predict",
    "reasoning_effort", "response_format", "stopSequences",
}
# Request fields passed to the vendor as written (they change the answer, so they are part of the
# provider's fingerprint like the sampling parameters); per wire format.
PASSTHROUGH = {
    "openai": {"tools", "tool_choice", "parallel_tool_calls", "logit_bias", "user", "service_tier", "reasoning", "text",
               "instructions", "logprobs", "top_logprobs", "modalities", "verbosity", "store", "metadata", "prediction",
               "functions", "function_call", "passthrough",
               # Perplexity's and xAI's search settings (both speak chat completions)
               "search_domain_filter", "search_recency_filter", "search_after_date_filter", "search_before_date_filter",
               "last_updated_after_filter", "last_updated_before_filter", "return_related_questions", "return_images",
               "search_mode", "web_search_options", "search_parameters"},
    # (a provider's output_format, extra_body, beta, headers, cache_control are checked by
    # bot.evals.providers_anthropic.anthropic_config; the first three are listed here for a prompt's config)
    "anthropic": {"tools", "tool_choice", "thinking", "stop_sequences", "metadata", "effort", "service_tier", "output_format",
                  "extra_body", "beta"},
    "gemini": {"generationConfig", "safetySettings", "tools", "toolConfig", "tool_config", "responseSchema", "response_mime_type"},
    "vertex": {"generationConfig", "safetySettings", "tools", "toolConfig", "tool_config", "responseSchema", "response_mime_type",
               "tool_choice", "thinking", "stop_sequences", "anthropic_version"},  # the last four: Claude on Vertex
    "vertex-llama": {"llamaConfig"},  # Llama on Vertex: its Llama Guard settings
    "bedrock": {"inferenceConfig", "additionalModelRequestFields", "toolConfig", "guardrailConfig", "maxTokens", "max_gen_len",
                "interfaceConfig", "thinking", "max_new_tokens", "textGenerationConfig", "tools", "tool_choice",
                # promptfoo's Converse provider's own keys (bot.evals.providers_converse)
                "toolChoice", "reasoningConfig", "performanceConfig", "serviceTier", "guardrailIdentifier", "guardrailVersion", "trace",
                "additionalModelResponseFieldPaths"},
    "ollama": set(),  # its chat keys are read by bot.evals.providers_ollama (promptfoo's option keys, think, passthrough)
    # Cohere's v1 chat settings (connectors: Cohere's own web search, as promptfoo sends it)
    "cohere": {"k", "p", "connectors", "prompt_truncation", "search_queries_only", "documents", "preamble", "preamble_override",
               "chat_history", "chatHistory", "citation_quality", "tools", "tool_results", "force_single_step", "stop_sequences",
               "max_input_tokens", "safety_mode", "response_format"},
    "sagemaker": {"maxTokens", "topP", "stopSequences"},  # promptfoo's names; the model type decides the payload's
    "huggingface": HF_PARAMETERS,
    "llamacpp": LLAMACPP_PARAMS,
    "replicate": set(),  # every config key is the model's input (promptfoo's rule): see parse_provider
    "http": set(),
    "websocket": set(),
    "watsonx": set(),  # its own keys: bot.evals.providers_more
    "echo": set(),
    "fal": set(),  # image generation only: bot.evals.providers_image
    "code": set(),  # every config key is the provider's own (passed to its constructor): see parse_provider
}
# Per wire format: settings of another API of the same vendor that the one we call sets itself.
INERT_FOR_WIRE = {
    "bedrock": {"anthropic_version"},  # the invoke API's body field; Converse names the version itself
    # promptfoo's Llama-on-Vertex request reads temperature, topP, topK, maxOutputTokens and llamaConfig only
    "vertex-llama": {"generationConfig", "safetySettings", "context", "examples", "extra_body", "stopSequences", "systemInstruction"},
}
# Settings that choose where a request goes (never credentials): kept in ProviderSpec.options.
PLACE_KEYS = {
    "isReasoningModel": "azure/openai", "showThinking": "anthropic/google/bedrock", "systemInstruction": "google",
    "apiHost": "azure", "deployment_id": "azure", "deploymentName": "azure", "apiVersion": "azure", "api_version": "azure",
    "region": "bedrock/vertex", "projectId": "vertex", "project": "vertex", "location": "vertex",
    "showSearchQueries": "cohere", "showDocuments": "cohere",
}
BOOL_PLACE_KEYS = {"isReasoningModel", "showThinking", "showSearchQueries", "showDocuments"}
HTTP_KEYS = {"url", "method", "headers", "body", "transformResponse"}
# promptfoo's OpenAI types besides chat models (`openai:TYPE:NAME`), which an unknown type is not mistaken for
OPENAI_OTHER_TYPES = {"chat", "responses", "assistant", "agents", "chatkit", "codex", "codex-sdk", "codex-app-server", "codex-desktop",
                      "realtime", "transcription", "tts", "speech", "video", "moderation", "completion"}
NEAR_MISS = 0.8  # how alike an unknown provider config key must be to a known one to be taken for a typo of it (an error)

REFUSED_PROVIDER_CONFIG = {
    "apiKey": "credentials come from the environment only, never from the repository",
    "accessKeyId": "credentials come from the environment only, never from the repository",
    "secretAccessKey": "credentials come from the environment only, never from the repository",
    "sessionToken": "credentials come from the environment only, never from the repository",
    "apiBearerToken": "credentials come from the environment only, never from the repository",
    "apiBearerTokenEnvar": "reading arbitrary environment variables is not allowed",
    "projectIdEnvar": "reading arbitrary environment variables is not allowed",
    "profile": "credentials come from the environment only, never from the repository (an AWS profile is read from the machine's files)",
    "functionToolCallbacks": "executes code from the PR (tool callbacks)",
    "responseParser": "executes code from the PR (response parser)",
    "transformRequest": "executes code from the PR (request transform)",
    "sessionParser": "executes code from the PR (session parser)",
}
# promptfoo starts MCP servers only when `mcp.enabled` is set (an empty or disabled block changes nothing, for every provider)
MCP_REFUSAL = "MCP servers run tools for the model (programs or remote services the suite names); prompt-review calls the model only"
REFUSED_PROVIDER_PREFIXES = {
    "exec:": ("exec providers run a shell command from the repository; prompt-review runs a script of the repository's "
              "itself in its sandbox when the command is node, bun, tsx, ts-node or deno run with a JavaScript or TypeScript "
              "file, or python with a .py file (exec: node provider.mjs)"),
    "python:": "a python provider names a .py file (python:provider.py[:function]), run in the sandbox",
    "golang:": "golang providers run code from the repository",
    "ruby:": "ruby providers run code from the repository",
    "webhook:": "webhook providers send outputs to an arbitrary URL (not part of prompt-review)",
}
OPENAI_NON_CHAT = {"completion", "embedding", "embeddings", "assistant", "image", "realtime", "moderation", "transcription"}
# agent SDKs run tools (shell, files) on the machine that runs the eval: never part of prompt-review
AGENT_SDKS = {"openai:codex-sdk", "openai:agents", "openai:chatkit", "anthropic:claude-agent-sdk", "anthropic:claude-code",
              "opencode", "openinterpreter"}
# ids promptfoo 0.121 knows whose provider does not ask a model: what each one does instead (id, or id: prefix)
NOT_A_MODEL = {
    "browser": "promptfoo's browser provider drives a headless browser (Playwright) through the web pages the suite names; "
               "prompt-review reviews answers of models, and never lets a suite choose where requests go",
    "mcp": "promptfoo's MCP provider calls the tools of an MCP server (a program or remote service the suite names) "
           "itself and no model answers; prompt-review calls the model only",
    "slack": "promptfoo's Slack provider posts the prompt to a Slack channel and waits for a person's reply; prompt-review "
             "reviews answers of models",
    "promptfoo:manual-input": "promptfoo's manual-input provider asks the person running the eval to type each answer; "
                              "prompt-review reviews answers of models",
}
def is_vertex_llama(model: str) -> bool:
    """A Vertex model promptfoo calls through the OpenAI-compatible endpoint: its choice by the name (Claude first,
    then Gemini, then Llama)."""
    return "claude" not in model and "gemini" not in model and "llama" in model


def vendor_of(spec: ProviderSpec) -> Vendor:
    return VENDORS[spec.kind]


def provider_kind(pid: str, embedding: bool = False) -> tuple[str, str, tuple[tuple[str, Any], ...]] | str:
    """(vendor, model, options) for a promptfoo provider id, or the message refusing it. With
    `embedding` (a grader's `embedding:` entry) OpenAI-compatible embedding ids are accepted."""
    ref = code_provider_ref(pid)
    if ref is not None:  # a grader's embedding model too (its callEmbeddingApi)
        return "code", pid, (("ref", ref),)
    script = exec_script(pid)
    if script is not None and not embedding:  # promptfoo's exec provider running a script the sandbox runs
        return "code", pid, (("ref", f"file://{script[0]}"), ("exec", script[1]))
    if pid.startswith("package:"):  # JavaScript of a package the repository holds: bot.evals.providers_code_check.package_ref
        if len(pid.split(":")) != 3 or not all(pid.split(":")[1:]):
            return f"provider {pid!r}: a package provider is package:NAME:EXPORT (the package, and the class or object it exports)"
        if embedding:
            return f"unsupported: provider {pid!r}: a provider written in code answers prompts, not embeddings"
        return "code", pid, (("ref", pid),)
    for prefix, why in REFUSED_PROVIDER_PREFIXES.items():
        if pid.startswith(prefix):
            return f"refused: provider {pid!r}: {why}"
    if pid.lower().endswith(CODE_EXTS) or (pid.startswith("file://") and pid.rsplit(":", 1)[0].lower().endswith(CODE_EXTS)):
        if ref is not None:
            return f"unsupported: provider {pid!r}: a provider written in code answers prompts, not embeddings"
        return (f"refused: provider {pid!r}: executes code from the PR (a provider written in code); prompt-review runs "
                "JavaScript (.js/.cjs/.mjs), TypeScript (.ts/.mts/.cts/.tsx, types stripped) and Python (.py) providers in its "
                "sandbox, not other programs")
    if pid.startswith(("http://", "https://")):
        return "http", pid, (("url", pid),)
    if pid.startswith(("ws://", "wss://")):
        return "websocket", pid, (("url", pid),)
    if pid in WS_IDS:  # promptfoo's websocket provider by name: its URL is config.url
        return "websocket", pid, ()
    if pid.startswith("websocket://"):
        return (f"unsupported: provider {pid!r}: promptfoo 0.121 does not load this id either; its websocket provider is "
                "ws://… or wss://…, or `websocket` (`ws`, `wss`) with the URL in config.url")
    if pid == "echo":
        return "echo", "echo", ()
    for name, what in NOT_A_MODEL.items():
        if pid == name or pid.startswith(name + ":"):
            return f"unsupported: provider {pid!r}: {what}"
    if any(pid == a or pid.startswith(a + ":") for a in AGENT_SDKS):
        return f"unsupported: provider {pid!r} runs an agent SDK with tools on the reviewer's machine; not part of prompt-review"
    parts = pid.split(":")
    head, rest = parts[0], parts[1:]
    if embedding and head not in VENDOR_HEADS:
        if head in ("google", "vertex") and len(rest) == 2 and rest[0] in ("embedding", "embeddings") and rest[1]:
            return head, rest[1], (("api", "embedding"),)
        if head in ("azure", "azureopenai") and len(rest) == 2 and rest[0] in ("embedding", "embeddings") and rest[1]:
            return "azure", rest[1], (("api", "embedding"),)
        if head in VENDORS and VENDORS[head].wire == "openai" and len(rest) >= 2 and rest[0] in ("embedding", "embeddings") and rest[1]:
            return head, ":".join(rest[1:]), (("api", "embedding"),)  # model names may hold colons (docker's ai/m:335M-F16)
        if head in VENDORS and VENDORS[head].wire == "openai" and len(rest) == 1 and "embedding" in rest[0]:
            return head, rest[0], (("api", "embedding"),)
    if head == "adaline":
        return adaline_kind(pid, rest)
    more = more_kind(pid, head, rest, embedding)
    if more is not None:
        return more
    if (chat_vendor := vendor_kind(pid, head, rest, embedding)) is not None:
        return chat_vendor
    if head == "openai":  # promptfoo 0.121: the model is everything after the type (ollama-style names hold colons)
        if len(rest) >= 2 and rest[0] == "chat" and rest[1]:
            return "openai", ":".join(rest[1:]), ()
        if len(rest) >= 2 and rest[0] == "responses" and rest[1]:
            return "openai", ":".join(rest[1:]), (("api", "responses"),)
        if len(rest) == 1 and rest[0] and rest[0] not in OPENAI_NON_CHAT | {"chat", "responses"}:
            return "openai", rest[0], ()
        if len(rest) >= 2 and rest[0] and rest[0] not in OPENAI_NON_CHAT | OPENAI_OTHER_TYPES:
            model = ":".join(rest)
            return (f"unsupported: provider {pid!r}: promptfoo 0.121 reads an unknown type {rest[0]!r} as a chat model named "
                    f"{rest[0]!r} and drops the rest ({':'.join(rest[1:])!r}); write openai:chat:{model} for the model {model!r}")
    elif head == "anthropic":
        if len(rest) == 2 and rest[0] == "messages" and rest[1]:
            return "anthropic", rest[1], ()
        if len(rest) == 1 and rest[0] and rest[0] not in ("messages", "completion"):
            return "anthropic", rest[0], ()
    elif head in ("azure", "azureopenai"):
        if len(rest) == 2 and rest[0] == "chat" and rest[1]:
            return "azure", rest[1], ()
    elif head in ("google", "vertex"):
        model = ":".join(rest[1:]) if rest and rest[0] == "chat" else ":".join(rest)
        if head == "vertex" and model and not model.startswith(("embedding", "image", "live")) and not any(
                family in model for family in ("gemini", "claude", "llama")):  # promptfoo's choice by the model's name
            return (f"unsupported: provider {pid!r}: on Vertex, prompt-review calls Gemini (generateContent), Claude "
                    "(the messages API) and Llama (the OpenAI-compatible endpoint); other model families (Mistral, PaLM, …) "
                    "are not part of it")
        if model and not model.startswith(("embedding", "image", "live")):
            return head, model, ()
    elif head == "bedrock":
        if (mantle := mantle_kind(pid, rest)) is not None:  # the OpenAI-compatible mantle endpoint (bot.evals.providers_mantle)
            return mantle
        if embedding and len(rest) >= 2 and rest[0] in ("embeddings", "embedding") and rest[1]:
            return "bedrock", ":".join(rest[1:]), (("api", "embedding"),)  # Titan / Cohere embeddings (InvokeModel)
        model = ":".join(rest[1:]) if rest and rest[0] in ("converse", "completion") else ":".join(rest)  # completion: InvokeModel
        if re.search(r"nova-(\d+-)*sonic", model) or (rest and rest[0] == "nova-sonic"):  # Nova Sonic ids: promptfoo's speech client
            return (f"unsupported: provider {pid!r} is not a chat model (Nova Sonic: bidirectional speech streaming); "
                    "prompt-review reviews text answers of chat models")
        if (rest and rest[0] == "video") or "luma.ray" in model or "amazon.nova-reel" in model:  # promptfoo's video providers
            return (f"unsupported: provider {pid!r} is not a chat model (video generation: Luma Ray, Nova Reel); "
                    "prompt-review reviews text answers of chat models")
        if model and rest[0] not in ("agents", "kb", "embeddings"):
            return "bedrock", model, ()
    elif head == "ollama":  # chat, generate (completion: and a bare model) and embeddings APIs (bot.evals.providers_ollama)
        if (ollama := ollama_kind(pid, rest, embedding)) is not None:
            return ollama
    elif head in VENDORS and VENDORS[head].wire == "openai" and head != "azure":
        if len(rest) > 1 and rest[0] in OPENAI_NON_CHAT | {"audio", "video", "tts"}:  # e.g. hyperbolic:image:MODEL
            return (f"unsupported: provider {pid!r} is not a chat model ({rest[0]}); prompt-review reviews "
                    "text answers of chat models")
        model = ":".join(rest[1:]) if rest and rest[0] == "chat" else ":".join(rest)
        if model:
            return head, model, ()
    if pid == "http" or pid == "https":
        return "http", "", ()
    if pid in ("promptfoo:simulated-user", "agentic:simulated-user", "simulated-user"):
        return (f"unsupported: provider {pid!r} is promptfoo's simulated-user agent (a model plays the user for several turns "
                "against the suite's provider); the user's turns come from promptfoo's hosted model (its remote generation "
                "service, sent the instructions and the conversation), which prompt-review does not call; it reviews one "
                "answer per case of the models the suite names")
    if head in ("sequence", "simulated-user", "promptfoo", "agentic"):
        return f"unsupported: provider {pid!r} is not part of prompt-review (it does not call a model)"
    if ":" not in pid and "/" not in pid:  # no vendor prefix: promptfoo 0.121 stops too ("Could not identify provider")
        return (f"unsupported: provider {pid!r} is no provider id, in promptfoo 0.121 either (it stops with \"Could not "
                "identify provider\"): an id is VENDOR:MODEL (openai:chat:gpt-4.1), file://… or an http(s) URL; a name for "
                "the provider goes in `label`")
    vendors = ", ".join(sorted(set(VENDORS) - EMBEDDING_ONLY - {"code", "bedrock-kb", "bedrock-agent", MANTLE, MANTLE_ANTHROPIC, "fal"}))  # fal: images only
    return (
        f"unsupported: provider {pid!r} is not part of prompt-review (chat providers of: {vendors}; any other "
        "OpenAI-compatible server through openai:chat:MODEL with config.apiBaseUrl)"
    )


_CODE_PROVIDER_EXTS = (".js", ".cjs", ".mjs", ".ts", ".mts", ".cts", ".tsx", ".py")  # TypeScript: types stripped by esbuild


# promptfoo's exec provider (`exec: node provider.mjs ARGS`): the interpreters whose scripts the sandbox runs itself, by
# the language of the file they run
EXEC_RUNNERS = {"node": "javascript", "bun": "javascript", "tsx": "javascript", "ts-node": "javascript", "npx tsx": "javascript",
                "npx ts-node": "javascript", "deno run": "javascript", "python": "python", "python3": "python"}
_EXEC_PARTS = re.compile(r"""[^\s"']+|"([^"]*)"|'([^']*)'""")


def exec_script(pid: str) -> tuple[str, tuple[str, ...]] | None:
    """(script path, its arguments) of an `exec:` id whose command is an interpreter in EXEC_RUNNERS running a file of its
    language (words split as promptfoo's parseScriptParts splits them); None for any other command."""
    if not pid.startswith("exec:"):
        return None
    parts = [m.group(1) if m.group(1) is not None else m.group(2) if m.group(2) is not None else m.group(0)
             for m in _EXEC_PARTS.finditer(pid[len("exec:"):])]
    for n in (2, 1):
        runner = " ".join(parts[:n])
        if runner in EXEC_RUNNERS and len(parts) > n:
            script = parts[n].removeprefix("./")
            python = script.endswith(".py")
            javascript = script.lower().endswith((".js", ".cjs", ".mjs", ".ts", ".mts", ".cts", ".tsx"))
            if (EXEC_RUNNERS[runner] == "python" and python) or (EXEC_RUNNERS[runner] == "javascript" and javascript):
                return script, tuple(parts[n + 1:])
            return None
    return None


def code_provider_ref(pid: str) -> str | None:
    """`file://x.js` for a provider written in code that the sandbox runs (promptfoo's forms: file://x.js,
    ./x.mjs, x.cjs, file://x.py[:function], python:x.py[:function]); None for any other id."""
    path = pid[len("python:"):] if pid.startswith("python:") else pid[len("file://"):] if pid.startswith("file://") else pid
    stem, _, name = path.partition(":") if ":" in path else (path, "", "")
    if not stem.lower().endswith(_CODE_PROVIDER_EXTS) or (pid.startswith("python:") and not stem.endswith(".py")):
        return None
    if name and (stem.lower().endswith((".js", ".cjs", ".mjs", ".ts", ".mts", ".cts", ".tsx")) and not pid.startswith("file://")):
        return None
    return f"file://{path}"


class ProviderEntry(Shape):
    """A provider given as a mapping (`{id, label, config}`, or the body of `{ID: {label, config}}`). What
    `config` may hold depends on the vendor: parse_provider reads it key by key against the vendor tables."""

    id: Any = None  # checked as text before the entry is read
    label: Any = None  # a label that is not text is no label (as before: promptfoo shows the id then)
    config: Annotated[dict[str, Any] | None, Says("provider config must be a mapping")] = None
    prompts: Annotated[list[str] | None, Says("provider `prompts` must be a list of prompt labels")] = None
    delay: Any = None  # pacing of promptfoo's own run
    transform: Any = None  # promptfoo's provider-level output transform: code, read by parse_provider's `code`
    env: Annotated[Any, Rejected(
        "unsupported: provider `env` is not part of prompt-review; credentials come from the service environment only")] = None

    @classmethod
    def unknown_key(cls, key: Any) -> str:
        return f"unsupported provider key {key!r} (supported: {', '.join(cls.supported())})"


def parse_provider(item: Any, located: LocatedYaml, where: Path, errors: Any, embedding: bool = False,
                   code: CodeReader | None = None, grader_code: CodeReader | None = None,
                   files: FileReader | None = None) -> ProviderSpec | None:
    """A provider from 'id', {id, label, config} or {'id': {label, config}}; problems go to `errors`
    (the loader's Collector) with file and line. `code` reads the provider's transforms (a suite's
    providers); without it (a grader) they are refused. `grader_code` reads a grader that is a provider
    written in code (its text and embedding calls run in the sandbox: bot.evals.grading). `files` reads a text file the
    entry names (an http provider's `request: file://…`) from this side's tree, relative to the suite's folder."""
    if isinstance(item, str):
        pid, body, body_where = item, {}, where
    elif isinstance(item, dict) and "id" in item:
        pid, body, body_where = item["id"], item, where
    elif isinstance(item, dict) and len(item) == 1:
        pid, body = next(iter(item.items()))
        body_where = where + (pid,)
        if not isinstance(body, dict):
            if isinstance(pid, str) and ":" not in pid and not isinstance(body, (list, type(None))):
                errors.add(located, where, f"a provider needs an `id` (such as openai:chat:gpt-4.1): {{{pid}: {body!r}}} names a "
                                           "setting, not a model (promptfoo cannot load it either)")
            else:
                errors.add(located, where, "provider options must be a mapping")
            return None
    else:
        errors.add(located, where, "a provider must be an id such as openai:chat:gpt-4o or {id, label, config}")
        return None
    if not isinstance(pid, str):
        errors.add(located, where, "provider id must be text")
        return None
    if "provider" in body:  # promptfoo's schema drops the key and loads the provider `id` names (a name is `label`)
        known = not isinstance(provider_kind(pid, embedding), str)
        errors.add(located, body_where + ("provider",), (
            f"provider key 'provider' is not promptfoo's: its schema drops it and loads the provider that `id` names ({pid!r})"
            + ("; write the provider id as `id` and a name for it as `label`" if known else
               f", which promptfoo cannot identify either (promptfoo refuses it too); write the provider id as `id` "
               "and a name for it as `label`")))
        return None
    entry = check(ProviderEntry, located, body_where, body, errors)
    if entry is None or (body.get("config") is not None and entry.config is None):
        return None  # a config that is not a mapping: nothing below can be read
    kind_model = provider_kind(pid, embedding)
    if isinstance(kind_model, str):
        errors.add(located, where, kind_model)
        return None
    kind, model, options = kind_model
    config = entry.config or {}
    reading = Reading(model, opts=dict(options))
    params, opts = reading.params, reading.opts  # the same list and mapping: filled in below
    origin: dict[str, str] = {}
    if opts.get("gateway") == "adaline" and opts.get("api") != "embedding":
        config, origin, opts["adaline"] = adaline_config(config, kind)
    wire = "vertex-llama" if kind == "vertex" and is_vertex_llama(model) else VENDORS[kind].wire
    prompt_transform = None
    if kind == "sagemaker" and "transform" in config:  # promptfoo's SageMaker prompt transform: code, run with the case
        at = body_where + ("config", "transform")
        value, config = config["transform"], {k: v for k, v in config.items() if k != "transform"}
        if code is not None:
            prompt_transform = code(at, sagemaker_transform_source(value), "transform")
        # a grader's: no effect, as in promptfoo 0.121, whose loadApiProvider sets the provider's transform to the entry's
        # `transform` after constructing it, so a grader's config.transform is never run (nothing runs here either)
    tool_callbacks: tuple[tuple[str, Code], ...] = ()
    # JavaScript run on the model's tool calls (bot.evals.tool_callbacks), for chat completions and the responses API,
    # and on a run's required actions for the Assistants API (bot.evals.assistant_callbacks); promptfoo's Adaline
    # gateway runs none, and the Realtime providers refuse them with their own rule
    if kind in CALLBACK_KINDS and CONFIG_KEY in config and opts.get("gateway") != "adaline" and opts.get("api") in (None, "responses", "assistant"):
        tool_callbacks = parse_callbacks(config[CONFIG_KEY], body_where + ("config", CONFIG_KEY), code, located, errors,
                                         with_context=opts.get("api") == "assistant")
        config = {k: v for k, v in config.items() if k != CONFIG_KEY}
    request_transform = None
    if kind == "http" and "transformRequest" in config:  # JavaScript run on the prompt (bot.evals.providers_request)
        request_transform = request_code(config["transformRequest"], body_where + ("config", "transformRequest"), code, located, errors)
        config = {k: v for k, v in config.items() if k != "transformRequest"}
    if kind in ("http", "websocket") and "responseParser" in config:  # promptfoo's older name of transformResponse (both providers
        # read `transformResponse || responseParser`)
        if "transformResponse" in config:
            errors.add(located, body_where + ("config", "responseParser"), (
                "responseParser is promptfoo's older name of transformResponse, which is set too (promptfoo uses "
                "transformResponse and ignores responseParser): remove one"))
            config = {k: v for k, v in config.items() if k != "responseParser"}
        else:
            config = {("transformResponse" if k == "responseParser" else k): v for k, v in config.items()}
            origin["transformResponse"] = "responseParser"
    for key, value in config.items():
        at = body_where + ("config", origin.get(key, key))
        if kind == "http" and key in http_config.SCHEMA_KEYS:  # promptfoo's http provider schema, key by key
            if key in http_config.INERT:
                continue
            problem = http_problem(key, value) if key in HTTP_KEYS else http_config.http_key(key, value)
            if problem:
                errors.add(located, at, problem)
            opts[key] = value
        elif key == CONFIG_KEY and kind in CALLBACK_KINDS:  # left in the config: a provider that runs no callbacks
            errors.add(located, at, f"refused: {key}: executes code from the PR (tool callbacks), which prompt-review runs on "
                                    f"chat completions, responses API and Assistants API answers only, not for {pid!r} "
                                    "(Realtime and Adaline providers run none)")
        elif key == key_envar.KEY:  # the variable's value goes only where it may (bot.evals.key_envar)
            name, problem = key_envar.read_key_envar(kind, opts.get("api"), value)
            if problem:
                errors.add(located, at, problem)
            elif name and "apiKey" not in config:  # promptfoo's providers take config.apiKey over the variable
                opts[key] = name
        elif key == "apiKey":  # `{{ env.NAME }}`: that variable's value, sent where key_envar's rule lets it
            vendor = VENDORS[kind]
            name, problem = key_envar.read_api_key(kind, vendor.wire, vendor.key_env, vendor.auth, opts.get("api"), value)
            if problem:
                errors.add(located, at, problem)
            elif name:
                opts[key] = name
        elif key in REFUSED_PROVIDER_CONFIG:
            errors.add(located, at, f"refused: {key}: {REFUSED_PROVIDER_CONFIG[key]}")
        elif key == "mcp":
            enabled = value.get("enabled") if isinstance(value, dict) else None
            if enabled is not None and enabled is not False and enabled != 0 and enabled != "":  # JavaScript's truthiness
                errors.add(located, at, f"refused: mcp: {MCP_REFUSAL}")
        elif wire == "code":
            params.append((key, value))
        elif wire == "echo":  # promptfoo's echo provider reads none of its config (nor loads its files): no effect
            continue
        elif (handled := more_config(kind, key, value, reading)) is not None or (
                handled := vendor_config(kind, key, value, reading)) is not None:
            if handled:
                errors.add(located, at, handled)
        elif key in ("apiBaseUrl", "baseUrl", "apiBase") or (wire == "bedrock" and key == "endpoint"):  # Bedrock's: the runtime's URL
            if not isinstance(value, str) or not value.startswith(("http://", "https://")):
                errors.add(located, at, f"{key} must be an http(s) URL")
            reading.base_url = value
        elif key in INERT_CONFIG or key in INERT_FOR_WIRE.get(wire, set()):
            continue
        elif (key in PROVIDER_PARAMS or key in PASSTHROUGH.get(wire, set()) or (wire == "replicate" and key not in PLACE_KEYS)
              or (opts.get("adaline") and key in ADALINE_FORMS)):
            params.append((key, value))
        elif key in PLACE_KEYS:
            if key == "systemInstruction" and isinstance(value, dict):
                value = json.dumps(value, sort_keys=True)
            if not isinstance(value, bool if key in BOOL_PLACE_KEYS else str):
                errors.add(located, at, f"{key} must be {'true or false' if key in BOOL_PLACE_KEYS else 'text'}")
            opts[key] = value
        elif vendor_passthrough(kind, key, value, reading):
            continue
        elif kind == "websocket" and key in WS_INERT:
            continue
        elif kind == "websocket" and key in WS_REFUSED:
            errors.add(located, at, f"refused: {key}: {WS_REFUSED[key]}")
        elif kind == "websocket" and key in WS_KEYS:
            problem = ws_problem(key, value)
            if problem:
                errors.add(located, at, problem)
            opts[key] = value
        elif kind == "http":
            errors.add(located, at, http_config.unknown(key))
        elif kind == "websocket":
            errors.add(located, at, f"unsupported provider config key {key!r}: promptfoo 0.121's websocket provider does not read "
                                    f"it (its keys: {', '.join(sorted(WS_KEYS))})")
        elif (near := difflib.get_close_matches(str(key), sorted(PROVIDER_PARAMS | {"apiBaseUrl"}), n=1, cutoff=NEAR_MISS)):
            errors.add(located, at, f"unknown provider config key {key!r} (did you mean {near[0]!r}?)")
        else:  # promptfoo's vendor providers read the keys they know and drop the rest: so does prompt-review, saying so
            errors.warn(located, at, f"ignored provider config key {key!r}: {pid!r} does not read it (promptfoo's provider "
                                     "drops the keys it does not know; so does prompt-review)")
    reading.finish(kind, pid)
    vendor_finish(kind, reading)
    params, opts, base_url, model = reading.params, reading.opts, reading.base_url, reading.model
    for problem in reading.problems:
        errors.add(located, where, problem)
    if kind == "http" and ("request" in opts or "useHttps" in opts):  # a raw HTTP request (bot.evals.http_raw)
        at = body_where + ("config", "request" if "request" in opts else "useHttps")
        if "request" not in opts:
            errors.add(located, at, "useHttps applies to a raw `request` only (promptfoo does not read it otherwise): remove it")
            return None
        ignored = [k for k in IGNORED_WITH_REQUEST if k in config]
        if ignored:
            errors.add(located, body_where + ("config", ignored[0]), f"{ignored[0]} is not read when `request` is set (promptfoo "
                                                                     "sends the raw request as written): remove it")
            return None
        https = str(opts.get("url") or pid).startswith("https") or opts.pop("useHttps", False) is True
        request, read_from = opts.pop("request"), None
        if isinstance(request, str) and request.strip().startswith("file://"):  # promptfoo reads it from the config's folder
            read = files(at, request.strip()) if files is not None else None
            if files is None:
                errors.add(located, at, "unsupported: request as file:// in a grader's provider: write the raw request inline")
            if read is None:
                return None
            read_from, request = read
        raw = parse_request(request, https)
        if isinstance(raw, str):
            errors.add(located, at, f"{read_from}: {raw}" if read_from else raw)
            return None
        opts.update(raw)
        if read_from:
            opts[REQUEST_FILE] = read_from
    if kind == "http":
        url = opts.get("url")
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            errors.add(located, body_where + ("config",), "an http provider needs config.url (an http(s) URL)")
            return None
        if (problem := template_problem("url", url)) is not None:
            errors.add(located, body_where + (("config", "url") if "url" in config else ()), problem)
            return None
        if code is None and ("{{" in url or "{%" in url):
            errors.add(located, body_where + (("config", "url") if "url" in config else ()),
                       "unsupported: a grader's http provider with a templated url (it is rendered with a test's vars; "
                       "a grader's call has none)")
            return None
        if code is None and sandboxed(opts):
            errors.add(located, body_where + ("config",), "unsupported: a grader's http provider may use plain {{prompt}} "
                       "only (nunjucks filters and tags are rendered per test case, in the suite's providers)")
            return None
        base_url = url
        if not opts.get(RAW) and (problem := http_body_problem(opts)) is not None:
            errors.add(located, body_where + ("config", origin.get("body", "body") if "body" in opts else "method"), problem)
    if kind == "websocket":
        if not isinstance(opts.get("messageTemplate"), str):
            errors.add(located, body_where + ("config",), "a websocket provider needs config.messageTemplate (the message it sends)")
            return None
        if not isinstance(opts.get("url"), str):
            errors.add(located, body_where + ("config",), f"a websocket provider with the id {pid!r} needs config.url "
                                                          "(a ws:// or wss:// URL)")
            return None
        base_url = str(opts.get("url"))
    response_transform = None
    if kind == "websocket" and isinstance(opts.get("transformResponse"), str) and data_path(opts["transformResponse"]) is None:
        at = body_where + ("config", origin.get("transformResponse", "transformResponse"))
        if code is None:
            errors.add(located, at, "refused: transformResponse of a grader: executes code (a JavaScript response transform)")
        else:
            response_transform = code(at, response_source(opts.pop("transformResponse")), "transformResponse")
    stream_response = None
    if kind == "websocket" and isinstance(opts.get("streamResponse"), str):
        opts.pop("transformResponse", None)  # promptfoo ignores transformResponse when a streamResponse completes the answer
        response_transform = None
        at = body_where + ("config", "streamResponse")
        if code is None:
            errors.add(located, at, "refused: streamResponse of a grader: executes code (a JavaScript stream handler)")
        else:
            stream_response = code(at, stream_source(opts.pop("streamResponse")), "streamResponse")
    if kind == "http" and isinstance(opts.get("transformResponse"), str) and json_path(opts["transformResponse"]) is None:
        response_transform = response_code(opts.pop("transformResponse"), body_where + ("config", origin.get("transformResponse", "transformResponse")), code,
                                            located, errors)
    status_check = None
    if kind == "http" and "validateStatus" in opts:  # JavaScript over each answer's status (bot.evals.provider_output)
        at = body_where + ("config", "validateStatus")
        value = str(opts.pop("validateStatus"))
        source = http_config.status_source(value)
        if code is None:
            errors.add(located, at, "refused: validateStatus of a grader: executes code (a JavaScript status check)")
        elif source is None and value.strip()[len("file://"):].split(":", 1)[0].endswith(".py"):
            errors.add(located, at, "unsupported: validateStatus in Python; promptfoo runs JavaScript status checks")
        else:
            status_check = code(at, source if source is not None else value.strip(), "validateStatus")
    provider_code = None
    if kind == "code":
        provider_code = code_provider(str(opts.pop("ref")), body_where, code or grader_code, located, errors)
        if provider_code is None:
            return None
        if "exec" in opts and isinstance(provider_code, PyCode):
            provider_code = dataclasses.replace(provider_code, function=EXEC)
    transform = None
    if entry.transform is not None:
        if code is not None:
            transform = code(body_where + ("transform",), entry.transform, "provider transform")
        elif kind == "sagemaker" and grader_code is not None:  # promptfoo: a SageMaker grader's prompt transform (see grading)
            prompt_transform = grader_code(body_where + ("transform",), sagemaker_transform_source(entry.transform), "transform")
        elif kind == "sagemaker":
            errors.add(located, body_where + ("transform",), "refused: provider key 'transform' of this grader: executes code "
                                                             "(a SageMaker prompt transform), which runs only in a suite's graders")
        # another grader's: no effect, as in promptfoo 0.121, whose graders are called directly (no output transform)
    label, prompts = entry.label, entry.prompts or ()
    return ProviderSpec(pid, kind, model, label if isinstance(label, str) else None, tuple(sorted(params, key=lambda p: p[0])),
                        base_url, located.line_of(where), tuple(sorted(opts.items())), tuple(str(p) for p in prompts),
                        response_transform, transform, stream_response, provider_code, prompt_transform, tool_callbacks,
                        request_transform, status_check=status_check)


def sagemaker_transform_source(value: Any) -> Any:
    """A SageMaker `transform` as code over `output` (the rendered prompt) and `context`: promptfoo calls an
    inline value with `=>` as a function expression, `(value)(prompt, context)`, and any other inline value as
    the body of `function (prompt, context)`; a file:// reference is called with (prompt, context) as it is."""
    if not isinstance(value, str) or value.strip().startswith("file://"):
        return value
    text = value.strip()
    if "=>" in text:  # a leading newline: the sandbox reads several lines as a function body, as written
        return f"\nreturn ({text})(output, context);"
    return f"\nreturn (function (prompt, context) {{\n{text}\n}})(output, context);"
