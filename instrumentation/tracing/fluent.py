"""MLflow's fluent tracing API: ``@trace``, ``start_span``, ``get_current_active_span``, ...

A traced call becomes one OTel span made by the provider in ``provider.py``, and is the current
span (OTel context) while the function body runs, so nested ``@trace`` calls and autologged
OpenAI calls become its children. The wrapper records:

- inputs: the call's arguments by parameter name (``inspect.signature(...).bind``, defaults
  applied, a leading ``self``/``cls`` dropped) as ``mlflow.spanInputs``;
- outputs: the return value as ``mlflow.spanOutputs``; for generators the list of yielded items
  (or ``output_reducer(items)``), each item also as an ``mlflow.chunk.item.<i>`` event;
- errors: an ``exception`` event and status ERROR, then the exception is re-raised unchanged.

Generators are traced lazily (``generators.py``): the span starts at the first ``next()`` and is
the current one only while the generator body runs, never in the consumer's code between items.

Tracing must never break the traced app: if a span cannot be started the function runs untraced,
and recording problems are logged at debug level.
"""

from __future__ import annotations

import contextlib
import functools
import inspect
import logging
from collections.abc import Callable, Iterator, Mapping
from typing import Any, TypeVar, overload

from opentelemetry import trace as otel_trace

from annotrace.entities.span import SpanType
from annotrace.tracing import attributes as wire
from annotrace.tracing.generators import async_generator_wrapper, generator_wrapper
from annotrace.tracing.lifecycle import activated, capture_inputs, finish, start
from annotrace.tracing.live_span import LiveSpan

__all__ = [
    "flush_trace_async_logging",
    "get_current_active_span",
    "start_span",
    "trace",
    "update_current_trace",
]

_logger = logging.getLogger(__name__)

F = TypeVar("F", bound=Callable[..., Any])


# --- @trace -----------------------------------------------------------------------------------


@overload
def trace(func: F) -> F: ...


@overload
def trace(
    func: None = None,
    name: str | None = None,
    span_type: str = SpanType.UNKNOWN,
    attributes: Mapping[str, Any] | None = None,
    output_reducer: Callable[[list[Any]], Any] | None = None,
) -> Callable[[F], F]: ...


def trace(
    func: Any = None,
    name: str | None = None,
    span_type: str = SpanType.UNKNOWN,
    attributes: Mapping[str, Any] | None = None,
    output_reducer: Callable[[list[Any]], Any] | None = None,
) -> Any:
    """Trace a function: ``@trace`` or ``@trace(name=..., span_type=..., attributes=...)``.

    Works on plain, ``async``, generator and async-generator functions (and on a
    ``classmethod``/``staticmethod`` object). ``output_reducer`` turns a generator's list of items
    into the span's outputs.
    """

    def decorate(fn: Any) -> Any:
        if isinstance(fn, (classmethod, staticmethod)):
            return type(fn)(decorate(fn.__func__))
        return _wrap(fn, name, span_type, attributes, output_reducer)

    return decorate(func) if func is not None else decorate


