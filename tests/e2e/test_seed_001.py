"""Seed 001 ("add feedback and expectations to traces") with ``mlflow`` replaced by ``annotrace``.

Every SDK example of the seed runs against a real collector: the six ``log_feedback`` calls and
the three ``log_expectation`` calls with the seed's values verbatim, then ``get_assessment``,
``update_assessment`` and the ``override_feedback`` / ``delete_assessment`` life cycle. Each
result is checked three ways: the returned object, the ``assessments`` column of
``search_traces`` (MLflow's ``Assessment.to_dictionary()`` JSON) and the ``assessments`` table
through ``annotrace.sql`` (get, update, override and delete: ``test_seed_001_lifecycle.py``).
Each test uses its own experiment (the ``app`` fixture), so
``search_traces()`` with no arguments sees only that test's traces.
"""

from __future__ import annotations

import json
import re
from typing import Any

import annotrace as mlflow
from annotrace.entities import Expectation, Feedback, Trace
from annotrace.entities.assessment import AssessmentError, AssessmentSource, AssessmentSourceType
from tests.collector_process import Collector
from tests.e2e.seed_001 import rest_assessments, sql_assessments
from tests.instrumentation.collector_sdk import app, run_app

__all__ = ["app"]  # the fixture, imported for pytest

ASSESSMENT_ID = re.compile(r"^a-[0-9a-f]{32}$")
# name -> (value, rationale, (source_type, source_id), metadata, error) of the seed's six feedbacks
SEED_FEEDBACK: dict[str, tuple[Any, str | None, tuple[str, str], dict[str, str] | None, tuple[str, str] | None]] = {
    "human_rating": (4, "Human evaluator rating", ("HUMAN", "evaluator@company.com"), None, None),
    "llm_judge_score": (
        0.85,
        "LLM judge evaluation",
        ("LLM_JUDGE", "gpt-4o-mini"),
        {"temperature": "0.1", "model_version": "2024-01"},
        None,
    ),
    "is_helpful": (True, "Boolean assessment of helpfulness", ("HUMAN", "reviewer@company.com"), None, None),
    "automated_categories": (
        ["helpful", "accurate", "concise"],
        "Automated categorization",
        ("CODE", "classifier_v1.2"),
        None,
        None,
    ),
    "response_analysis_score": (
        4.2,
        "Analysis: 150 words, positive sentiment, includes examples, confidence 0.92",
        ("CODE", "analyzer_v2.1"),
        {"word_count": "150", "sentiment": "positive", "has_examples": "true", "confidence": "0.92"},
        None,
    ),
    "failed_evaluation": (
        None,
        None,
        ("LLM_JUDGE", "gpt-4o"),
        {"retry_count": "3", "error_timestamp": "2024-01-15T10:30:00Z"},
        ("RATE_LIMIT_EXCEEDED", "API rate limit exceeded during evaluation"),
    ),
}
STRUCTURE = {
    "entities": {
        "people": ["Marie Curie", "Pierre Curie"],
        "locations": ["Paris", "France"],
        "dates": ["1867", "1934"],
    },
    "key_facts": [
        "First woman to win Nobel Prize",
        "Won Nobel Prizes in Physics and Chemistry",
        "Discovered radium and polonium",
    ],
    "response_requirements": {
        "tone": "informative",
        "length_range": {"min": 100, "max": 300},
        "include_examples": True,
        "citations_required": False,
    },
}
FACTS = ["Paris is the capital of France", "The capital city of France is Paris", "France's capital is Paris"]
# name -> (value, source_id, metadata) of the seed's three expectations (all HUMAN)
SEED_EXPECTATIONS: dict[str, tuple[Any, str, dict[str, str] | None]] = {
    "expected_response": ("The capital of France is Paris.", "content_curator@example.com", None),
    "expected_response_structure": (
        STRUCTURE,
        "content_strategist@example.com",
        {"content_type": "biographical_summary", "target_audience": "general_public", "fact_check_date": "2024-01-15"},
    ),
    "expected_facts": (FACTS, "qa_team@example.com", None),
}


