"""Telemetry intake: OTLP/HTTP traces (JSON or protobuf) at POST /v1/traces and scores at POST /v1/scores,
folded into rollups per (repo, prompt, version, model, label, arm) at three resolutions: minute, hour and
day (`telemetry_rollups`, `_hour`, `_day`; bot.ui.rollup_levels picks one for a chart). Raw spans are never stored.

A request is parsed and aggregated whole before anything is written, then written in one transaction:
a bad payload (400, naming the field) or an oversize one (413) stores nothing.
"""

from __future__ import annotations

import gc
import math
import random
import threading
import time
import zlib
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from enum import Enum
from typing import Any, NamedTuple

import orjson
from psycopg import errors as pg_errors
from sqlalchemy import Table, bindparam, false, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm import Session

from bot.core.guard import ArmStats, Moments
from bot.release import store
from bot.release.models import RepoToken
from bot.release.tables import Rollup, RollupColumns, RollupDay, RollupHour

MAX_BODY_BYTES = 16 * 1024 * 1024  # after decompression; an OTLP exporter's default batch is far smaller
MAX_SCORES = 10_000  # items per POST /v1/scores
LATENCY_BOUNDS_MS = (10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000)  # upper bounds; one more bucket above
SCORE_BINS = 10  # a score in [0, 1] lands in one of 10 equal bins; other values are counted in moments only
MAX_FINGERPRINTS = 8

# attribute names (the SDK sets these; any OpenTelemetry instrumentation may)
A_PATH = "prompt_review.prompt.path"
A_VERSION = "prompt_review.prompt.version"
A_LABEL = "prompt_review.label"
A_ARM = "prompt_review.arm"
A_REPO = "prompt_review.repo"
A_COST = "prompt_review.cost_usd"
A_SCORE = "prompt_review.score."
A_REQ_MODEL = "gen_ai.request.model"
A_RESP_MODEL = "gen_ai.response.model"
A_FINGERPRINTS = ("gen_ai.openai.response.system_fingerprint", "openai.response.system_fingerprint",
                  "gen_ai.response.system_fingerprint")
A_IN_TOKENS = ("gen_ai.usage.input_tokens", "gen_ai.usage.prompt_tokens")
A_OUT_TOKENS = ("gen_ai.usage.output_tokens", "gen_ai.usage.completion_tokens")
A_ERROR = "error.type"
STATUS_ERROR = 2


class BadPayload(Exception):
    def __init__(self, status: int, field: str, message: str):
        self.status, self.field, self.message = status, field, message
        super().__init__(f"{field}: {message}" if field else message)


class SeriesKey(NamedTuple):  # a tuple: hashed in C, once per span
    repo: str
    path: str
    version: str
    model: str
    label: str
    arm: str
    minute: datetime


@dataclass
class Delta:
    """What one request adds to one series-minute."""

    calls: int = 0
    errors: int = 0
    latency_n: int = 0
    latency_sum: float = 0.0
    latency_sumsq: float = 0.0
    latency_hist: list[int] = field(default_factory=lambda: [0] * (len(LATENCY_BOUNDS_MS) + 1))
    tokens_in: int = 0
    tokens_out: int = 0
    cost_usd: float = 0.0
    scores: dict[str, list] = field(default_factory=dict)  # name → [n, sum, sumsq, hist]
    fingerprints: set[str] = field(default_factory=set)

    def merge(self, o: Delta) -> None:
        self.calls += o.calls
        self.errors += o.errors
        self.latency_n += o.latency_n
        self.latency_sum += o.latency_sum
        self.latency_sumsq += o.latency_sumsq
        self.latency_hist = [a + b for a, b in zip(self.latency_hist, o.latency_hist)]
        self.tokens_in += o.tokens_in
        self.tokens_out += o.tokens_out
        self.cost_usd += o.cost_usd
        for name, (n, sm, ss, hist) in o.scores.items():
            mine = self.scores.get(name)
            if mine is None:
                self.scores[name] = [n, sm, ss, list(hist)]
            else:
                mine[0] += n
                mine[1] += sm
                mine[2] += ss
                mine[3] = [a + b for a, b in zip(mine[3], hist)]
        self.fingerprints |= o.fingerprints

    def add_latency(self, ms: float) -> None:
        self.latency_n += 1
        self.latency_sum += ms
        self.latency_sumsq += ms * ms
        self.latency_hist[_bucket(ms)] += 1

    def add_score(self, name: str, value: float) -> None:
        s = self.scores.get(name)
        if s is None:
            s = self.scores[name] = [0, 0.0, 0.0, [0] * SCORE_BINS]
        s[0] += 1
        s[1] += value
        s[2] += value * value
        if 0.0 <= value <= 1.0:
            s[3][min(SCORE_BINS - 1, int(value * SCORE_BINS))] += 1


