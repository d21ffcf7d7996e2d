"""IBM watsonx.ai (`watsonx:MODEL`, promptfoo's watsonx provider): its config keys, the text generation
request and answer (`POST /ml/v1/text/generation?version=…`, as IBM's SDK sends promptfoo's generateText),
and the IAM token exchange (an API key from the environment → a bearer token, cached until shortly before
it expires). Hosts come from IBM or the operator's environment only.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from bot.core.errors import CheckError
from bot.evals.providers_shapes import Messages, Parsed, WireError, count

WATSONX_KEYS = {"projectId", "modelId", "maxNewTokens", "version", "serviceUrl"}
DEFAULT_SERVICE = "https://us-south.ml.cloud.ibm.com"
DEFAULT_IAM = "https://iam.cloud.ibm.com"
IAM_GRANT = "urn:ibm:params:oauth:grant-type:apikey"
SERVICE_URL = re.compile(r"https://[a-z0-9-]{1,40}\.ml\.cloud\.ibm\.com/?")  # IBM's regional watsonx.ai hosts
REFRESH_MARGIN_S = 60.0  # a token this close to its expiry is exchanged again
_STOP = {"eos_token": "stop", "stop_sequence": "stop", "max_tokens": "length", "token_limit": "length"}


def watsonx_problem(key: str, value: Any) -> str | None:
    if key == "serviceUrl" and (not isinstance(value, str) or not SERVICE_URL.fullmatch(value)):
        return ("serviceUrl must be an IBM watsonx.ai host (https://REGION.ml.cloud.ibm.com); another server is "
                "the operator's setting (WATSONX_BASE_URL)")
    if key == "maxNewTokens" and (isinstance(value, bool) or not isinstance(value, int) or value <= 0):
        return "maxNewTokens must be a positive whole number"
    if key in ("projectId", "modelId") and (not isinstance(value, str) or not value.strip()):
        return f"{key} must be text"
    if key == "version" and (not isinstance(value, str) or not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value)):
        return "version must be a date such as 2023-05-29 (the API version)"
    return None


def watsonx_request(model: str, options: Mapping[str, Any], env: Mapping[str, str], messages: Messages) -> tuple[str, dict[str, Any]]:
    """(path with the API version, body): promptfoo sends the prompt's text (a chat prompt as its JSON), the
    model (config.modelId over the id's), the project (config.projectId, else WATSONX_AI_PROJECT_ID) and
    max_new_tokens (config.maxNewTokens, default 100)."""
    project = options.get("projectId") or env.get("WATSONX_AI_PROJECT_ID", "").strip()
    if not project:
        raise WireError("the watsonx project is not set: WATSONX_AI_PROJECT_ID or config.projectId", CheckError.MISSING_CREDENTIALS)
    prompt = messages[0][1] if len(messages) == 1 and messages[0][0] == "user" else json.dumps(
        [{"role": r, "content": c} for r, c in messages], ensure_ascii=False)
    body = {"input": prompt, "model_id": options.get("modelId") or model, "project_id": project,
            "parameters": {"max_new_tokens": options.get("maxNewTokens") or 100}}
    return f"/ml/v1/text/generation?version={options.get('version') or '2023-05-29'}", body


def watsonx_parse(data: dict[str, Any]) -> Parsed:
    results = data.get("results")
    first = results[0] if isinstance(results, list) and results and isinstance(results[0], dict) else None
    if first is None or not isinstance(first.get("generated_text"), str):
        raise WireError("no results returned from the text generation API")
    return Parsed(first["generated_text"], count(first.get("input_token_count")), count(first.get("generated_token_count")),
                  _STOP.get(str(first.get("stop_reason"))), data.get("model_id") if isinstance(data.get("model_id"), str) else None)


@dataclass(frozen=True)
class Token:
    value: str
    expires_at: float  # time.time() seconds

    def fresh(self) -> bool:
        return time.time() < self.expires_at - REFRESH_MARGIN_S


def token_from(data: Any) -> Token:
    """IAM's answer: {access_token, expires_in, expiration (epoch seconds)}."""
    if not isinstance(data, dict) or not isinstance(data.get("access_token"), str) or not data["access_token"]:
        raise WireError("IBM Cloud IAM answered without an access_token", CheckError.BAD_RESPONSE)
    expiration, expires_in = data.get("expiration"), data.get("expires_in")
    if isinstance(expiration, (int, float)) and not isinstance(expiration, bool):
        at = float(expiration)
    elif isinstance(expires_in, (int, float)) and not isinstance(expires_in, bool):
        at = time.time() + float(expires_in)
    else:
        at = time.time() + 3600
    return Token(data["access_token"], at)
