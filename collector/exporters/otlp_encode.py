"""A decoded ``Batch`` -> serialised OTLP requests again, for the ``otlp`` exporter (pure; runs in workers).

Separate from ``otlp.py`` for the reason opentelemetry-python keeps ``encode_spans`` apart from its
transports: the encoding is pure and runs in the decode workers, the sending holds sockets and
threads. The batch is a column store (``collector/telemetry.py``), so the request is rebuilt, not copied:

- spans and log records are grouped back under one ``ResourceSpans``/``ResourceLogs`` per resource
  (the decoder shares one dict per resource, so identity groups them) and one scope per
  (name, version);
- ids lose their ``tr-`` prefix and become bytes again; kind and status names become enum numbers;
- attribute values are rebuilt from Python values: str, bool, int (outside int64: a double), float,
  list, dict, None (an empty ``AnyValue``). A ``bytes_value`` was decoded to its base64 text, so it
  is forwarded as that *string*; the bytes themselves are not restored (nothing says the string
  was bytes once);
- what the decoder does not keep is not sent: schema URLs, scope attributes and dropped counts of
  resources, scopes, events and links, and the derived GenAI columns (the downstream derives them
  again from the same attributes);
- the experiment each span or record was filed under goes along: a batch becomes one request per
  experiment (``Part``), which the exporter sends with that experiment's name in the
  ``x-annotrace-experiment`` header, so an annotrace downstream files it under the same name. A
  header, not a resource attribute: the resource stays as the app sent it (log record ids hash
  it). An experiment known only by id (an upstream without a store) has no name to send; the
  downstream then routes by the resource.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, NamedTuple

from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.logs.v1.logs_pb2 import LogRecord, ResourceLogs, ScopeLogs, SeverityNumber
from opentelemetry.proto.trace.v1.trace_pb2 import ResourceSpans, ScopeSpans, Span, Status

from annotrace.collector.telemetry import Batch, LogBatch, SpanBatch

_KINDS = {"UNSPECIFIED": 0, "INTERNAL": 1, "SERVER": 2, "CLIENT": 3, "PRODUCER": 4, "CONSUMER": 5}
_STATUS = {"UNSET": 0, "OK": 1, "ERROR": 2}
_INT64 = (-(2**63), 2**63 - 1)
_EPOCH = dt.datetime(1970, 1, 1)
ASSESSMENT_SCOPE = "annotrace.assessments"
EXPERIMENT_KEY = "experiment"  # the experiment's name in a changed_since row; sent as a header, not an attribute
_NOT_ATTRIBUTES = frozenset({"time", "trace_id", "span_id", "event_name", EXPERIMENT_KEY})


class Part(NamedTuple):
    """One serialised request: the spans or records of one experiment."""

    experiment: str | None
    """The experiment's name (for the ``x-annotrace-experiment`` header); None: known by id only."""
    payload: bytes
    items: int


@dataclass(frozen=True, slots=True)
class Encoded:
    """What ``encode`` hands to ``consume``: one request per experiment and signal."""

    traces: list[Part]
    logs: list[Part]


def experiment_name(key: str) -> str | None:
    """The name in a routing key (``name:<name>``); None for ``id:<id>``."""
    kind, _, value = key.partition(":")
    return value if kind == "name" else None


def _by_experiment(keys: list[str]) -> dict[str, list[int]]:
    groups: dict[str, list[int]] = {}
    for index, key in enumerate(keys):
        groups.setdefault(key, []).append(index)
    return groups


def encode_batch(batch: Batch) -> Encoded:
    spans, logs = batch.spans, batch.logs
    return Encoded(
        [
            Part(experiment_name(key), _traces(spans, rows).SerializeToString(), len(rows))
            for key, rows in _by_experiment(spans.experiment).items()
        ],
        [
            Part(experiment_name(key), _logs(logs, rows).SerializeToString(), len(rows))
            for key, rows in _by_experiment(logs.experiment).items()
        ],
    )


def any_value(value: Any, out: AnyValue | None = None) -> AnyValue:
    """A Python value as an OTLP ``AnyValue`` (filled into ``out`` when given)."""
    out = AnyValue() if out is None else out
    if isinstance(value, str):
        out.string_value = value
    elif isinstance(value, bool):  # before int: bool is an int
        out.bool_value = value
    elif isinstance(value, int):
        if _INT64[0] <= value <= _INT64[1]:
            out.int_value = value
        else:
            out.double_value = float(value)
    elif isinstance(value, float):
        out.double_value = value
    elif isinstance(value, bytes):
        out.bytes_value = value
    elif isinstance(value, list | tuple):
        array = out.array_value
        array.SetInParent()
        for item in value:
            any_value(item, array.values.add())
    elif isinstance(value, Mapping):
        kvlist = out.kvlist_value
        kvlist.SetInParent()
        _fill(kvlist.values, value)
    elif value is not None:
        out.string_value = str(value)
    return out


def _fill(target: Any, attributes: Mapping[str, Any]) -> None:
    for key, value in attributes.items():
        kv: KeyValue = target.add()
        kv.key = str(key)
        any_value(value, kv.value)


def _id(text: str | None) -> bytes:
    if not text:
        return b""
    return bytes.fromhex(text[3:] if text.startswith("tr-") else text)


