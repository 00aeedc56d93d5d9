"""Generators and async generators under ``@trace``: outputs, chunk events, send/throw/close, context."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator

import pytest
from opentelemetry.proto.trace.v1.trace_pb2 import Status

import annotrace
from tests.fakes.otlp_sink import OTLPSink, SinkSpan

OK = Status.STATUS_CODE_OK
ERROR = Status.STATUS_CODE_ERROR


def spans(sink: OTLPSink, count: int) -> list[SinkSpan]:
    annotrace.flush_trace_async_logging()
    received = sink.wait_for_spans(count)
    assert len(received) == count, [span.name for span in received]
    return received


def test_generator_outputs_and_chunk_events(sdk: OTLPSink) -> None:
    @annotrace.trace
    def stream(n: int) -> Iterator[str]:
        for i in range(n):
            yield f"tok{i}"

    assert list(stream(3)) == ["tok0", "tok1", "tok2"]
    (span,) = spans(sdk, 1)
    assert span.json_attr("mlflow.spanInputs") == {"n": 3}
    assert span.json_attr("mlflow.spanOutputs") == ["tok0", "tok1", "tok2"]
    assert [name for name, _ in span.events] == ["mlflow.chunk.item.0", "mlflow.chunk.item.1", "mlflow.chunk.item.2"]
    assert span.events[1][1] == {"mlflow.chunk.value": '"tok1"'}
    assert span.status_code == OK


def test_generator_reducer_send_and_return_value(sdk: OTLPSink) -> None:
    @annotrace.trace(output_reducer=lambda items: "".join(items))
    def echo() -> Iterator[str]:
        received = yield "a"
        yield f"got {received}"
        return "done"  # a generator return value is part of the protocol

    generator = echo()
    assert next(generator) == "a"
    assert generator.send("x") == "got x"
    with pytest.raises(StopIteration) as stop:
        next(generator)
    assert stop.value.value == "done"
    (span,) = spans(sdk, 1)
    assert span.json_attr("mlflow.spanOutputs") == "agot x"


def test_generator_span_is_current_only_inside_the_body(sdk: OTLPSink) -> None:
    seen: list[str | None] = []

    @annotrace.trace
    def produce() -> Iterator[int]:
        span = annotrace.get_current_active_span()
        seen.append(span.name if span else None)
        yield 1
        yield 2

    for _ in produce():
        seen.append(getattr(annotrace.get_current_active_span(), "name", None))
    assert seen == ["produce", None, None]
    spans(sdk, 1)


def test_generator_closed_early_and_failing(sdk: OTLPSink) -> None:
    @annotrace.trace
    def endless() -> Iterator[int]:
        i = 0
        while True:
            yield i
            i += 1

    @annotrace.trace
    def broken() -> Iterator[int]:
        yield 1
        raise RuntimeError("stream broke")

    generator = endless()
    assert [next(generator), next(generator)] == [0, 1]
    generator.close()
    with pytest.raises(RuntimeError, match="stream broke"):
        list(broken())
    by_name = {span.name: span for span in spans(sdk, 2)}
    assert by_name["endless"].json_attr("mlflow.spanOutputs") == [0, 1]
    assert by_name["endless"].status_code == OK
    assert by_name["broken"].status_code == ERROR
    assert by_name["broken"].events[-1][0] == "exception"


def test_throw_is_forwarded_into_the_generator(sdk: OTLPSink) -> None:
    @annotrace.trace
    def resilient() -> Iterator[str]:
        try:
            yield "first"
        except KeyError:
            yield "recovered"

    generator = resilient()
    assert next(generator) == "first"
    assert generator.throw(KeyError("k")) == "recovered"
    generator.close()
    (span,) = spans(sdk, 1)
    assert span.json_attr("mlflow.spanOutputs") == ["first", "recovered"]
    assert span.status_code == OK


def test_async_generator_closed_early_and_failing(sdk: OTLPSink) -> None:
    @annotrace.trace
    async def ticks() -> AsyncIterator[int]:
        for i in range(10):
            yield i

    @annotrace.trace
    async def broken() -> AsyncIterator[int]:
        yield 1
        raise RuntimeError("async stream broke")

    async def main() -> None:
        stream = ticks()
        assert [await stream.__anext__(), await stream.__anext__()] == [0, 1]
        await stream.aclose()
        with pytest.raises(RuntimeError, match="async stream broke"):
            async for _ in broken():
                pass

    asyncio.run(main())
    by_name = {span.name: span for span in spans(sdk, 2)}
    assert by_name["ticks"].json_attr("mlflow.spanOutputs") == [0, 1]
    assert by_name["ticks"].status_code == OK
    assert by_name["broken"].status_code == ERROR


def test_unconsumed_generator_makes_no_span(sdk: OTLPSink) -> None:
    @annotrace.trace
    def never() -> Iterator[int]:
        yield 1

    never()
    annotrace.flush_trace_async_logging()
    assert sdk.spans() == []


def test_failing_reducer_records_raw_items(sdk: OTLPSink, caplog: pytest.LogCaptureFixture) -> None:
    @annotrace.trace(output_reducer=lambda items: 1 / 0)
    def numbers() -> Iterator[int]:
        yield from (1, 2)

    assert list(numbers()) == [1, 2]
    (span,) = spans(sdk, 1)
    assert span.json_attr("mlflow.spanOutputs") == [1, 2]
    assert "output_reducer" in caplog.text
