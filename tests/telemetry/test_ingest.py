"""POST /v1/traces (OTLP/HTTP, protobuf and JSON, as the OpenTelemetry SDK sends them) and POST /v1/scores,
folded into per-minute rollups per (repo, prompt, version, model, label, arm)."""

from __future__ import annotations

import gzip
import json

import httpx
from google.protobuf.json_format import MessageToDict
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import Status, StatusCode

from bot.release import telemetry
from tests.telemetry.conftest import REPO

PATH = "prompts/support/system.md"


def attribution(version="3f2a9c1d0b7e", arm="candidate", **extra):
    return {"prompt_review.repo": REPO, "prompt_review.prompt.path": PATH, "prompt_review.prompt.version": version,
            "prompt_review.label": "production", "prompt_review.arm": arm, "gen_ai.request.model": "gpt-4o-mini",
            "gen_ai.response.model": "gpt-4o-mini-2024-07-18", "gen_ai.usage.input_tokens": 120,
            "gen_ai.usage.output_tokens": 30, "prompt_review.cost_usd": 0.0004, **extra}


def finished_spans(n: int, errors: int = 0, **attrs):
    """Spans made by the real OpenTelemetry SDK (recorded in memory, then encoded by its OTLP encoder)."""
    memory = InMemorySpanExporter()
    provider = TracerProvider(resource=Resource.create({"service.name": "support-bot"}))
    provider.add_span_processor(SimpleSpanProcessor(memory))
    tracer = provider.get_tracer("app")
    for i in range(n):
        with tracer.start_as_current_span("chat gpt-4o-mini") as span:
            for key, value in attribution(**attrs).items():
                span.set_attribute(key, value)
            span.set_attribute("prompt_review.score.task_success", 1.0 if i % 2 else 0.0)
            if i < errors:
                span.set_status(Status(StatusCode.ERROR, "provider timeout"))
        with tracer.start_as_current_span("db query"):  # the app's other tracing: ignored
            pass
    provider.shutdown()
    return memory.get_finished_spans()


def test_the_opentelemetry_sdk_exports_protobuf_straight_into_rollups(intake):
    exporter = OTLPSpanExporter(endpoint=intake.url + "/v1/traces", headers={"Authorization": f"Bearer {intake.write}"})
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("app")
    for i in range(5):
        with tracer.start_as_current_span("chat") as span:
            for key, value in attribution().items():
                span.set_attribute(key, value)
            if i == 0:
                span.set_status(Status(StatusCode.ERROR))
    provider.shutdown()
    [row] = telemetry.rollups(intake.engine, REPO)
    assert (row.path, row.version, row.model, row.label, row.arm) == (PATH, "3f2a9c1d0b7e", "gpt-4o-mini-2024-07-18",
                                                                      "production", "candidate")
    assert (row.calls, row.errors, row.tokens_in, row.tokens_out) == (5, 1, 600, 150)
    assert row.latency_n == 5 and sum(row.latency_hist) == 5
    assert abs(row.cost_usd - 0.002) < 1e-9


def test_otlp_json_is_accepted_and_spans_without_a_prompt_are_ignored(intake):
    body = MessageToDict(encode_spans(finished_spans(6, errors=2)))
    response = httpx.post(intake.url + "/v1/traces", json=body, headers={"Authorization": f"Bearer {intake.write}"})
    assert response.status_code == 200, response.text
    assert (response.json()["accepted"], response.json()["ignored"]) == (6, 6)
    [row] = telemetry.rollups(intake.engine, REPO)
    assert (row.calls, row.errors) == (6, 2)
    assert row.scores["task_success"]["n"] == 6 and row.scores["task_success"]["sum"] == 3.0
    assert sum(row.scores["task_success"]["hist"]) == 6


def test_gzip_bodies_are_accepted(intake):
    body = encode_spans(finished_spans(3)).SerializeToString()
    response = httpx.post(intake.url + "/v1/traces", content=gzip.compress(body), headers={
        "Authorization": f"Bearer {intake.write}", "Content-Type": "application/x-protobuf", "Content-Encoding": "gzip"})
    assert response.status_code == 200, response.text
    assert telemetry.rollups(intake.engine, REPO)[0].calls == 3


