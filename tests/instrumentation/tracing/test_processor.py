"""What the span processor stamps on every span, and which span counts as a trace's root."""

from __future__ import annotations

import json

from opentelemetry import context as otel_context
from opentelemetry import trace as otel_trace
from opentelemetry.trace import NonRecordingSpan, SpanContext, TraceFlags

import annotrace
from annotrace.tracing.processor import mlflow_trace_id
from tests.fakes.otlp_sink import OTLPSink


def test_mlflow_trace_id_format() -> None:
    assert mlflow_trace_id(255) == "tr-" + "0" * 30 + "ff"


def test_every_span_gets_trace_id_and_model_id(sdk: OTLPSink) -> None:
    @annotrace.trace
    def child() -> None:
        return None

    @annotrace.trace
    def root() -> None:
        child()

    root()  # before any active model: no model id
    model = annotrace.set_active_model(name="my_app")
    root()
    annotrace.flush_trace_async_logging()
    received = sdk.wait_for_spans(4)
    for span in received:
        assert span.attributes["mlflow.traceRequestId"] == json.dumps(f"tr-{span.trace_id}")
    with_model = [span for span in received if "mlflow.traceMetadata.mlflow.modelId" in span.attributes]
    assert sorted(span.name for span in with_model) == ["child", "root"]
    assert {span.attributes["mlflow.traceMetadata.mlflow.modelId"] for span in with_model} == {model.model_id}
    assert annotrace.get_active_model_id() == model.model_id


def test_last_trace_id_is_the_last_root(sdk: OTLPSink) -> None:
    with annotrace.start_span("first") as first:
        pass
    assert annotrace.get_last_active_trace_id() == first.trace_id
    with annotrace.start_span("second") as second:
        with annotrace.start_span("nested"):
            pass
        # A child ending does not make it the last trace before its root ends.
        assert annotrace.get_last_active_trace_id() == first.trace_id
    assert annotrace.get_last_active_trace_id() == second.trace_id


def test_span_under_a_remote_parent_is_a_root(sdk: OTLPSink) -> None:
    remote = SpanContext(trace_id=0xABC, span_id=0xDEF, is_remote=True, trace_flags=TraceFlags(TraceFlags.SAMPLED))
    token = otel_context.attach(otel_trace.set_span_in_context(NonRecordingSpan(remote)))
    try:
        with annotrace.start_span("server-side"):
            pass
    finally:
        otel_context.detach(token)
    assert annotrace.get_last_active_trace_id() == mlflow_trace_id(0xABC)
    annotrace.flush_trace_async_logging()
    (span,) = sdk.wait_for_spans(1)
    assert span.parent_span_id == f"{0xDEF:016x}"
