"""Fixtures of the GenAI instrumentation tests: the real ``openai`` client on the fake LLM, and a
plain OTel SDK pipeline to the collector (``genai_producers.OTel``)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import openai
import pytest
from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import BatchLogRecordProcessor, SimpleLogRecordProcessor
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor

from tests.collector_process import Collector
from tests.e2e.genai_producers import CONTENT_ENV, SEMCONV_ENV, OTel
from tests.fakes.llm import FakeLLM


@pytest.fixture
def client() -> Iterator[openai.OpenAI]:
    with FakeLLM() as llm, openai.OpenAI(base_url=llm.base_url, api_key="x") as running:
        yield running


@pytest.fixture
def otel(collector: Collector, monkeypatch: pytest.MonkeyPatch) -> Iterator[OTel]:
    for name in (CONTENT_ENV, SEMCONV_ENV, "OTEL_INSTRUMENTATION_GENAI_EMIT_EVENT"):
        monkeypatch.delenv(name, raising=False)
    resource = Resource.create({"service.name": f"genai-e2e-{uuid.uuid4().hex[:8]}"})
    tracer_provider = TracerProvider(resource=resource)
    tracer_provider.add_span_processor(SimpleSpanProcessor(OTLPSpanExporter(endpoint=f"{collector.http}/v1/traces")))
    logger_provider = LoggerProvider(resource=resource)
    logger_provider.add_log_record_processor(
        SimpleLogRecordProcessor(OTLPLogExporter(endpoint=f"{collector.http}/v1/logs"))
    )
    late_logger_provider = LoggerProvider(resource=resource)
    late_logger_provider.add_log_record_processor(
        BatchLogRecordProcessor(OTLPLogExporter(endpoint=f"{collector.http}/v1/logs"), schedule_delay_millis=600_000)
    )
    yield OTel(tracer_provider, logger_provider, late_logger_provider)
    for provider in (tracer_provider, logger_provider, late_logger_provider):
        provider.shutdown()
