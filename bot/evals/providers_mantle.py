"""Bedrock's "mantle" endpoint (`https://bedrock-mantle.REGION.api.aws`): OpenAI-compatible chat completions and
responses APIs, authenticated with a Bedrock API key (AWS_BEARER_TOKEN_BEDROCK) as a bearer token, and Anthropic's
messages API under `/anthropic` (the key as `x-api-key`). promptfoo 0.121 sends `bedrock:mantle:MODEL` there as chat
completions, OpenAI's frontier models (`openai.…` but gpt-oss) and xAI's Grok (`xai.grok-…`) named as `bedrock:MODEL`
or `bedrock:converse:MODEL` as responses, and Claude Fable 5 / Mythos 5 (`bedrock:messages:MODEL`, Mythos as
`bedrock:MODEL` too) as messages; requests and answers are the OpenAI and Anthropic wire formats'
(bot.evals.providers_wire), the place and the per-model settings promptfoo drops are chosen here.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from bot.core.errors import CheckError
from bot.evals.providers_converse import ALWAYS_ADAPTIVE, SAMPLING_DEPRECATED, claude_thinking
from bot.evals.providers_shapes import WireError

MANTLE = "bedrock-mantle"  # the vendors (ProviderSpec.kind): OpenAI's wire format, and Anthropic's
MANTLE_ANTHROPIC = "bedrock-anthropic"
MESSAGES_MODELS = ("anthropic.claude-fable-5", "anthropic.claude-mythos-5")  # promptfoo's list
MYTHOS = "anthropic.claude-mythos-5"  # served by the messages API only, in us-east-1 only
FABLE_REGIONS = ("us-east-1", "eu-north-1")
# promptfoo's check of a region before it builds the host from it
_REGION = re.compile(r"^[a-z]{2}(?:-[a-z]+)+-\d+$")
_ENV_REGION = ("AWS_BEDROCK_REGION", "AWS_REGION", "AWS_DEFAULT_REGION")  # promptfoo's order after config.region


def is_grok(model: str) -> bool:
    return model.startswith("xai.grok-")


def is_responses_model(model: str) -> bool:
    """A model promptfoo sends to the mantle responses API when named as `bedrock:MODEL` or `bedrock:converse:MODEL`."""
    return (model.startswith("openai.") and "gpt-oss" not in model) or is_grok(model)


def mantle_kind(pid: str, rest: list[str]) -> tuple[str, str, tuple[tuple[str, Any], ...]] | str | None:
    """(vendor, model, options) for an id promptfoo sends to the mantle endpoint, the message refusing it, or None for
    the other Bedrock ids. `rest`: the id's parts after `bedrock`."""
    sub = rest[0] if len(rest) > 1 else None
    model = ":".join(rest[1:]) if sub else ":".join(rest)
    if sub in (None, "messages", "converse", "completion"):  # Claude Fable 5 and Mythos 5 (promptfoo's order)
        if re.fullmatch(r"[^.]+\.anthropic\.claude-mythos-5", model):
            return (f"unsupported: provider {pid!r}: Mythos has no geo or global inference ids (use bedrock:{MYTHOS}); "
                    "promptfoo refuses it too")
        if model == MYTHOS and sub in ("converse", "completion"):
            return (f"unsupported: provider {pid!r}: {MYTHOS} speaks Anthropic's messages API only, not Converse (use "
                    f"bedrock:{MYTHOS} or bedrock:messages:{MYTHOS}); promptfoo refuses it too")
        if model in MESSAGES_MODELS and (sub == "messages" or model == MYTHOS):
            return MANTLE_ANTHROPIC, model, (("mantle", "anthropic"),)
        if sub == "messages":
            return (f"unsupported: provider {pid!r}: Bedrock's Anthropic messages API serves {' and '.join(MESSAGES_MODELS)} only; "
                    "promptfoo refuses it too")
    if sub == "mantle":
        if ".xai." in model:
            return f"unsupported: provider {pid!r}: {model!r} is not a Grok id on Bedrock (use bedrock:xai.grok-4.3); promptfoo refuses it too"
        if is_responses_model(model) and not is_grok(model):
            return (f"unsupported: provider {pid!r}: OpenAI's {model!r} does not speak chat completions on Bedrock (bedrock:{model} "
                    "calls its responses API); promptfoo refuses it too")
        return (MANTLE, model, (("mantle", "chat"),)) if model else None
    if sub == "responses" and model:  # newer promptfoo's form; 0.121 fails every case of it (see docs)
        return MANTLE, model, (("api", "responses"), ("mantle", "responses"))
    if sub in (None, "converse", "completion") and is_responses_model(model):
        if ".xai." in model:
            return f"unsupported: provider {pid!r}: {model!r} is not a Grok id on Bedrock (use bedrock:xai.grok-4.3); promptfoo refuses it too"
        return MANTLE, model, (("api", "responses"), ("mantle", "responses"))
    return None