def test_log_feedback_examples(app: Collector) -> None:
    trace_id = run_app(app)
    logged = [
        mlflow.log_feedback(
            trace_id=trace_id,
            name="human_rating",
            value=4,  # int - rating scale feedback
            rationale="Human evaluator rating",
            source=AssessmentSource(
                source_type=AssessmentSourceType.HUMAN,
                source_id="evaluator@company.com",
            ),
        ),
        mlflow.log_feedback(
            trace_id=trace_id,
            name="llm_judge_score",
            value=0.85,  # float - precise scoring from 0.0 to 1.0
            rationale="LLM judge evaluation",
            source=AssessmentSource(
                source_type=AssessmentSourceType.LLM_JUDGE,
                source_id="gpt-4o-mini",
            ),
            metadata={"temperature": "0.1", "model_version": "2024-01"},
        ),
        mlflow.log_feedback(
            trace_id=trace_id,
            name="is_helpful",
            value=True,  # bool - binary assessment
            rationale="Boolean assessment of helpfulness",
            source=AssessmentSource(
                source_type=AssessmentSourceType.HUMAN,
                source_id="reviewer@company.com",
            ),
        ),
        mlflow.log_feedback(
            trace_id=trace_id,
            name="automated_categories",
            value=["helpful", "accurate", "concise"],  # list - multiple categories
            rationale="Automated categorization",
            source=AssessmentSource(
                source_type=AssessmentSourceType.CODE,
                source_id="classifier_v1.2",
            ),
        ),
        mlflow.log_feedback(
            trace_id=trace_id,
            name="response_analysis_score",
            value=4.2,  # single score instead of dict - keeps value simple
            rationale="Analysis: 150 words, positive sentiment, includes examples, confidence 0.92",
            source=AssessmentSource(
                source_type=AssessmentSourceType.CODE,
                source_id="analyzer_v2.1",
            ),
            metadata={  # Use metadata for structured details
                "word_count": "150",
                "sentiment": "positive",
                "has_examples": "true",
                "confidence": "0.92",
            },
        ),
        mlflow.log_feedback(
            trace_id=trace_id,
            name="failed_evaluation",
            source=AssessmentSource(
                source_type=AssessmentSourceType.LLM_JUDGE,
                source_id="gpt-4o",
            ),
            error=AssessmentError(  # Use error field when evaluation fails
                error_code="RATE_LIMIT_EXCEEDED",
                error_message="API rate limit exceeded during evaluation",
            ),
            metadata={"retry_count": "3", "error_timestamp": "2024-01-15T10:30:00Z"},
        ),
    ]

    # 1. What the SDK returns: the stored assessments, with ids.
    assert [a.name for a in logged] == list(SEED_FEEDBACK)
    for assessment in logged:
        value, rationale, (source_type, source_id), metadata, error = SEED_FEEDBACK[assessment.name]
        assert isinstance(assessment, Feedback)
        assert ASSESSMENT_ID.match(assessment.assessment_id or ""), assessment
        assert (assessment.trace_id, assessment.value, assessment.rationale) == (trace_id, value, rationale)
        assert assessment.source == AssessmentSource(source_type=source_type, source_id=source_id)
        assert assessment.metadata == metadata
        assert (assessment.error_code, assessment.error_message) == (error or (None, None))
        assert assessment.valid is True

    # 2. search_traces: MLflow's assessment JSON in the `assessments` column.
    by_name = rest_assessments(trace_id)
    assert sorted(by_name) == sorted(SEED_FEEDBACK)
    for assessment in logged:
        [found] = by_name[assessment.name]
        value, rationale, (source_type, source_id), metadata, error = SEED_FEEDBACK[assessment.name]
        feedback = {"value": value, **({"error": dict(zip(("error_code", "error_message"), error))} if error else {})}
        expected = {
            "assessment_id": assessment.assessment_id,
            "assessment_name": assessment.name,
            "trace_id": trace_id,
            "source": {"source_type": source_type, "source_id": source_id},
            "create_time": found["create_time"],
            "last_update_time": found["create_time"],
            "feedback": feedback,
            **({"rationale": rationale} if rationale else {}),
            **({"metadata": metadata} if metadata else {}),
            "valid": True,
        }
        assert found == expected
        assert found == assessment.to_dictionary()

    # 3. SQL over the assessments table.
    rows = sql_assessments(trace_id)
    assert list(rows) == [a.assessment_id for a in logged]
    for assessment in logged:
        row = rows[assessment.assessment_id]
        value, rationale, (source_type, source_id), metadata, error = SEED_FEEDBACK[assessment.name]
        assert (row["assessment_name"], row["kind"], row["rationale"]) == (assessment.name, "feedback", rationale)
        assert (None if row["value"] is None else json.loads(row["value"])) == value
        assert (row["source_type"], row["source_id"]) == (source_type, source_id)
        assert (row["error_code"], row["error_message"]) == (error or (None, None))
        assert json.loads(row["metadata"]) == (metadata or {})
        assert (row["overrides"], row["valid"]) == (None, True)
        assert row["create_time"] == row["last_update_time"]


