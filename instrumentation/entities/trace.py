"""``Trace`` = ``TraceInfo`` + ``TraceData`` (its spans), with MLflow's dict, JSON and DataFrame row.

``search_traces`` builds its DataFrame from ``to_pandas_dataframe_row()``, so the row's keys are
MLflow's v3 columns in MLflow's order (``TRACE_SCHEMA_COLUMNS``), and the ``trace`` column holds
``to_json()`` text because that is what downstream MLflow code (labeling sessions, datasets,
``evaluate``) parses back. Stdlib only; pandas is the caller's business.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from annotrace.entities.assessment import Assessment, Expectation, Feedback
from annotrace.entities.span import INPUTS_KEY, OUTPUTS_KEY, Span
from annotrace.entities.trace_info import TraceInfo
from annotrace.exceptions import AnnotraceException

__all__ = ["TRACE_SCHEMA_COLUMNS", "Trace", "TraceData"]

TRACE_SCHEMA_COLUMNS = [
    "trace_id",
    "trace",
    "client_request_id",
    "state",
    "request_time",
    "execution_duration",
    "request",
    "response",
    "trace_metadata",
    "tags",
    "spans",
    "assessments",
]
_ASSESSMENT_TYPES = {"feedback": Feedback, "expectation": Expectation}


def _json_default(value: Any) -> Any:
    to_dict = getattr(value, "to_dict", None)
    return to_dict() if callable(to_dict) else str(value)


def _loads_or_raw(text: str | None) -> Any:
    if text is None:
        return None
    try:
        return json.loads(text)
    except (TypeError, ValueError):
        return text


@dataclass
class TraceData:
    """The spans of a trace; ``request``/``response`` are the root span's raw input/output JSON."""

    spans: list[Span] = field(default_factory=list)

    def _root(self) -> Span | None:
        return next((span for span in self.spans if span.parent_id is None), None)

    @property
    def request(self) -> str | None:
        root = self._root()
        return root._raw_attribute(INPUTS_KEY) if root else None

    @property
    def response(self) -> str | None:
        root = self._root()
        return root._raw_attribute(OUTPUTS_KEY) if root else None

    def to_dict(self) -> dict[str, Any]:
        return {"spans": [span.to_dict() for span in self.spans]}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> TraceData:
        return cls(spans=[Span.from_dict(span) for span in d.get("spans") or []])


@dataclass
class Trace:
    """One trace: ``trace.info`` (metadata, assessments) and ``trace.data.spans``."""

    info: TraceInfo
    data: TraceData

    def to_dict(self) -> dict[str, Any]:
        return {"info": self.info.to_dict(), "data": self.data.to_dict()}

    def to_json(self, pretty: bool = False) -> str:
        return json.dumps(self.to_dict(), indent=2 if pretty else None, default=_json_default, ensure_ascii=False)

    @classmethod
    def from_dict(cls, trace_dict: dict[str, Any]) -> Trace:
        info, data = trace_dict.get("info"), trace_dict.get("data")
        if info is None or data is None:
            raise AnnotraceException.invalid_parameter_value(
                "Unable to parse Trace from dict: both 'info' and 'data' must be present."
            )
        return cls(info=TraceInfo.from_dict(info), data=TraceData.from_dict(data))

    @classmethod
    def from_json(cls, trace_json: str) -> Trace:
        return cls.from_dict(json.loads(trace_json))

    @classmethod
    def from_rest(cls, trace: dict[str, Any]) -> Trace:
        """The REST ``Trace`` message: ``{"trace_info": ..., "spans": [OTel proto JSON]}``."""
        return cls(
            info=TraceInfo.from_dict(trace["trace_info"]),
            data=TraceData(spans=[Span.from_otel_json(span) for span in trace.get("spans") or []]),
        )

    def to_pandas_dataframe_row(self) -> dict[str, Any]:
        """One ``search_traces`` row, keyed (and ordered) by ``TRACE_SCHEMA_COLUMNS``."""
        return {
            "trace_id": self.info.trace_id,
            "trace": self.to_json(),
            "client_request_id": self.info.client_request_id,
            "state": self.info.state,
            "request_time": self.info.request_time,
            "execution_duration": self.info.execution_duration,
            "request": _loads_or_raw(self.data.request),
            "response": _loads_or_raw(self.data.response),
            "trace_metadata": self.info.trace_metadata,
            "tags": self.info.tags,
            "spans": [span.to_dict() for span in self.data.spans],
            "assessments": [assessment.to_dictionary() for assessment in self.info.assessments],
        }

    def search_spans(
        self, span_type: str | None = None, name: str | None = None, span_id: str | None = None
    ) -> list[Span]:
        """Spans matching every criterion given (type, exact name, id)."""
        return [
            span
            for span in self.data.spans
            if (span_type is None or span.span_type == span_type)
            and (name is None or span.name == name)
            and (span_id is None or span.span_id == span_id)
        ]

    def search_assessments(
        self, name: str | None = None, *, span_id: str | None = None, all: bool = False, type: str | None = None
    ) -> list[Assessment]:
        """Assessments by name, span and type; only valid ones unless ``all=True`` (as MLflow)."""
        if type is not None and type not in _ASSESSMENT_TYPES:
            raise AnnotraceException.invalid_parameter_value(
                f"Invalid type: {type}. Must be one of {list(_ASSESSMENT_TYPES)}."
            )
        return [
            a
            for a in self.info.assessments
            if (name is None or a.name == name)
            and (span_id is None or a.span_id == span_id)
            and (all or a.valid in (True, None))
            and (type is None or isinstance(a, _ASSESSMENT_TYPES[type]))
        ]
