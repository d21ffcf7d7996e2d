"""`config.apiKeyEnvar`: promptfoo's providers read their key from the environment variable a suite names
(`apiKeyEnvar: FLEXAI_API_KEY` beside an `apiBaseUrl`). Here the variable's value goes only where the rule for
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


@dataclass(frozen=True)
class KeyRefused(Exception):
    """The named variable may not go to this URL (`missing`: it may, but it is not set)."""

    message: str
    missing: bool = False

    def __str__(self) -> str:
        return self.message


def named_key(who: str, name: str, base: str, url: str, env: Mapping[str, str], granted: Mapping[str, tuple[str, ...]],
              own_keys: Iterable[str]) -> str:
    """The value of `name` for a request to `url` (under the provider's `base` URL, the prefix a grant would name), or KeyRefused: a vendor key variable goes to that vendor's API
    (`own_keys`: the key variables of the vendors whose API `url` is), any variable where it is granted."""
    if name not in set(own_keys) and not any(under(url, prefix) for prefix in granted.get(name, ())):
        prefix = base.rstrip("/") + "/"
        raise KeyRefused(
            f"{who}: refused: config.{KEY} names {name}, which is not sent to {url}: a vendor's key goes only to that "
            f"vendor's API, any other variable only where the base branch grants it; to allow it, add "
            f"`{name}: {prefix}` to {CONFIG_KEY} in the base branch's .github/prompt-review.yml (or {name}={prefix} to "
            f"the operator's {GRANTS_ENV})")
    if not env.get(name):
        raise KeyRefused(f"{who}: {name} is not set (config.{KEY})", missing=True)
    return env[name]
