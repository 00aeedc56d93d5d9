"""Tracing generators and async generators without leaking the span into the consumer.

A generator's body runs in slices, one per ``next()``/``send()``, interleaved with the caller's
code. The span therefore starts at the first ``next()`` and is made current only around each
slice (``activated``), so spans the consumer opens between two items are not parented to the
generator. ``send``/``throw``/``close`` are forwarded, and the outputs are the yielded items (or
``reduce(items)``); a consumer that stops early ends the span normally with the items so far.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Callable, Generator
from typing import Any

from annotrace.tracing.lifecycle import activated, finish, record_chunk
from annotrace.tracing.live_span import LiveSpan

__all__ = ["async_generator_wrapper", "generator_wrapper"]

Begin = Callable[[tuple[Any, ...], dict[str, Any]], "LiveSpan | None"]
Reduce = Callable[[list[Any]], Any]


def generator_wrapper(
    fn: Callable[..., Generator[Any, Any, Any]],
    begin: Begin,
    reduce: Reduce,
) -> Callable[..., Generator[Any, Any, Any]]:
    def wrapper(*args: Any, **kwargs: Any) -> Generator[Any, Any, Any]:
        live = begin(args, kwargs)
        if live is None:
            return (yield from fn(*args, **kwargs))
        span = live.otel_span
        items: list[Any] = []
        try:
            with activated(span):
                inner = fn(*args, **kwargs)
        except BaseException as error:
            finish(live, error=error)
            raise
        to_send: Any = None
        to_throw: BaseException | None = None
        while True:
            try:
                with activated(span):
                    if to_throw is not None:
                        thrown, to_throw = to_throw, None
                        item = inner.throw(thrown)
                    else:
                        item = inner.send(to_send)
            except StopIteration as stop:
                finish(live, outputs=reduce(items))
                return stop.value
            except BaseException as error:
                finish(live, error=error)
                raise
            items.append(item)
            record_chunk(live, len(items) - 1, item)
            try:
                to_send = yield item
            except GeneratorExit:  # the consumer stopped early: a normal end with what was produced
                try:
                    with activated(span):
                        inner.close()
                except BaseException as error:
                    finish(live, error=error)
                    raise
                finish(live, outputs=reduce(items))
                raise
            except BaseException as error:  # noqa: BLE001 - consumer used .throw(): pass it into the generator
                to_throw = error

    return wrapper


def async_generator_wrapper(
    fn: Callable[..., AsyncGenerator[Any, Any]],
    begin: Begin,
    reduce: Reduce,
) -> Callable[..., AsyncGenerator[Any, Any]]:
    async def wrapper(*args: Any, **kwargs: Any) -> AsyncGenerator[Any, Any]:
        live = begin(args, kwargs)
        if live is None:
            async for untraced in fn(*args, **kwargs):
                yield untraced
            return
        span = live.otel_span
        items: list[Any] = []
        try:
            with activated(span):
                inner = fn(*args, **kwargs)
        except BaseException as error:
            finish(live, error=error)
            raise
        to_send: Any = None
        to_throw: BaseException | None = None
        while True:
            try:
                with activated(span):
                    if to_throw is not None:
                        thrown, to_throw = to_throw, None
                        item = await inner.athrow(thrown)
                    else:
                        item = await inner.asend(to_send)
            except StopAsyncIteration:
                finish(live, outputs=reduce(items))
                return
            except BaseException as error:
                finish(live, error=error)
                raise
            items.append(item)
            record_chunk(live, len(items) - 1, item)
            try:
                to_send = yield item
            except GeneratorExit:
                try:
                    with activated(span):
                        await inner.aclose()
                except BaseException as error:
                    finish(live, error=error)
                    raise
                finish(live, outputs=reduce(items))
                raise
            except BaseException as error:  # noqa: BLE001 - consumer used .throw(): pass it into the generator
                to_throw = error

    return wrapper