def mantle_base(model: str, option: Callable[[str], Any], env: Mapping[str, str]) -> str:
    """The mantle URL promptfoo posts to: `/v1`, or `/openai/v1` for the responses API of OpenAI's and Grok's models and
    for Grok's and Gemma 4's chat; the region is config.region, else the environment's, else promptfoo's default for
    the model (us-west-2 for Grok; us-east-2 for OpenAI's; us-east-1 for the other chat models)."""
    if option("mantle") == "anthropic":
        region = str(option("region") or next((env[k] for k in _ENV_REGION if env.get(k)), "us-east-1"))
        allowed = ("us-east-1",) if model == MYTHOS else FABLE_REGIONS
        if region not in allowed:  # promptfoo's check
            raise WireError(f"{model} is served through Bedrock's messages API only in {' and '.join(allowed)}, not {region[:40]!r} "
                            "(set config.region or AWS_BEDROCK_REGION)", CheckError.OTHER)
        return f"https://bedrock-mantle.{region}.api.aws/anthropic"
    responses = option("mantle") == "responses"
    openai_path = (responses and is_responses_model(model)) or (not responses and (is_grok(model) or model.startswith("google.gemma-4")))
    default = "us-west-2" if is_grok(model) else "us-east-2" if responses else "us-east-1"
    region = str(option("region") or next((env[k] for k in _ENV_REGION if env.get(k)), default))
    if not _REGION.match(region):
        raise WireError(f"{region[:40]!r} is not an AWS region (e.g. us-east-2) for the Bedrock mantle endpoint", CheckError.URL_REFUSED)
    return f"https://bedrock-mantle.{region}.api.aws" + ("/openai/v1" if openai_path else "/v1")


def mantle_params(model: str, responses: bool, params: dict[str, Any]) -> dict[str, Any]:
    """The request settings promptfoo leaves out for these models: Grok's chat takes no penalties, stop words or
    token cap (promptfoo reads it as a reasoning model); OpenAI's GPT-5 and o-series reasoning models no temperature."""
    dropped: set[str] = set()
    if is_grok(model) and not responses:
        dropped = {"presence_penalty", "frequency_penalty", "stop", "max_tokens"}
    elif re.match(r"openai\.(gpt-5|o\d)", model):
        dropped = {"temperature"}
    return {k: v for k, v in params.items() if k not in dropped}


def claude_params(model: str, params: dict[str, Any]) -> dict[str, Any]:
    """Claude Fable 5 / Mythos 5 settings as promptfoo sends them: no temperature, top_p or top_k; thinking normalised
    (a budget becomes adaptive thinking); max_tokens 2048 unless set (thinking shares the budget)."""
    out = {k: v for k, v in params.items() if not (SAMPLING_DEPRECATED.search(model) and k in ("temperature", "top_p", "top_k"))}
    if "thinking" in out:
        thinking = claude_thinking(model, out.pop("thinking"))
        if thinking is not None:
            out["thinking"] = thinking
    if ALWAYS_ADAPTIVE.search(model):
        out.setdefault("max_tokens", 2048)
    return out