def test_rollups_grow_with_series_and_minutes_not_with_traffic(intake):
    headers = {"Authorization": f"Bearer {intake.write}"}
    for _ in range(5):
        body = MessageToDict(encode_spans(finished_spans(20)))
        assert httpx.post(intake.url + "/v1/traces", json=body, headers=headers).status_code == 200
    rows = telemetry.rollups(intake.engine, REPO)
    assert sum(r.calls for r in rows) == 100
    assert len(rows) <= 2  # one series; two rows only if the test straddled a minute


def test_scores_arrive_later_and_join_their_series(intake):
    item = {"path": PATH, "version": "3f2a9c1d0b7e", "label": "production", "arm": "control", "model": "gpt-4o-mini",
            "name": "thumbs", "value": 1}
    response = httpx.post(intake.url + "/v1/scores", json={"scores": [item, {**item, "value": 0}]},
                          headers={"Authorization": f"Bearer {intake.write}"})
    assert response.status_code == 200, response.text
    [row] = telemetry.rollups(intake.engine, REPO)
    assert row.calls == 0 and row.scores["thumbs"] == {"n": 2, "sum": 1.0, "sumsq": 1.0, "hist": [1] + [0] * 8 + [1]}


def test_a_bad_span_is_refused_with_its_field_and_nothing_of_the_request_is_stored(intake):
    body = MessageToDict(encode_spans(finished_spans(3)))
    spans = body["resourceSpans"][0]["scopeSpans"][0]["spans"]
    spans[-1]["startTimeUnixNano"] = "yesterday"
    response = httpx.post(intake.url + "/v1/traces", json=body, headers={"Authorization": f"Bearer {intake.write}"})
    assert response.status_code == 400
    assert response.json()["field"].endswith("startTimeUnixNano") and "resourceSpans[0]" in response.json()["field"]
    assert telemetry.rollups(intake.engine, REPO) == []


def test_a_span_naming_a_prompt_without_its_version_is_refused(intake):
    body = MessageToDict(encode_spans(finished_spans(2)))
    for span in body["resourceSpans"][0]["scopeSpans"][0]["spans"]:
        span["attributes"] = [a for a in span.get("attributes", []) if a["key"] != "prompt_review.prompt.version"]
    response = httpx.post(intake.url + "/v1/traces", json=body, headers={"Authorization": f"Bearer {intake.write}"})
    assert response.status_code == 400 and "prompt_review.prompt.version" in response.json()["field"]
    assert telemetry.rollups(intake.engine, REPO) == []


def test_a_bad_score_is_refused_with_its_field(intake):
    response = httpx.post(intake.url + "/v1/scores", json={"scores": [{"path": PATH, "version": "v", "name": "x", "value": "high"}]},
                          headers={"Authorization": f"Bearer {intake.write}"})
    assert response.status_code == 400 and response.json()["field"] == "scores[0].value"


def test_garbage_protobuf_is_a_400(intake):
    response = httpx.post(intake.url + "/v1/traces", content=b"\xff\xff\xff not protobuf", headers={
        "Authorization": f"Bearer {intake.write}", "Content-Type": "application/x-protobuf"})
    assert response.status_code == 400


def test_oversize_bodies_get_413_even_when_compressed_small(intake):
    bomb = gzip.compress(b"{" + b" " * (telemetry.MAX_BODY_BYTES + 10) + b"}")
    response = httpx.post(intake.url + "/v1/traces", content=bomb, headers={
        "Authorization": f"Bearer {intake.write}", "Content-Type": "application/json", "Content-Encoding": "gzip"})
    assert response.status_code == 413
    assert telemetry.rollups(intake.engine, REPO) == []


def test_telemetry_needs_a_write_token_of_the_same_repository(intake):
    body = MessageToDict(encode_spans(finished_spans(1)))
    post = lambda token: httpx.post(intake.url + "/v1/traces", json=body,  # noqa: E731
                                    headers={"Authorization": f"Bearer {token}"} if token else {})
    assert post(None).status_code == 401
    assert post("prt_unknown").status_code == 401
    assert post(intake.read).status_code == 403
    assert post(intake.other).status_code == 403  # the spans say acme/support-bot
    assert telemetry.rollups(intake.engine, REPO) == []
    assert json.loads(post(intake.write).content)["accepted"] == 1
