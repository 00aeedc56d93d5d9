"""``gen_ai.evaluation.result`` events from the stock OTel SDK become assessments, over real OTLP.

Log records (for a span exported first, and for one still open), and span events; each is read
back through SQL and the MLflow REST API, and a retried export adds nothing.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

import httpx
from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk._logs import LoggerProvider, ReadableLogRecord
from opentelemetry.sdk._logs.export import LogRecordExporter, LogRecordExportResult, SimpleLogRecordProcessor
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExporter, SpanExportResult

from tests.collector_process import Collector

EVENT = "gen_ai.evaluation.result"
COLUMNS = "assessment_name, span_id, kind, value::VARCHAR AS value, rationale, source_type, source_id, version"


class SentTwice(LogRecordExporter, SpanExporter):
    """Exports every batch twice, byte for byte: what an exporter retry after a lost ack does."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner

    def export(self, batch: Sequence[ReadableLogRecord] | Sequence[ReadableSpan]) -> Any:
        first = self.inner.export(batch)
        assert first in (LogRecordExportResult.SUCCESS, SpanExportResult.SUCCESS)
        return self.inner.export(batch)

    def shutdown(self) -> None:
        self.inner.shutdown()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return True


def providers(collector: Collector, *, twice: bool = False) -> tuple[TracerProvider, LoggerProvider]:
    resource = Resource.create({"service.name": f"judge-{uuid.uuid4().hex[:6]}"})
    spans, logs = (
        OTLPSpanExporter(endpoint=f"{collector.http}/v1/traces"),
        OTLPLogExporter(endpoint=f"{collector.http}/v1/logs"),
    )
    tracer_provider = TracerProvider(resource=resource)
    tracer_provider.add_span_processor(SimpleSpanProcessor(SentTwice(spans) if twice else spans))
    logger_provider = LoggerProvider(resource=resource)
    logger_provider.add_log_record_processor(SimpleLogRecordProcessor(SentTwice(logs) if twice else logs))
    return tracer_provider, logger_provider


def evaluation(name: str, **extra: Any) -> dict[str, Any]:
    return {"gen_ai.evaluation.name": name, "gen_ai.evaluation.explanation": f"{name} because", **extra}