def test_log_expectation_examples(app: Collector) -> None:
    trace_id = run_app(app)
    logged = [
        mlflow.log_expectation(
            trace_id=trace_id,
            name="expected_response",
            value="The capital of France is Paris.",  # Simple string - the "correct" answer
            source=AssessmentSource(
                source_type=AssessmentSourceType.HUMAN,
                source_id="content_curator@example.com",
            ),
        ),
        mlflow.log_expectation(
            trace_id=trace_id,
            name="expected_response_structure",
            value={  # Complex dict - detailed specification of ideal response
                "entities": {
                    "people": ["Marie Curie", "Pierre Curie"],
                    "locations": ["Paris", "France"],
                    "dates": ["1867", "1934"],
                },
                "key_facts": [
                    "First woman to win Nobel Prize",
                    "Won Nobel Prizes in Physics and Chemistry",
                    "Discovered radium and polonium",
                ],
                "response_requirements": {
                    "tone": "informative",
                    "length_range": {"min": 100, "max": 300},
                    "include_examples": True,
                    "citations_required": False,
                },
            },
            source=AssessmentSource(
                source_type=AssessmentSourceType.HUMAN,
                source_id="content_strategist@example.com",
            ),
            metadata={
                "content_type": "biographical_summary",
                "target_audience": "general_public",
                "fact_check_date": "2024-01-15",
            },
        ),
        mlflow.log_expectation(
            trace_id=trace_id,
            name="expected_facts",
            value=[  # List of acceptable variations of the correct answer
                "Paris is the capital of France",
                "The capital city of France is Paris",
                "France's capital is Paris",
            ],
            source=AssessmentSource(
                source_type=AssessmentSourceType.HUMAN,
                source_id="qa_team@example.com",
            ),
        ),
    ]

    for assessment in logged:
        value, source_id, metadata = SEED_EXPECTATIONS[assessment.name]
        assert isinstance(assessment, Expectation)
        assert ASSESSMENT_ID.match(assessment.assessment_id or "")
        assert (assessment.value, assessment.metadata, assessment.trace_id) == (value, metadata, trace_id)
        assert assessment.source == AssessmentSource("HUMAN", source_id)

    by_name = rest_assessments(trace_id)
    assert sorted(by_name) == sorted(SEED_EXPECTATIONS)
    assert by_name["expected_response"][0]["expectation"] == {"value": "The capital of France is Paris."}
    for name in ("expected_response_structure", "expected_facts"):
        wire = by_name[name][0]["expectation"]["serialized_value"]
        assert wire["serialization_format"] == "JSON_FORMAT"  # structured expectations travel as JSON text
        assert json.loads(wire["value"]) == SEED_EXPECTATIONS[name][0]
    assert by_name["expected_response_structure"][0]["metadata"] == SEED_EXPECTATIONS["expected_response_structure"][2]

    [trace] = mlflow.search_traces(return_type="list")
    assert isinstance(trace, Trace)
    assert {a.name: a.value for a in trace.search_assessments(type="expectation")} == {
        name: value for name, (value, _, _) in SEED_EXPECTATIONS.items()
    }

    rows = sql_assessments(trace_id)
    for assessment in logged:
        row = rows[assessment.assessment_id]
        value, source_id, metadata = SEED_EXPECTATIONS[assessment.name]
        assert (row["kind"], row["source_type"], row["source_id"]) == ("expectation", "HUMAN", source_id)
        assert json.loads(row["value"]) == value
        assert json.loads(row["metadata"]) == (metadata or {})
        assert row["rationale"] is None and row["error_code"] is None and row["valid"] is True
