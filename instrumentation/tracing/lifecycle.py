"""How one traced call maps onto one OTel span: start, make current, record the result, end.

Shared by the decorator and ``start_span`` (``fluent.py``) and the generator wrappers
(``generators.py``), so every kind of traced call records inputs, outputs, errors and status the
same way. Everything here swallows its own failures: tracing must never break the traced app.
"""

from __future__ import annotations

import contextlib
import inspect
import logging
from collections.abc import Iterator, Mapping
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import trace as otel_trace
from opentelemetry.trace import Status, StatusCode

from annotrace.entities.span import SpanType
from annotrace.tracing import attributes as wire
from annotrace.tracing.live_span import LiveSpan

__all__ = ["MISSING", "activated", "capture_inputs", "finish", "record_chunk", "start"]

_logger = logging.getLogger(__name__)

MISSING: Any = object()
"""``finish(outputs=MISSING)``: leave ``mlflow.spanOutputs`` unset (``None`` is a real output)."""


def start(
    name: str,
    span_type: str | None,
    attributes: Mapping[str, Any] | None,
    function_name: str | None = None,
) -> LiveSpan | None:
    """Start a span under the current context, or return ``None`` if tracing is broken."""
    try:
        from annotrace.tracing import provider  # the OTel SDK loads with the first span, not on import

        initial: dict[str, Any] = {wire.SPAN_TYPE: wire.dump_json(span_type or SpanType.UNKNOWN)}
        if function_name is not None:
            initial[wire.SPAN_FUNCTION_NAME] = wire.dump_json(function_name)
        live = LiveSpan(provider.get_tracer().start_span(name, attributes=initial))
        if attributes:
            live.set_attributes(attributes)
        return live
    except Exception:  # never fail the app because tracing failed
        _logger.warning("annotrace: could not start span %r; running untraced", name, exc_info=True)
        return None


@contextlib.contextmanager
def activated(span: otel_trace.Span) -> Iterator[None]:
    """Make ``span`` the current span for the duration of the block."""
    token = otel_context.attach(otel_trace.set_span_in_context(span))
    try:
        yield
    finally:
        otel_context.detach(token)


def finish(live: LiveSpan, outputs: Any = MISSING, error: BaseException | None = None) -> None:
    """Record outputs or the error, set the status (OK unless the user set one), end the span."""
    span = live.otel_span
    try:
        if error is not None:
            live.record_exception(error)
        else:
            if outputs is not MISSING:
                live.set_outputs(outputs)
            if getattr(getattr(span, "status", None), "status_code", StatusCode.UNSET) is StatusCode.UNSET:
                span.set_status(Status(StatusCode.OK))
    except Exception:
        _logger.debug("annotrace: could not record span result", exc_info=True)
    finally:
        span.end()


def capture_inputs(signature: inspect.Signature | None, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """Arguments by parameter name, defaults applied, a leading ``self``/``cls`` dropped."""
    if signature is None:
        return {"args": list(args), "kwargs": kwargs}
    try:
        bound = signature.bind(*args, **kwargs)
    except TypeError:  # the call itself will fail the same way; record what was passed
        return {"args": list(args), "kwargs": kwargs}
    bound.apply_defaults()
    arguments = dict(bound.arguments)
    first = next(iter(signature.parameters), None)
    if first in ("self", "cls"):
        arguments.pop(first, None)
    return arguments


def record_chunk(live: LiveSpan, index: int, item: Any) -> None:
    """One yielded item as MLflow records stream chunks: event ``mlflow.chunk.item.<i>``."""
    try:
        live.otel_span.add_event(f"{wire.CHUNK_EVENT_PREFIX}{index}", {wire.CHUNK_VALUE: wire.dump_json(item)})
    except Exception:
        _logger.debug("annotrace: could not record a stream chunk", exc_info=True)
