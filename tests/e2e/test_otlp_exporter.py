"""The ``otlp`` exporter between two real collectors: the OTel SDK -> upstream -> downstream.

Spans, log records and REST-created assessments reach the downstream over OTLP/gRPC and
OTLP/HTTP; with the downstream down the upstream still acks and stores everything.
"""

from __future__ import annotations

import socket
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import SimpleLogRecordProcessor
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExportResult

from tests.collector_process import Collector, start, write_config

SPAN_COLUMNS = (
    "span_id, parent_span_id, name, kind, status_code, status_message, scope_name, scope_version, "
    "attributes::VARCHAR AS attributes, resource_attributes::VARCHAR AS resource"
)


def upstream_config(directory: Path, endpoint: str) -> Path:
    """The test collector's config (``tests/collector_process.CONFIG``) plus an ``otlp`` exporter."""
    path = write_config(directory)
    text = path.read_text()
    exporter = (
        f'  otlp: {{endpoint: "{endpoint}", assessments_poll_interval: 100ms, timeout: 2s, '
        "shutdown_timeout: 1s, retry_max_elapsed: 2s}\n"
    )
    text = text.replace("exporters:\n", "exporters:\n" + exporter, 1)
    for signal in ("traces", "logs"):
        line = next(line for line in text.splitlines() if line.strip().startswith(f"{signal}:"))
        text = text.replace(line, line.replace("exporters: [duckdb]", "exporters: [duckdb, otlp]"))
    path.write_text(text)
    return path


@pytest.fixture
def downstream(tmp_path: Path) -> Iterator[Collector]:
    running = start(tmp_path / "downstream")
    yield running
    assert running.stop() == 0, running.log


def upstream(tmp_path: Path, endpoint: str) -> Collector:
    directory = tmp_path / "upstream"
    return start(directory, config=upstream_config(directory, endpoint))


def send_trace(collector: Collector, service: str) -> tuple[str, str]:
    """A root and a child span with an event, through the stock SDK exporter; (trace id, root span id)."""
    provider = TracerProvider(resource=Resource.create({"service.name": service}))
    exporter = OTLPSpanExporter(endpoint=f"{collector.http}/v1/traces")
    results: list[SpanExportResult] = []
    original = exporter.export
    exporter.export = lambda spans: results.append(original(spans)) or results[-1]  # type: ignore[method-assign]
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("tests.forward", "0.1")
    chat = {"gen_ai.operation.name": "chat", "n": 3, "tags": ["a", "b"], "ratio": 0.5}
    with (
        tracer.start_as_current_span("chat", attributes=chat) as root,
        tracer.start_as_current_span("tool", attributes={"ok": True}) as child,
    ):
        child.add_event("called", {"arg": "x"})
    provider.shutdown()
    assert results == [SpanExportResult.SUCCESS, SpanExportResult.SUCCESS]  # acked whatever downstream does
    ctx = root.get_span_context()
    return f"tr-{ctx.trace_id:032x}", f"{ctx.span_id:016x}"


def spans(collector: Collector, trace_id: str) -> list[dict[str, Any]]:
    return collector.sql(f"SELECT {SPAN_COLUMNS} FROM spans WHERE trace_id = '{trace_id}' ORDER BY span_id")


def assert_spans_forwarded(up: Collector, down: Collector, trace_id: str) -> None:
    count = f"SELECT count(*) AS n FROM spans WHERE trace_id = '{trace_id}'"
    assert up.wait_for(count, [{"n": 2}]) == [{"n": 2}]
    expected = spans(up, trace_id)
    assert (
        down.wait_for(f"SELECT {SPAN_COLUMNS} FROM spans WHERE trace_id = '{trace_id}' ORDER BY span_id", expected)
        == expected
    )
    events = "SELECT span_id, name, attributes::VARCHAR AS a FROM span_events WHERE trace_id = '{}'"
    assert down.sql(events.format(trace_id)) == up.sql(events.format(trace_id)) != []


def create_assessment(collector: Collector, trace_id: str, span_id: str) -> str:
    response = httpx.post(
        f"{collector.web}/api/3.0/mlflow/traces/{trace_id}/assessments",
        json={
            "assessment": {
                "assessment_name": "helpfulness",
                "trace_id": trace_id,
                "span_id": span_id,
                "feedback": {"value": 4},
                "rationale": "answered the question",
                "source": {"source_type": "HUMAN", "source_id": "ann@example.com"},
            }
        },
    )
    assert response.status_code == 200, response.text
    return str(response.json()["assessment"]["assessment_id"])


def assert_assessment_forwarded(down: Collector, trace_id: str, span_id: str, assessment_id: str) -> None:
    query = (
        "SELECT trace_id, span_id, assessment_name, kind, value::VARCHAR AS value, rationale, source_type, "
        "source_id, metadata->>'$.\"annotrace.assessment.id\"' AS upstream_id, "
        "metadata->>'$.\"annotrace.assessment.kind\"' AS upstream_kind "
        f"FROM assessments WHERE trace_id = '{trace_id}'"
    )
    expected = [
        {
            "trace_id": trace_id,
            "span_id": span_id,
            "assessment_name": "helpfulness",
            "kind": "feedback",
            "value": "4.0",
            "rationale": "answered the question",
            "source_type": "HUMAN",
            "source_id": "ann@example.com",
            "upstream_id": assessment_id,
            "upstream_kind": "feedback",
        }
    ]
    assert down.wait_for(query, expected) == expected
    records = down.sql(f"SELECT event_name, span_id FROM log_records WHERE trace_id = '{trace_id}'")
    assert records == [{"event_name": "gen_ai.evaluation.result", "span_id": span_id}]


