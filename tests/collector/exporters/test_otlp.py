"""The ``otlp`` exporter's config, encoding and sending queue, without a downstream collector.

Forwarding to a real downstream collector is in ``tests/e2e/test_otlp_exporter.py``.
"""

from __future__ import annotations

import datetime as dt
import socket
import textwrap
import uuid
from typing import Any

import orjson
import pytest
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import KeyValue
from opentelemetry.proto.logs.v1.logs_pb2 import SeverityNumber

from annotrace.collector import registry
from annotrace.collector.config import ComponentID, ConfigError, load_text
from annotrace.collector.exporters.otlp import OTLPExporter, OTLPExporterConfig
from annotrace.collector.exporters.otlp_encode import (
    Encoded,
    Part,
    any_value,
    assessment_logs,
    assessment_parts,
    timestamp_ns,
)
from annotrace.collector.pipeline.decode import decode
from annotrace.collector.pipeline.spool import Record
from tests.otlp_builders import any_value as pb_any_value
from tests.otlp_builders import new_span_id, new_trace_id, request, span

PIPELINE = """
receivers:
  otlp: {protocols: {grpc: {endpoint: "127.0.0.1:0"}}}
exporters:
%s
service:
  pipelines:
    traces: {receivers: [otlp], exporters: [otlp/down]}
"""


def load(exporter_yaml: str) -> Any:
    text = PIPELINE % textwrap.indent(textwrap.dedent(exporter_yaml), "  ")
    return load_text(text, registry.config_classes())


def test_otlp_config() -> None:
    config = load("""
        otlp/down:
          endpoint: http://collector.example:4318/
          headers: {authorization: "Bearer t"}
          timeout: 2s
          compression: none
          queue_size: 10
          retry_max_elapsed: 1m
          shutdown_timeout: 500ms
          forward_assessments: false
          assessments_poll_interval: 250ms
    """).exporters[ComponentID("otlp", "down")]
    assert config == OTLPExporterConfig(
        endpoint="http://collector.example:4318/",
        headers={"authorization": "Bearer t"},
        timeout=2.0,
        compression="none",
        queue_size=10,
        retry_max_elapsed=60.0,
        shutdown_timeout=0.5,
        forward_assessments=False,
        assessments_poll_interval=0.25,
    )
    assert config.is_http
    defaults = load("otlp/down: {endpoint: 'collector.example:4317'}").exporters[ComponentID("otlp", "down")]
    assert not defaults.is_http and defaults.compression == "gzip" and defaults.forward_assessments


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("{endpoint: 'no-port'}", "exporters::otlp/down: endpoint: expected host:port"),
        ("{endpoint: 'ftp://x:1'}", "exporters::otlp/down: endpoint: expected host:port"),
        ("{endpoint: 'http://'}", "exporters::otlp/down: endpoint: expected host:port or an http"),
        ("{compression: zstd}", "exporters::otlp/down::compression: expected one of 'none', 'gzip'"),
        ("{queue_size: 0}", "exporters::otlp/down: queue_size: must be at least 1"),
        ("{timeout: abc}", "exporters::otlp/down::timeout: expected a duration"),
        ("{assessments_poll_interval: 0s}", "exporters::otlp/down: assessments_poll_interval: must be positive"),
        ("{headers: {a: 1}}", "exporters::otlp/down::headers::a: expected str"),
        ("{tls: {insecure: true}}", "exporters::otlp/down: has invalid keys: tls"),
    ],
)
def test_otlp_config_rejects(body: str, message: str) -> None:
    with pytest.raises(ConfigError, match="^" + message.replace("(", r"\(")):
        load(f"otlp/down: {body}")


def test_any_value_from_python() -> None:
    value = {
        "s": "x",
        "b": True,
        "i": -3,
        "big": 2**70,
        "f": 1.5,
        "l": [1, "a", None],
        "d": {"k": [False]},
        "raw": b"\x00\x01",
    }
    assert any_value(value) == pb_any_value(
        {
            "s": "x",
            "b": True,
            "i": -3,
            "big": float(2**70),
            "f": 1.5,
            "l": [1, "a", None],
            "d": {"k": [False]},
            "raw": b"\x00\x01",
        }
    )
    assert any_value(dt.date(2024, 1, 2)).string_value == "2024-01-02"  # anything else: its text


def _record(signal: str, payload: bytes, meta: dict[str, str] | None = None) -> Record:
    return Record(signal, orjson.dumps(meta) if meta else b"", payload, 1, 0, 0)