def _bucket(ms: float) -> int:
    for i, bound in enumerate(LATENCY_BOUNDS_MS):
        if ms <= bound:
            return i
    return len(LATENCY_BOUNDS_MS)


def _minute(ns: int) -> datetime:
    return datetime.fromtimestamp((ns // 60_000_000_000) * 60, tz=timezone.utc)


def decompress(body: bytes, encoding: str | None) -> bytes:
    """gzip/deflate bodies (OTLP exporters may compress), bounded so a small bomb cannot expand past the limit."""
    encoding = (encoding or "identity").lower()
    if encoding == "identity":
        data = body
    elif encoding in ("gzip", "deflate"):
        d = zlib.decompressobj(wbits=47 if encoding == "gzip" else 15)  # 47: gzip or zlib header
        try:
            data = d.decompress(body, MAX_BODY_BYTES + 1)
        except zlib.error as exc:
            raise BadPayload(400, "Content-Encoding", f"the body is not valid {encoding}: {exc}") from None
    else:
        raise BadPayload(415, "Content-Encoding", f"{encoding} is not supported (use gzip or none)")
    if len(data) > MAX_BODY_BYTES:
        raise BadPayload(413, "", f"the body is larger than {MAX_BODY_BYTES // (1024 * 1024)} MiB; send smaller batches")
    return data


# --- OTLP decoding: both encodings end as (attributes, start ns, end ns, is_error) per span ---------------

class SpanFacts(NamedTuple):
    attrs: Mapping[str, Any]  # the attributes the rollups read (score attributes are in `scores`)
    scores: list  # [(name, value)] from prompt_review.score.* attributes
    start_ns: int
    end_ns: int
    error: bool
    at: tuple[int, int, int]  # (resource, scope, span) index, for error messages

    @property
    def where(self) -> str:
        return f"resourceSpans[{self.at[0]}].scopeSpans[{self.at[1]}].spans[{self.at[2]}]"


_SCORE_CUT = len("prompt_review.score.")
# the attributes the rollups read: the others (an instrumentation's http.*, the resource's telemetry.sdk.*,
# …) are skipped without decoding their values
READ = frozenset({A_PATH, A_VERSION, A_LABEL, A_ARM, A_REPO, A_COST, A_REQ_MODEL, A_RESP_MODEL, A_ERROR,
                  *A_FINGERPRINTS, *A_IN_TOKENS, *A_OUT_TOKENS})


def _json_value(v: object, at: tuple[int, ...], i: int) -> object:
    """An OTLP JSON AnyValue; `at` and `i` locate it for an error's field (built only then)."""
    if v.__class__ is not dict:
        raise BadPayload(400, f"{_attributes_at(at)}[{i}].value", "an attribute value must be an AnyValue object")
    if "stringValue" in v:
        return v["stringValue"]
    if "intValue" in v:
        try:
            return int(v["intValue"])
        except (TypeError, ValueError):
            raise BadPayload(400, f"{_attributes_at(at)}[{i}].value.intValue", "not an integer") from None
    if "doubleValue" in v:
        try:
            return float(v["doubleValue"])
        except (TypeError, ValueError):
            raise BadPayload(400, f"{_attributes_at(at)}[{i}].value.doubleValue", "not a number") from None
    if "boolValue" in v:
        return bool(v["boolValue"])
    return None  # arrays, maps, bytes: not used by the rollups


def _attributes_at(at: tuple[int, ...]) -> str:
    """Where an `attributes` list is: (resource,) → the resource's, (resource, scope, span) → the span's."""
    if len(at) == 1:
        return f"resourceSpans[{at[0]}].resource.attributes"
    return f"resourceSpans[{at[0]}].scopeSpans[{at[1]}].spans[{at[2]}].attributes"


def _json_attrs(items: object, at: tuple[int, ...], scores: list | None = None) -> dict[str, object]:
    """The attributes the rollups read, from an OTLP JSON `attributes` list (`at` locates it, for errors
    only: the loop over every span of every request builds no strings it does not need)."""
    if items is None:
        return {}
    if items.__class__ is not list:
        raise BadPayload(400, _attributes_at(at), "must be a list of {key, value}")
    out = {}
    for i, kv in enumerate(items):
        key = kv.get("key") if kv.__class__ is dict else None
        if key.__class__ is not str:
            raise BadPayload(400, f"{_attributes_at(at)}[{i}].key", "missing or not a string")
        if key in READ:
            v = kv.get("value")
            out[key] = v["stringValue"] if v.__class__ is dict and "stringValue" in v else _json_value(v, at, i)
        elif scores is not None and key.startswith(A_SCORE):
            scores.append((key[_SCORE_CUT:], _json_value(kv.get("value"), at, i), ""))
    return out


def _nanos(value: Any, where: str) -> int:
    try:
        return int(value)  # OTLP JSON sends 64-bit integers as strings
    except (TypeError, ValueError):
        raise BadPayload(400, where, "not a number of nanoseconds") from None


def _list(value: object, where: str) -> list:
    if value is None:
        return []
    if not isinstance(value, list):
        raise BadPayload(400, where, "must be a list")
    return value


def spans_from_json(body: bytes) -> Iterator[SpanFacts]:
    try:
        data = orjson.loads(body or b"{}")  # orjson: a 512-span export decodes in a third of json's time
    except orjson.JSONDecodeError as exc:
        raise BadPayload(400, "", f"the body is not JSON: {exc}") from None
    if not isinstance(data, dict):
        raise BadPayload(400, "", "the body must be an ExportTraceServiceRequest object")
    error_codes = (STATUS_ERROR, "STATUS_CODE_ERROR")
    for r, rs in enumerate(_list(data.get("resourceSpans"), "resourceSpans")):
        if not isinstance(rs, dict):
            raise BadPayload(400, f"resourceSpans[{r}]", "must be an object")
        resource = _json_attrs((rs.get("resource") or {}).get("attributes"), (r,))
        for s, ss in enumerate(_list(rs.get("scopeSpans"), f"resourceSpans[{r}].scopeSpans")):
            if not isinstance(ss, dict):
                raise BadPayload(400, f"resourceSpans[{r}].scopeSpans[{s}]", "must be an object")
            for k, span in enumerate(_list(ss.get("spans"), f"resourceSpans[{r}].scopeSpans[{s}].spans")):
                if span.__class__ is not dict:
                    raise BadPayload(400, f"resourceSpans[{r}].scopeSpans[{s}].spans[{k}]", "must be an object")
                scores: list = []
                own = _json_attrs(span.get("attributes"), (r, s, k), scores)
                status = span.get("status")
                error = status.__class__ is dict and status.get("code", 0) in error_codes
                start, end = span.get("startTimeUnixNano", 0), span.get("endTimeUnixNano", 0)
                try:
                    start, end = int(start), int(end)  # OTLP JSON sends 64-bit integers as strings
                except (TypeError, ValueError):
                    where = f"resourceSpans[{r}].scopeSpans[{s}].spans[{k}]"
                    _nanos(start, where + ".startTimeUnixNano")
                    _nanos(end, where + ".endTimeUnixNano")
                yield SpanFacts({**resource, **own} if resource else own, scores, start, end, error, (r, s, k))


def spans_from_protobuf(body: bytes) -> Iterator[SpanFacts]:
    # opentelemetry-proto: the generated OTLP classes, so the wire format is OpenTelemetry's own definition
    from google.protobuf.message import DecodeError
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

    request = ExportTraceServiceRequest()
    try:
        request.ParseFromString(body)
    except DecodeError as exc:
        raise BadPayload(400, "", f"the body is not an OTLP ExportTraceServiceRequest: {exc}") from None

    kinds = ("string_value", "int_value", "double_value", "bool_value")

    def attrs(items, scores: list | None) -> dict[str, object]:
        out = {}
        for kv in items:
            key = kv.key
            if key in READ:
                v = kv.value
                text = v.string_value  # most attributes read are strings: one call instead of two
                if text:
                    out[key] = text
                else:
                    kind = v.WhichOneof("value")
                    out[key] = getattr(v, kind) if kind in kinds else None
            elif scores is not None and key.startswith(A_SCORE):
                v = kv.value
                kind = v.WhichOneof("value")
                scores.append((key[_SCORE_CUT:], getattr(v, kind) if kind in kinds else None, ""))
        return out

    for r, rs in enumerate(request.resource_spans):
        resource = attrs(rs.resource.attributes, None)
        for s, ss in enumerate(rs.scope_spans):
            for k, span in enumerate(ss.spans):
                scores: list = []
                own = attrs(span.attributes, scores)
                yield SpanFacts({**resource, **own} if resource else own, scores, span.start_time_unix_nano,
                                span.end_time_unix_nano, span.status.code == STATUS_ERROR, (r, s, k))


# --- aggregation ---------------------------------------------------------------------------------------

@dataclass
class Batch:
    """One request's contribution, keyed by series-minute; written all at once."""

    deltas: dict[SeriesKey, Delta] = field(default_factory=dict)
    accepted: int = 0
    ignored: int = 0  # spans without prompt attribution (the app's other tracing)

    def merge(self, other: Batch) -> None:
        for key, d in other.deltas.items():
            mine = self.deltas.get(key)
            if mine is None:
                self.deltas[key] = mine = Delta()
            mine.merge(d)
        self.accepted += other.accepted
        self.ignored += other.ignored

    def delta(self, key: SeriesKey) -> Delta:  # (aggregate_spans inlines this)
        d = self.deltas.get(key)
        if d is None:
            d = self.deltas[key] = Delta()
        return d


def _number(attrs: Mapping[str, object], keys: Iterable[str], where: str) -> float:
    for key in keys:
        value = attrs.get(key)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
            raise BadPayload(400, f"{where}.attributes[{key}]", "must be a non-negative number")
        return float(value)
    return 0.0


_MINUTES: dict[int, datetime] = {}


def _minute_of(ns: int) -> datetime:
    m = ns // 60_000_000_000
    hit = _MINUTES.get(m)
    if hit is None:
        if len(_MINUTES) > 10_000:
            _MINUTES.clear()
        hit = _MINUTES[m] = datetime.fromtimestamp(m * 60, tz=timezone.utc)
    return hit


_LIMITS = ((A_PATH, 1000), (A_VERSION, 64), (A_LABEL, 63), (A_ARM, 20), (A_RESP_MODEL, 200))


def _refuse_attribution(span: SpanFacts, values: tuple) -> None:
    """The field of the first attribution attribute that is not a string within its limit."""
    for (name, limit), value in zip(_LIMITS, values):
        if value.__class__ is not str or len(value) > limit:
            raise BadPayload(400, f"{span.where}.attributes[{name}]", f"must be a string of at most {limit} characters")


def aggregate_spans(repo: str, spans: Iterable[SpanFacts], batch: Batch | None = None) -> Batch:
    """Fold spans into the batch's series-minutes (in memory: the database sees one row per series-minute)."""
    batch = batch or Batch()
    deltas = batch.deltas
    lowered = repo.lower()
    accepted = ignored = 0
    str_ = str
    for span in spans:
        a = span.attrs
        get = a.get
        path = get(A_PATH)
        if not path:
            ignored += 1
            continue
        other = get(A_REPO)
        if other and (other != repo and str(other).lower() != lowered):
            raise BadPayload(403, f"{span.where}.attributes[{A_REPO}]", f"this token belongs to {repo}, not {other}")
        version, label, arm = get(A_VERSION), get(A_LABEL) or "", get(A_ARM) or ""
        model = get(A_RESP_MODEL) or get(A_REQ_MODEL) or ""
        if not version:
            raise BadPayload(400, f"{span.where}.attributes[{A_VERSION}]", "missing: a span with a prompt path needs its version")
        if not (path.__class__ is str_ and version.__class__ is str_ and label.__class__ is str_ and arm.__class__ is str_
                and model.__class__ is str_ and len(path) <= 1000 and len(version) <= 64 and len(label) <= 63
                and len(arm) <= 20 and len(model) <= 200):
            _refuse_attribution(span, (path, version, label, arm, model))
        key = SeriesKey(repo, path, version[:12], model, label, arm, _minute_of(span.end_ns or span.start_ns))
        d = deltas.get(key)
        if d is None:
            d = deltas[key] = Delta()
        d.calls += 1
        if span.error or get(A_ERROR):
            d.errors += 1
        if span.end_ns > span.start_ns > 0:
            d.add_latency((span.end_ns - span.start_ns) / 1e6)
        tin = get(A_IN_TOKENS[0])
        if tin is not None or (tin := get(A_IN_TOKENS[1])) is not None:
            d.tokens_in += int(tin if tin.__class__ is int and tin >= 0 else _number(a, A_IN_TOKENS, span.where))
        tout = get(A_OUT_TOKENS[0])
        if tout is not None or (tout := get(A_OUT_TOKENS[1])) is not None:
            d.tokens_out += int(tout if tout.__class__ is int and tout >= 0 else _number(a, A_OUT_TOKENS, span.where))
        cost = get(A_COST)
        if cost is not None:
            d.cost_usd += cost if cost.__class__ is float and 0 <= cost < math.inf else _number(a, (A_COST,), span.where)
        for fk in A_FINGERPRINTS:
            fp = get(fk)
            if fp and fp.__class__ is str_:
                d.fingerprints.add(fp[:100])
        for name, value, _at in span.scores:
            if value.__class__ not in (int, float) or not math.isfinite(value):
                raise BadPayload(400, f"{span.where}.attributes[{A_SCORE}{name}]", "a score must be a finite number")
            d.add_score(name[:100], float(value))
        accepted += 1
    batch.accepted += accepted
    batch.ignored += ignored
    return batch


_DECODING = threading.Lock()


def aggregate_otlp(repo: str, body: bytes, protobuf: bool) -> Batch:
    """POST /v1/traces: decode and fold one export request. The cyclic garbage collector is paused while
    it runs: a 512-span JSON export allocates some 40,000 dicts and lists at once (and frees them by
    reference counting: they hold no cycles), and each full collection they trigger walks every
    long-lived object of the service — up to half of the decoding time, growing with the heap. One
    request decodes at a time (the GIL would interleave them anyway), so the collector is on again
    between any two and garbage made elsewhere meanwhile is collected as usual."""
    decode = spans_from_protobuf if protobuf else spans_from_json
    with _DECODING:
        enabled = gc.isenabled()
        gc.disable()
        try:
            return aggregate_spans(repo, decode(body))
        finally:
            if enabled:
                gc.enable()


def aggregate_scores(repo: str, data: object, now: datetime) -> Batch:
    """POST /v1/scores: {"scores": [{path, version, name, value, label?, arm?, model?, time?}]}."""
    if not isinstance(data, dict) or not isinstance(data.get("scores"), list):
        raise BadPayload(400, "scores", "the body must be {\"scores\": [...]}")
    items = data["scores"]
    if len(items) > MAX_SCORES:
        raise BadPayload(413, "scores", f"at most {MAX_SCORES} scores per request")
    batch = Batch()
    for i, item in enumerate(items):
        where = f"scores[{i}]"
        if not isinstance(item, dict):
            raise BadPayload(400, where, "must be an object")
        for required in ("path", "version", "name"):
            if not isinstance(item.get(required), str) or not item[required]:
                raise BadPayload(400, f"{where}.{required}", "missing or not a string")
        value = item.get("value")
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise BadPayload(400, f"{where}.value", "must be a finite number")
        for optional in ("label", "arm", "model"):
            if item.get(optional) is not None and not isinstance(item[optional], str):
                raise BadPayload(400, f"{where}.{optional}", "must be a string")
        when = item.get("time")
        if when is None:
            minute_ns = int(now.timestamp() * 1e9)
        elif isinstance(when, (int, float)) and not isinstance(when, bool) and math.isfinite(when):
            minute_ns = int(when * 1e9)
        else:
            raise BadPayload(400, f"{where}.time", "must be seconds since the epoch")
        key = SeriesKey(repo, item["path"][:1000], item["version"][:12], (item.get("model") or "")[:200],
                        (item.get("label") or "")[:63], (item.get("arm") or "")[:20], _minute(minute_ns))
        batch.delta(key).add_score(item["name"][:100], float(value))
        batch.accepted += 1
    return batch


# --- storage ------------------------------------------------------------------------------------------

class Resolution(Enum):
    """The time buckets rollups are kept at; the value is the bucket's length in seconds."""

    MINUTE = 60
    HOUR = 3600
    DAY = 86400


ROLLUP_TABLES: dict[Resolution, type[RollupColumns]] = {
    Resolution.MINUTE: Rollup, Resolution.HOUR: RollupHour, Resolution.DAY: RollupDay}


def bucket_start(t: datetime, resolution: Resolution) -> datetime:
    """The start (UTC) of the bucket holding `t`: what the rollup row's `minute` column says."""
    t = _aware(t).astimezone(timezone.utc).replace(second=0, microsecond=0)
    if resolution is Resolution.MINUTE:
        return t
    t = t.replace(minute=0)
    return t if resolution is Resolution.HOUR else t.replace(hour=0)


def coarsen(deltas: Mapping[SeriesKey, Delta], resolution: Resolution) -> dict[SeriesKey, Delta]:
    """The same deltas summed per hour or day bucket (new Delta objects: the minutes stay as they are)."""
    if resolution is Resolution.MINUTE:
        return dict(deltas)
    floors: dict[datetime, datetime] = {}
    out: dict[SeriesKey, Delta] = {}
    for key, d in deltas.items():
        floor = floors.get(key.minute)
        if floor is None:
            floor = floors[key.minute] = bucket_start(key.minute, resolution)
        coarse = key._replace(minute=floor)
        mine = out.get(coarse)
        if mine is None:
            out[coarse] = mine = Delta()
        mine.merge(d)
    return out


def _merge_scores(stored: dict, new: dict[str, list]) -> dict:
    out = {k: dict(v) for k, v in (stored or {}).items()}
    for name, (n, s, ss, hist) in new.items():
        cur = out.get(name) or {"n": 0, "sum": 0.0, "sumsq": 0.0, "hist": [0] * SCORE_BINS}
        out[name] = {"n": cur["n"] + n, "sum": cur["sum"] + s, "sumsq": cur["sumsq"] + ss,
                     "hist": [a + b for a, b in zip(cur["hist"], hist)]}
    return out


_SERIES_COLUMNS = ("repo", "path", "version", "model", "label", "arm", "minute")
_COUNTERS = ("calls", "errors", "latency_n", "latency_sum", "latency_sumsq", "tokens_in", "tokens_out", "cost_usd")


@dataclass(frozen=True)
class _Statements:
    """One rollup table's statements: SELECT … FOR UPDATE of the rows a batch touches (in the series order,
    which is the order every writer locks them in), INSERT of new ones (on PostgreSQL: skipping a row that
    another writer created meanwhile, and saying which it inserted), UPDATE of found ones by id: counters
    added in SQL (`calls = calls + :d_calls`), the JSON columns written merged."""

    found: Any
    insert: Any
    insert_new_only: Any
    update: Any


def _statements(table: Table) -> _Statements:
    c = table.c
    series = [c[name] for name in _SERIES_COLUMNS]
    found = select(c.id, *series, c.latency_hist, c.scores, c.fingerprints).order_by(*series)
    changed = table.update().where(c.id == bindparam("row_id")).values(
        **{name: c[name] + bindparam(f"d_{name}") for name in _COUNTERS},
        latency_hist=bindparam("n_latency_hist", type_=c.latency_hist.type),
        scores=bindparam("n_scores", type_=c.scores.type),
        fingerprints=bindparam("n_fingerprints", type_=c.fingerprints.type))
    new_only = pg_insert(table).on_conflict_do_nothing(constraint=f"uq_{table.name}_series_minute").returning(*series)
    return _Statements(found, table.insert(), new_only, changed)


_STATEMENTS = {resolution: _statements(table.__table__) for resolution, table in ROLLUP_TABLES.items()}  # type: ignore[attr-defined]


def _row_key(r: Any) -> tuple:
    return (r.repo, r.path, r.version, r.model, r.label, r.arm, _aware(r.minute))


def _store_level(session: Session, resolution: Resolution, deltas: Mapping[SeriesKey, Delta]) -> None:
    statements = _STATEMENTS[resolution]
    c = statements.found.selected_columns
    keys = sorted(deltas, key=lambda k: (k.path, k.version, k.model, k.label, k.arm, k.minute))

    def lock(wanted: list[SeriesKey]) -> dict[tuple, Any]:  # every row of `wanted` that exists, in one query
        return {_row_key(r): r for r in session.execute(statements.found.where(
            c.repo.in_({k.repo for k in wanted}), c.minute.in_({k.minute for k in wanted}),
            c.path.in_({k.path for k in wanted})).with_for_update())}

    rows = lock(keys)
    connection = session.connection()
    new = [k for k in keys if k not in rows]  # a SeriesKey equals the plain tuple of its fields
    inserted_now: set[tuple] = set()  # (rows locked after a skipped insert are added to, like found ones)
    if new:
        values = [_new_row(k, deltas[k]) for k in new]
        if connection.dialect.name == "postgresql":
            # another replica may have created some of them since the SELECT: those are skipped here (no
            # unique violation to undo the transaction), then locked and added to like the others
            inserted_now = {_row_key(r) for r in connection.execute(statements.insert_new_only, values)}
            if len(inserted_now) < len(new):
                rows.update(lock([k for k in new if k not in inserted_now]))
        else:  # SQLite: the write lock taken first keeps every other writer out until the commit
            connection.execute(statements.insert, values)
            inserted_now = set(new)
    updates = [_update_of(rows[key], deltas[key]) for key in keys if key in rows and key not in inserted_now]
    if updates:
        connection.execute(statements.update, updates)


def _new_row(key: SeriesKey, d: Delta) -> dict[str, Any]:
    return {"repo": key.repo, "path": key.path, "version": key.version, "model": key.model, "label": key.label,
            "arm": key.arm, "minute": key.minute, "calls": d.calls, "errors": d.errors, "latency_n": d.latency_n,
            "latency_sum": d.latency_sum, "latency_sumsq": d.latency_sumsq, "latency_hist": list(d.latency_hist),
            "tokens_in": d.tokens_in, "tokens_out": d.tokens_out, "cost_usd": d.cost_usd,
            "scores": _merge_scores({}, d.scores), "fingerprints": sorted(d.fingerprints)[:MAX_FINGERPRINTS]}


def _update_of(row: Any, d: Delta) -> dict[str, Any]:
    fingerprints = row.fingerprints or []
    return {"row_id": row.id, "d_calls": d.calls, "d_errors": d.errors, "d_latency_n": d.latency_n,
            "d_latency_sum": d.latency_sum, "d_latency_sumsq": d.latency_sumsq, "d_tokens_in": d.tokens_in,
            "d_tokens_out": d.tokens_out, "d_cost_usd": d.cost_usd,
            "n_latency_hist": [a + b for a, b in zip(row.latency_hist, d.latency_hist)] if d.latency_n else row.latency_hist,
            "n_scores": _merge_scores(row.scores, d.scores) if d.scores else row.scores,
            "n_fingerprints": sorted(set(fingerprints) | d.fingerprints)[:MAX_FINGERPRINTS]
            if d.fingerprints - set(fingerprints) else fingerprints}


def _retryable(exc: DBAPIError) -> bool:
    """A unique violation (two writers created the same row at once) or a deadlock / serialization
    failure PostgreSQL broke by aborting this transaction: running it again finds the rows."""
    return isinstance(exc, IntegrityError) or isinstance(exc.orig, (pg_errors.DeadlockDetected, pg_errors.SerializationFailure))


def store_batch(engine: Engine, batch: Batch, attempts: int = 5,
                resolutions: tuple[Resolution, ...] = tuple(Resolution)) -> None:
    """Add the batch to its rollup rows at every resolution — minute, hour, day — in one transaction
    (rows created on first sight): all three tables have it, or none does. (`resolutions`: the service
    writes all three; bench/ingest.py times the minute table alone.)"""
    if not batch.deltas:
        return
    levels = [(resolution, coarsen(batch.deltas, resolution)) for resolution in resolutions]
    for attempt in range(attempts):
        try:
            with Session(engine) as session, session.begin():
                lock_for_write(session)
                for resolution, deltas in levels:
                    _store_level(session, resolution, deltas)
            return
        except DBAPIError as exc:
            if attempt == attempts - 1 or not _retryable(exc):
                raise
            time.sleep(random.uniform(0, 0.01 * (attempt + 1)))  # two writers that collided: not in step again


_LOCK_STATEMENT = update(Rollup.__table__).where(false()).values(calls=Rollup.__table__.c.calls)  # type: ignore[arg-type]


def lock_for_write(session: Session) -> None:
    """A read-modify-write must hold the write lock from its first read. PostgreSQL: the SELECT … FOR
    UPDATE that follows. SQLite (pysqlite opens the transaction at the first write, and FOR UPDATE does
    not exist): a write that changes nothing, so the reads after it see what no other writer can change."""
    if session.get_bind().dialect.name == "sqlite":
        session.execute(_LOCK_STATEMENT)


def _aware(t: datetime) -> datetime:
    return t if t.tzinfo is not None else t.replace(tzinfo=timezone.utc)


class TokenCache:
    """The repo token behind a telemetry post, remembered for `ttl` seconds so an app exporting 40 batches a
    second costs one token lookup every few seconds, not one per batch (it was a tenth of the service's
    time at 20,000 spans/s). A revoked token is refused at most `ttl` seconds later; unknown and revoked
    tokens are never remembered; at most `size` tokens are."""

    def __init__(self, engine: Engine, ttl: float = 5.0, size: int = 1024, clock: Callable[[], float] = time.monotonic):
        self._engine, self._ttl, self._size, self._clock = engine, ttl, size, clock
        self._known: dict[str, tuple[float, RepoToken]] = {}

    def lookup(self, secret: str) -> RepoToken | None:
        key = store.token_hash(secret)
        now = self._clock()
        hit = self._known.get(key)
        if hit is not None and hit[0] > now:
            return hit[1]
        row = store.token_for(self._engine, secret)
        if row is None:
            self._known.pop(key, None)
            return None
        if len(self._known) >= self._size:
            self._known.clear()
        self._known[key] = (now + self._ttl, row)
        return row


class RollupWriter:
    """Group commit for rollups: batches from requests that arrive together are merged (same series-minute:
    one row update) and written by one thread in one transaction; each request is answered after the
    transaction holding it committed. If a merged transaction fails, each batch is retried on its own."""

    MAX_BATCHES = 64

    def __init__(self, engine: Engine):
        import queue as threadqueue

        self._engine = engine
        self._pending: threadqueue.SimpleQueue = threadqueue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    async def store(self, batch: Batch) -> None:
        import asyncio

        loop = asyncio.get_running_loop()
        done: asyncio.Future = loop.create_future()
        self._pending.put((batch, loop, done))
        if self._thread is None:
            with self._lock:
                if self._thread is None:
                    self._thread = threading.Thread(target=self._run, name="rollup-writer", daemon=True)
                    self._thread.start()
        await asyncio.shield(done)

    def _run(self) -> None:
        import queue as threadqueue

        while True:
            try:
                items = [self._pending.get(timeout=5.0)]
            except threadqueue.Empty:
                with self._lock:
                    if self._pending.empty():
                        self._thread = None
                        return
                continue
            while len(items) < self.MAX_BATCHES:
                try:
                    items.append(self._pending.get_nowait())
                except threadqueue.Empty:
                    break
            merged = Batch()
            for batch, _loop, _done in items:
                merged.merge(batch)
            try:
                store_batch(self._engine, merged)
                results: list = [None] * len(items)
            except Exception:
                results = []
                for batch, _loop, _done in items:
                    try:
                        store_batch(self._engine, batch)
                        results.append(None)
                    except Exception as exc:  # this request's batch could not be stored: its sender is told
                        results.append(exc)
            for (_batch, loop, done), error in zip(items, results):
                loop.call_soon_threadsafe(_settle, done, error)


def _settle(done, error) -> None:
    if done.done():
        return
    if error is None:
        done.set_result(None)
    else:
        done.set_exception(error)


def arm_stats(engine: Engine, repo: str, label: str, path: str, version: str, arm: str, since: datetime) -> ArmStats:
    """One arm's traffic (all models) from its rollups since `since` (rounded down to the minute)."""
    floor = since.replace(second=0, microsecond=0)
    with Session(engine) as session:
        rows = list(session.scalars(select(Rollup).where(
            Rollup.repo == repo, Rollup.label == label, Rollup.path == path, Rollup.version == version[:12],
            Rollup.arm == arm, Rollup.minute >= floor)))
    calls = sum(r.calls for r in rows)
    errors = sum(r.errors for r in rows)
    latency = Moments(sum(r.latency_n for r in rows), sum(r.latency_sum for r in rows), sum(r.latency_sumsq for r in rows))
    scores: dict[str, Moments] = {}
    for r in rows:
        for name, s in (r.scores or {}).items():
            scores[name] = scores.get(name, Moments()) + Moments(int(s["n"]), float(s["sum"]), float(s["sumsq"]))
    return ArmStats(calls, errors, latency, scores)


def rollups(engine: Engine, repo: str, path: str | None = None,
            resolution: Resolution = Resolution.MINUTE) -> list[RollupColumns]:
    table = ROLLUP_TABLES[resolution]
    with Session(engine) as session:
        q = select(table).where(table.repo == repo)
        if path:
            q = q.where(table.path == path)
        return list(session.scalars(q.order_by(table.minute, table.path, table.version, table.arm)))
