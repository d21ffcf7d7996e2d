"""promptfoo's streaming chat providers over WebSocket — `openai:realtime:MODEL` / `azure:realtime:DEPLOYMENT`
(OpenAI's Realtime API) and `google:live:MODEL` (Gemini's Live API, BidiGenerateContent): their ids and the
config keys they read, checked at load with the suite's line. What one call sends and how its events become
the answer: bot.evals.providers_live_wire.
"""

from __future__ import annotations

import json
from enum import Enum
from typing import Any



class LiveApi(str, Enum):
    REALTIME = "realtime"  # openai:realtime:MODEL, azure:realtime:DEPLOYMENT
    LIVE = "live"  # google:live:MODEL


MAX_REALTIME_OUTPUT_TOKENS = 4096  # the Realtime API's limit for max_response_output_tokens (besides 'inf')

# Config keys that change the answer (kept in the provider's params: its fingerprint) …
REALTIME_PARAMS = {"modalities", "instructions", "voice", "temperature", "max_response_output_tokens", "tools", "tool_choice",
                   "parallel_tool_calls", "reasoning", "input_audio_format", "output_audio_format", "input_audio_transcription",
                   "turn_detection"}
LIVE_PARAMS = {"generationConfig", "tools", "toolConfig", "temperature", "maxOutputTokens", "topP", "topK", "stopSequences",
               "speechConfig"}
# … how long a call may take (kept in options) …
TIMEOUT_KEY = {LiveApi.REALTIME: "websocketTimeout", LiveApi.LIVE: "timeoutMs"}
# … and those that change nothing here: pricing, and the pacing of tool-call handlers that prompt-review never runs
INERT = {"cost", "inputCost", "outputCost", "toolCallTimeout", "maxToolIterations", "apiVersion", "debug", "timeout", "maxRetries"}
REFUSED = {
    "functionCallHandler": "refused: functionCallHandler: executes code from the PR (a function-call handler)",
    "functionToolStatefulApi": ("refused: functionToolStatefulApi: executes code from the PR (a Python file run as the local "
                                "API the model's function calls go to)"),
}


def live_kind(pid: str, head: str, rest: list[str]) -> tuple[str, str, tuple[tuple[str, Any], ...]] | str | None:
    """(vendor, model, options) for openai:realtime:MODEL and google:live:MODEL, the message refusing a
    malformed one, or None for every other id."""
    if head in ("openai", "azure", "azureopenai") and rest and rest[0] == LiveApi.REALTIME.value:
        model = ":".join(rest[1:])  # on Azure: the deployment
        vendor = "openai" if head == "openai" else "azure"
        if not model:
            return f"unsupported: provider {pid!r}: the Realtime API needs a model ({vendor}:realtime:{'MODEL' if head == 'openai' else 'DEPLOYMENT'})"
        return vendor, model, (("api", LiveApi.REALTIME.value),)
    if head == "google" and rest and rest[0] == LiveApi.LIVE.value:
        model = ":".join(rest[1:])
        if not model:
            return f"unsupported: provider {pid!r}: the Live API needs a model (google:live:MODEL)"
        return "google", model, (("api", LiveApi.LIVE.value),)
    return None


