"""A decoded ``Batch`` -> serialised OTLP requests again, for the ``otlp`` exporter (pure; runs in workers).

Separate from ``otlp.py`` for the reason opentelemetry-python keeps ``encode_spans`` apart from its
transports: the encoding is pure and runs in the decode workers, the sending holds sockets and
threads. The batch is a column store (``pipeline/batch.py``), so the request is rebuilt, not copied:

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
  again from the same attributes). Nor is an experiment chosen by a request header upstream: the
  downstream routes by the resource (``annotrace.experiment``, ``service.name``), or by a header
  set in the exporter's ``headers``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.logs.v1.logs_pb2 import LogRecord, ResourceLogs, ScopeLogs, SeverityNumber
from opentelemetry.proto.trace.v1.trace_pb2 import ResourceSpans, ScopeSpans, Span, Status

from annotrace.collector.pipeline.batch import Batch, LogBatch, SpanBatch

_KINDS = {"UNSPECIFIED": 0, "INTERNAL": 1, "SERVER": 2, "CLIENT": 3, "PRODUCER": 4, "CONSUMER": 5}
_STATUS = {"UNSET": 0, "OK": 1, "ERROR": 2}
_INT64 = (-(2**63), 2**63 - 1)
_EPOCH = dt.datetime(1970, 1, 1)
ASSESSMENT_SCOPE = "annotrace.assessments"


@dataclass(frozen=True, slots=True)
class Encoded:
    """What ``encode`` hands to ``consume``: serialised requests (None when empty) and their sizes."""

    traces: bytes | None
    spans: int
    logs: bytes | None
    log_records: int


def encode_batch(batch: Batch) -> Encoded:
    spans, logs = batch.spans, batch.logs
    return Encoded(_traces(spans).SerializeToString() if len(spans) else None, len(spans),
                   _logs(logs).SerializeToString() if len(logs) else None, len(logs))


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


def _traces(spans: SpanBatch) -> ExportTraceServiceRequest:
    request = ExportTraceServiceRequest()
    resources: dict[int, ResourceSpans] = {}
    scopes: dict[tuple[int, str | None, str | None], ScopeSpans] = {}
    built: list[Span] = []
    for i in range(len(spans)):
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
        built.append(span)
    for index, _, time_ns, name, attributes in sorted(spans.events, key=lambda e: (e[0], e[1])):
        event = built[index].events.add()
        event.time_unix_nano, event.name = time_ns, name
        _fill(event.attributes, attributes)
    for index, _, trace_id, span_id, trace_state, attributes in sorted(spans.links, key=lambda e: (e[0], e[1])):
        link = built[index].links.add()
        link.trace_id, link.span_id, link.trace_state = _id(trace_id), _id(span_id), trace_state or ""
        _fill(link.attributes, attributes)
    return request


def _logs(logs: LogBatch) -> ExportLogsServiceRequest:
    request = ExportLogsServiceRequest()
    resources: dict[int, ResourceLogs] = {}
    scopes: dict[tuple[int, str | None], ScopeLogs] = {}
    for i in range(len(logs)):
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
        _fill(record.attributes, {key: value for key, value in row.items()
                                  if key not in ("time", "trace_id", "span_id", "event_name") and value is not None})
    return request.SerializeToString()


def timestamp_ns(value: dt.datetime) -> int:
    """A naive UTC timestamp (what DuckDB returns for TIMESTAMP) in Unix nanoseconds, exactly."""
    if value.tzinfo is not None:
        value = value.astimezone(dt.timezone.utc).replace(tzinfo=None)
    return (value - _EPOCH) // dt.timedelta(microseconds=1) * 1000
