"""Amazon Bedrock knowledge bases on the scripted model server (a TEST DOUBLE): RetrieveAndGenerate of the Agents
for Amazon Bedrock runtime (`POST /retrieveAndGenerate`, signed with SigV4 for `bedrock` by the test credentials, or
a Bedrock API key), in the shape of AWS's API reference: `output.text`, `citations` (each a `generatedResponsePart`
with its span and the `retrievedReferences` it rests on: content text, S3 location, metadata) and `sessionId`.
The answer comes from the same rules as the chat endpoints; the references are made from the query and the
answer, so they are the same for the same request.
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

from bot.modelserver.control import ServerState
from bot.modelserver.rules import answer
from bot.modelserver.vendors import BeforeAnswer, verify_sigv4

ENDPOINT = "bedrock.retrieveAndGenerate"
# AWS's API reference: BedrockModelArn (an ARN, or a bare model / inference profile id), the query at most 1,000 characters
MODEL_ARN = re.compile(r"^(arn:aws(-[^:]+)?:(bedrock|sagemaker):[a-z0-9-]{1,20}:([0-9]{12})?:([a-z-]+/)?)?([a-z0-9.-]{1,63}){0,2}"
                       r"(([:][a-z0-9-]{1,63}){0,2})?(/[a-z0-9]{1,12})?$")
MAX_QUERY_CHARS = 1000


def _invalid(message: str) -> JSONResponse:
    return JSONResponse({"message": message}, status_code=400, headers={"x-amzn-ErrorType": "ValidationException"})


def references(kb_id: str, query: str, text: str) -> list[dict[str, Any]]:
    """Two passages the knowledge base 'retrieved': one that backs the answer, one that restates the query."""
    return [{"content": {"type": "TEXT", "text": passage},
             "location": {"type": "S3", "s3Location": {"uri": f"s3://scripted-kb-{kb_id.lower()}/doc-{i}.txt"}},
             "metadata": {"x-amz-bedrock-kb-source-uri": f"s3://scripted-kb-{kb_id.lower()}/doc-{i}.txt",
                          "x-amz-bedrock-kb-chunk-id": hashlib.sha256(passage.encode()).hexdigest()[:16]}}
            for i, passage in enumerate((text, f"Question asked: {query}"), start=1)]


def register(app: FastAPI, state: ServerState, before_answer: BeforeAnswer, api_key: str | None) -> None:
    @app.post("/retrieveAndGenerate")
    async def retrieve_and_generate(request: Request) -> Response:
        raw = await request.body()
        if api_key is not None and request.headers.get("authorization", "") != f"Bearer {api_key}":
            problem = verify_sigv4(request, raw)
            if problem:
                return JSONResponse({"message": f"The request signature we calculated does not match: {problem}"}, status_code=403,
                                    headers={"x-amzn-ErrorType": "InvalidSignatureException"})
        try:
            data = json.loads(raw or b"null")
        except json.JSONDecodeError:
            return _invalid("The request body is not valid JSON.")
        query = data.get("input", {}).get("text") if isinstance(data, dict) and isinstance(data.get("input"), dict) else None
        conf = data.get("retrieveAndGenerateConfiguration") if isinstance(data, dict) else None
        kb = conf.get("knowledgeBaseConfiguration") if isinstance(conf, dict) else None
        if not isinstance(query, str) or not query:
            return _invalid("1 validation error detected: Value at 'input.text' failed to satisfy constraint: Member must not be null")
        if len(query) > MAX_QUERY_CHARS:
            return _invalid("1 validation error detected: Value at 'input.text' failed to satisfy constraint: Member must have "
                            f"length less than or equal to {MAX_QUERY_CHARS}")
        if not isinstance(conf, dict) or conf.get("type") != "KNOWLEDGE_BASE" or not isinstance(kb, dict):
            return _invalid("retrieveAndGenerateConfiguration must be of type KNOWLEDGE_BASE with a knowledgeBaseConfiguration")
        kb_id, model_arn = kb.get("knowledgeBaseId"), kb.get("modelArn")
        if not isinstance(kb_id, str) or not kb_id or not isinstance(model_arn, str) or not MODEL_ARN.match(model_arn):
            return _invalid("knowledgeBaseConfiguration needs a knowledgeBaseId and a modelArn")
        chat = [{"role": "user", "content": query}]
        model = model_arn.rsplit("/", 1)[-1]
        key = state.record(ENDPOINT, model, chat)
        if (failed := await before_answer(request, "openai", model)) is not None:
            return failed
        text = answer(chat, model, {}, call_index=state.answered(model, key))
        refs = references(kb_id, query, text)
        wanted = (kb.get("retrievalConfiguration") or {}).get("vectorSearchConfiguration", {}).get("numberOfResults")
        if isinstance(wanted, int) and wanted > 0:
            refs = refs[:wanted]
        citation = {"generatedResponsePart": {"textResponsePart": {"text": text, "span": {"start": 0, "end": max(0, len(text) - 1)}}},
                    "retrievedReferences": refs}
        session = hashlib.sha256(f"{kb_id}\n{query}".encode()).hexdigest()[:32]
        return JSONResponse({"output": {"text": text}, "citations": [citation], "sessionId": session})
