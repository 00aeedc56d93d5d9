"""MLflow's fluent assessment API: ``log_feedback``, ``log_expectation``, ``get/update/delete_assessment``,
``override_feedback`` and ``log_assessment``, with MLflow's signatures, defaults and messages.

Each call is one REST request to the collector (``client.assessments``), which checks the trace
and span and stores the assessment atomically; the returned object is the stored one (with its
``assessment_id``). Defaults follow MLflow: a feedback's source is ``CODE``, an expectation's
``HUMAN`` (both with source id ``"default"``), ``override_feedback`` also defaults to ``CODE``.

One MLflow behaviour is refused rather than imitated: logging onto a trace that is still running
in this process. MLflow keeps it in memory and sends it with the trace; annotrace stores a trace
only once its spans are exported, so it raises ``INVALID_STATE`` with what to do instead of
letting the collector answer "trace not found".
"""

from __future__ import annotations

from typing import Any

from annotrace.client import assessments as client
from annotrace.entities.assessment import (
    DEFAULT_FEEDBACK_NAME,
    Assessment,
    AssessmentError,
    Expectation,
    Feedback,
    FeedbackValueType,
)
from annotrace.entities.assessment_source import AssessmentSource
from annotrace.exceptions import AnnotraceException, ErrorCode

__all__ = [
    "delete_assessment",
    "get_assessment",
    "log_assessment",
    "log_expectation",
    "log_feedback",
    "override_feedback",
    "update_assessment",
]

NO_OP_SPAN_TRACE_ID = "MLFLOW_NO_OP_SPAN_TRACE_ID"


def _hex(trace_id: str) -> str:
    return str(trace_id).removeprefix("tr-").lower()


def _refuse_running_trace(trace_id: str) -> None:
    from annotrace.tracing.fluent import get_current_active_span

    span = get_current_active_span()
    if span is not None and _hex(span.trace_id) == _hex(trace_id):
        raise AnnotraceException(
            f"Trace {trace_id} is still running: annotrace stores a trace once its root span has ended. "
            "Log the assessment after the traced call returns (e.g. with annotrace.get_last_active_trace_id()).",
            error_code=ErrorCode.INVALID_STATE,
        )


def log_assessment(trace_id: str, assessment: Assessment) -> Assessment:
    """Attach ``assessment`` (a ``Feedback`` or ``Expectation``) to a trace; the stored copy."""
    assessment.trace_id = trace_id
    if trace_id is None or trace_id == NO_OP_SPAN_TRACE_ID:
        return assessment  # tracing was disabled: nothing to attach to (MLflow does the same)
    _refuse_running_trace(trace_id)
    return client.create_assessment(assessment)


def log_feedback(
    *,
    trace_id: str,
    name: str = DEFAULT_FEEDBACK_NAME,
    value: FeedbackValueType | None = None,
    source: AssessmentSource | None = None,
    error: Exception | AssessmentError | None = None,
    rationale: str | None = None,
    metadata: dict[str, Any] | None = None,
    span_id: str | None = None,
) -> Assessment:
    """Log a judgement of a trace (or of one span): a value, or the error that prevented one."""
    feedback = Feedback(
        name=name, source=source, value=value, error=error, rationale=rationale, metadata=metadata, span_id=span_id
    )
    return log_assessment(trace_id, feedback)


def log_expectation(
    *,
    trace_id: str,
    name: str,
    value: Any,
    source: AssessmentSource | None = None,
    metadata: dict[str, Any] | None = None,
    span_id: str | None = None,
) -> Assessment:
    """Log the ground truth for a trace (or span): any JSON-serialisable value."""
    expectation = Expectation(name=name, source=source, value=value, metadata=metadata, span_id=span_id)
    return log_assessment(trace_id, expectation)


def get_assessment(trace_id: str, assessment_id: str) -> Assessment:
    """The assessment as stored now (``valid`` is ``False`` once overridden)."""
    return client.get_assessment(trace_id, assessment_id)


def update_assessment(trace_id: str, assessment_id: str, assessment: Assessment) -> Assessment:
    """Change an assessment in place: its name, value, rationale and metadata (merged) as given.

    Source, span, creation time and kind never change; switching a feedback to an expectation (or
    back) is refused by the server with MLflow's message.
    """
    return client.update_assessment(
        trace_id,
        assessment_id,
        name=assessment.name,
        expectation=assessment.expectation,
        feedback=assessment.feedback,
        rationale=assessment.rationale,
        metadata=assessment.metadata,
    )


def delete_assessment(trace_id: str, assessment_id: str) -> None:
    """Delete an assessment; if it overrode another, that one becomes valid again."""
    client.delete_assessment(trace_id, assessment_id)


def override_feedback(
    *,
    trace_id: str,
    assessment_id: str,
    value: FeedbackValueType,
    rationale: str | None = None,
    source: AssessmentSource | None = None,
    metadata: dict[str, Any] | None = None,
) -> Assessment:
    """Replace a feedback by a new one (same name and span) and keep the old one, marked invalid.

    For correcting a judge while keeping its original answer (e.g. to tune the judge later); use
    ``update_assessment`` to change an assessment in place instead.
    """
    old = get_assessment(trace_id, assessment_id)
    if not isinstance(old, Feedback):
        raise AnnotraceException.invalid_parameter_value(
            f"The assessment with ID {assessment_id} is not a feedback assessment."
        )
    new = Feedback(
        name=old.name,
        span_id=old.span_id,
        value=value,
        rationale=rationale,
        source=source,
        metadata=metadata,
        overrides=old.assessment_id,
    )
    return log_assessment(trace_id, new)
