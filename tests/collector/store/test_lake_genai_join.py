"""GenAI events sent as OTLP log records, joined to their spans on a DuckLake store
(``store.genai_join``): the official OpenAI instrumentation's spans go to one collector and its log
records to the other, before and after the spans, as clients that load-balance by connection do."""

from __future__ import annotations

import uuid
from collections.abc import Callable

import openai
import pytest
from opentelemetry.exporter.otlp.proto.grpc._log_exporter import OTLPLogExporter
from opentelemetry.instrumentation.genai.openai import OpenAIInstrumentor
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import BatchLogRecordProcessor, SimpleLogRecordProcessor

from tests.collector.store.lake_support import Lake, needs_lake, span_provider
from tests.collector.store.test_genai_expiry import WAITING, chat_call, send_spans
from tests.collector_process import Collector
from tests.fakes.llm import FakeLLM

pytestmark = needs_lake
CONTENT_ENV, SEMCONV_ENV = "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT", "OTEL_SEMCONV_STABILITY_OPT_IN"


def test_log_events_sent_to_one_collector_join_spans_sent_to_the_other(
    lake: Lake, lake_collector: Callable[..., Collector], monkeypatch: pytest.MonkeyPatch
) -> None:
    a, b = lake_collector("a", lake), lake_collector("b", lake)
    monkeypatch.delenv(SEMCONV_ENV, raising=False)
    monkeypatch.setenv(CONTENT_ENV, "event_only")  # the content only in log records, not on the spans
    service = f"genai-{uuid.uuid4().hex[:6]}"
    spans = span_provider(a, service)
    resource = spans.resource
    at_once = LoggerProvider(resource=resource)  # each record exported as it is emitted, before its span
    at_once.add_log_record_processor(SimpleLogRecordProcessor(OTLPLogExporter(endpoint=b.grpc, insecure=True)))
    late = LoggerProvider(resource=resource)  # exported only on force_flush, after every span
    late.add_log_record_processor(
        BatchLogRecordProcessor(OTLPLogExporter(endpoint=b.grpc, insecure=True), schedule_delay_millis=600_000)
    )
    with FakeLLM() as llm, openai.OpenAI(base_url=llm.base_url, api_key="x") as client:
        for logs, question in ((at_once, "first question?"), (late, "late question?")):
            instrumentor = OpenAIInstrumentor()
            instrumentor.instrument(tracer_provider=spans, logger_provider=logs)
            try:
                client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": question}])
            finally:
                instrumentor.uninstrument()
    late.force_flush()
    for provider in (spans, at_once, late):
        provider.shutdown()

    joined = (
        "SELECT t.request LIKE '%question?%' AS request, t.response IS NOT NULL AS response, "
        "s.inputs LIKE '%question?%' AS inputs, s.outputs IS NOT NULL AS outputs, "
        "list(m.role ORDER BY m.direction, m.position) AS roles, "
        "(SELECT count(*) FROM genai_log_events_pending) AS pending "
        "FROM traces t JOIN spans s ON s.trace_id = t.trace_id JOIN messages m ON m.span_id = s.span_id "
        "GROUP BY t.trace_id, t.request, t.response, s.inputs, s.outputs ORDER BY t.trace_id"
    )
    expected = [
        {
            "request": True,
            "response": True,
            "inputs": True,
            "outputs": True,
            "roles": ["user", "assistant"],
            "pending": 0,
        }
    ] * 2
    for collector in (b, a):  # b stored the records last; a sees what b stored
        assert collector.wait_for(joined, expected, timeout=60) == expected
    assert a.sql("SELECT count(*) AS n FROM messages WHERE log_record_id IS NOT NULL") == [{"n": 4}]


def test_on_a_lake_housekeeping_stops_a_record_waiting_for_a_span_that_does_not_come(
    lake: Lake, lake_collector: Callable[..., Collector], monkeypatch: pytest.MonkeyPatch
) -> None:
    collector = lake_collector(
        "a", lake, store_options=", genai_log_events_max_age: 1ms", lake_options=", housekeeping_interval: 1s"
    )
    spans = chat_call(collector, monkeypatch, "a question whose span is late?")
    expired = [{"pending": 0, "seen": 0, "messages": 0}]
    assert collector.wait_for(WAITING, expired, timeout=60) == expired  # the next housekeeping round
    send_spans(collector, spans)
    assert collector.sql(WAITING) == expired
    kept = collector.sql("SELECT event_name, attributes::VARCHAR AS content FROM log_records")
    assert [row["event_name"] for row in kept] == ["gen_ai.client.inference.operation.details"]
    assert "a question whose span is late?" in kept[0]["content"]
