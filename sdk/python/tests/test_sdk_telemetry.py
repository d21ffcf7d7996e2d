"""record() and score() never block the app; batches go to /v1/traces (OTLP JSON) and /v1/scores."""

from __future__ import annotations

from prompt_review_sdk import PromptClient
from manifest_server import PATH, REPO, manifest, split


def attrs(span) -> dict:
    return {a["key"]: next(iter(a["value"].values())) for a in span["attributes"]}


def test_calls_are_sent_in_batches_as_otlp_spans_with_attribution(server):
    server.manifests["production"] = manifest(rollout=split(50))
    client = PromptClient(server.url, "prt_r", repo=REPO, telemetry_token="prt_w", flush_interval=60)
    prompts = [client.get(PATH, unit=f"u{i}") for i in range(300)]
    for p in prompts:
        client.record(p, latency_ms=120, model="gpt-4o-mini-2024-07-18", input_tokens=10, output_tokens=5,
                      scores={"task_success": 1})
    client.score(prompts[0], "thumbs", 1.0)
    assert client.flush(timeout=30)
    spans = [s for body in server.traces for rs in body["resourceSpans"] for ss in rs["scopeSpans"] for s in ss["spans"]]
    assert len(spans) == 300 and len(server.traces) == 1  # one batch
    first = attrs(spans[0])
    assert first["prompt_review.prompt.version"] == prompts[0].version
    assert first["prompt_review.arm"] == prompts[0].arm
    assert first["gen_ai.response.model"] == "gpt-4o-mini-2024-07-18" and first["gen_ai.usage.input_tokens"] == "10"
    assert int(spans[0]["endTimeUnixNano"]) - int(spans[0]["startTimeUnixNano"]) == 120_000_000
    [score] = server.scores[0]["scores"]
    assert (score["name"], score["version"], score["arm"]) == ("thumbs", prompts[0].version, prompts[0].arm)
    posts = [r for r in server.requests if r[0] == "POST"]
    assert all(r[2]["Authorization"] == "Bearer prt_w" for r in posts)
    client.close()


def test_while_the_service_is_down_records_queue_and_go_out_when_it_is_back(server):
    client = PromptClient(server.url, "prt_r", repo=REPO, telemetry_token="prt_w", flush_interval=0.05)
    prompt = client.get(PATH)
    server.status = 503
    for _ in range(50):
        client.record(prompt, latency_ms=5)
    assert not client.flush(timeout=0.5)
    assert server.traces == []
    server.status = 200
    assert client.flush(timeout=30)
    assert sum(len(ss["spans"]) for body in server.traces for rs in body["resourceSpans"] for ss in rs["scopeSpans"]) == 50
    client.close()


def test_the_queue_is_bounded_and_counts_what_it_dropped(server):
    client = PromptClient(server.url, "prt_r", repo=REPO, telemetry_token="prt_w", flush_interval=60, max_queue=100)
    prompt = client.get(PATH)
    server.stop()
    for _ in range(250):
        client.record(prompt)  # returns at once: nothing waits for the network
    assert client._reporter.dropped >= 150


def test_without_a_telemetry_token_record_is_a_no_op(server):
    client = PromptClient(server.url, "prt_r", repo=REPO)
    client.record(client.get(PATH), latency_ms=1)
    assert client.flush() and not any(r[0] == "POST" for r in server.requests)


def test_the_opentelemetry_helper_puts_the_attribution_on_the_current_span(server):
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    from prompt_review_sdk.otel import annotate

    memory = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(memory))
    prompt = PromptClient(server.url, "prt_r", repo=REPO).get(PATH)
    with provider.get_tracer("t").start_as_current_span("chat") as span:
        annotate(prompt, span, **{"prompt_review.score.thumbs": 1.0})
    [done] = memory.get_finished_spans()
    assert done.attributes["prompt_review.prompt.version"] == "aaaaaaaaaaaa"
    assert done.attributes["prompt_review.prompt.path"] == PATH and done.attributes["prompt_review.score.thumbs"] == 1.0
