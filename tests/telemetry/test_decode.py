"""Decoding an OTLP export as the service does (aggregate_otlp): the same rollups from JSON and protobuf,
and the garbage collector it pauses is running again afterwards, whether the request was good or refused."""

from __future__ import annotations

import gc

import orjson
import pytest
from google.protobuf.json_format import MessageToDict
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans

from bot.release import telemetry
from tests.telemetry.conftest import REPO
from tests.telemetry.test_ingest import finished_spans


def test_json_and_protobuf_fold_into_the_same_rollups_and_the_collector_runs_again():
    export = encode_spans(finished_spans(7, errors=3))
    assert gc.isenabled()
    proto = telemetry.aggregate_otlp(REPO, export.SerializeToString(), protobuf=True)
    assert gc.isenabled()
    body = orjson.dumps(MessageToDict(export))
    as_json = telemetry.aggregate_otlp(REPO, body, protobuf=False)
    assert gc.isenabled()
    assert (proto.accepted, proto.ignored) == (as_json.accepted, as_json.ignored) == (7, 7)
    [(key, d)] = proto.deltas.items()
    [(json_key, j)] = as_json.deltas.items()
    assert key == json_key and (d.calls, d.errors, d.tokens_in, d.scores) == (j.calls, j.errors, j.tokens_in, j.scores)
    assert (d.calls, d.errors, d.tokens_in) == (7, 3, 7 * 120)


def test_a_refused_export_leaves_the_collector_running():
    body = orjson.dumps(MessageToDict(encode_spans(finished_spans(2))))
    broken = body.replace(b'"prompt_review.prompt.version"', b'"prompt_review.prompt.versio"')
    with pytest.raises(telemetry.BadPayload) as refused:
        telemetry.aggregate_otlp(REPO, broken, protobuf=False)
    assert "prompt_review.prompt.version" in refused.value.field
    assert gc.isenabled()
    with pytest.raises(telemetry.BadPayload):
        telemetry.aggregate_otlp(REPO, b"\xff not protobuf", protobuf=True)
    assert gc.isenabled()
