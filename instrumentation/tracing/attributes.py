"""The wire contract with the collector: attribute names and how their values are encoded.

The collector (and MLflow's own OTLP receiver) reads a span's MLflow view from these attributes,
so their names and encodings are fixed here and nowhere else:

- ``mlflow.spanType``, ``mlflow.spanInputs``, ``mlflow.spanOutputs``, ``mlflow.spanFunctionName``
  and ``mlflow.traceRequestId`` hold JSON text, exactly as MLflow writes them (``mlflow.spanType``
  is ``"\\"RETRIEVER\\""``). A receiver decodes one JSON layer.
- ``mlflow.traceTag.<key>`` and ``mlflow.traceMetadata.<key>`` hold plain strings; the collector
  merges them from any span of a trace into ``traces.tags`` / ``traces.trace_metadata``.
- Other user attributes stay native OTel values when OTel can carry them (str, bool, int, float and
  homogeneous lists of those) so plain OTel backends read them too; anything else becomes JSON.

Encoding never raises: a value ``json`` cannot handle falls back to ``model_dump()`` (pydantic),
``to_dict()``, ``dataclasses.asdict`` and finally ``str()``, because tracing must not break the
traced application.
"""

from __future__ import annotations

import dataclasses
import datetime
import json
import logging
from collections.abc import Mapping, Sequence
from typing import Any

__all__ = [
    "CHUNK_EVENT_PREFIX",
    "CHUNK_VALUE",
    "CLIENT_REQUEST_ID_METADATA",
    "MODEL_ID_METADATA",
    "SPAN_FUNCTION_NAME",
    "SPAN_INPUTS",
    "SPAN_OUTPUTS",
    "SPAN_TYPE",
    "TRACE_METADATA_PREFIX",
    "TRACE_REQUEST_ID",
    "TRACE_TAG_PREFIX",
    "dump_json",
    "otel_value",
]

_logger = logging.getLogger(__name__)

SPAN_TYPE = "mlflow.spanType"
SPAN_INPUTS = "mlflow.spanInputs"
SPAN_OUTPUTS = "mlflow.spanOutputs"
SPAN_FUNCTION_NAME = "mlflow.spanFunctionName"
TRACE_REQUEST_ID = "mlflow.traceRequestId"
TRACE_TAG_PREFIX = "mlflow.traceTag."
TRACE_METADATA_PREFIX = "mlflow.traceMetadata."
MODEL_ID_METADATA = "mlflow.modelId"
# The trace's client_request_id (MLflow's TraceInfo field) travels as this metadata key; the
# collector moves it to traces.client_request_id instead of keeping it as metadata.
CLIENT_REQUEST_ID_METADATA = "mlflow.clientRequestId"
# Generator outputs: one span event per yielded item, as MLflow records streams.
CHUNK_EVENT_PREFIX = "mlflow.chunk.item."
CHUNK_VALUE = "mlflow.chunk.value"

_PRIMITIVES = (str, bool, int, float)


def _fallback(obj: Any) -> Any:
    """``json.dumps(default=...)``: turn a non-JSON object into something JSON can write."""
    model_dump = getattr(obj, "model_dump", None)
    if callable(model_dump) and not isinstance(obj, type):
        return model_dump()
    to_dict = getattr(obj, "to_dict", None)
    if callable(to_dict) and not isinstance(obj, type):
        return to_dict()
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return dataclasses.asdict(obj)
    legacy_dict = getattr(obj, "dict", None)  # pydantic v1
    if callable(legacy_dict) and hasattr(obj, "__fields__") and not isinstance(obj, type):
        return legacy_dict()
    if isinstance(obj, (set, frozenset)):
        return list(obj)
    if isinstance(obj, (datetime.datetime, datetime.date, datetime.time)):
        return obj.isoformat()
    if isinstance(obj, bytes):
        return obj.decode("utf-8", errors="replace")
    return str(obj)


def dump_json(value: Any) -> str:
    """MLflow's ``dump_span_attribute_value``, made total: always returns JSON text."""
    try:
        return json.dumps(value, default=_fallback, ensure_ascii=False)
    except Exception as error:  # noqa: BLE001 - circular refs, a raising to_dict(): never fail the app
        _logger.debug("annotrace: could not serialise %r as JSON (%s); using str()", type(value), error)
        try:
            return json.dumps(str(value), ensure_ascii=False)
        except Exception:  # noqa: BLE001 - even __str__ may raise
            return json.dumps(f"<unserialisable {type(value).__name__}>")


def otel_value(value: Any) -> str | bool | int | float | Sequence[Any]:
    """A user attribute as OTel can carry it: native when possible, JSON text otherwise."""
    if isinstance(value, _PRIMITIVES):
        return value
    if isinstance(value, (list, tuple)) and value and not isinstance(value, Mapping):
        first = type(value[0])
        if first in _PRIMITIVES and all(type(item) is first for item in value):
            return list(value)
    return dump_json(value)
