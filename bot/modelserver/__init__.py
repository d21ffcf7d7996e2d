"""Scripted model server: a TEST DOUBLE for OpenAI- and Anthropic-compatible model APIs.

Its answers are computed by fixed rules from the prompt it receives (`bot.modelserver.rules`),
so tests and the offline demo can exercise prompt-review end to end without credentials.
It never talks to a real model and must never be the default provider for real suites.
"""

from bot.modelserver.app import LATENCY_HEADER, create_app
from bot.modelserver.control import FaultSpec
from bot.modelserver.rules import answer

__all__ = ["LATENCY_HEADER", "FaultSpec", "answer", "create_app"]
