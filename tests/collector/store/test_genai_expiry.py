"""store/genai_expiry.py with real collector processes on a DuckDB file: a GenAI log record whose
span does not come within ``genai_log_events_max_age`` stops waiting, the join's tables forget it,
and its content stays in ``log_records``; the span, when it comes after all, is stored without it.

The app is the official OpenAI instrumentation with content in log records only; its spans are held
back (an in-memory exporter) and sent later by the stock OTLP exporter, as a span export that was
lost and retried from elsewhere would be. The shorter age comes with a restart, as a user changes
the setting: the age counts from when the record was stored, so a restart is longer than 1 ms."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import openai
import pytest
from opentelemetry.exporter.otlp.proto.grpc._log_exporter import OTLPLogExporter
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
from opentelemetry.instrumentation.genai.openai import OpenAIInstrumentor
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import SimpleLogRecordProcessor
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from annotrace.collector.store.genai_expiry import expire
from annotrace.collector.telemetry import Batch
from tests.collector.pipeline.processors.test_genai_join import CHAT as CHAT_SPAN
from tests.collector.pipeline.processors.test_genai_join import CHAT_ATTRS, Store, log, span
from tests.collector_process import Collector
from tests.fakes.llm import FakeLLM

CONTENT_ENV, SEMCONV_ENV = "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT", "OTEL_SEMCONV_STABILITY_OPT_IN"
WAITING = (
    "SELECT (SELECT count(*) FROM genai_log_events_pending) AS pending, "
    "(SELECT count(*) FROM genai_log_events_seen) AS seen, "
    "(SELECT count(*) FROM messages WHERE log_record_id IS NOT NULL) AS messages"
)


def chat_call(collector: Collector, monkeypatch: pytest.MonkeyPatch, question: str) -> Sequence[ReadableSpan]:
    """One chat completion: its log records exported to ``collector`` as they are emitted, its spans
    kept back and returned."""
    monkeypatch.delenv(SEMCONV_ENV, raising=False)
    monkeypatch.setenv(CONTENT_ENV, "event_only")  # the content only in log records, not on the spans
    resource = Resource.create({"service.name": f"genai-{uuid.uuid4().hex[:6]}"})
    held = InMemorySpanExporter()
    spans = TracerProvider(resource=resource)
    spans.add_span_processor(SimpleSpanProcessor(held))
    logs = LoggerProvider(resource=resource)
    logs.add_log_record_processor(SimpleLogRecordProcessor(OTLPLogExporter(endpoint=collector.grpc, insecure=True)))
    with FakeLLM() as llm, openai.OpenAI(base_url=llm.base_url, api_key="x") as client:
        instrumentor = OpenAIInstrumentor()
        instrumentor.instrument(tracer_provider=spans, logger_provider=logs)
        try:
            client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": question}])
        finally:
            instrumentor.uninstrument()
    logs.shutdown()
    spans.shutdown()
    return held.get_finished_spans()


def send_spans(collector: Collector, spans: Sequence[ReadableSpan]) -> None:
    exporter = OTLPSpanExporter(endpoint=collector.grpc, insecure=True)
    assert exporter.export(spans).name == "SUCCESS"
    exporter.shutdown()


def test_a_record_whose_span_does_not_come_in_time_stays_in_log_records_only(
    fresh_collector: Callable[..., Collector], monkeypatch: pytest.MonkeyPatch
) -> None:
    first = fresh_collector()  # records wait a day by default
    spans = chat_call(first, monkeypatch, "a question whose span is late?")
    assert first.sql(WAITING) == [{"pending": 1, "seen": 1, "messages": 0}]  # one operation.details record
    assert first.stop() == 0

    second = fresh_collector(store_options=", genai_log_events_max_age: 1ms")
    send_spans(second, spans)

    assert second.sql(WAITING) == [{"pending": 0, "seen": 0, "messages": 0}]
    assert second.sql(
        "SELECT count(*) AS spans, bool_and(inputs IS NULL) AS no_inputs FROM spans "
        f"WHERE trace_id = 'tr-{spans[0].context.trace_id:032x}'"
    ) == [{"spans": 1, "no_inputs": True}]
    kept = second.sql("SELECT event_name, attributes::VARCHAR AS content FROM log_records")
    assert [row["event_name"] for row in kept] == ["gen_ai.client.inference.operation.details"]
    assert "a question whose span is late?" in kept[0]["content"]


def test_a_record_whose_span_comes_in_time_is_joined_with_a_short_max_age_too(
    fresh_collector: Callable[..., Collector], monkeypatch: pytest.MonkeyPatch
) -> None:
    collector = fresh_collector(store_options=", genai_log_events_max_age: 1h")
    spans = chat_call(collector, monkeypatch, "a question in time?")
    send_spans(collector, spans)
    assert collector.sql(WAITING) == [{"pending": 0, "seen": 1, "messages": 2}]


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    opened = Store(tmp_path)
    yield opened
    opened.close()


def test_a_joined_record_sent_again_after_it_was_forgotten_is_not_joined_twice(store: Store) -> None:
    def user_message() -> Batch:
        return log(
            Batch(), "gen_ai.user.message", {"content": "hi"}, record_id="r-user", time_ns=1_700_000_000_500_000_000
        )

    assert store.store(span(user_message(), CHAT_SPAN, CHAT_ATTRS)) == 1
    assert store.writer.submit(lambda conn: expire(conn, 0.0)).result().seen == 1
    assert store.store(user_message()) == 0  # a retry later than any OTel exporter's: its span names it
    assert store.messages() == [("input", 0, "user", "hi")]
    assert store.rows("SELECT count(*) FROM genai_log_events_pending") == [(0,)]
