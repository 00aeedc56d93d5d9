"""Builds OTLP protobuf requests by hand, for tests that need exact ids, times and AnyValues."""

from __future__ import annotations

import os
import time
from typing import Any

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.trace.v1 import trace_pb2


def any_value(value: Any) -> AnyValue:
    if isinstance(value, bool):
        return AnyValue(bool_value=value)
    if isinstance(value, int):
        return AnyValue(int_value=value)
    if isinstance(value, float):
        return AnyValue(double_value=value)
    if isinstance(value, str):
        return AnyValue(string_value=value)
    if isinstance(value, bytes):
        return AnyValue(bytes_value=value)
    if isinstance(value, list):
        out = AnyValue()
        out.array_value.values.extend(any_value(v) for v in value)
        return out
    if isinstance(value, dict):
        out = AnyValue()
        out.kvlist_value.values.extend(KeyValue(key=k, value=any_value(v)) for k, v in value.items())
        return out
    if value is None:
        return AnyValue()
    raise TypeError(value)


def span(
    trace_id: bytes,
    span_id: bytes,
    *,
    parent: bytes = b"",
    name: str = "span",
    start: int | None = None,
    duration_ns: int = 1_000_000,
    attributes: dict[str, Any] | None = None,
    status: int = 0,
    kind: int = 1,
) -> trace_pb2.Span:
    start = start if start is not None else time.time_ns()
    out = trace_pb2.Span(
        trace_id=trace_id,
        span_id=span_id,
        parent_span_id=parent,
        name=name,
        kind=kind,
        start_time_unix_nano=start,
        end_time_unix_nano=start + duration_ns,
    )
    out.status.code = status
    for key, value in (attributes or {}).items():
        out.attributes.append(KeyValue(key=key, value=any_value(value)))
    return out


def request(spans: list[trace_pb2.Span], resource: dict[str, Any] | None = None) -> ExportTraceServiceRequest:
    out = ExportTraceServiceRequest()
    resource_spans = out.resource_spans.add()
    for key, value in (resource or {"service.name": "tests"}).items():
        resource_spans.resource.attributes.append(KeyValue(key=key, value=any_value(value)))
    scope_spans = resource_spans.scope_spans.add()
    scope_spans.scope.name = "tests"
    scope_spans.spans.extend(spans)
    return out


def new_trace_id() -> bytes:
    return os.urandom(16)


def new_span_id() -> bytes:
    return os.urandom(8)
