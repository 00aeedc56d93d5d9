"""Assessments: ``Feedback`` (a judgement of an output) and ``Expectation`` (the ground truth).

The classes mirror ``mlflow.entities.assessment`` (constructor signatures, defaults, validation
messages), so code written for MLflow runs unchanged. ``to_dictionary()`` produces exactly the JSON
of MLflow's ``Assessment`` message (``MessageToDict`` with proto field names): the body of a
``CreateAssessment`` request, an element of ``trace_info.assessments`` and of the ``assessments``
column of ``search_traces``. ``from_dictionary()`` reads it back.

Wire rules kept from MLflow, and why:

- feedback values travel as ``google.protobuf.Value``, so numbers come back as floats;
- an expectation that is not a scalar travels as ``serialized_value`` (``JSON_FORMAT`` text),
  because Databricks rejects structured ``Value``\\ s;
- the deprecated top-level ``error`` is copied into ``feedback.error``, which is what is sent.

One deliberate difference: ``Expectation.from_dictionary`` keeps ``rationale``, ``overrides`` and
``valid`` when the server sends them (MLflow drops them), so a REST object survives a round trip.
``AssessmentSource``, ``AssessmentSourceType`` and ``AssessmentError`` are re-exported here
because MLflow code imports them from this module.
"""

from __future__ import annotations

import json
import time
import traceback
from dataclasses import dataclass
from typing import Any

from annotrace.entities._proto_json import proto_value, timestamp_from_json, timestamp_to_json
from annotrace.entities.assessment_error import AssessmentError
from annotrace.entities.assessment_source import AssessmentSource, AssessmentSourceType
from annotrace.exceptions import AnnotraceException

__all__ = [
    "DEFAULT_FEEDBACK_NAME",
    "Assessment",
    "AssessmentError",
    "AssessmentSource",
    "AssessmentSourceType",
    "Expectation",
    "ExpectationValue",
    "Feedback",
    "FeedbackValue",
    "FeedbackValueType",
]

PbValueType = float | int | str | bool
FeedbackValueType = PbValueType | dict[str, Any] | list[Any]
DEFAULT_FEEDBACK_NAME = "feedback"
SOURCE_RUN_ID_KEY = "mlflow.assessment.sourceRunId"
_JSON_SERIALIZATION_FORMAT = "JSON_FORMAT"


def _invalid(message: str) -> AnnotraceException:
    return AnnotraceException.invalid_parameter_value(message)


@dataclass
class ExpectationValue:
    """The ``expectation`` part of an assessment: a scalar ``value`` or JSON ``serialized_value``."""

    value: Any

    def _need_serialization(self) -> bool:
        return self.value is not None and not isinstance(self.value, (int, float, bool, str))

    def to_dictionary(self) -> dict[str, Any]:
        if not self._need_serialization():
            return {"value": proto_value(self.value)}
        try:
            serialized = json.dumps(self.value)
        except Exception as error:  # MLflow turns any failure into this message
            raise _invalid(
                f"Failed to serialize value {self.value} to JSON string. Expectation value must be JSON-serializable."
            ) from error
        return {"serialized_value": {"serialization_format": _JSON_SERIALIZATION_FORMAT, "value": serialized}}

    @classmethod
    def from_dictionary(cls, d: dict[str, Any]) -> ExpectationValue:
        if "value" in d:
            return cls(d["value"])
        if "serialized_value" in d:
            serialized = d["serialized_value"] or {}
            fmt = serialized.get("serialization_format")
            if fmt != _JSON_SERIALIZATION_FORMAT:
                raise _invalid(f"Unknown serialization format: {fmt}. Only JSON_FORMAT is supported.")
            return cls(value=json.loads(serialized["value"]))
        raise _invalid(
            "Either 'value' or 'serialized_value' must be present in the dictionary representation of an Expectation."
        )


@dataclass
class FeedbackValue:
    """The ``feedback`` part of an assessment: a value, or the error that prevented one."""

    value: Any
    error: AssessmentError | None = None

    def to_dictionary(self) -> dict[str, Any]:
        try:
            json.dumps(self.value, allow_nan=False)
        except (TypeError, ValueError) as error:
            raise _invalid(
                f"Failed to serialize feedback value {self.value!r} to JSON. Feedback value must be a float, "
                "int, str, bool, or a list or dict of those."
            ) from error
        out: dict[str, Any] = {"value": proto_value(self.value)}
        if self.error is not None:
            out["error"] = self.error._to_json()
        return out

    @classmethod
    def from_dictionary(cls, d: dict[str, Any]) -> FeedbackValue:
        error = d.get("error")
        return cls(value=d.get("value"), error=AssessmentError.from_dictionary(error) if error else None)


