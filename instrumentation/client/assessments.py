"""MLflow's assessment RPCs (reference 5) as functions over ``rest.call``: create, get, update, delete.

Bodies and paths are exactly what MLflow's ``RestStore`` sends to ``/api/3.0/mlflow``, so the same
calls work against an MLflow server; answers are turned back into ``Feedback``/``Expectation``.
"""

from __future__ import annotations

from typing import Any

from annotrace.client import rest
from annotrace.entities.assessment import Assessment, ExpectationValue, FeedbackValue
from annotrace.exceptions import AnnotraceException

__all__ = ["create_assessment", "delete_assessment", "get_assessment", "update_assessment"]

_BASE = "/api/3.0/mlflow/traces"


def _path(trace_id: str, assessment_id: str | None = None) -> str:
    path = f"{_BASE}/{rest.quote(trace_id)}/assessments"
    return f"{path}/{rest.quote(assessment_id)}" if assessment_id is not None else path


def _assessment(answer: dict[str, Any]) -> Assessment:
    return Assessment.from_dictionary(answer["assessment"])


def create_assessment(assessment: Assessment) -> Assessment:
    """``POST /traces/{trace_id}/assessments``; the stored assessment (with its new id)."""
    if not assessment.trace_id:
        raise AnnotraceException.invalid_parameter_value("The assessment has no `trace_id` to log it to.")
    body = {"assessment": assessment.to_dictionary()}
    return _assessment(rest.call("POST", _path(assessment.trace_id), json=body))


def get_assessment(trace_id: str, assessment_id: str) -> Assessment:
    """``GET /traces/{trace_id}/assessments/{assessment_id}``."""
    return _assessment(rest.call("GET", _path(trace_id, assessment_id)))


def update_assessment(
    trace_id: str,
    assessment_id: str,
    *,
    name: str | None = None,
    expectation: ExpectationValue | None = None,
    feedback: FeedbackValue | None = None,
    rationale: str | None = None,
    metadata: dict[str, Any] | None = None,
) -> Assessment:
    """``PATCH`` with an ``update_mask`` naming exactly the fields given (MLflow's rule)."""
    if expectation is not None and feedback is not None:
        raise AnnotraceException.invalid_parameter_value(
            "Exactly one of `expectation` or `feedback` should be specified."
        )
    update: dict[str, Any] = {"assessment_id": assessment_id, "trace_id": trace_id}
    paths: list[str] = []
    if name is not None:
        update["assessment_name"] = name
        paths.append("assessment_name")
    if expectation is not None:
        update["expectation"] = expectation.to_dictionary()
        paths.append("expectation")
    if feedback is not None:
        update["feedback"] = feedback.to_dictionary()
        paths.append("feedback")
    if rationale is not None:
        update["rationale"] = rationale
        paths.append("rationale")
    if metadata is not None:
        update["metadata"] = {str(key): str(value) for key, value in metadata.items()}
        paths.append("metadata")
    body = {"assessment": update, "update_mask": ",".join(paths)}
    return _assessment(rest.call("PATCH", _path(trace_id, assessment_id), json=body))


def delete_assessment(trace_id: str, assessment_id: str) -> None:
    """``DELETE`` (idempotent on the server: an assessment already gone is not an error)."""
    rest.call("DELETE", _path(trace_id, assessment_id), json={"trace_id": trace_id, "assessment_id": assessment_id})
