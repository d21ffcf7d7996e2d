"""`config.apiKeyEnvar`: promptfoo's providers read their key from the environment variable a suite names
(`apiKeyEnvar: FLEXAI_API_KEY` beside an `apiBaseUrl`), and `config.apiKey: '{{ env.FLEXAI_API_KEY }}'` names one
the same way (promptfoo fills it in as the provider loads, and takes it over apiKeyEnvar). Here the variable's value goes only where the rule for
secrets lets it (bot.evals.header_secrets): a vendor's key variable to that vendor's API, any other variable to the
URL prefixes the base branch's `evals.http_credentials` (or the operator's PROMPT_REVIEW_HTTP_CREDENTIALS) grants
it. A pull request can name a variable but not grant it, so it cannot send a secret anywhere new; a request the
rule does not allow is refused before anything is sent, naming the variable, the URL and the grant to add.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from bot.evals.header_secrets import CONFIG_KEY, GRANTS_ENV
from bot.evals.urls import under

KEY = "apiKeyEnvar"  # the config key, kept in ProviderSpec.options
NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,127}")
# promptfoo 0.121.20's providers that read the suite's apiKeyEnvar (its OpenAI client and the vendors built on it
# that keep the suite's value, and the Azure, Mistral, Cohere, Voyage and AI21 providers)
READS = {"openai", "azure", "fireworks", "nvidia", "novita", "meta", "minimax", "moonshot", "openrouter", "cloudflare-ai",
         "mistral", "ai21", "cohere", "voyage"}
# vendors whose promptfoo provider sets its own apiKeyEnvar over the suite's: the key has no effect there either
OVERRIDDEN = {"alibaba", "cerebras", "cloudera", "deepseek", "github", "groq", "jfrog", "llamaapi", "perplexity", "portkey",
              "snowflake", "together", "truefoundry", "xai", "f5", "hyperbolic", "aimlapi", "cometapi"}
NOT_HERE = {"realtime", "live"}  # their connections authenticate on their own (the operator's key only)


def read_key_envar(kind: str, api: object, value: object) -> tuple[str | None, str | None]:
    """(the variable to read, or None when the key has no effect; the problem with it, or None) at load."""
    if not isinstance(value, str) or not NAME.fullmatch(value):
        return None, f"{KEY} must be the name of an environment variable (letters, digits, _)"
    if kind in OVERRIDDEN:
        return None, None
    if kind not in READS:
        return None, (f"unsupported: {KEY} for {kind}: prompt-review reads it for {', '.join(sorted(READS))}; "
                      f"{kind}'s key comes from the operator's environment")
    if api in NOT_HERE:
        return None, f"unsupported: {KEY} for a {api} connection: it authenticates with the vendor's own key variable only"
    return value, None


# config.apiKey as promptfoo renders it when its provider loads (renderEnvOnlyInObject): `{{ env.NAME }}` or
# `{{ env['NAME'] }}` is that variable's value; nothing else written there is filled in (`${NAME}`, `{{ NAME }}` are sent as
# they are written)
API_KEY = "apiKey"
ENV_REFERENCE = re.compile(r"\{\{\s*env(?:\.([A-Za-z_][A-Za-z0-9_]*)|\[\s*(['\"])([A-Za-z_][A-Za-z0-9_]*)\2\s*\])\s*\}\}")
# (shell-style `${NAME}` or `$NAME` in capitals, or a template without `env.`: a variable's name, never a key, is quoted back)
_LOOKS_LIKE_A_VARIABLE = re.compile(r"\$(?:\{([A-Za-z_][A-Za-z0-9_]*)\}|([A-Z_][A-Z0-9_]*))|\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")
# the wires whose requests carry the key in a header (bot.evals.providers.Caller._auth_headers): where a named key can go
_HEADER_KEY_WIRES = {"openai", "anthropic", "gemini", "cohere", "replicate", "huggingface"}
_WRITE_IT = ("credentials come from the environment only, never from the repository: name the variable, "
             "apiKey: '{{{{ env.NAME }}}}' (the vendor's own key variable, or one the base branch grants in {grants}), "
             "or leave apiKey out and the operator's {own} is used")


def read_api_key(kind: str, wire: str, key_env: tuple[str, ...], auth: str, api: object, value: object) -> tuple[str | None, str | None]:
    """config.apiKey at load, for a provider of vendor `kind` (its wire format, key variables and how its key is sent):
    (the variable `{{ env.NAME }}` names, or None when it has no effect; the problem, or None). A key written out is
    refused (a secret in the repository, or a placeholder); so is text promptfoo would send as it is written, with what
    to write instead."""
    own = " or ".join(key_env) or "credentials"
    text = value.strip() if isinstance(value, str) else None
    match = ENV_REFERENCE.fullmatch(text) if text is not None else None
    if match is None:
        like = _LOOKS_LIKE_A_VARIABLE.fullmatch(text) if text is not None else None
        if like is not None:
            name = like.group(1) or like.group(2) or like.group(3)
            return None, (f"refused: {API_KEY}: {value!r} would be sent as the key itself: promptfoo fills in only "
                          f"{{{{ env.NAME }}}} in a provider's config; write apiKey: '{{{{ env.{name} }}}}', or leave apiKey out "
                          f"and the operator's {own} is used")
        return None, f"refused: {API_KEY}: " + _WRITE_IT.format(grants=CONFIG_KEY, own=own)
    name = match.group(1) or match.group(3)
    if wire not in _HEADER_KEY_WIRES or auth == "none" or not key_env:
        return None, (f"unsupported: {API_KEY} for {kind}: its credentials come from the operator's environment "
                      f"({own}); leave apiKey out")
    if api in NOT_HERE:
        return None, f"unsupported: {API_KEY} for a {api} connection: it authenticates with the vendor's own key variable only"
    return name, None


@dataclass(frozen=True)
class KeyRefused(Exception):
    """The named variable may not go to this URL (`missing`: it may, but it is not set)."""

    message: str
    missing: bool = False

    def __str__(self) -> str:
        return self.message


def named_key(who: str, name: str, base: str, url: str, env: Mapping[str, str], granted: Mapping[str, tuple[str, ...]],
              own_keys: Iterable[str], written: str = KEY) -> str:
    """The value of `name` for a request to `url` (under the provider's `base` URL, the prefix a grant would name), or KeyRefused: a vendor key variable goes to that vendor's API
    (`own_keys`: the key variables of the vendors whose API `url` is), any variable where it is granted."""
    if name not in set(own_keys) and not any(under(url, prefix) for prefix in granted.get(name, ())):
        prefix = base.rstrip("/") + "/"
        raise KeyRefused(
            f"{who}: refused: config.{written} names {name}, which is not sent to {url}: a vendor's key goes only to that "
            f"vendor's API, any other variable only where the base branch grants it; to allow it, add "
            f"`{name}: {prefix}` to {CONFIG_KEY} in the base branch's .github/prompt-review.yml (or {name}={prefix} to "
            f"the operator's {GRANTS_ENV})")
    if not env.get(name):
        raise KeyRefused(f"{who}: {name} is not set (config.{written})", missing=True)
    return env[name]
