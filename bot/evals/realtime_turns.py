"""A Realtime conversation continued across tests, as promptfoo 0.121 keeps it, made deterministic for a review.

promptfoo's `openai:realtime` provider (config.maintainContext, on unless set false) sends every call whose test has
a `metadata.conversationId` (non-empty text or a number) as the next turn of ONE WebSocket session per provider —
whatever the id's value, across prompts — in the order the calls arrive; a call whose test has none is sent on its
own connection and turns the provider's maintainContext off for every later call. `azure:realtime` keeps one session
per (prompt, conversationId) instead and never turns it off. The model sees the earlier turns: the session holds
each earlier user message and the model's answer to it.

A review checks every case on its own (cached, concurrently), so here each case of such a conversation carries the
messages of the turns before it, in the suite's written order (test, then prompt); the Caller replays them on the
case's own connection — asking each again, its answer kept in the session — before asking the case's own
(bot.evals.providers_live_wire). The earlier turns are part of the case's fingerprint: editing one re-runs the
later ones. Bounded: at most MAX_TURNS turns in a conversation.
"""

from __future__ import annotations

import dataclasses
from typing import Any, TypeVar

from bot.core.errors import CheckError, SourceError

REALTIME = "realtime"  # providers_live.LiveApi.REALTIME's value
MAX_TURNS = 25  # turns one case's connection asks (its own included): each is a model call on the budget
Case = TypeVar("Case")


def conversation_id(metadata: dict[str, Any]) -> Any:
    """The test's conversationId when promptfoo counts it as one (non-empty text, or a number), else None."""
    value = metadata.get("conversationId")
    if isinstance(value, str) and value:
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return value
    return None


def kept_turns(cases: dict[str, Case]) -> dict[str, Case]:
    """The cases with each Realtime conversation's earlier turns attached to its later cases' provider."""
    chains: dict[Any, list[Any]] = {}
    stopped: set[str] = set()  # openai:realtime providers whose maintainContext a test without a conversationId turned off
    out: dict[str, Case] = {}
    for key, case in cases.items():
        c: Any = case
        provider = c.provider
        if (provider.option("api") != REALTIME or provider.option("maintainContext") is False or c.column is not None
                or c.error is not None or c.messages is None):
            out[key] = case
            continue
        conversation = conversation_id(c.test.metadata)
        azure = provider.kind == "azure"
        if conversation is None or (not azure and provider.slot in stopped):
            if not azure:
                stopped.add(provider.slot)
            out[key] = case
            continue
        chain = chains.setdefault((provider.slot, c.prompt.label, conversation) if azure else provider.slot, [])
        if len(chain) + 1 > MAX_TURNS:
            error = SourceError(c.test.file, f"a Realtime conversation kept across tests (metadata.conversationId) has more than "
                                             f"{MAX_TURNS} turns; prompt-review replays at most {MAX_TURNS} on one connection",
                                c.test.line)
            out[key] = dataclasses.replace(c, error=error, error_kind=CheckError.RENDER)
            continue
        out[key] = dataclasses.replace(c, provider=dataclasses.replace(provider, conversation=tuple(chain))) if chain else case
        chain.append(c.messages)
    return out
