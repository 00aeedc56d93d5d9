"""The stock OpenTelemetry Python SDK exporters, pointed at a real collector, land rows in SQL."""

from __future__ import annotations

import uuid

import pytest
from opentelemetry._logs import SeverityNumber
from opentelemetry.exporter.otlp.proto.grpc._log_exporter import OTLPLogExporter as GRPCLogExporter
from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import OTLPMetricExporter as GRPCMetricExporter
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter as GRPCSpanExporter
from opentelemetry.exporter.otlp.proto.http import Compression
from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter as HTTPLogExporter
from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter as HTTPMetricExporter
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter as HTTPSpanExporter
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import SimpleLogRecordProcessor
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import MetricExportResult, PeriodicExportingMetricReader
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExporter
from opentelemetry.trace import Status, StatusCode

from tests.collector_process import Collector


def _exporters(collector: Collector) -> dict[str, SpanExporter]:
    return {
        "grpc": GRPCSpanExporter(endpoint=collector.grpc, insecure=True),
        "grpc-gzip": GRPCSpanExporter(
            endpoint=collector.grpc, insecure=True, compression=__import__("grpc").Compression.Gzip
        ),
        "http": HTTPSpanExporter(endpoint=f"{collector.http}/v1/traces"),
        "http-gzip": HTTPSpanExporter(endpoint=f"{collector.http}/v1/traces", compression=Compression.Gzip),
        "http-deflate": HTTPSpanExporter(endpoint=f"{collector.http}/v1/traces", compression=Compression.Deflate),
        "web-port": HTTPSpanExporter(endpoint=f"{collector.web}/v1/traces"),
    }


@pytest.mark.parametrize("transport", ["grpc", "grpc-gzip", "http", "http-gzip", "http-deflate", "web-port"])
def test_spans_from_sdk_exporter_are_stored(collector: Collector, transport: str) -> None:
    service = f"svc-{transport}-{uuid.uuid4().hex[:6]}"
    provider = TracerProvider(resource=Resource.create({"service.name": service}))
    provider.add_span_processor(SimpleSpanProcessor(_exporters(collector)[transport]))
    tracer = provider.get_tracer("tests.sdk", "1.2.3")
    with tracer.start_as_current_span("handle-request", attributes={"http.route": "/ask", "n": 3}) as root:
        with tracer.start_as_current_span("retrieve") as child:
            child.add_event("cache-miss", {"key": "k1", "size": 2})
            child.set_status(Status(StatusCode.ERROR, "boom"))
        root_ctx = root.get_span_context()
        child_ctx = child.get_span_context()
    provider.shutdown()

    trace_id = f"tr-{root_ctx.trace_id:032x}"
    expected = [
        {
            "name": "handle-request",
            "parent_span_id": None,
            "kind": "INTERNAL",
            "status_code": "UNSET",
            "status_message": None,
            "scope_name": "tests.sdk",
            "scope_version": "1.2.3",
            "route": "/ask",
            "service": service,
        },
        {
            "name": "retrieve",
            "parent_span_id": f"{root_ctx.span_id:016x}",
            "kind": "INTERNAL",
            "status_code": "ERROR",
            "status_message": "boom",
            "scope_name": "tests.sdk",
            "scope_version": "1.2.3",
            "route": None,
            "service": service,
        },
    ]
    rows = collector.sql(
        f"SELECT name, parent_span_id, kind, status_code, status_message, scope_name, scope_version, "
        f"attributes->>'$.\"http.route\"' AS route, resource_attributes->>'$.\"service.name\"' AS service "
        f"FROM spans WHERE trace_id = '{trace_id}' ORDER BY start_time"
    )
    assert rows == expected, rows  # read once: the exporter's call returned, so it is stored
    events = collector.sql(f"SELECT span_id, name, attributes FROM span_events WHERE trace_id = '{trace_id}'")
    assert events == [
        {"span_id": f"{child_ctx.span_id:016x}", "name": "cache-miss", "attributes": '{"key":"k1","size":2}'}
    ]
    traces = collector.sql(
        "SELECT t.name, t.state, t.span_count, t.error_span_count, e.name AS experiment "
        f"FROM traces t JOIN experiments e USING (experiment_id) WHERE trace_id = '{trace_id}'"
    )
    assert traces == [
        {"name": "handle-request", "state": "OK", "span_count": 2, "error_span_count": 1, "experiment": service}
    ]


@pytest.mark.parametrize("transport", ["grpc", "http"])
def test_log_records_from_sdk_exporter_are_stored(collector: Collector, transport: str) -> None:
    exporter = (
        GRPCLogExporter(endpoint=collector.grpc, insecure=True)
        if transport == "grpc"
        else HTTPLogExporter(endpoint=f"{collector.http}/v1/logs")
    )
    marker = uuid.uuid4().hex
    provider = LoggerProvider(resource=Resource.create({"service.name": "logs-test"}))
    provider.add_log_record_processor(SimpleLogRecordProcessor(exporter))
    logger = provider.get_logger("tests.logs")
    logger.emit(
        body={"marker": marker, "items": [1, 2]},
        severity_number=SeverityNumber.WARN,
        severity_text="WARN",
        attributes={"a": 1},
        event_name="my.event",
    )
    provider.shutdown()
    rows = collector.sql(
        f"SELECT severity_number, severity_text, event_name, body->>'$.items' AS items, attributes "
        f"FROM log_records WHERE body->>'$.marker' = '{marker}'"
    )
    assert rows == [
        {
            "severity_number": 13,
            "severity_text": "WARN",
            "event_name": "my.event",
            "items": "[1,2]",
            "attributes": '{"a":1}',
        }
    ]  # read once: the exporter's call returned, so it is stored


@pytest.mark.parametrize("transport", ["grpc", "http"])
def test_metrics_are_accepted_and_dropped(collector: Collector, transport: str) -> None:
    exporter = (
        GRPCMetricExporter(endpoint=collector.grpc, insecure=True)
        if transport == "grpc"
        else HTTPMetricExporter(endpoint=f"{collector.http}/v1/metrics")
    )
    reader = PeriodicExportingMetricReader(exporter, export_interval_millis=60_000)
    provider = MeterProvider(metric_readers=[reader])
    provider.get_meter("tests").create_counter("requests").add(3)
    results = []
    original = exporter.export

    def recording_export(*args: object, **kwargs: object) -> MetricExportResult:
        result = original(*args, **kwargs)  # type: ignore[arg-type]
        results.append(result)
        return result

    exporter.export = recording_export  # type: ignore[method-assign]
    provider.force_flush()
    provider.shutdown()
    assert results and all(r == MetricExportResult.SUCCESS for r in results)