def test_encode_rebuilds_the_trace_request() -> None:
    trace_id, root_id, child_id = new_trace_id(), new_span_id(), new_span_id()
    root = span(
        trace_id,
        root_id,
        name="root",
        kind=2,
        status=1,
        attributes={"a": "x", "n": 3, "f": 0.5, "ok": True, "l": ["p", 1], "m": {"k": "v"}},
    )
    child = span(trace_id, child_id, parent=root_id, name="child", status=2)
    child.status.message = "boom"
    child.trace_state = "k=v"
    child.flags = 0x101
    event = child.events.add(time_unix_nano=5, name="cache-miss")
    event.attributes.append(KeyValue(key="key", value=pb_any_value("k1")))
    link = child.links.add(trace_id=new_trace_id(), span_id=new_span_id(), trace_state="t=1")
    link.attributes.append(KeyValue(key="why", value=pb_any_value("retry")))
    original = request([root, child], {"service.name": "svc", "deployment": "dev"})
    original.resource_spans[0].scope_spans[0].scope.version = "1.0"

    encoded = OTLPExporter.encode(decode([_record("traces", original.SerializeToString())]))
    assert isinstance(encoded, Encoded) and encoded.logs == []
    [part] = encoded.traces
    assert part.items == 2 and part.experiment == "svc"  # routed by service.name upstream: sent along
    assert ExportTraceServiceRequest.FromString(part.payload) == original


def test_encode_sends_one_request_per_experiment() -> None:
    trace_id = new_trace_id()
    first = request([span(trace_id, new_span_id(), name="a")], {"service.name": "svc"})
    second = request([span(trace_id, new_span_id(), name="b")], {"service.name": "svc"})
    records = [
        _record("traces", first.SerializeToString(), {"experiment": "support bot"}),
        _record("traces", second.SerializeToString(), {"experiment_id": "7"}),
    ]
    encoded = OTLPExporter.encode(decode(records))
    assert [(part.experiment, part.items) for part in encoded.traces] == [("support bot", 1), (None, 1)]
    assert ExportTraceServiceRequest.FromString(encoded.traces[0].payload) == first
    assert ExportTraceServiceRequest.FromString(encoded.traces[1].payload) == second


def test_encode_rebuilds_log_records() -> None:
    original = ExportLogsServiceRequest()
    resource_logs = original.resource_logs.add()
    resource_logs.resource.attributes.append(KeyValue(key="service.name", value=pb_any_value("svc")))
    scope_logs = resource_logs.scope_logs.add()
    scope_logs.scope.name = "judge"
    record = scope_logs.log_records.add(
        time_unix_nano=7,
        observed_time_unix_nano=8,
        trace_id=new_trace_id(),
        span_id=new_span_id(),
        severity_number=9,
        severity_text="INFO",
        event_name="gen_ai.evaluation.result",
    )
    record.body.CopyFrom(pb_any_value({"text": "hi"}))
    record.attributes.append(KeyValue(key="gen_ai.evaluation.name", value=pb_any_value("relevance")))
    legacy = scope_logs.log_records.add(time_unix_nano=9)  # the deprecated attribute stays an attribute
    legacy.attributes.append(KeyValue(key="event.name", value=pb_any_value("gen_ai.choice")))

    encoded = OTLPExporter.encode(decode([_record("logs", original.SerializeToString())]))
    assert encoded.traces == [] and [(part.experiment, part.items) for part in encoded.logs] == [("svc", 2)]
    assert ExportLogsServiceRequest.FromString(encoded.logs[0].payload) == original


def test_assessment_rows_become_evaluation_log_records() -> None:
    when = dt.datetime(2024, 5, 6, 7, 8, 9, 123000)
    row = {
        "time": when,
        "trace_id": "tr-" + "ab" * 16,
        "span_id": "cd" * 8,
        "event_name": "gen_ai.evaluation.result",
        "gen_ai.evaluation.name": "relevance",
        "gen_ai.evaluation.score.value": 4.0,
        "gen_ai.evaluation.score.label": None,
        "gen_ai.evaluation.explanation": "good",
        "error.type": None,
        "annotrace.assessment.id": "a-1",
        "annotrace.assessment.source_type": "HUMAN",
        "annotrace.assessment.source_id": "me@example.com",
        "annotrace.assessment.kind": "feedback",
        "annotrace.assessment.valid": True,
        "annotrace.assessment.overrides": None,
    }
    payload = assessment_logs([row])
    assert payload == assessment_logs([dict(row)])  # deterministic: a re-send is byte for byte the same
    [record] = ExportLogsServiceRequest.FromString(payload).resource_logs[0].scope_logs[0].log_records
    assert record.event_name == "gen_ai.evaluation.result"
    assert record.trace_id == bytes.fromhex("ab" * 16) and record.span_id == bytes.fromhex("cd" * 8)
    assert record.time_unix_nano == record.observed_time_unix_nano == timestamp_ns(when) == 1714979289123000000
    assert record.severity_number == SeverityNumber.SEVERITY_NUMBER_INFO
    attributes = {kv.key: kv.value for kv in record.attributes}
    assert sorted(attributes) == [
        "annotrace.assessment.id",
        "annotrace.assessment.kind",
        "annotrace.assessment.source_id",
        "annotrace.assessment.source_type",
        "annotrace.assessment.valid",
        "gen_ai.evaluation.explanation",
        "gen_ai.evaluation.name",
        "gen_ai.evaluation.score.value",
    ]
    assert attributes["gen_ai.evaluation.score.value"].double_value == 4.0
    assert attributes["annotrace.assessment.valid"].bool_value is True
    parts = assessment_parts([{**row, "experiment": "bot"}, {**row, "experiment": None}, {**row, "experiment": "bot"}])
    assert [(part.experiment, part.items) for part in parts] == [("bot", 2), (None, 1)]
    assert parts[1].payload == payload  # the experiment is not an attribute: it goes as a header


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_full_queue_drops_and_counts_without_blocking() -> None:
    exporter = OTLPExporter(OTLPExporterConfig(endpoint=f"127.0.0.1:{_closed_port()}", queue_size=1))
    encoded = Encoded([Part(None, b"", 1)], [Part(None, b"", 2)])  # never started: nothing takes from the queue
    future = exporter.consume(encoded)
    assert future.done() and future.result() is None
    assert exporter.stats.dropped == 1  # the traces request got the one slot, the logs one was dropped
    exporter.shutdown()


