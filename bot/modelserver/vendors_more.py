"""Cohere's chat (v1) and embed APIs, Replicate's predictions API, SageMaker's InvokeEndpoint (text and
embeddings), Databricks serving endpoints, Docker Model Runner, a Helicone gateway, OpenAI-format embeddings,
Hugging Face text generation (its other tasks: bot.modelserver.classify) and a llama.cpp server's /completion on the scripted model server (a TEST DOUBLE). Answers come from the same rules as every other endpoint. Replicate: a request with
`Prefer: wait=N` gets the finished prediction, one without it (or for a model whose name contains
"queued") gets a `starting` prediction to be looked up at GET /v1/predictions/{id}, as the real API does.
"""

from __future__ import annotations

import json
import re
import uuid
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

from bot.modelserver import classify, images, wire
from bot.modelserver.control import ServerState
from bot.modelserver.rules import answer
from bot.modelserver.vendors import BeforeAnswer, verify_sigv4

_ROLES = {"USER": "user", "CHATBOT": "assistant", "SYSTEM": "system"}
bag_of_words = wire.bag_of_words


def register(app: FastAPI, state: ServerState, before_answer: BeforeAnswer, api_key: str | None) -> None:
    predictions: dict[str, dict[str, Any]] = {}

    def bearer_ok(request: Request) -> bool:
        return api_key is None or request.headers.get("authorization", "") == f"Bearer {api_key}"

    async def body_of(request: Request) -> dict[str, Any] | Response:
        try:
            data = json.loads(await request.body() or b"null")
        except json.JSONDecodeError:
            return JSONResponse({"message": "invalid request: the body is not JSON"}, status_code=400)
        return data if isinstance(data, dict) else JSONResponse({"message": "invalid request: not an object"}, status_code=400)

    async def reply(request: Request, endpoint: str, model: str, chat: list[dict[str, Any]], max_tokens: Any) -> tuple[str, bool] | Response:
        key = state.record(endpoint, model, chat)
        if (failed := await before_answer(request, "openai", model)) is not None:
            return failed
        return wire.truncate(answer(chat, model, {}, call_index=state.answered(model, key)), max_tokens if isinstance(max_tokens, int) else None)

    @app.post("/v1/chat")
    async def cohere_chat(request: Request) -> Response:
        if not bearer_ok(request):
            return JSONResponse({"message": "invalid api token"}, status_code=401)
        data = await body_of(request)
        if isinstance(data, Response):
            return data
        model, message = data.get("model"), data.get("message")
        if not isinstance(model, str) or not isinstance(message, str) or not message:
            return JSONResponse({"message": "invalid request: message must be a non-empty string"}, status_code=400)
        chat = [{"role": "system", "content": data["preamble"]}] if isinstance(data.get("preamble"), str) else []
        chat += [{"role": _ROLES.get(str(m.get("role")), "user"), "content": str(m.get("message", ""))}
                 for m in data.get("chat_history") or [] if isinstance(m, dict)]
        chat.append({"role": "user", "content": message})
        got = await reply(request, "cohere.chat", model, chat, data.get("max_tokens"))
        if isinstance(got, Response):
            return got
        text, truncated = got
        tokens_in = sum(wire.count_tokens(m["content"]) for m in chat)
        body: dict[str, Any] = {
            "response_id": str(uuid.uuid4()), "text": text, "generation_id": str(uuid.uuid4()),
            "finish_reason": "MAX_TOKENS" if truncated else "COMPLETE",
            "meta": {"api_version": {"version": "1"}, "billed_units": {"input_tokens": tokens_in, "output_tokens": wire.count_tokens(text)}},
        }
        if data.get("connectors"):  # a web-search connector reports the queries it ran
            body["search_queries"] = [{"text": message, "generation_id": body["generation_id"]}]
        return JSONResponse(body)

    @app.post("/v2/chat")
    async def cohere_chat_v2(request: Request) -> Response:
        if not bearer_ok(request):
            return JSONResponse({"message": "invalid api token"}, status_code=401)
        data = await body_of(request)
        if isinstance(data, Response):
            return data
        model, chat = data.get("model"), [m for m in data.get("messages") or [] if isinstance(m, dict)]
        if not isinstance(model, str) or not chat:
            return JSONResponse({"message": "invalid request: model and messages are required"}, status_code=400)
        got = await reply(request, "cohere.chat.v2", model, chat, data.get("max_tokens"))
        if isinstance(got, Response):
            return got
        text, truncated = got
        return JSONResponse({"id": str(uuid.uuid4()), "finish_reason": "MAX_TOKENS" if truncated else "COMPLETE",
                             "message": {"role": "assistant", "content": [{"type": "text", "text": text}]},
                             "usage": {"billed_units": {"input_tokens": sum(wire.count_tokens(str(m.get("content"))) for m in chat),
                                                        "output_tokens": wire.count_tokens(text)}}})

    @app.post("/v1/embed")
    async def cohere_embed(request: Request) -> Response:
        if not bearer_ok(request):
            return JSONResponse({"message": "invalid api token"}, status_code=401)
        data = await body_of(request)
        if isinstance(data, Response):
            return data
        texts = data.get("texts")
        if not isinstance(data.get("model"), str) or not isinstance(texts, list) or not all(isinstance(t, str) for t in texts):
            return JSONResponse({"message": "invalid request: model and texts are required"}, status_code=400)
        state.record("cohere.embed", data["model"], [{"role": "user", "content": t} for t in texts])
        return JSONResponse({"id": str(uuid.uuid4()), "texts": texts, "embeddings": [bag_of_words(t) for t in texts],
                             "meta": {"billed_units": {"input_tokens": sum(wire.count_tokens(t) for t in texts)}}})

    async def predict(request: Request, model: str) -> Response:
        if not bearer_ok(request):
            return JSONResponse({"title": "Unauthenticated", "detail": "You did not pass a valid authentication token", "status": 401},
                                status_code=401)
        data = await body_of(request)
        if isinstance(data, Response):
            return data
        inputs = data.get("input")
        if not isinstance(inputs, dict) or not isinstance(inputs.get("prompt"), str):
            return JSONResponse({"title": "Input validation failed", "detail": "input.prompt is required", "status": 422}, status_code=422)
        chat = ([{"role": "system", "content": inputs["system_prompt"]}] if isinstance(inputs.get("system_prompt"), str) else [])
        chat.append({"role": "user", "content": inputs["prompt"]})
        got = await reply(request, "replicate.predictions", model, chat, inputs.get("max_tokens", inputs.get("max_new_tokens")))
        if isinstance(got, Response):
            return got
        text, _ = got
        ident = uuid.uuid4().hex[:26]
        done = {"id": ident, "model": model, "version": data.get("version", ""), "input": inputs, "status": "succeeded",
                "output": [images.image_url(model, inputs["prompt"], str(inputs.get("output_format") or "webp"))] if images.is_image_input(inputs)
                else re.findall(r"\S+\s*|\s+", text) or [""], "error": None, "logs": "",
                "metrics": {"input_token_count": sum(wire.count_tokens(m["content"]) for m in chat), "output_token_count": wire.count_tokens(text)},
                "urls": {"get": f"https://api.replicate.com/v1/predictions/{ident}", "cancel": f"https://api.replicate.com/v1/predictions/{ident}/cancel"}}
        if request.headers.get("prefer", "").startswith("wait") and "queued" not in model:
            return JSONResponse(done, status_code=201)
        predictions[ident] = done
        return JSONResponse({**done, "status": "starting", "output": None, "metrics": {}}, status_code=201)

    @app.post("/v1/models/{owner}/{name}/predictions")
    async def replicate_model(owner: str, name: str, request: Request) -> Response:
        return await predict(request, f"{owner}/{name}")

    @app.post("/v1/predictions")
    async def replicate_version(request: Request) -> Response:
        raw = json.loads(await request.body() or b"null")
        version = raw.get("version") if isinstance(raw, dict) else None
        if not isinstance(version, str) or not re.fullmatch(r"[0-9a-f]{64}", version):
            return JSONResponse({"title": "Invalid version", "detail": "version must be a model version id", "status": 422}, status_code=422)
        return await predict(request, f"version-{version[:12]}")

    @app.get("/v1/predictions/{ident}")
    async def replicate_get(ident: str, request: Request) -> Response:
        if not bearer_ok(request):
            return JSONResponse({"detail": "Unauthenticated", "status": 401}, status_code=401)
        state.record("replicate.get", "replicate", [])
        if ident not in predictions:
            return JSONResponse({"detail": "Not found.", "status": 404}, status_code=404)
        return JSONResponse(predictions[ident])

    @app.post("/endpoints/{endpoint}/invocations")
    async def sagemaker(endpoint: str, request: Request) -> Response:
        """An endpoint answers in the shape its payload implies: OpenAI messages or prompt → choices;
        TGI `inputs` → [{generated_text}] (return_full_text), {generated_text} (do_sample) or {generation}."""
        raw = await request.body()
        if api_key is not None and (problem := verify_sigv4(request, raw, "sagemaker")):
            return JSONResponse({"message": f"The request signature we calculated does not match: {problem}"}, status_code=403)
        data = json.loads(raw or b"null")
        if (embedded := classify.sagemaker_embedding(data)) is not None:
            state.record("sagemaker.embedding", endpoint, [{"role": "user", "content": embedded[0]}])
            return JSONResponse(embedded[1])
        params: dict[str, Any] = {}
        if isinstance(data, list):  # a custom endpoint given the chat itself
            chat = [m for m in data if isinstance(m, dict)]
        elif isinstance(data, dict):
            params = data["parameters"] if isinstance(data.get("parameters"), dict) else data
            source = data.get("messages", data.get("inputs", data.get("prompt")))
            chat = source if isinstance(source, list) else [{"role": "user", "content": str(source or "")}]
        else:
            return JSONResponse({"message": "payload must be JSON"}, status_code=400)
        got = await reply(request, "sagemaker.invocations", endpoint, chat, params.get("max_new_tokens", params.get("max_tokens")))
        if isinstance(got, Response):
            return got
        text, _ = got
        if isinstance(data, dict) and "messages" in data:
            return JSONResponse(wire.chat_completion(endpoint, [text], False, 1))
        if isinstance(data, dict) and "prompt" in data and "parameters" not in data:
            return JSONResponse({"choices": [{"text": text, "index": 0, "finish_reason": "stop"}]})
        if params.get("return_full_text") is False:
            return JSONResponse([{"generated_text": text}])
        if "do_sample" in params:
            return JSONResponse({"generated_text": text})
        return JSONResponse({"generation": text})

    async def chat_completions(request: Request, endpoint: str) -> Response:
        """OpenAI's chat completions for servers that speak it under their own paths (Databricks serving
        endpoints, Docker Model Runner, a Helicone gateway)."""
        if not bearer_ok(request) and endpoint != "docker.chat":  # Docker Model Runner takes no key
            return JSONResponse({"error": {"message": "Credential was not sent or was of an unsupported type", "code": 401}}, status_code=401)
        data = await body_of(request)
        if isinstance(data, Response):
            return data
        model = data.get("model")
        chat = [m for m in data.get("messages") or [] if isinstance(m, dict)]
        if not isinstance(model, str) or not chat:
            return JSONResponse({"error": {"message": "model and messages are required", "code": 400}}, status_code=400)
        got = await reply(request, endpoint, model, chat, data.get("max_tokens"))
        if isinstance(got, Response):
            return got
        text, truncated = got
        return JSONResponse(wire.chat_completion(model, [text], truncated, sum(wire.count_tokens(str(m.get("content"))) for m in chat)))

    @app.post("/serving-endpoints/chat/completions")
    async def databricks(request: Request) -> Response:
        return await chat_completions(request, "databricks.chat")

    @app.post("/engines/v1/chat/completions")
    async def docker(request: Request) -> Response:
        return await chat_completions(request, "docker.chat")

    @app.post("/ai/chat/completions")
    async def helicone(request: Request) -> Response:
        return await chat_completions(request, "helicone.chat")

    @app.post("/router/{router}/chat/completions")
    async def helicone_router(router: str, request: Request) -> Response:
        return await chat_completions(request, f"helicone.router.{router}")

    # promptfoo's gateways and vendors with their own chat-completions paths (bot.evals.providers_vendors)
    @app.post("/gateway/mlflow/v1/chat/completions")
    async def mlflow_gateway(request: Request) -> Response:
        return await chat_completions(request, "mlflow-gateway.chat")

    @app.post("/api/v2/cortex/inference:complete")
    async def snowflake_cortex(request: Request) -> Response:
        return await chat_completions(request, "snowflake.chat")

    @app.post("/accounts/{account}/ai/v1/chat/completions")
    async def cloudflare_workers_ai(account: str, request: Request) -> Response:
        return await chat_completions(request, f"cloudflare-ai.{account}")

    @app.post("/namespaces/{namespace}/endpoints/{endpoint}/v1/chat/completions")
    async def cloudera_endpoint(namespace: str, endpoint: str, request: Request) -> Response:
        return await chat_completions(request, f"cloudera.{namespace}.{endpoint}")

    @app.post("/v1/embeddings")
    async def embeddings(request: Request) -> Response:
        return await embed(request, keyless=False)

    @app.post("/engines/v1/embeddings")
    async def docker_embeddings(request: Request) -> Response:
        return await embed(request, keyless=True)

    async def embed(request: Request, keyless: bool) -> Response:
        """OpenAI's embeddings format (OpenAI, Voyage AI, Docker Model Runner, …): bag-of-words vectors."""
        if not keyless and not bearer_ok(request):
            return JSONResponse({"error": {"message": "Incorrect API key provided.", "type": "invalid_request_error"}}, status_code=401)
        data = await body_of(request)
        if isinstance(data, Response):
            return data
        texts = data.get("input")
        texts = [texts] if isinstance(texts, str) else texts
        if not isinstance(data.get("model"), str) or not isinstance(texts, list) or not all(isinstance(t, str) for t in texts):
            return JSONResponse({"error": {"message": "model and input are required", "type": "invalid_request_error"}}, status_code=400)
        state.record("embeddings", data["model"], [{"role": "user", "content": t} for t in texts])
        return JSONResponse({"object": "list", "model": data["model"],
                             "data": [{"object": "embedding", "index": i, "embedding": bag_of_words(t)} for i, t in enumerate(texts)],
                             "usage": {"prompt_tokens": sum(wire.count_tokens(t) for t in texts), "total_tokens": sum(wire.count_tokens(t) for t in texts)}})

    @app.post("/hf/{model:path}")
    async def huggingface(model: str, request: Request) -> Response:
        if not bearer_ok(request):
            return JSONResponse({"error": "Invalid credentials in Authorization header"}, status_code=401)
        data = await body_of(request)
        if isinstance(data, Response):
            return data
        if (task := classify.hf_task(data)) is not None:
            return hf_task_answer(task, model, data)
        parameters: dict[str, Any] = data["parameters"] if isinstance(data.get("parameters"), dict) else {}
        if not isinstance(data.get("inputs"), str):
            return JSONResponse({"error": "inputs must be text"}, status_code=400)
        got = await reply(request, "huggingface.generate", model, [{"role": "user", "content": data["inputs"]}], parameters.get("max_new_tokens"))
        if isinstance(got, Response):
            return got
        text = got[0] if parameters.get("return_full_text") is False else data["inputs"] + got[0]
        return JSONResponse([{"generated_text": text}])

    def hf_task_answer(task: str, model: str, data: dict[str, Any]) -> Response:
        """The classification, similarity and feature-extraction tasks (bot.modelserver.classify)."""
        if (busy := classify.loading(model, data)) is not None:
            return JSONResponse(busy, status_code=503)
        inputs = data.get("inputs")
        if task == "sentence-similarity" and isinstance(inputs, dict):
            source, sentences = inputs.get("source_sentence"), inputs.get("sentences")
            if not isinstance(source, str) or not isinstance(sentences, list) or not all(isinstance(x, str) for x in sentences):
                return JSONResponse({"error": "inputs must have source_sentence and sentences"}, status_code=400)
            state.record(f"huggingface.{task}", model, [{"role": "user", "content": t} for t in (source, *sentences)])
            return JSONResponse(classify.sentence_similarity(source, sentences))
        if not isinstance(inputs, str):
            return JSONResponse({"error": "inputs must be text"}, status_code=400)
        state.record(f"huggingface.{task}", model, [{"role": "user", "content": inputs}])
        if task == "text-classification":
            return JSONResponse(classify.text_classification(model, inputs))
        if task == "token-classification":
            return JSONResponse(classify.token_classification(inputs))
        return JSONResponse(bag_of_words(inputs))

    @app.post("/completion")
    async def llamacpp(request: Request) -> Response:
        data = await body_of(request)
        if isinstance(data, Response):
            return data
        if not isinstance(data.get("prompt"), str):
            return JSONResponse({"error": {"code": 400, "message": "prompt must be text", "type": "invalid_request_error"}}, status_code=400)
        got = await reply(request, "llamacpp.completion", "llama.cpp", [{"role": "user", "content": data["prompt"]}], data.get("n_predict"))
        if isinstance(got, Response):
            return got
        text, truncated = got
        return JSONResponse({"content": text, "stop": True, "stopped_eos": not truncated, "stopped_limit": truncated,
                             "tokens_evaluated": wire.count_tokens(data["prompt"]), "tokens_predicted": wire.count_tokens(text)})

    @app.post("/model/{model_id}/invoke")
    async def bedrock_invoke(model_id: str, request: Request) -> Response:
        """Bedrock InvokeModel for embedding models: Titan ({inputText} → {embedding}) and Cohere ({texts} → {embeddings})."""
        raw = await request.body()
        if api_key is not None and request.headers.get("authorization", "") != f"Bearer {api_key}" and (
                problem := verify_sigv4(request, raw, "bedrock")):
            return JSONResponse({"message": f"The request signature we calculated does not match: {problem}"}, status_code=403)
        data = json.loads(raw or b"null")
        if isinstance(data, dict) and isinstance(data.get("inputText"), str):
            state.record("bedrock.invoke", model_id, [{"role": "user", "content": data["inputText"]}])
            return JSONResponse({"embedding": bag_of_words(data["inputText"]), "inputTextTokenCount": wire.count_tokens(data["inputText"])})
        if isinstance(data, dict) and isinstance(data.get("texts"), list):
            texts = [str(t) for t in data["texts"]]
            state.record("bedrock.invoke", model_id, [{"role": "user", "content": t} for t in texts])
            return JSONResponse({"embeddings": [bag_of_words(t) for t in texts], "texts": texts})
        return JSONResponse({"message": "Malformed input request: expected inputText or texts"}, status_code=400)
