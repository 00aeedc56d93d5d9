"""Spans as the SDK reads them back: MLflow's ``SpanType`` names and an immutable ``Span``.

``mlflow.spanType`` on the wire and the ``spans.span_type`` column use the ``SpanType`` strings,
so they are defined once, here, in a stdlib-only module the collector may import. As in MLflow,
``SpanType`` is a namespace of constants, not an enum: any custom string is also accepted.

``Span`` keeps its attributes the way MLflow does, each value as JSON text, so ``to_dict()`` is
MLflow's span dictionary (the ``spans`` column of ``search_traces`` and ``traces.json``) and the
typed views (``inputs``, ``outputs``, ``span_type``, ``attributes``) decode one JSON layer.
Spans arrive from the REST API as OTel proto JSON (``from_otel_json``): ``mlflow.*`` attributes
are already JSON text there, other attributes are native OTel values and are encoded on the way
in, with MLflow's rule that a string holding a JSON string, object or list is kept as is.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

__all__ = ["Span", "SpanEvent", "SpanStatus", "SpanStatusCode", "SpanType"]

INPUTS_KEY = "mlflow.spanInputs"
OUTPUTS_KEY = "mlflow.spanOutputs"
SPAN_TYPE_KEY = "mlflow.spanType"
REQUEST_ID_KEY = "mlflow.traceRequestId"
_PLAIN_PREFIXES = ("mlflow.traceTag.", "mlflow.traceMetadata.")


class SpanType:
    """Predefined span types; ``span_type=`` also accepts any other string."""

    LLM = "LLM"
    CHAIN = "CHAIN"
    AGENT = "AGENT"
    TOOL = "TOOL"
    CHAT_MODEL = "CHAT_MODEL"
    RETRIEVER = "RETRIEVER"
    PARSER = "PARSER"
    EMBEDDING = "EMBEDDING"
    RERANKER = "RERANKER"
    MEMORY = "MEMORY"
    UNKNOWN = "UNKNOWN"
    WORKFLOW = "WORKFLOW"
    TASK = "TASK"
    GUARDRAIL = "GUARDRAIL"
    EVALUATOR = "EVALUATOR"


class SpanStatusCode(str, Enum):
    """A span's status code (OTel's, named as MLflow names them)."""

    UNSET = "UNSET"
    OK = "OK"
    ERROR = "ERROR"


@dataclass
class SpanStatus:
    """``SpanStatus(status_code, description="")``."""

    status_code: SpanStatusCode | str
    description: str = ""

    def __post_init__(self) -> None:
        self.status_code = SpanStatusCode(str(getattr(self.status_code, "value", self.status_code)).upper())


@dataclass
class SpanEvent:
    """Something that happened during a span (an exception, a streamed chunk...)."""

    name: str
    timestamp: int = 0
    attributes: dict[str, Any] = field(default_factory=dict)


def _decode_json(text: str | None) -> Any:
    if text is None:
        return None
    try:
        return json.loads(text)
    except (TypeError, ValueError):
        return text


def encode_attribute(key: str, value: Any) -> str:
    """An attribute value as the JSON text MLflow stores (see the module docstring)."""
    if isinstance(value, str):
        try:
            parsed = json.loads(value)
        except ValueError:
            return json.dumps(value, ensure_ascii=False)
        if key.startswith("mlflow.") and not key.startswith(_PLAIN_PREFIXES):
            return value  # MLflow's own attributes are JSON text on the wire
        if isinstance(parsed, (str, dict, list)):
            return value
    return json.dumps(value, ensure_ascii=False)


def any_value(value: dict[str, Any] | None) -> Any:
    """An OTel ``AnyValue`` in proto JSON (snake_case or camelCase) as a Python value."""
    if not value:
        return None
    for key, item in value.items():
        name = key.replace("Value", "_value") if key.endswith("Value") else key
        if name in ("string_value", "bool_value", "double_value"):
            return item
        if name == "int_value":
            return int(item)
        if name == "bytes_value":
            return base64.b64decode(item)
        if name == "array_value":
            return [any_value(v) for v in (item or {}).get("values", [])]
        if name == "kvlist_value":
            return {kv["key"]: any_value(kv.get("value")) for kv in (item or {}).get("values", [])}
    return None


def _hex_id(raw: str | None, size: int) -> str | None:
    """A span/trace id given as hex (MLflow's dicts) or base64 (OTel proto JSON) -> lowercase hex."""
    if not raw:
        return None
    text = raw.removeprefix("tr-")
    if len(text) == size * 2:
        try:
            bytes.fromhex(text)
            return text.lower()
        except ValueError:
            pass
    try:
        return base64.b64decode(raw, validate=True).hex()
    except (binascii.Error, ValueError):
        return text.lower()


def _b64(hex_id: str | None) -> str | None:
    return base64.b64encode(bytes.fromhex(hex_id)).decode() if hex_id else None


class Span:
    """A finished span, read back from the collector. Immutable."""

    def __init__(
        self,
        *,
        trace_id: str,
        span_id: str,
        name: str,
        start_time_ns: int,
        end_time_ns: int | None,
        parent_id: str | None = None,
        status: SpanStatus | None = None,
        attributes: dict[str, str] | None = None,
        events: list[SpanEvent] | None = None,
        kind: str = "SPAN_KIND_INTERNAL",
        links: list[dict[str, Any]] | None = None,
    ) -> None:
        """``attributes`` maps each key to its JSON text (``encode_attribute`` makes it)."""
        self._trace_id = trace_id if trace_id.startswith("tr-") else f"tr-{trace_id}"
        self._span_id = span_id
        self._parent_id = parent_id
        self._name = name
        self._start_time_ns = start_time_ns
        self._end_time_ns = end_time_ns
        self._status = status or SpanStatus(SpanStatusCode.UNSET)
        self._attributes: dict[str, str] = dict(attributes or {})
        self._events = list(events or [])
        self._kind = kind
        self._links = list(links or [])

    def __repr__(self) -> str:
        return (
            f"Span(name={self.name!r}, trace_id={self.trace_id!r}, span_id={self.span_id!r}, "
            f"parent_id={self.parent_id!r})"
        )

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Span) and self.to_dict() == other.to_dict()

    __hash__ = None  # type: ignore[assignment]

    @property
    def trace_id(self) -> str:
        """``tr-`` + 32 hex."""
        return self._trace_id

    @property
    def request_id(self) -> str:
        """MLflow 2 name of ``trace_id``."""
        return self._trace_id

    @property
    def span_id(self) -> str:
        return self._span_id

    @property
    def parent_id(self) -> str | None:
        return self._parent_id

    @property
    def name(self) -> str:
        return self._name

    @property
    def start_time_ns(self) -> int:
        return self._start_time_ns

    @property
    def end_time_ns(self) -> int | None:
        return self._end_time_ns

    @property
    def status(self) -> SpanStatus:
        return self._status

    @property
    def events(self) -> list[SpanEvent]:
        return list(self._events)

    @property
    def span_type(self) -> str | None:
        return self.get_attribute(SPAN_TYPE_KEY)  # type: ignore[no-any-return]

    @property
    def inputs(self) -> Any:
        return self.get_attribute(INPUTS_KEY)

    @property
    def outputs(self) -> Any:
        return self.get_attribute(OUTPUTS_KEY)

    @property
    def attributes(self) -> dict[str, Any]:
        """Every attribute, decoded."""
        return {key: _decode_json(value) for key, value in self._attributes.items()}

    def get_attribute(self, key: str) -> Any:
        """One attribute, decoded (``None`` when absent)."""
        return _decode_json(self._attributes.get(key))

    def _raw_attribute(self, key: str) -> str | None:
        return self._attributes.get(key)

    def to_dict(self) -> dict[str, Any]:
        """MLflow's span dictionary (base64 ids, OTel names, attributes as JSON text)."""
        return {
            "trace_id": _b64(self._trace_id.removeprefix("tr-")),
            "span_id": _b64(self._span_id),
            "parent_span_id": _b64(self._parent_id),
            "name": self._name,
            "kind": self._kind,
            "start_time_unix_nano": self._start_time_ns,
            "end_time_unix_nano": self._end_time_ns,
            "events": [
                {"name": e.name, "time_unix_nano": e.timestamp, "attributes": dict(e.attributes)} for e in self._events
            ],
            "status": {
                "code": f"STATUS_CODE_{SpanStatusCode(self._status.status_code).value}",
                "message": self._status.description,
            },
            "attributes": dict(self._attributes),
            "links": [dict(link) for link in self._links],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Span:
        """The inverse of ``to_dict``; ids may be hex or base64."""
        status = data.get("status") or {}
        code = str(status.get("code") or "UNSET").removeprefix("STATUS_CODE_")
        return cls(
            trace_id=_hex_id(data.get("trace_id"), 16) or "",
            span_id=_hex_id(data.get("span_id"), 8) or "",
            parent_id=_hex_id(data.get("parent_span_id"), 8),
            name=data.get("name", ""),
            kind=data.get("kind") or "SPAN_KIND_INTERNAL",
            start_time_ns=int(data.get("start_time_unix_nano") or 0),
            end_time_ns=int(data["end_time_unix_nano"]) if data.get("end_time_unix_nano") is not None else None,
            status=SpanStatus(code, status.get("message") or ""),
            attributes={
                k: v if isinstance(v, str) else json.dumps(v) for k, v in (data.get("attributes") or {}).items()
            },
            events=[
                SpanEvent(e.get("name", ""), int(e.get("time_unix_nano") or 0), dict(e.get("attributes") or {}))
                for e in data.get("events") or []
            ],
            links=list(data.get("links") or []),
        )

    @classmethod
    def from_otel_json(cls, data: dict[str, Any]) -> Span:
        """A span of ``Trace.spans`` in the REST API (OTel proto JSON: base64 ids, AnyValue attributes)."""
        status = data.get("status") or {}
        code = str(status.get("code") or "STATUS_CODE_UNSET").removeprefix("STATUS_CODE_")
        end = data.get("end_time_unix_nano")
        return cls(
            trace_id=_hex_id(data.get("trace_id"), 16) or "",
            span_id=_hex_id(data.get("span_id"), 8) or "",
            parent_id=_hex_id(data.get("parent_span_id"), 8),
            name=data.get("name", ""),
            kind=data.get("kind") or "SPAN_KIND_INTERNAL",
            start_time_ns=int(data.get("start_time_unix_nano") or 0),
            end_time_ns=int(end) if end is not None else None,
            status=SpanStatus(code, status.get("message") or ""),
            attributes={
                kv["key"]: encode_attribute(kv["key"], any_value(kv.get("value")))
                for kv in data.get("attributes") or []
            },
            events=[
                SpanEvent(
                    e.get("name", ""),
                    int(e.get("time_unix_nano") or 0),
                    {kv["key"]: any_value(kv.get("value")) for kv in e.get("attributes") or []},
                )
                for e in data.get("events") or []
            ],
            links=[dict(link) for link in data.get("links") or []],
        )
