"""``LiveSpan`` writes straight through to the OTel span; checked on the wire."""

from __future__ import annotations

import re
from types import SimpleNamespace

from opentelemetry.proto.trace.v1.trace_pb2 import Status

import annotrace
from tests.fakes.otlp_sink import OTLPSink


def test_ids_names_and_readback(sdk: OTLPSink) -> None:
    with annotrace.start_span("parent", span_type="AGENT") as parent, annotrace.start_span("child") as child:
        child.set_inputs({"q": "日本"})
        child.set_outputs(["a"])
        assert re.fullmatch(r"tr-[0-9a-f]{32}", child.trace_id)
        assert child.request_id == child.trace_id == parent.trace_id
        assert re.fullmatch(r"[0-9a-f]{16}", child.span_id)
        assert child.parent_id == parent.span_id
        assert parent.parent_id is None
        assert (child.name, child.span_type, parent.span_type) == ("child", "UNKNOWN", "AGENT")
        assert (child.inputs, child.outputs) == ({"q": "日本"}, ["a"])
        assert "child" in repr(child)
    annotrace.flush_trace_async_logging()
    spans = {span.name: span for span in sdk.wait_for_spans(2)}
    assert spans["child"].attributes["mlflow.spanInputs"] == '{"q": "日本"}'
    assert spans["child"].span_id == child.span_id


def test_attributes_events_status(sdk: OTLPSink) -> None:
    with annotrace.start_span("s") as span:
        span.set_attribute("model", "gpt")
        span.set_attributes({"n": 2, "ratio": 0.5, "ok": True, "tags": ["a", "b"], "cfg": {"k": [1]}})
        span.set_span_type("TOOL")
        span.add_event("retry", {"attempt": 1})
        span.add_event(
            SimpleNamespace(name="mlflow-like", attributes={"x": {"y": 1}}, timestamp=1_700_000_000_000_000_000)
        )
        span.set_status("ERROR", "judged bad")
    annotrace.flush_trace_async_logging()
    (received,) = sdk.wait_for_spans(1)
    attrs = received.attributes
    assert (attrs["model"], attrs["n"], attrs["ratio"], attrs["ok"], attrs["tags"], attrs["cfg"]) == (
        "gpt",
        2,
        0.5,
        True,
        ["a", "b"],
        '{"k": [1]}',
    )
    assert attrs["mlflow.spanType"] == '"TOOL"'
    assert received.events == [("retry", {"attempt": 1}), ("mlflow-like", {"x": '{"y": 1}'})]
    # A status the user set is kept: the span is not re-marked OK on a clean exit.
    assert (received.status_code, received.status_message) == (Status.STATUS_CODE_ERROR, "judged bad")


def test_record_exception_without_raising(sdk: OTLPSink) -> None:
    with annotrace.start_span("s") as span:
        span.record_exception("timed out")
    annotrace.flush_trace_async_logging()
    (received,) = sdk.wait_for_spans(1)
    assert received.status_code == Status.STATUS_CODE_ERROR
    assert received.events[0][1]["exception.message"] == "timed out"


def test_ok_status_is_mlflow_name(sdk: OTLPSink) -> None:
    with annotrace.start_span("s") as span:
        span.set_status("OK")
    annotrace.flush_trace_async_logging()
    (received,) = sdk.wait_for_spans(1)
    assert received.status_code == Status.STATUS_CODE_OK