def test_forwards_spans_and_assessments_over_grpc(tmp_path: Path, downstream: Collector) -> None:
    up = upstream(tmp_path, downstream.grpc)
    try:
        trace_id, root_id = send_trace(up, f"fwd-grpc-{uuid.uuid4().hex[:6]}")
        assert_spans_forwarded(up, downstream, trace_id)
        assessment_id = create_assessment(up, trace_id, root_id)
        assert_assessment_forwarded(downstream, trace_id, root_id, assessment_id)

        # an update is a new state: forwarded once more (the downstream keeps it as another assessment)
        response = httpx.patch(
            f"{up.web}/api/3.0/mlflow/traces/{trace_id}/assessments/{assessment_id}",
            json={"assessment": {"rationale": "on reflection"}, "update_mask": "rationale"},
        )
        assert response.status_code == 200, response.text
        query = f"SELECT rationale FROM assessments WHERE trace_id = '{trace_id}' ORDER BY create_time"
        expected = [{"rationale": "answered the question"}, {"rationale": "on reflection"}]
        assert downstream.wait_for(query, expected) == expected
    finally:
        assert up.stop() == 0, up.log


def test_forwards_spans_logs_and_assessments_over_http(tmp_path: Path, downstream: Collector) -> None:
    up = upstream(tmp_path, downstream.http)
    try:
        trace_id, root_id = send_trace(up, f"fwd-http-{uuid.uuid4().hex[:6]}")
        assert_spans_forwarded(up, downstream, trace_id)

        provider = LoggerProvider(resource=Resource.create({"service.name": "fwd-logs"}))
        provider.add_log_record_processor(SimpleLogRecordProcessor(OTLPLogExporter(endpoint=f"{up.http}/v1/logs")))
        provider.get_logger("app").emit(body={"text": "hello"}, attributes={"k": "v", "n": 2})
        provider.shutdown()
        query = (
            "SELECT record_id, body::VARCHAR AS body, attributes::VARCHAR AS a, "
            "resource_attributes::VARCHAR AS r FROM log_records WHERE attributes->>'$.k' = 'v'"
        )
        count = "SELECT count(*) AS n FROM log_records WHERE attributes->>'$.k' = 'v'"
        assert up.wait_for(count, [{"n": 1}]) == [{"n": 1}]
        [record] = up.sql(query)
        # the record id hashes resource + record bytes: the same id means the same record arrived
        assert downstream.wait_for(query, [record]) == [record]

        assessment_id = create_assessment(up, trace_id, root_id)
        assert_assessment_forwarded(downstream, trace_id, root_id, assessment_id)
    finally:
        assert up.stop() == 0, up.log


def test_downstream_down_does_not_hold_up_the_upstream(tmp_path: Path) -> None:
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    up = upstream(tmp_path, f"127.0.0.1:{port}")
    try:
        trace_id, root_id = send_trace(up, f"fwd-down-{uuid.uuid4().hex[:6]}")
        assert up.wait_for(f"SELECT count(*) AS n FROM spans WHERE trace_id = '{trace_id}'", [{"n": 2}]) == [{"n": 2}]
        create_assessment(up, trace_id, root_id)
    finally:
        assert up.stop() == 0, up.log
    assert "otlp exporter" in up.log and "dropped" in up.log


def test_forwarded_spans_and_assessments_keep_their_experiment(tmp_path: Path, downstream: Collector) -> None:
    up = upstream(tmp_path, downstream.http)
    try:
        by_id = f"fwd by id {uuid.uuid4().hex[:6]}"
        created = httpx.post(f"{up.web}/api/2.0/mlflow/experiments/create", json={"name": by_id})
        experiment_id = created.json()["experiment_id"]
        by_name = f"fwd by name ✓ {uuid.uuid4().hex[:6]}"
        routes = [
            {"x-mlflow-experiment-id": experiment_id},  # as the MLflow client sends spans
            {"x-annotrace-experiment": quote(by_name)},
        ]  # as the annotrace SDK does
        traces = []
        for headers in routes:
            provider = TracerProvider(resource=Resource.create({"service.name": "fwd-routed"}))
            provider.add_span_processor(
                SimpleSpanProcessor(OTLPSpanExporter(endpoint=f"{up.http}/v1/traces", headers=headers))
            )
            with provider.get_tracer("tests.forward").start_as_current_span("routed") as root:
                pass
            provider.shutdown()
            context = root.get_span_context()
            traces.append((f"tr-{context.trace_id:032x}", f"{context.span_id:016x}"))
        query = "SELECT e.name FROM traces t JOIN experiments e USING (experiment_id) WHERE t.trace_id = '{}'"
        for (trace_id, _), name in zip(traces, (by_id, by_name), strict=True):
            assert up.wait_for(query.format(trace_id), [{"name": name}]) == [{"name": name}]
            assert downstream.wait_for(query.format(trace_id), [{"name": name}]) == [{"name": name}]

        trace_id, span_id = traces[0]
        create_assessment(up, trace_id, span_id)
        records = (
            f"SELECT e.name FROM log_records r JOIN experiments e USING (experiment_id) WHERE r.trace_id = '{trace_id}'"
        )
        assert downstream.wait_for(records, [{"name": by_id}]) == [{"name": by_id}]
    finally:
        assert up.stop() == 0, up.log