def _wrap(
    fn: Callable[..., Any],
    name: str | None,
    span_type: str,
    attributes: Mapping[str, Any] | None,
    output_reducer: Callable[[list[Any]], Any] | None,
) -> Callable[..., Any]:
    function_name = getattr(fn, "__name__", None) or type(fn).__name__
    span_name = name or function_name
    try:
        signature: inspect.Signature | None = inspect.signature(fn)
    except (TypeError, ValueError):
        signature = None

    def begin(args: tuple[Any, ...], kwargs: dict[str, Any]) -> LiveSpan | None:
        live = start(span_name, span_type, attributes, function_name)
        if live is not None:
            try:
                live.set_inputs(capture_inputs(signature, args, kwargs))
            except Exception:
                _logger.debug("annotrace: could not record inputs", exc_info=True)
        return live

    def reduce(items: list[Any]) -> Any:
        if output_reducer is None:
            return items
        try:
            return output_reducer(items)
        except Exception:  # a failing reducer must not break the consumer
            _logger.warning("annotrace: output_reducer of %r failed; recording the raw items", span_name, exc_info=True)
            return items

    if inspect.isasyncgenfunction(fn):
        return functools.wraps(fn)(async_generator_wrapper(fn, begin, reduce))
    if inspect.isgeneratorfunction(fn):
        return functools.wraps(fn)(generator_wrapper(fn, begin, reduce))
    if inspect.iscoroutinefunction(fn):

        @functools.wraps(fn)
        async def async_wrapper(*args: Any, **kwargs: Any) -> Any:
            live = begin(args, kwargs)
            if live is None:
                return await fn(*args, **kwargs)
            with activated(live.otel_span):
                try:
                    result = await fn(*args, **kwargs)
                except BaseException as error:
                    finish(live, error=error)
                    raise
            finish(live, outputs=result)
            return result

        return async_wrapper

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        live = begin(args, kwargs)
        if live is None:
            return fn(*args, **kwargs)
        with activated(live.otel_span):
            try:
                result = fn(*args, **kwargs)
            except BaseException as error:
                finish(live, error=error)
                raise
        finish(live, outputs=result)
        return result

    return wrapper


# --- context-manager spans and the current trace ----------------------------------------------


@contextlib.contextmanager
def start_span(
    name: str = "span",
    span_type: str | None = SpanType.UNKNOWN,
    attributes: Mapping[str, Any] | None = None,
) -> Iterator[LiveSpan]:
    """``with start_span("step", span_type=SpanType.TOOL) as span: span.set_inputs(...)``.

    The span is the current one inside the block; an exception is recorded and re-raised.
    """
    live = start(name, span_type, attributes)
    if live is None:
        yield LiveSpan(otel_trace.INVALID_SPAN)
        return
    with activated(live.otel_span):
        try:
            yield live
        except BaseException as error:
            finish(live, error=error)
            raise
    finish(live)


def get_current_active_span() -> LiveSpan | None:
    """The span of the innermost ``@trace``/``start_span`` (or instrumented call) now running."""
    span = otel_trace.get_current_span()
    if not span.get_span_context().is_valid or not span.is_recording():
        return None
    return LiveSpan(span)


def update_current_trace(
    tags: Mapping[str, Any] | None = None,
    metadata: Mapping[str, Any] | None = None,
    client_request_id: str | None = None,
    model_id: str | None = None,
) -> None:
    """Add trace tags / metadata from inside a traced call (MLflow's first three parameters, in
    MLflow's order).

    They travel as ``mlflow.traceTag.<key>`` / ``mlflow.traceMetadata.<key>`` string attributes on
    the current span; the collector merges them into the trace. ``model_id`` sets
    ``mlflow.modelId`` metadata; ``client_request_id`` (the app's own id for the request) becomes
    the trace's ``client_request_id``, which ``search_traces`` returns and filters on
    (``trace.client_request_id = '...'``).
    """
    span = get_current_active_span()
    if span is None:
        _logger.warning("annotrace.update_current_trace: no active trace; call it inside a traced function.")
        return
    entries: dict[str, Any] = {}
    for key, value in (tags or {}).items():
        entries[wire.TRACE_TAG_PREFIX + str(key)] = value
    for key, value in (metadata or {}).items():
        entries[wire.TRACE_METADATA_PREFIX + str(key)] = value
    if model_id is not None:
        entries[wire.TRACE_METADATA_PREFIX + wire.MODEL_ID_METADATA] = model_id
    if client_request_id is not None:
        entries[wire.TRACE_METADATA_PREFIX + wire.CLIENT_REQUEST_ID_METADATA] = str(client_request_id)
    for key, value in entries.items():
        span.otel_span.set_attribute(key, value if isinstance(value, str) else wire.dump_json(value))


def flush_trace_async_logging(terminate: bool = False) -> None:
    """Export every finished span now (and stop exporting if ``terminate``); MLflow's name."""
    from annotrace.tracing import provider

    provider.flush()
    if terminate:
        provider.shutdown()
