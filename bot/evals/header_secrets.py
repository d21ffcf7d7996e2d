"""`{{env.NAME}}` in an `http` or websocket provider's headers (promptfoo renders headers with the environment: the
usual way a team's own service gets its token, `Authorization: Bearer {{env.SUPPORT_BOT_TOKEN}}`).

The value comes from the service's environment, never from the suite, and goes only where it is meant to:
- a model vendor's key variable (OPENAI_API_KEY, …) only to that vendor's API, where prompt-review sends it anyway
  (the operator's base URL for the vendor, else its public API);
- any other variable only to the URL prefixes the base branch grants it (`evals.http_credentials` in
  .github/prompt-review.yml: `{NAME: https://bot.example.com/}`) or the operator does
  (PROMPT_REVIEW_HTTP_CREDENTIALS="NAME=https://bot.example.com/,OTHER=…").
A pull request can write the template but not the grant (the config is read from the base branch), so it cannot
send a secret anywhere new. The template, not the value, is part of the provider's fingerprint; messages name the
variable, never its value. Filters and tags beside `{{env.NAME}}` in a header are unsupported; a header without it may
use them (rendered per case in the sandbox, bot.evals.http_templates, and sent as rendered, never filled here).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

from bot.evals.providers_shapes import ENV_TOKEN
from bot.evals.urls import under

GRANTS_ENV = "PROMPT_REVIEW_HTTP_CREDENTIALS"
CONFIG_KEY = "evals.http_credentials"


class HeaderRefused(Exception):
    """A header asks for a variable it may not have here (the message names the rule), or one that is not set."""

    def __init__(self, message: str, missing: bool = False):
        super().__init__(message)
        self.missing = missing


def grants(config: Mapping[str, str], env: Mapping[str, str]) -> dict[str, tuple[str, ...]]:
    """Variable → the URL prefixes it may be sent to: the base branch's, then the operator's."""
    out: dict[str, list[str]] = {name: [prefix] for name, prefix in config.items()}
    for item in (env.get(GRANTS_ENV) or "").split(","):
        name, sep, prefix = item.strip().partition("=")
        if sep and name.strip() and prefix.strip():
            out.setdefault(name.strip(), []).append(prefix.strip())
    return {k: tuple(v) for k, v in out.items()}


# `{{env.NAME}}` or a var's `{{name}}` (an http provider's header: the case's vars, bot.evals.http_config.with_header_vars)
_ANY = re.compile(ENV_TOKEN.pattern + r"|{{\s*([A-Za-z_]\w*)\s*}}")


def fill(where: str, headers: Mapping[str, str], url: str, env: Mapping[str, str], granted: Mapping[str, tuple[str, ...]],
         vendor_keys: Iterable[str], vars_: Mapping[str, str] | None = None) -> dict[str, str]:
    """The headers with every `{{env.NAME}}` filled for a request to `url`; HeaderRefused when a name may not go
    there or is not set. `vendor_keys`: the key variables of the vendors whose API `url` is. With `vars_`, a var's
    `{{name}}` is filled in the same pass (a missing one empty, as nunjucks), so a var's value is never read as a
    template itself."""
    own = set(vendor_keys)
    out = {}
    for key, value in headers.items():
        def sub(m: re.Match[str]) -> str:
            if m.group(1) is None:
                return (vars_ or {}).get(m.group(2), "") if vars_ is not None else m.group(0)
            name = m.group(1)
            if name not in own and not any(under(url, prefix) for prefix in granted.get(name, ())):
                raise HeaderRefused(
                    f"{where}: refused: header {key!r} asks for {{{{env.{name}}}}}, which is not sent to {url}: a vendor's "
                    f"key goes only to that vendor's API, any other variable only where the base branch's {CONFIG_KEY} "
                    f"(or the operator's {GRANTS_ENV}) sends it")
            if not env.get(name):
                raise HeaderRefused(f"{where}: header {key!r} needs {name}, which is not set in the service's environment",
                                    missing=True)
            return env[name]

        out[str(key)] = _ANY.sub(sub, str(value))
    return out
