"""Client scripts: assessments (log_feedback / log_expectation, update_assessment, override_feedback,
get_assessment, delete_assessment) and their errors.

Run by tests/differential/client_runner.py under each client version: mlflow and the standard
library only.
"""

from __future__ import annotations

from typing import Any

import mlflow
from mlflow.entities import AssessmentSource, Expectation, Feedback


def _assessment(a: Any) -> dict[str, Any]:
    d = a.to_dictionary()
    d.pop("create_time", None)
    d.pop("last_update_time", None)
    d["updated_after_created"] = a.last_update_time_ms >= a.create_time_ms if a.last_update_time_ms else None
    return d


def update_and_override(client: Any) -> dict[str, Any]:
    """update_assessment sends update_mask in camelCase; override_feedback invalidates the original."""
    mlflow.set_experiment(f"diff-assess-{client.unique}")

    @mlflow.trace
    def answer(question: str) -> str:
        return question[::-1]

    answer("abc")
    trace_id = mlflow.get_last_active_trace_id()
    mlflow.flush_trace_async_logging()  # the stock client logs traces in the background
    human = AssessmentSource(source_type="HUMAN", source_id="ann@example.com")
    feedback = mlflow.log_feedback(
        trace_id=trace_id, name="quality", value=3, rationale="ok", source=human, metadata={"round": "1"}
    )
    expectation = mlflow.log_expectation(trace_id=trace_id, name="expected_answer", value={"text": "cba"}, source=human)
    out: dict[str, Any] = {
        "trace_id": trace_id,
        "logged": _assessment(feedback),
        "expectation": _assessment(expectation),
    }
    out["updated"] = _assessment(
        mlflow.update_assessment(
            trace_id=trace_id,
            assessment_id=feedback.assessment_id,
            assessment=Feedback(name="quality_v2", value=5, rationale="better"),
        )
    )
    out["updated_read"] = _assessment(mlflow.get_assessment(trace_id, feedback.assessment_id))
    out["expectation_updated"] = _assessment(
        mlflow.update_assessment(
            trace_id=trace_id,
            assessment_id=expectation.assessment_id,
            assessment=Expectation(name="expected_answer", value={"text": "CBA"}),
        )
    )
    override = mlflow.override_feedback(
        trace_id=trace_id, assessment_id=feedback.assessment_id, value=1, rationale="wrong after all", source=human
    )
    out["override"] = _assessment(override)
    out["original_after_override"] = _assessment(mlflow.get_assessment(trace_id, feedback.assessment_id))
    trace = mlflow.get_trace(trace_id)
    out["on_trace"] = sorted((a.name, a.valid) for a in trace.info.assessments)
    mlflow.delete_assessment(trace_id, override.assessment_id)
    out["original_after_delete"] = _assessment(mlflow.get_assessment(trace_id, feedback.assessment_id))
    out["errors"] = {
        "get_missing": client.error(mlflow.get_assessment, trace_id, "a-" + "0" * 32),
        "update_missing": client.error(
            mlflow.update_assessment,
            trace_id=trace_id,
            assessment_id="a-" + "0" * 32,
            assessment=Feedback(name="x", value=1),
        ),
        "kind_change": client.error(
            mlflow.update_assessment,
            trace_id=trace_id,
            assessment_id=feedback.assessment_id,
            assessment=Expectation(name="quality_v2", value=1),
        ),
        "unknown_trace": client.error(mlflow.log_feedback, trace_id="tr-" + "0" * 32, name="q", value=1),
    }
    mlflow.delete_assessment(trace_id, "a-" + "0" * 32)  # idempotent, as on the stock server
    return out