@dataclass
class Assessment:
    """Base class of ``Feedback`` and ``Expectation``; build those, not this."""

    name: str
    source: AssessmentSource
    trace_id: str | None = None
    run_id: str | None = None
    rationale: str | None = None
    metadata: dict[str, str] | None = None
    span_id: str | None = None
    create_time_ms: int | None = None
    last_update_time_ms: int | None = None
    assessment_id: str | None = None
    error: AssessmentError | None = None  # deprecated: use Feedback(error=...)
    expectation: ExpectationValue | None = None
    feedback: FeedbackValue | None = None
    overrides: str | None = None
    valid: bool | None = None

    def __post_init__(self) -> None:
        if (self.expectation is not None) + (self.feedback is not None) != 1:
            raise _invalid("Exactly one of `expectation`, `feedback`, or `issue` should be specified.")
        if self.error is not None:
            if self.expectation is not None:
                raise _invalid("Cannot set `error` when `expectation` is specified.")
            assert self.feedback is not None
            self.feedback.error = self.error
        now = int(time.time() * 1000)
        if self.create_time_ms is None:
            self.create_time_ms = now
        if self.last_update_time_ms is None:
            self.last_update_time_ms = now
        if not isinstance(self.source, AssessmentSource):
            raise _invalid(f"`source` must be an instance of `AssessmentSource`. Got {type(self.source)} instead.")
        if self.run_id is None and self.metadata and SOURCE_RUN_ID_KEY in self.metadata:
            self.run_id = self.metadata[SOURCE_RUN_ID_KEY]

    def to_dictionary(self) -> dict[str, Any]:
        """MLflow's ``Assessment`` JSON; unset fields are left out, as ``MessageToDict`` does."""
        out: dict[str, Any] = {}
        if self.assessment_id is not None:
            out["assessment_id"] = self.assessment_id
        out["assessment_name"] = self.name
        out["trace_id"] = self.trace_id or ""
        if self.span_id is not None:
            out["span_id"] = self.span_id
        out["source"] = self.source._to_json()
        out["create_time"] = timestamp_to_json(self.create_time_ms or 0)
        out["last_update_time"] = timestamp_to_json(self.last_update_time_ms or 0)
        if self.feedback is not None:
            out["feedback"] = self.feedback.to_dictionary()
        elif self.expectation is not None:
            out["expectation"] = self.expectation.to_dictionary()
        if self.rationale is not None:
            out["rationale"] = self.rationale
        if self.metadata:
            out["metadata"] = {str(key): str(value) for key, value in self.metadata.items()}
        if self.overrides:
            out["overrides"] = self.overrides
        if self.valid is not None:
            out["valid"] = self.valid
        return out

    @classmethod
    def from_dictionary(cls, d: dict[str, Any]) -> Assessment:
        """A ``Feedback`` or ``Expectation`` from its JSON, by which value key is set."""
        if d.get("expectation"):
            return Expectation.from_dictionary(d)
        if d.get("feedback"):
            return Feedback.from_dictionary(d)
        raise _invalid(f"Unknown assessment type: {d.get('assessment_name')}")


def _times(d: dict[str, Any]) -> tuple[int | None, int | None]:
    created, updated = d.get("create_time"), d.get("last_update_time")
    return (
        timestamp_from_json(created) if created else None,
        timestamp_from_json(updated) if updated else None,
    )


def _stack_trace(error: BaseException) -> str:
    return "".join(traceback.format_exception(type(error), error, error.__traceback__))


