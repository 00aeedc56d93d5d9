"""Seed 001 ("add feedback and expectations to traces") with ``mlflow`` replaced by ``annotrace``,
after logging: ``get_assessment``, ``update_assessment`` and the ``override_feedback`` /
``delete_assessment`` life cycle, checked as ``test_seed_001.py`` checks (the returned object,
``search_traces`` and ``annotrace.sql``), each test in its own experiment (the ``app`` fixture).
"""

from __future__ import annotations

import json
import re

import pytest

import annotrace as mlflow
from annotrace.entities import Expectation, Feedback
from annotrace.entities.assessment import AssessmentSource, AssessmentSourceType
from tests.collector_process import Collector
from tests.e2e.seed_001 import rest_assessments, sql_assessments
from tests.instrumentation.collector_sdk import app, run_app

__all__ = ["app"]  # the fixture, imported for pytest


def test_get_and_update_assessment(app: Collector) -> None:
    trace_id = run_app(app)
    rating = mlflow.log_feedback(
        trace_id=trace_id,
        name="human_rating",
        value=4,
        rationale="Human evaluator rating",
        source=AssessmentSource(source_type=AssessmentSourceType.HUMAN, source_id="evaluator@company.com"),
    )
    assert rating.assessment_id is not None
    fetched = mlflow.get_assessment(trace_id, rating.assessment_id)
    assert fetched == rating

    updated = mlflow.update_assessment(
        trace_id=trace_id,
        assessment_id=rating.assessment_id,
        assessment=Feedback(
            name="human_rating", value=5, rationale="Re-rated after a second look", metadata={"reviewed": "yes"}
        ),
    )
    assert isinstance(updated, Feedback)
    assert (updated.assessment_id, updated.value, updated.rationale) == (
        rating.assessment_id,
        5,
        "Re-rated after a second look",
    )
    assert updated.metadata == {"reviewed": "yes"}
    # Source, creation time and validity are immutable; the update time moves.
    assert updated.source == AssessmentSource("HUMAN", "evaluator@company.com")
    assert updated.create_time_ms == rating.create_time_ms
    assert (updated.last_update_time_ms or 0) >= (rating.last_update_time_ms or 0)
    assert mlflow.get_assessment(trace_id, rating.assessment_id) == updated

    expected = mlflow.log_expectation(
        trace_id=trace_id, name="expected_response", value="The capital of France is Paris."
    )
    assert expected.assessment_id is not None
    changed = mlflow.update_assessment(
        trace_id, expected.assessment_id, Expectation(name="expected_response", value={"capital": "Paris"})
    )
    assert changed.value == {"capital": "Paris"}

    with pytest.raises(
        mlflow.MlflowException, match=re.escape("Cannot update expectation value on a Feedback assessment.")
    ) as caught:
        mlflow.update_assessment(trace_id, rating.assessment_id, Expectation(name="human_rating", value=1))
    assert caught.value.error_code == "INVALID_PARAMETER_VALUE"

    by_name = rest_assessments(trace_id)
    assert by_name["human_rating"][0]["feedback"] == {"value": 5}
    assert by_name["human_rating"][0]["rationale"] == "Re-rated after a second look"
    assert json.loads(by_name["expected_response"][0]["expectation"]["serialized_value"]["value"]) == {
        "capital": "Paris"
    }
    rows = sql_assessments(trace_id)
    row = rows[rating.assessment_id]
    assert (json.loads(row["value"]), row["rationale"]) == (5, "Re-rated after a second look")
    assert row["last_update_time"] >= row["create_time"]
    assert json.loads(rows[expected.assessment_id]["value"]) == {"capital": "Paris"}


def test_override_and_delete_lifecycle(app: Collector) -> None:
    trace_id = run_app(app)
    judge = mlflow.log_feedback(
        trace_id=trace_id,
        name="llm_judge_score",
        value=0.85,
        rationale="LLM judge evaluation",
        source=AssessmentSource(source_type=AssessmentSourceType.LLM_JUDGE, source_id="gpt-4o-mini"),
        metadata={"temperature": "0.1", "model_version": "2024-01"},
    )
    assert judge.assessment_id is not None
    human = mlflow.override_feedback(
        trace_id=trace_id,
        assessment_id=judge.assessment_id,
        value=0.5,
        rationale="The judge missed an error",
        source=AssessmentSource(source_type=AssessmentSourceType.HUMAN, source_id="expert@company.com"),
    )
    assert human.assessment_id is not None and human.assessment_id != judge.assessment_id
    assert (human.name, human.overrides, human.valid, human.value) == (
        "llm_judge_score",
        judge.assessment_id,
        True,
        0.5,
    )
    assert mlflow.get_assessment(trace_id, judge.assessment_id).valid is False

    # Both are listed (MLflow returns invalid assessments too); only the override counts.
    by_name = rest_assessments(trace_id)
    assert [(a["assessment_id"], a["valid"], a.get("overrides")) for a in by_name["llm_judge_score"]] == [
        (judge.assessment_id, False, None),
        (human.assessment_id, True, judge.assessment_id),
    ]
    [trace] = mlflow.search_traces(return_type="list")
    assert [a.assessment_id for a in trace.search_assessments("llm_judge_score")] == [human.assessment_id]
    assert len(trace.search_assessments("llm_judge_score", all=True)) == 2
    assert len(mlflow.search_traces(filter_string="feedback.llm_judge_score < 0.6")) == 1
    assert len(mlflow.search_traces(filter_string="feedback.llm_judge_score > 0.8")) == 0
    rows = sql_assessments(trace_id)
    assert (rows[judge.assessment_id]["valid"], rows[human.assessment_id]["valid"]) == (False, True)
    assert rows[human.assessment_id]["overrides"] == judge.assessment_id

    # Deleting the override brings the judge's feedback back.
    assert mlflow.delete_assessment(trace_id, human.assessment_id) is None
    with pytest.raises(mlflow.MlflowException) as caught:
        mlflow.get_assessment(trace_id, human.assessment_id)
    assert caught.value.error_code == "RESOURCE_DOES_NOT_EXIST"
    assert mlflow.get_assessment(trace_id, judge.assessment_id).valid is True
    mlflow.delete_assessment(trace_id, human.assessment_id)  # idempotent, as in MLflow
    assert [a["valid"] for a in rest_assessments(trace_id)["llm_judge_score"]] == [True]
    assert list(sql_assessments(trace_id)) == [judge.assessment_id]
    assert len(mlflow.search_traces(filter_string="feedback.llm_judge_score > 0.8")) == 1
