"""OpenTelemetry: put a prompt's attribution on a span, so any exporter pointed at the service's
/v1/traces (or a collector forwarding there) feeds the same rollups as `PromptClient.record`.
Needs the `otel` extra (opentelemetry-api)."""

from __future__ import annotations

from typing import Any

from prompt_review_sdk.client import Prompt


def annotate(prompt: Prompt, span: Any = None, **extra: Any) -> None:
    """Set prompt_review.* and gen_ai.request.model on `span` (default: the current span), plus `extra`
    attributes, e.g. annotate(p, **{"gen_ai.response.model": reply.model, "prompt_review.score.thumbs": 1})."""
    from opentelemetry import trace

    target = span if span is not None else trace.get_current_span()
    for key, value in {**prompt.attributes(), **extra}.items():
        if value is not None:
            target.set_attribute(key, value)
