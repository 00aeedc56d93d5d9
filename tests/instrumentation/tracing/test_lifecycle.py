"""Input capture and result recording shared by every kind of traced call."""

from __future__ import annotations

import inspect
from typing import Any

from opentelemetry.proto.trace.v1.trace_pb2 import Status

import annotrace
from annotrace.tracing import lifecycle
from tests.fakes.otlp_sink import OTLPSink


def sample(self: Any, query: str, k: int = 3, *rest: int, flag: bool = False, **extra: Any) -> None:
    return None


def test_capture_inputs_binds_by_name() -> None:
    signature = inspect.signature(sample)
    assert lifecycle.capture_inputs(signature, ("me", "q"), {}) == {
        "query": "q",
        "k": 3,
        "rest": (),
        "flag": False,
        "extra": {},
    }
    assert lifecycle.capture_inputs(signature, ("me", "q", 5, 6), {"flag": True, "x": 1}) == {
        "query": "q",
        "k": 5,
        "rest": (6,),
        "flag": True,
        "extra": {"x": 1},
    }


def test_capture_inputs_when_binding_fails_or_no_signature() -> None:
    signature = inspect.signature(sample)
    assert lifecycle.capture_inputs(signature, (), {"nope": 1}) == {"args": [], "kwargs": {"nope": 1}}
    assert lifecycle.capture_inputs(None, (1,), {"a": 2}) == {"args": [1], "kwargs": {"a": 2}}


def test_finish_distinguishes_none_from_missing(sdk: OTLPSink) -> None:
    for name, outputs in (("returns-none", None), ("no-outputs", lifecycle.MISSING)):
        live = lifecycle.start(name, "TOOL", None)
        assert live is not None
        lifecycle.finish(live, outputs=outputs)
    annotrace.flush_trace_async_logging()
    by_name = {span.name: span for span in sdk.wait_for_spans(2)}
    assert by_name["returns-none"].attributes["mlflow.spanOutputs"] == "null"
    assert "mlflow.spanOutputs" not in by_name["no-outputs"].attributes
    assert {span.status_code for span in by_name.values()} == {Status.STATUS_CODE_OK}


def test_activated_restores_the_previous_span(sdk: OTLPSink) -> None:
    live = lifecycle.start("outer", None, None)
    assert live is not None
    assert annotrace.get_current_active_span() is None
    with lifecycle.activated(live.otel_span):
        assert annotrace.get_current_active_span().span_id == live.span_id  # type: ignore[union-attr]
    assert annotrace.get_current_active_span() is None
    lifecycle.record_chunk(live, 0, {"delta": "x"})
    lifecycle.finish(live)
    annotrace.flush_trace_async_logging()
    (span,) = sdk.wait_for_spans(1)
    assert span.events == [("mlflow.chunk.item.0", {"mlflow.chunk.value": '{"delta": "x"}'})]
    assert span.attributes["mlflow.spanType"] == '"UNKNOWN"'