def _traces(spans: SpanBatch, rows: list[int]) -> ExportTraceServiceRequest:
    request = ExportTraceServiceRequest()
    resources: dict[int, ResourceSpans] = {}
    scopes: dict[tuple[int, str | None, str | None], ScopeSpans] = {}
    built: dict[int, Span] = {}
    for i in rows:
        resource = spans.resource[i]
        resource_spans = resources.get(id(resource))
        if resource_spans is None:
            resource_spans = resources[id(resource)] = request.resource_spans.add()
            _fill(resource_spans.resource.attributes, resource)
        scope_key = (id(resource), spans.scope_name[i], spans.scope_version[i])
        scope_spans = scopes.get(scope_key)
        if scope_spans is None:
            scope_spans = scopes[scope_key] = resource_spans.scope_spans.add()
            scope_spans.scope.name = spans.scope_name[i] or ""
            scope_spans.scope.version = spans.scope_version[i] or ""
        span = scope_spans.spans.add()
        span.trace_id = _id(spans.trace_id[i])
        span.span_id = _id(spans.span_id[i])
        span.parent_span_id = _id(spans.parent_span_id[i])
        span.trace_state = spans.trace_state[i] or ""
        span.flags = spans.flags[i]
        span.name = spans.name[i]
        span.kind = _KINDS.get(spans.kind[i], 0)  # type: ignore[assignment]
        span.start_time_unix_nano = spans.start_ns[i]
        span.end_time_unix_nano = spans.end_ns[i]
        _fill(span.attributes, spans.attributes[i])
        span.dropped_attributes_count = spans.dropped_attributes[i]
        span.dropped_events_count = spans.dropped_events[i]
        span.dropped_links_count = spans.dropped_links[i]
        span.status.code = _STATUS.get(spans.status_code[i], Status.STATUS_CODE_UNSET)  # type: ignore[assignment]
        span.status.message = spans.status_message[i] or ""
        built[i] = span
    for index, _, time_ns, name, attributes in sorted(spans.events, key=lambda e: (e[0], e[1])):
        if index not in built:
            continue
        event = built[index].events.add()
        event.time_unix_nano, event.name = time_ns, name
        _fill(event.attributes, attributes)
    for index, _, trace_id, span_id, trace_state, attributes in sorted(spans.links, key=lambda e: (e[0], e[1])):
        if index not in built:
            continue
        link = built[index].links.add()
        link.trace_id, link.span_id, link.trace_state = _id(trace_id), _id(span_id), trace_state or ""
        _fill(link.attributes, attributes)
    return request


def _logs(logs: LogBatch, rows: list[int]) -> ExportLogsServiceRequest:
    request = ExportLogsServiceRequest()
    resources: dict[int, ResourceLogs] = {}
    scopes: dict[tuple[int, str | None], ScopeLogs] = {}
    for i in rows:
        resource = logs.resource[i]
        resource_logs = resources.get(id(resource))
        if resource_logs is None:
            resource_logs = resources[id(resource)] = request.resource_logs.add()
            _fill(resource_logs.resource.attributes, resource)
        scope_key = (id(resource), logs.scope_name[i])
        scope_logs = scopes.get(scope_key)
        if scope_logs is None:
            scope_logs = scopes[scope_key] = resource_logs.scope_logs.add()
            scope_logs.scope.name = logs.scope_name[i] or ""
        record = scope_logs.log_records.add()
        record.time_unix_nano = logs.time_ns[i] or 0
        record.observed_time_unix_nano = logs.observed_ns[i] or 0
        record.trace_id = _id(logs.trace_id[i])
        record.span_id = _id(logs.span_id[i])
        record.severity_number = logs.severity_number[i]  # type: ignore[assignment]
        record.severity_text = logs.severity_text[i] or ""
        attributes = logs.attributes[i]
        name = logs.event_name[i]
        if name and attributes.get("event.name") != name:  # the deprecated attribute stays where it was
            record.event_name = name
        if logs.body[i] is not None:
            any_value(logs.body[i], record.body)
        _fill(record.attributes, attributes)
    return request


def assessment_parts(rows: list[dict[str, Any]]) -> list[Part]:
    """Rows of ``store.queries.assessment_events.changed_since`` -> one request per experiment
    (named by the rows' ``experiment`` key, the trace's experiment)."""
    groups: dict[str | None, list[dict[str, Any]]] = {}
    for row in rows:
        groups.setdefault(row.get(EXPERIMENT_KEY), []).append(row)
    return [Part(name, assessment_logs(group), len(group)) for name, group in groups.items()]


def assessment_logs(rows: list[dict[str, Any]]) -> bytes:
    """Rows of the ``assessment_events`` view -> one serialised ``ExportLogsServiceRequest``.

    Deterministic (no "now"): re-sending the same assessment state yields the same bytes, which an
    annotrace downstream stores once (its assessment ids hash the record).
    """
    request = ExportLogsServiceRequest()
    scope_logs = request.resource_logs.add().scope_logs.add()
    scope_logs.scope.name = ASSESSMENT_SCOPE
    for row in rows:
        record: LogRecord = scope_logs.log_records.add()
        time_ns = timestamp_ns(row["time"])
        record.time_unix_nano = record.observed_time_unix_nano = time_ns
        record.trace_id = _id(row["trace_id"])
        record.span_id = _id(row["span_id"])
        record.event_name = row["event_name"]
        record.severity_number = SeverityNumber.SEVERITY_NUMBER_INFO
        _fill(
            record.attributes,
            {key: value for key, value in row.items() if key not in _NOT_ATTRIBUTES and value is not None},
        )
    return request.SerializeToString()


def timestamp_ns(value: dt.datetime) -> int:
    """A naive UTC timestamp (what DuckDB returns for TIMESTAMP) in Unix nanoseconds, exactly."""
    if value.tzinfo is not None:
        value = value.astimezone(dt.UTC).replace(tzinfo=None)
    return (value - _EPOCH) // dt.timedelta(microseconds=1) * 1000