def rows(collector: Collector, trace_id: str, expected: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return collector.wait_for(
        f"SELECT {COLUMNS} FROM assessments WHERE trace_id = '{trace_id}' ORDER BY assessment_name", expected
    )


def test_log_record_for_an_exported_span_is_an_assessment_once(collector: Collector) -> None:
    tracer_provider, logger_provider = providers(collector, twice=True)
    with tracer_provider.get_tracer("app").start_as_current_span("chat") as span:
        pass
    ctx = span.get_span_context()
    trace_id, span_id = f"tr-{ctx.trace_id:032x}", f"{ctx.span_id:016x}"
    collector.wait_for(f"SELECT count(*) AS n FROM spans WHERE trace_id = '{trace_id}'", [{"n": 1}])
    logger_provider.get_logger("judge").emit(
        event_name=EVENT,
        context=trace.set_span_in_context(trace.NonRecordingSpan(ctx)),
        attributes=evaluation(
            "relevance",
            **{
                "gen_ai.evaluation.score.value": 4.0,
                "gen_ai.evaluation.score.label": "relevant",
                "gen_ai.evaluation.evaluator": "gpt-4o-judge",
                "gen_ai.response.id": "chatcmpl-9",
            },
        ),
    )
    logger_provider.shutdown()
    tracer_provider.shutdown()

    expected = [
        {
            "assessment_name": "relevance",
            "span_id": span_id,
            "kind": "feedback",
            "value": "4.0",
            "rationale": "relevance because",
            "source_type": "LLM_JUDGE",
            "source_id": "gpt-4o-judge",
            "version": 1,
        }
    ]
    assert rows(collector, trace_id, expected) == expected  # sent twice, stored once
    [(assessment_id, history)] = [
        (r["assessment_id"], r["n"])
        for r in collector.sql(
            "SELECT a.assessment_id, count(*) AS n FROM assessments a JOIN assessment_history h USING (assessment_id) "
            f"WHERE a.trace_id = '{trace_id}' GROUP BY ALL"
        )
    ]
    assert history == 1

    response = httpx.get(f"{collector.web}/api/3.0/mlflow/traces/{trace_id}/assessments/{assessment_id}")
    assert response.status_code == 200, response.text
    got = response.json()["assessment"]
    assert got["feedback"] == {"value": 4.0}
    assert got["source"] == {"source_type": "LLM_JUDGE", "source_id": "gpt-4o-judge"}
    assert got["metadata"]["gen_ai.response.id"] == "chatcmpl-9"
    assert got["metadata"]["gen_ai.evaluation.score.label"] == "relevant"


def test_log_record_before_its_span_shows_once_the_trace_arrives(collector: Collector) -> None:
    tracer_provider, logger_provider = providers(collector)
    with tracer_provider.get_tracer("app").start_as_current_span("chat") as span:
        ctx = span.get_span_context()
        trace_id = f"tr-{ctx.trace_id:032x}"
        # emitted in the span's context, exported now: the span is only exported when it ends
        logger_provider.get_logger("judge").emit(
            event_name=EVENT, attributes=evaluation("correct", **{"gen_ai.evaluation.score.label": "pass"})
        )
        expected = [
            {
                "assessment_name": "correct",
                "span_id": f"{ctx.span_id:016x}",
                "kind": "feedback",
                "value": '"pass"',
                "rationale": "correct because",
                "source_type": "LLM_JUDGE",
                "source_id": None,
                "version": 1,
            }
        ]
        assert rows(collector, trace_id, expected) == expected
        assert collector.sql(f"SELECT count(*) AS n FROM traces WHERE trace_id = '{trace_id}'") == [{"n": 0}]
    tracer_provider.shutdown()
    logger_provider.shutdown()

    collector.wait_for(f"SELECT count(*) AS n FROM traces WHERE trace_id = '{trace_id}'", [{"n": 1}])
    response = httpx.get(f"{collector.web}/api/3.0/mlflow/traces/{trace_id}")
    assert response.status_code == 200, response.text
    [assessment] = response.json()["trace"]["trace_info"]["assessments"]
    assert (assessment["assessment_name"], assessment["feedback"]) == ("correct", {"value": "pass"})


def test_span_event_is_an_assessment_of_its_span(collector: Collector) -> None:
    tracer_provider, _ = providers(collector, twice=True)
    with tracer_provider.get_tracer("app").start_as_current_span("chat") as span:
        span.add_event(
            EVENT,
            evaluation(
                "toxicity", **{"gen_ai.evaluation.score.value": 0.1, "annotrace.assessment.source_type": "CODE"}
            ),
        )
        span.add_event(EVENT, evaluation("helpful", **{"error.type": "RATE_LIMIT_EXCEEDED"}))
    tracer_provider.shutdown()
    ctx = span.get_span_context()
    trace_id, span_id = f"tr-{ctx.trace_id:032x}", f"{ctx.span_id:016x}"

    expected = [
        {
            "assessment_name": "helpful",
            "span_id": span_id,
            "kind": "feedback",
            "value": None,
            "rationale": "helpful because",
            "source_type": "LLM_JUDGE",
            "source_id": None,
            "version": 1,
        },
        {
            "assessment_name": "toxicity",
            "span_id": span_id,
            "kind": "feedback",
            "value": "0.1",
            "rationale": "toxicity because",
            "source_type": "CODE",
            "source_id": None,
            "version": 1,
        },
    ]
    assert rows(collector, trace_id, expected) == expected  # the span was sent twice
    [experiment] = collector.sql(f"SELECT experiment_id FROM traces WHERE trace_id = '{trace_id}'")
    response = httpx.post(
        f"{collector.web}/api/3.0/mlflow/traces/search",
        json={"experiment_ids": [experiment["experiment_id"]], "filter": "feedback.toxicity < 0.5"},
    )
    assert response.status_code == 200, response.text
    [info] = response.json()["traces"]  # its own experiment (service name): only this trace
    assert info["trace_id"] == trace_id
    by_name = {a["assessment_name"]: a for a in info["assessments"]}
    assert by_name["helpful"]["feedback"] == {"value": None, "error": {"error_code": "RATE_LIMIT_EXCEEDED"}}
    assert by_name["toxicity"]["source"] == {"source_type": "CODE"}
