"""``AnnotraceSpanProcessor``: stamps MLflow trace attributes on every span and forwards to export.

It is added to a TracerProvider once and stays there (the SDK cannot remove a processor), while
the export half behind it, a stock ``BatchSpanProcessor``, is replaced when the tracking URI or
the experiment changes: ``replace_delegate`` swaps it and the caller shuts the old one down, which
flushes what it holds to the old destination.

On start every span gets ``mlflow.traceRequestId`` (``"tr-<hex>"`` as JSON, as MLflow does) and,
when a model is active, ``mlflow.traceMetadata.mlflow.modelId``; this includes spans made by
instrumentations (the OpenAI chat span), since they share the provider. When a root span ends
(no parent, or a remote one) its trace id becomes ``get_last_active_trace_id()`` and
``on_root_end`` is called, so the trace is exported now rather than on the batch timer.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

from opentelemetry.sdk.trace import SpanProcessor

from annotrace.tracing import attributes, context

if TYPE_CHECKING:
    from opentelemetry.context import Context
    from opentelemetry.sdk.trace import ReadableSpan, Span

__all__ = ["AnnotraceSpanProcessor", "mlflow_trace_id"]

_logger = logging.getLogger(__name__)


def mlflow_trace_id(otel_trace_id: int) -> str:
    """MLflow's trace id for an OTel trace id: ``tr-`` + 32 lowercase hex."""
    return f"tr-{otel_trace_id:032x}"


class AnnotraceSpanProcessor(SpanProcessor):
    """Stamps trace-level attributes, remembers the last root, delegates export."""

    def __init__(self, delegate: SpanProcessor, on_root_end: Callable[[], None] | None = None) -> None:
        self._delegate = delegate
        self._lock = threading.Lock()
        self._on_root_end = on_root_end

    def replace_delegate(self, delegate: SpanProcessor) -> SpanProcessor:
        """Route spans that end from now on to ``delegate``; return the previous one."""
        with self._lock:
            previous, self._delegate = self._delegate, delegate
        return previous

    def on_start(self, span: Span, parent_context: Context | None = None) -> None:
        try:
            span_context = span.get_span_context()
            if span_context is not None:
                span.set_attribute(
                    attributes.TRACE_REQUEST_ID, attributes.dump_json(mlflow_trace_id(span_context.trace_id))
                )
            model_id = context.get_active_model_id()
            if model_id:
                span.set_attribute(attributes.TRACE_METADATA_PREFIX + attributes.MODEL_ID_METADATA, model_id)
        except Exception:  # a stamping bug must not break the traced app
            _logger.debug("annotrace: could not stamp span", exc_info=True)
        self._delegate.on_start(span, parent_context)

    def on_end(self, span: ReadableSpan) -> None:
        parent = span.parent
        span_context = span.context
        is_root = span_context is not None and (parent is None or parent.is_remote)
        if is_root:
            context.record_last_trace_id(mlflow_trace_id(span_context.trace_id))
        self._delegate.on_end(span)
        if is_root and self._on_root_end is not None:
            self._on_root_end()

    def shutdown(self) -> None:
        self._delegate.shutdown()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return self._delegate.force_flush(timeout_millis)