@dataclass
class Feedback(Assessment):
    """A judgement of an output: ``Feedback(name="feedback", value=None, error=None, source=None, ...)``.

    ``source`` defaults to ``CODE`` (source id ``"default"``). ``error`` may be an
    ``AssessmentError``, an exception (its class name becomes the code) or a message string.
    """

    def __init__(
        self,
        name: str = DEFAULT_FEEDBACK_NAME,
        value: FeedbackValueType | None = None,
        error: Exception | AssessmentError | str | None = None,
        source: AssessmentSource | None = None,
        trace_id: str | None = None,
        metadata: dict[str, Any] | None = None,
        span_id: str | None = None,
        create_time_ms: int | None = None,
        last_update_time_ms: int | None = None,
        rationale: str | None = None,
        overrides: str | None = None,
        valid: bool = True,
    ) -> None:
        if source is None:
            source = AssessmentSource(source_type=AssessmentSourceType.CODE)
        if isinstance(error, BaseException):
            error = AssessmentError(
                error_message=str(error), error_code=error.__class__.__name__, stack_trace=_stack_trace(error)
            )
        elif isinstance(error, str):
            error = AssessmentError(error_message=error, error_code="ASSESSMENT_ERROR")
        elif error is not None and not isinstance(error, AssessmentError):
            raise _invalid(f"'error' must be an Exception, AssessmentError, or string. Got: {type(error)}")
        super().__init__(
            name=name,
            source=source,
            trace_id=trace_id,
            metadata=metadata,
            span_id=span_id,
            create_time_ms=create_time_ms,
            last_update_time_ms=last_update_time_ms,
            feedback=FeedbackValue(value=value, error=error),
            rationale=rationale,
            overrides=overrides,
            valid=valid,
        )
        self.error = error

    @property
    def value(self) -> Any:
        assert self.feedback is not None
        return self.feedback.value

    @value.setter
    def value(self, value: Any) -> None:
        assert self.feedback is not None
        self.feedback.value = value

    @property
    def error_code(self) -> str | None:
        """The code of the error that prevented a value, if any."""
        return self.feedback.error.error_code if self.feedback and self.feedback.error else None

    @property
    def error_message(self) -> str | None:
        """The message of the error that prevented a value, if any."""
        return self.feedback.error.error_message if self.feedback and self.feedback.error else None

    @classmethod
    def from_dictionary(cls, d: dict[str, Any]) -> Feedback:
        feedback_dict = d.get("feedback")
        if not feedback_dict:
            raise _invalid("`feedback` must exist in the dictionary.")
        value = FeedbackValue.from_dictionary(feedback_dict)
        created, updated = _times(d)
        feedback = cls(
            trace_id=d.get("trace_id"),
            name=d["assessment_name"],
            source=AssessmentSource.from_dictionary(d["source"]),
            create_time_ms=created,
            last_update_time_ms=updated,
            value=value.value,
            error=value.error,
            rationale=d.get("rationale"),
            metadata=d.get("metadata"),
            span_id=d.get("span_id"),
            overrides=d.get("overrides"),
            valid=d.get("valid", True),
        )
        feedback.assessment_id = d.get("assessment_id") or None
        return feedback


@dataclass
class Expectation(Assessment):
    """The ground truth: ``Expectation(name, value, source=None, ...)``; ``source`` defaults to HUMAN."""

    def __init__(
        self,
        name: str,
        value: Any,
        source: AssessmentSource | None = None,
        trace_id: str | None = None,
        metadata: dict[str, Any] | None = None,
        span_id: str | None = None,
        create_time_ms: int | None = None,
        last_update_time_ms: int | None = None,
    ) -> None:
        if source is None:
            source = AssessmentSource(source_type=AssessmentSourceType.HUMAN)
        if value is None:
            raise _invalid("The `value` field must be specified.")
        super().__init__(
            name=name,
            source=source,
            trace_id=trace_id,
            metadata=metadata,
            span_id=span_id,
            create_time_ms=create_time_ms,
            last_update_time_ms=last_update_time_ms,
            expectation=ExpectationValue(value=value),
        )

    @property
    def value(self) -> Any:
        assert self.expectation is not None
        return self.expectation.value

    @value.setter
    def value(self, value: Any) -> None:
        assert self.expectation is not None
        self.expectation.value = value

    @classmethod
    def from_dictionary(cls, d: dict[str, Any]) -> Expectation:
        expectation_dict = d.get("expectation")
        if not expectation_dict:
            raise _invalid("`expectation` must exist in the dictionary.")
        value = ExpectationValue.from_dictionary(expectation_dict)
        created, updated = _times(d)
        expectation = cls(
            trace_id=d.get("trace_id"),
            name=d["assessment_name"],
            source=AssessmentSource.from_dictionary(d["source"]),
            create_time_ms=created,
            last_update_time_ms=updated,
            value=value.value,
            metadata=d.get("metadata"),
            span_id=d.get("span_id"),
        )
        expectation.assessment_id = d.get("assessment_id") or None
        # Kept (MLflow drops them) so the server's JSON survives a round trip.
        expectation.rationale = d.get("rationale")
        expectation.overrides = d.get("overrides")
        expectation.valid = d.get("valid")
        return expectation