@pytest.mark.parametrize("endpoint", ["127.0.0.1:{port}", "http://127.0.0.1:{port}"])
def test_downstream_down_retries_then_drops_at_shutdown(endpoint: str) -> None:
    exporter = OTLPExporter(
        OTLPExporterConfig(endpoint=endpoint.format(port=_closed_port()), shutdown_timeout=0.3, timeout=1.0)
    )
    exporter.start()
    assert exporter.consume(Encoded([Part("x", b"", 3)], [])).done()
    exporter.force_flush()  # never waits for downstream
    exporter.shutdown()
    assert exporter.stats.dropped == 1 and exporter.stats.sent_spans == 0
    assert exporter.stats.last_error is not None
    exporter.shutdown()


@pytest.mark.parametrize("kind", sorted(registry.EXPORTERS))
def test_exporter_lifecycle(kind: str, tmp_path: Any) -> None:
    """Create, shut down without start, start, shut down twice (STYLE habit 6)."""
    factory = registry.EXPORTERS[kind]
    assert factory.type == kind
    config = (
        factory.config(path=str(tmp_path / "db.duckdb"))
        if kind == "duckdb"
        else factory.config(endpoint=f"127.0.0.1:{_closed_port()}", shutdown_timeout=0.1)
    )
    exporter = factory.create(config)
    exporter.shutdown()
    exporter.start()
    exporter.force_flush()
    exporter.shutdown()
    exporter.shutdown()


def _assess(db: Any, trace_id: str, name: str) -> None:
    """One assessment on ``trace_id`` (a trace row made first when missing), committed."""
    from annotrace.collector.store.queries import assessments

    conn = db.cursor()
    try:
        conn.execute(
            "INSERT INTO traces (trace_id, trace_key, experiment_id, state, request_time, end_time, "
            "execution_duration_ms, tags, trace_metadata, span_count, error_span_count, last_update_time) "
            "SELECT ?, try_cast('0x' || right(?, 16) AS UBIGINT), '0', 'OK', now()::TIMESTAMP, now()::TIMESTAMP, 0, "
            "'{}', '{}', 0, 0, now()::TIMESTAMP WHERE ? NOT IN (SELECT trace_id FROM traces)",
            [trace_id, trace_id, trace_id],
        )
        new = assessments.NewAssessment(trace_id=trace_id, name=name, kind="feedback", value=True)
        assessments.create(conn, new, f"a-{uuid.uuid4().hex}", dt.datetime.now(dt.UTC).replace(tzinfo=None))
    finally:
        conn.close()


def test_assessments_are_still_forwarded_after_the_store_is_opened_again(
    tmp_path: Any, caplog: pytest.LogCaptureFixture
) -> None:
    """The writer opens the store again after DuckDB invalidated it; the exporter's reads of new
    assessments must not stay on the closed instance."""
    from annotrace.collector.store.db import Database

    db = Database(tmp_path / "store.duckdb")
    exporter = OTLPExporter(
        OTLPExporterConfig(
            endpoint=f"127.0.0.1:{_closed_port()}", shutdown_timeout=0.1, timeout=0.5, assessments_poll_interval=3600.0
        )
    )
    try:
        exporter.start()
        exporter.attach_store(db)
        trace_id = "tr-" + new_trace_id().hex()
        _assess(db, trace_id, "before")
        db.reopen()
        _assess(db, trace_id, "after")
        exporter.shutdown()  # its last poll reads both: one request, dropped at shutdown (no downstream)
    finally:
        db.close()
    assert exporter.stats.dropped == 1
    assert "reading assessments failed" not in caplog.text
