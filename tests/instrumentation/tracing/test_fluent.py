"""``@trace`` / ``start_span`` as seen on the wire by a real OTLP/HTTP receiver."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from opentelemetry.proto.trace.v1.trace_pb2 import Status

import annotrace
from annotrace.entities import Document, SpanType
from tests.fakes.otlp_sink import OTLPSink, SinkSpan

OK = Status.STATUS_CODE_OK
ERROR = Status.STATUS_CODE_ERROR


def spans(sink: OTLPSink, count: int) -> list[SinkSpan]:
    annotrace.flush_trace_async_logging()
    received = sink.wait_for_spans(count)
    assert len(received) == count, [span.name for span in received]
    return received


def test_bare_decorator_records_inputs_outputs_and_type(sdk: OTLPSink) -> None:
    @annotrace.trace
    def add(a: int, b: int = 2, *rest: int, scale: float = 1.0, **extra: Any) -> int:
        return a + b

    assert add(1, 5, 7, flag=True) == 6
    (span,) = spans(sdk, 1)
    assert span.name == "add"
    assert span.attributes["mlflow.spanType"] == '"UNKNOWN"'
    assert span.attributes["mlflow.spanFunctionName"] == '"add"'
    assert span.json_attr("mlflow.spanInputs") == {"a": 1, "b": 5, "rest": [7], "scale": 1.0, "extra": {"flag": True}}
    assert span.attributes["mlflow.spanOutputs"] == "6"
    assert span.attributes["mlflow.traceRequestId"] == json.dumps(f"tr-{span.trace_id}")
    assert span.status_code == OK
    assert span.parent_span_id == ""
    assert span.scope == "annotrace"


def test_decorator_arguments(sdk: OTLPSink) -> None:
    @annotrace.trace(name="lookup", span_type=SpanType.TOOL, attributes={"team": "search", "k": 3, "cfg": {"a": 1}})
    def search(query: str, limit: int = 10) -> list[str]:
        return [query] * 2

    search("q")
    (span,) = spans(sdk, 1)
    assert span.name == "lookup"
    assert span.attributes["mlflow.spanType"] == '"TOOL"'
    assert span.attributes["mlflow.spanFunctionName"] == '"search"'
    assert span.json_attr("mlflow.spanInputs") == {"query": "q", "limit": 10}
    assert (span.attributes["team"], span.attributes["k"], span.attributes["cfg"]) == ("search", 3, '{"a": 1}')


def test_methods_drop_self_and_cls(sdk: OTLPSink) -> None:
    class Agent:
        @annotrace.trace
        def answer(self, question: str) -> str:
            return question.upper()

        @annotrace.trace
        @classmethod
        def build(cls, name: str) -> str:
            return name

        @annotrace.trace(span_type="PARSER")
        @staticmethod
        def parse(text: str) -> str:
            return text

    assert Agent().answer("hi") == "HI"
    assert Agent.build("b") == "b"
    assert Agent.parse("p") == "p"
    by_name = {span.name: span for span in spans(sdk, 3)}
    assert by_name["answer"].json_attr("mlflow.spanInputs") == {"question": "hi"}
    assert by_name["build"].json_attr("mlflow.spanInputs") == {"name": "b"}
    assert by_name["parse"].json_attr("mlflow.spanInputs") == {"text": "p"}
    assert by_name["parse"].attributes["mlflow.spanType"] == '"PARSER"'


def test_nested_calls_are_parent_and_child(sdk: OTLPSink) -> None:
    @annotrace.trace(span_type="RETRIEVER")
    def retrieve(query: str) -> list[Document]:
        return [Document(page_content="a", metadata={"doc_uri": "http://d/1"}, id="1")]

    @annotrace.trace
    def app(question: str) -> str:
        return retrieve(question)[0].page_content

    app("q")
    received = spans(sdk, 2)
    root = next(span for span in received if span.name == "app")
    child = next(span for span in received if span.name == "retrieve")
    assert child.parent_span_id == root.span_id
    assert child.trace_id == root.trace_id
    assert child.json_attr("mlflow.spanOutputs") == [
        {"page_content": "a", "metadata": {"doc_uri": "http://d/1"}, "id": "1"}
    ]
    assert annotrace.get_last_active_trace_id() == f"tr-{root.trace_id}"


def test_exception_is_recorded_and_reraised(sdk: OTLPSink) -> None:
    @annotrace.trace
    def fail(x: int) -> None:
        raise ValueError(f"bad {x}")

    with pytest.raises(ValueError, match="bad 1"):
        fail(1)
    (span,) = spans(sdk, 1)
    assert span.status_code == ERROR
    assert span.status_message == "ValueError: bad 1"
    assert "mlflow.spanOutputs" not in span.attributes
    (event,) = span.events
    assert event[0] == "exception"
    assert event[1]["exception.type"] == "ValueError"
    assert event[1]["exception.message"] == "bad 1"


def test_async_function_and_async_generator(sdk: OTLPSink) -> None:
    @annotrace.trace(span_type=SpanType.TOOL)
    async def fetch(key: str) -> dict[str, str]:
        await asyncio.sleep(0)
        return {"key": key}

    @annotrace.trace
    async def chunks(n: int) -> AsyncIterator[int]:
        for i in range(n):
            await asyncio.sleep(0)
            yield await fetch(str(i)) and i

    @annotrace.trace
    async def main() -> list[int]:
        return [item async for item in chunks(2)]

    assert asyncio.run(main()) == [0, 1]
    received = spans(sdk, 4)
    by_name: dict[str, list[SinkSpan]] = {}
    for span in received:
        by_name.setdefault(span.name, []).append(span)
    (root,) = by_name["main"]
    (stream,) = by_name["chunks"]
    assert stream.parent_span_id == root.span_id
    assert all(fetched.parent_span_id == stream.span_id for fetched in by_name["fetch"])
    assert stream.json_attr("mlflow.spanOutputs") == [0, 1]
    assert sorted(span.json_attr("mlflow.spanOutputs")["key"] for span in by_name["fetch"]) == ["0", "1"]
    assert root.json_attr("mlflow.spanOutputs") == [0, 1]


def test_async_exception(sdk: OTLPSink) -> None:
    @annotrace.trace
    async def fail() -> None:
        raise KeyError("missing")

    with pytest.raises(KeyError):
        asyncio.run(fail())
    (span,) = spans(sdk, 1)
    assert span.status_code == ERROR


def test_start_span_context_manager(sdk: OTLPSink) -> None:
    with annotrace.start_span("outer", span_type=SpanType.CHAIN, attributes={"a": 1}) as outer:
        outer.set_inputs({"question": "q"})
        assert annotrace.get_current_active_span().span_id == outer.span_id
        with annotrace.start_span("inner") as inner:
            inner.set_outputs("answer")
        outer.set_outputs({"answer": "answer"})
    assert annotrace.get_current_active_span() is None
    by_name = {span.name: span for span in spans(sdk, 2)}
    assert by_name["inner"].parent_span_id == by_name["outer"].span_id
    assert by_name["outer"].attributes["mlflow.spanType"] == '"CHAIN"'
    assert by_name["inner"].attributes["mlflow.spanType"] == '"UNKNOWN"'
    assert "mlflow.spanFunctionName" not in by_name["outer"].attributes
    assert by_name["outer"].json_attr("mlflow.spanInputs") == {"question": "q"}
    assert by_name["outer"].attributes["a"] == 1
    assert outer.trace_id == f"tr-{by_name['outer'].trace_id}"


def test_start_span_records_errors(sdk: OTLPSink) -> None:
    with pytest.raises(ZeroDivisionError), annotrace.start_span("div"):
        1 / 0  # noqa: B018
    (span,) = spans(sdk, 1)
    assert span.status_code == ERROR
    assert span.events[0][1]["exception.type"] == "ZeroDivisionError"


def test_update_current_trace_tags_and_metadata(sdk: OTLPSink) -> None:
    @annotrace.trace
    def app() -> None:
        annotrace.update_current_trace(
            tags={"env": "test", "n": 1}, metadata={"mlflow.trace.session": "s-1"}, model_id="m-x"
        )

    app()
    (span,) = spans(sdk, 1)
    assert span.attributes["mlflow.traceTag.env"] == "test"
    assert span.attributes["mlflow.traceTag.n"] == "1"
    assert span.attributes["mlflow.traceMetadata.mlflow.trace.session"] == "s-1"
    assert span.attributes["mlflow.traceMetadata.mlflow.modelId"] == "m-x"


def test_update_current_trace_outside_a_trace_only_warns(sdk: OTLPSink, caplog: pytest.LogCaptureFixture) -> None:
    annotrace.update_current_trace(tags={"a": "b"})
    assert "no active trace" in caplog.text


def test_function_runs_untraced_when_tracing_breaks(sdk: OTLPSink, monkeypatch: pytest.MonkeyPatch) -> None:
    from annotrace.tracing import provider

    def broken() -> None:
        raise RuntimeError("provider exploded")

    monkeypatch.setattr(provider, "get_tracer", broken)

    @annotrace.trace
    def work(x: int) -> int:
        return x * 2

    assert work(2) == 4
    with annotrace.start_span("s") as span:
        span.set_inputs("ignored")
        assert span.span_id == "0" * 16
