"""``LiveSpan``: the MLflow-style handle on an open OTel span.

``start_span`` yields one and ``get_current_active_span`` returns one. It writes through to the
OTel span immediately (no state of its own beyond the span), so two handles on the same span agree
and whatever is set before the span ends is exported. Values use the encodings in
``attributes.py`` (imported as ``wire``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from opentelemetry import trace as otel_trace
from opentelemetry.trace import Status, StatusCode

from annotrace.tracing import attributes as wire

__all__ = ["LiveSpan"]

_STATUS = {"OK": StatusCode.OK, "ERROR": StatusCode.ERROR, "UNSET": StatusCode.UNSET}


class LiveSpan:
    """A handle on an open span: ``set_inputs``, ``set_outputs``, ``set_attribute(s)``, ids."""

    def __init__(self, span: otel_trace.Span) -> None:
        self._span = span

    def __repr__(self) -> str:
        return f"LiveSpan(name={self.name!r}, trace_id={self.trace_id!r}, span_id={self.span_id!r})"

    @property
    def otel_span(self) -> otel_trace.Span:
        """The underlying OpenTelemetry span."""
        return self._span

    @property
    def trace_id(self) -> str:
        """MLflow trace id: ``tr-`` + 32 lowercase hex."""
        return f"tr-{self._span.get_span_context().trace_id:032x}"

    @property
    def request_id(self) -> str:
        """MLflow 2.x name of ``trace_id``."""
        return self.trace_id

    @property
    def span_id(self) -> str:
        """16 lowercase hex."""
        return f"{self._span.get_span_context().span_id:016x}"

    @property
    def parent_id(self) -> str | None:
        parent = getattr(self._span, "parent", None)
        return None if parent is None else f"{parent.span_id:016x}"

    @property
    def name(self) -> str:
        return str(getattr(self._span, "name", ""))

    def _decoded(self, key: str) -> Any:
        raw = (getattr(self._span, "attributes", None) or {}).get(key)
        if not isinstance(raw, str):
            return raw
        try:
            return json.loads(raw)
        except ValueError:
            return raw

    @property
    def span_type(self) -> str | None:
        value = self._decoded(wire.SPAN_TYPE)
        return None if value is None else str(value)

    @property
    def inputs(self) -> Any:
        return self._decoded(wire.SPAN_INPUTS)

    @property
    def outputs(self) -> Any:
        return self._decoded(wire.SPAN_OUTPUTS)

    def set_inputs(self, inputs: Any) -> None:
        self._span.set_attribute(wire.SPAN_INPUTS, wire.dump_json(inputs))

    def set_outputs(self, outputs: Any) -> None:
        self._span.set_attribute(wire.SPAN_OUTPUTS, wire.dump_json(outputs))

    def set_span_type(self, span_type: str) -> None:
        self._span.set_attribute(wire.SPAN_TYPE, wire.dump_json(str(span_type)))

    def set_attribute(self, key: str, value: Any) -> None:
        """Native OTel value when possible (str/bool/int/float/homogeneous list), else JSON text."""
        self._span.set_attribute(str(key), wire.otel_value(value))

    def set_attributes(self, attrs: Mapping[str, Any]) -> None:
        for key, value in attrs.items():
            self.set_attribute(key, value)

    def set_status(self, status: str | StatusCode, description: str | None = None) -> None:
        """``"OK"``, ``"ERROR"`` (MLflow's names) or an OTel ``StatusCode``."""
        code = _STATUS.get(status.upper(), StatusCode.UNSET) if isinstance(status, str) else status
        self._span.set_status(Status(code, description if code is StatusCode.ERROR else None))

    def add_event(self, event: Any, attributes: Mapping[str, Any] | None = None) -> None:
        """``add_event("name", {...})`` or an MLflow ``SpanEvent``-like object (name, attributes, timestamp)."""
        if isinstance(event, str):
            name, attrs, timestamp = event, attributes or {}, None
        else:
            name, attrs, timestamp = (
                event.name,
                getattr(event, "attributes", None) or {},
                getattr(event, "timestamp", None),
            )
        self._span.add_event(name, {k: wire.otel_value(v) for k, v in attrs.items()}, timestamp)

    def record_exception(self, exception: BaseException | str) -> None:
        """Add an ``exception`` event and set status ERROR, as a failing ``@trace`` function does."""
        error = exception if isinstance(exception, BaseException) else Exception(str(exception))
        self._span.record_exception(error)
        self._span.set_status(Status(StatusCode.ERROR, f"{type(error).__name__}: {error}"))
