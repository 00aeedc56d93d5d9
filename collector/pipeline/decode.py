"""Spool records -> a ``Batch`` of column lists: the collector's hot loop.

Measured on the 2-core target: protobuf parsing runs at ~570,000 spans/s, so the cost is here, in
turning each attribute into a Python value. A non-empty string is read without ``WhichOneof``;
other values dispatch on it through a dict (``_value``). Nearly all that is left is upb's cost per
field read (a wrapper object per ``KeyValue`` and ``AnyValue``, a name lookup per field): ~10 µs
per span of the bench traffic (5 attributes per span), ~11.5 µs before the loop was tightened; keep
per-attribute work out of this loop and do anything convention-specific in processors.

Experiment routing (ARCHITECTURE 3.2) happens here because it needs the resource: request header
(carried in the record meta) -> resource ``annotrace.experiment`` -> ``service.name`` -> Default.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterable
from typing import Any

import orjson
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from annotrace.collector.pipeline.spool import Record
from annotrace.collector.telemetry import Attributes, Batch, LogBatch, SpanBatch

_KINDS = ("UNSPECIFIED", "INTERNAL", "SERVER", "CLIENT", "PRODUCER", "CONSUMER")
_STATUS = ("UNSET", "OK", "ERROR")
_KIND_NAMES = dict(enumerate(_KINDS))  # enum value -> name; unknown values map to the default
_STATUS_NAMES = dict(enumerate(_STATUS))
DEFAULT_EXPERIMENT = "name:Default"


def _array(v: Any) -> list[Any]:
    return [_value(x) for x in v.array_value.values[:]]


def _kvlist(v: Any) -> dict[str, Any]:
    return {kv.key: _value(kv.value) for kv in v.kvlist_value.values[:]}


_GETTERS: dict[str | None, Any] = {
    "string_value": lambda v: v.string_value,
    "int_value": lambda v: v.int_value,
    "double_value": lambda v: v.double_value,
    "bool_value": lambda v: v.bool_value,
    "array_value": _array,
    "kvlist_value": _kvlist,
    "bytes_value": lambda v: base64.b64encode(v.bytes_value).decode(),
    "string_value_strindex": lambda v: None,
    None: lambda v: None,
}


def _value(v: Any) -> Any:
    return _GETTERS[v.WhichOneof("value")](v)


def attributes(kvs: Any) -> Attributes:
    # one ``kv.value`` per attribute (each access builds a wrapper); a non-empty ``string_value``
    # (the common case) is taken without ``WhichOneof``, which any other type (and "") still goes
    # through: measured ~25% faster than dispatching every value (~55% than a comprehension over
    # _value). ``_add_spans`` repeats this loop inline for span attributes, to save a call per span.
    getters = _GETTERS
    out: Attributes = {}
    for kv in kvs[:]:  # see ``_add_spans`` for the slice
        value = kv.value
        text = value.string_value
        out[kv.key] = text if text else getters[value.WhichOneof("value")](value)
    return out


def route(meta: dict[str, Any], resource: Attributes) -> str:
    """The experiment key for one resource: ``id:<id>`` or ``name:<name>``."""
    if meta.get("experiment_id"):
        return f"id:{meta['experiment_id']}"
    if meta.get("experiment"):
        return f"name:{meta['experiment']}"
    for key in ("annotrace.experiment", "service.name"):
        value = resource.get(key)
        if isinstance(value, str) and value and not (key == "service.name" and value.startswith("unknown_service")):
            return f"name:{value}"
    return DEFAULT_EXPERIMENT


def decode(records: Iterable[Record]) -> Batch:
    batch = Batch()
    for record in records:
        meta = orjson.loads(record.meta) if record.meta else {}
        if record.signal == "traces":
            request = ExportTraceServiceRequest()
            request.ParseFromString(record.payload)
            _add_spans(batch.spans, request, meta)
        elif record.signal == "logs":
            logs = ExportLogsServiceRequest()
            logs.ParseFromString(record.payload)
            _add_logs(batch.logs, logs, meta)
    return batch


def _add_spans(out: SpanBatch, request: ExportTraceServiceRequest, meta: dict[str, Any]) -> None:
    # The columns' ``append`` methods are bound once per request and each protobuf field is read
    # once per span: attribute lookups are most of this loop's cost besides the attribute values
    # (measured ~25% less per span than ``out.<column>.append(...)`` for every field). Repeated
    # fields are iterated as slices (lists): upb's containers have no ``__iter__``, so a plain
    # ``for`` ends on a formatted IndexError, ~4% of this function's instructions.
    trace_ids, span_ids, parents = out.trace_id.append, out.span_id.append, out.parent_span_id.append
    experiments, names, kinds = out.experiment.append, out.name.append, out.kind.append
    starts, ends = out.start_ns.append, out.end_ns.append
    status_codes, status_messages = out.status_code.append, out.status_message.append
    span_attributes, resources = out.attributes.append, out.resource.append
    scope_names, scope_versions, trace_states = out.scope_name.append, out.scope_version.append, out.trace_state.append
    flags, dropped_attributes = out.flags.append, out.dropped_attributes.append
    dropped_events, dropped_links = out.dropped_events.append, out.dropped_links.append
    getters = _GETTERS
    kind_names, status_names = _KIND_NAMES, _STATUS_NAMES
    index = len(out.span_id)
    for resource_spans in request.resource_spans[:]:
        resource = attributes(resource_spans.resource.attributes)
        experiment = route(meta, resource)
        for scope_spans in resource_spans.scope_spans[:]:
            scope = scope_spans.scope
            scope_name = scope.name or None
            scope_version = scope.version or None
            for span in scope_spans.spans[:]:
                trace_ids("tr-" + span.trace_id.hex())
                span_ids(span.span_id.hex())
                parents(span.parent_span_id.hex() or None)
                experiments(experiment)
                names(span.name)
                kinds(kind_names.get(span.kind, "UNSPECIFIED"))
                starts(span.start_time_unix_nano)
                ends(span.end_time_unix_nano)
                status = span.status
                status_codes(status_names.get(status.code, "UNSET"))
                status_messages(status.message or None)
                attrs: Attributes = {}
                for kv in span.attributes[:]:  # ``attributes``, inlined
                    value = kv.value
                    text = value.string_value
                    attrs[kv.key] = text if text else getters[value.WhichOneof("value")](value)
                span_attributes(attrs)
                resources(resource)
                scope_names(scope_name)
                scope_versions(scope_version)
                trace_states(span.trace_state or None)
                flags(span.flags)
                dropped_attributes(span.dropped_attributes_count)
                dropped_events(span.dropped_events_count)
                dropped_links(span.dropped_links_count)
                events = span.events
                if events:
                    for position, event in enumerate(events[:]):
                        out.events.append(
                            (index, position, event.time_unix_nano, event.name, attributes(event.attributes))
                        )
                links = span.links
                if links:
                    for position, link in enumerate(links[:]):
                        out.links.append(
                            (
                                index,
                                position,
                                "tr-" + link.trace_id.hex(),
                                link.span_id.hex(),
                                link.trace_state or None,
                                attributes(link.attributes),
                            )
                        )
                index += 1


def _add_logs(out: LogBatch, request: ExportLogsServiceRequest, meta: dict[str, Any]) -> None:
    for resource_logs in request.resource_logs[:]:
        resource = attributes(resource_logs.resource.attributes)
        experiment = route(meta, resource)
        resource_key = resource_logs.resource.SerializeToString()
        for scope_logs in resource_logs.scope_logs[:]:
            scope_name = scope_logs.scope.name or None
            for record in scope_logs.log_records[:]:
                # A content hash makes a retried export (or a spool replay) idempotent.
                digest = hashlib.blake2b(resource_key + record.SerializeToString(), digest_size=16).hexdigest()
                out.record_id.append(digest)
                out.experiment.append(experiment)
                out.time_ns.append(record.time_unix_nano or None)
                out.observed_ns.append(record.observed_time_unix_nano or None)
                out.trace_id.append("tr-" + record.trace_id.hex() if record.trace_id else None)
                out.span_id.append(record.span_id.hex() if record.span_id else None)
                out.severity_number.append(record.severity_number)
                out.severity_text.append(record.severity_text or None)
                attrs = attributes(record.attributes)
                name = record.event_name or attrs.get("event.name")
                out.event_name.append(name if isinstance(name, str) and name else None)
                out.body.append(_value(record.body) if record.HasField("body") else None)
                out.attributes.append(attrs)
                out.resource.append(resource)
                out.scope_name.append(scope_name)