def live_config(api: LiveApi, key: str, value: Any, params: list[tuple[str, Any]], opts: dict[str, Any]) -> tuple[str, str | None]:
    """("", None) when `key` was read into params/opts; else ("", problem). A returned base URL is the first
    item: (url, None) for apiBaseUrl (a suite URL: the URL policy applies and no key goes there)."""
    if key in REFUSED:
        return "", REFUSED[key]
    if key in INERT:
        return "", None
    if key == TIMEOUT_KEY[api]:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
            return "", f"{key} must be a positive number of milliseconds"
        opts[key] = value
        return "", None
    if api is LiveApi.REALTIME and key == "apiHost":  # Azure's resource host (a suite URL, like apiBaseUrl)
        if not isinstance(value, str) or not value or "/" in value.removeprefix("https://").rstrip("/"):
            return "", "apiHost must be a host name such as my-resource.openai.azure.com"
        opts[key] = value.removeprefix("https://").rstrip("/")
        return "", None
    if api is LiveApi.REALTIME and key in ("apiBaseUrl", "apiBase", "baseUrl"):
        if not isinstance(value, str) or not value.startswith(("http://", "https://")):
            return "", f"{key} must be an http(s) URL"
        return value, None
    if api is LiveApi.REALTIME and key == "maintainContext":
        if not isinstance(value, bool):
            return "", "maintainContext must be true or false"
        if not value:  # true is the default: the tests with a conversationId continue one conversation (bot.evals.realtime_turns)
            opts[key] = False  # … false: each is checked on its own
        return "", None
    if api is LiveApi.LIVE and key == "systemInstruction":
        if isinstance(value, dict):
            value = json.dumps(value, sort_keys=True)
        if not isinstance(value, str):
            return "", "systemInstruction must be text or a mapping ({parts: [{text}]})"
        opts[key] = value
        return "", None
    known = REALTIME_PARAMS if api is LiveApi.REALTIME else LIVE_PARAMS
    if key not in known:
        listed = sorted(known | {TIMEOUT_KEY[api]} | ({"apiBaseUrl", "apiHost", "maintainContext"} if api is LiveApi.REALTIME else {"systemInstruction"}))
        return "", f"unsupported provider config key {key!r} for {'a Realtime provider' if api is LiveApi.REALTIME else 'google:live'} (supported: {', '.join(listed)})"
    problem = _realtime_problem(key, value) if api is LiveApi.REALTIME else _live_problem(key, value)
    if problem is None:
        params.append((key, value))
    return "", problem


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _tools_problem(value: Any) -> str | None:
    if isinstance(value, str) and value.startswith("file://"):
        return None  # read by the loader (a .json/.yaml file of the repository)
    if not isinstance(value, list) or not all(isinstance(t, dict) for t in value):
        return "tools must be a list of tool definitions (mappings), or file://tools.json"
    return None


def _realtime_problem(key: str, value: Any) -> str | None:
    if key == "modalities":
        if not isinstance(value, list) or not value or any(m not in ("text", "audio") for m in value):
            return "modalities must be a list of 'text' and 'audio'"
        if "text" not in value:
            return ("unsupported: an audio-only answer (modalities ['audio']): prompt-review reviews text answers; list "
                    "'text' too (modalities: ['text', 'audio']) and the answer is the text")
    elif key in ("instructions", "voice", "input_audio_format", "output_audio_format") and not isinstance(value, str):
        return f"{key} must be text"
    elif key == "temperature" and not _is_number(value):
        return "temperature must be a number"
    elif key == "max_response_output_tokens" and value != "inf" and not (
            isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= MAX_REALTIME_OUTPUT_TOKENS):
        return f"max_response_output_tokens must be a whole number from 1 to {MAX_REALTIME_OUTPUT_TOKENS}, or 'inf'"
    elif key == "tools":
        return _tools_problem(value)
    elif key == "tool_choice" and not (value in ("none", "auto", "required") or (isinstance(value, dict) and value.get("type") == "function")):
        return "tool_choice must be none, auto, required or {type: function, name: NAME}"
    elif key == "parallel_tool_calls" and not isinstance(value, bool):
        return "parallel_tool_calls must be true or false"
    elif key in ("reasoning",) and not isinstance(value, dict):
        return "reasoning must be a mapping such as {effort: low}"
    elif key in ("input_audio_transcription", "turn_detection") and value is not None and not isinstance(value, dict):
        return f"{key} must be a mapping or null"
    return None


def live_modalities(config: dict[str, Any]) -> list[str] | None:
    """The response modalities a generationConfig asks for (either spelling), upper-cased; None when unset."""
    value = config.get("responseModalities", config.get("response_modalities"))
    if isinstance(value, str):
        value = [value]
    return [str(m).upper() for m in value] if isinstance(value, list) else None


def _live_problem(key: str, value: Any) -> str | None:
    if key in ("generationConfig", "toolConfig", "speechConfig") and not isinstance(value, dict):
        return f"{key} must be a mapping"
    if key == "generationConfig":
        modalities = live_modalities(value)
        if modalities is not None and (not modalities or any(m not in ("TEXT", "AUDIO") for m in modalities)):
            return "generationConfig.response_modalities must be a list of 'text' and 'audio'"
        if modalities is not None and "TEXT" not in modalities:
            return ("unsupported: an audio-only answer (generationConfig.response_modalities ['audio']): prompt-review "
                    "reviews text answers; ask for ['text'] (the Live API answers in one modality per session)")
    if key in ("temperature", "topP", "topK") and not _is_number(value):
        return f"{key} must be a number"
    if key == "maxOutputTokens" and not (isinstance(value, int) and not isinstance(value, bool) and value > 0):
        return "maxOutputTokens must be a positive whole number"
    if key == "stopSequences" and not (isinstance(value, list) and all(isinstance(s, str) for s in value)):
        return "stopSequences must be a list of text"
    if key == "tools":
        return _tools_problem(value)
    return None
