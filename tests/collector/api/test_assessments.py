"""Seed 001 over REST: every feedback and expectation example, created with the bodies the MLflow
client sends, read back through GET and through SQL (updates, overrides and the seed's curl
example: ``test_assessment_lifecycle.py``)."""

from __future__ import annotations

import re
from typing import Any

import httpx
import orjson
import pytest

from tests.collector.api.rest import (
    ASSESSMENTS,
    MakeTrace,
    create,
    source,
    stored_row,
)
from tests.collector_process import Collector

RFC3339 = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{3})?Z$")


# (name, body of "assessment" as the MLflow client sends it, value read back)
SEED_FEEDBACK: list[tuple[str, dict[str, Any], Any]] = [
    (
        "human_rating",
        {
            "feedback": {"value": 4},
            "rationale": "Human evaluator rating",
            "source": source("HUMAN", "evaluator@company.com"),
        },
        4,
    ),
    (
        "llm_judge_score",
        {
            "feedback": {"value": 0.85},
            "rationale": "LLM judge evaluation",
            "source": source("LLM_JUDGE", "gpt-4o-mini"),
            "metadata": {"temperature": "0.1", "model_version": "2024-01"},
        },
        0.85,
    ),
    (
        "is_helpful",
        {
            "feedback": {"value": True},
            "rationale": "Boolean assessment of helpfulness",
            "source": source("HUMAN", "reviewer@company.com"),
        },
        True,
    ),
    (
        "automated_categories",
        {
            "feedback": {"value": ["helpful", "accurate", "concise"]},
            "rationale": "Automated categorization",
            "source": source("CODE", "classifier_v1.2"),
        },
        ["helpful", "accurate", "concise"],
    ),
    (
        "response_analysis_score",
        {
            "feedback": {"value": 4.2},
            "rationale": "Analysis: 150 words, positive sentiment, includes examples, confidence 0.92",
            "source": source("CODE", "analyzer_v2.1"),
            "metadata": {"word_count": "150", "sentiment": "positive", "has_examples": "true", "confidence": "0.92"},
        },
        4.2,
    ),
    (
        "failed_evaluation",
        {
            "feedback": {
                "error": {
                    "error_code": "RATE_LIMIT_EXCEEDED",
                    "error_message": "API rate limit exceeded during evaluation",
                }
            },
            "source": source("LLM_JUDGE", "gpt-4o"),
            "metadata": {"retry_count": "3", "error_timestamp": "2024-01-15T10:30:00Z"},
        },
        None,
    ),
]
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


def serialized(value: Any) -> dict[str, Any]:
    """What the MLflow client sends for a non-primitive expectation value."""
    return {"serialized_value": {"serialization_format": "JSON_FORMAT", "value": orjson.dumps(value).decode()}}


SEED_EXPECTATIONS: list[tuple[str, dict[str, Any], Any]] = [
    (
        "expected_response",
        {
            "expectation": {"value": "The capital of France is Paris."},
            "source": source("HUMAN", "content_curator@example.com"),
        },
        "The capital of France is Paris.",
    ),
    (
        "expected_response_structure",
        {
            "expectation": serialized(STRUCTURE),
            "source": source("HUMAN", "content_strategist@example.com"),
            "metadata": {
                "content_type": "biographical_summary",
                "target_audience": "general_public",
                "fact_check_date": "2024-01-15",
            },
        },
        STRUCTURE,
    ),
    ("expected_facts", {"expectation": serialized(FACTS), "source": source("HUMAN", "qa_team@example.com")}, FACTS),
]


@pytest.mark.parametrize(("name", "body", "value"), SEED_FEEDBACK, ids=[f[0] for f in SEED_FEEDBACK])
def test_seed_feedback_round_trips_through_get_and_sql(
    api: httpx.Client, collector: Collector, make_trace: MakeTrace, name: str, body: dict[str, Any], value: Any
) -> None:
    trace = make_trace()
    created = create(api, trace, name, body)
    assert re.fullmatch(r"a-[0-9a-f]{32}", created["assessment_id"])
    assert created["trace_id"] == trace.trace_id
    assert created["assessment_name"] == name
    assert RFC3339.match(created["create_time"]) and created["create_time"] == created["last_update_time"]
    assert created["valid"] is True
    assert created["source"] == body["source"]
    assert created["feedback"]["value"] == value and type(created["feedback"]["value"]) is type(value)
    assert created.get("rationale") == body.get("rationale")
    assert created.get("metadata") == body.get("metadata")
    assert "expectation" not in created and "overrides" not in created

    fetched = api.get(f"{ASSESSMENTS.format(trace.trace_id)}/{created['assessment_id']}")
    assert fetched.status_code == 200
    assert fetched.json() == {"assessment": created}

    row = stored_row(collector, created["assessment_id"])
    assert row["trace_id"] == trace.trace_id and row["kind"] == "feedback" and row["valid"] is True
    assert row["value"] == value
    assert (row["source_type"], row["source_id"]) == (body["source"]["source_type"], body["source"]["source_id"])
    assert row["metadata"] == body.get("metadata", {})
    if value is None:
        error = body["feedback"]["error"]
        assert created["feedback"]["error"] == error
        assert (row["error_code"], row["error_message"]) == (error["error_code"], error["error_message"])
        assert row["value_label"] is None and row["value_number"] is None
    else:
        assert row["error_code"] is None
        expected_number = float(value) if isinstance(value, (int, float)) else None  # bool is an int
        assert row["value_number"] == expected_number


@pytest.mark.parametrize(("name", "body", "value"), SEED_EXPECTATIONS, ids=[e[0] for e in SEED_EXPECTATIONS])
def test_seed_expectations_round_trip_through_get_and_sql(
    api: httpx.Client, collector: Collector, make_trace: MakeTrace, name: str, body: dict[str, Any], value: Any
) -> None:
    trace = make_trace()
    created = create(api, trace, name, body)
    assert "feedback" not in created
    # MLflow's wire form: primitives as value, structures as JSON_FORMAT text
    assert (
        created["expectation"] == body["expectation"]
        or orjson.loads(created["expectation"]["serialized_value"]["value"]) == value
    )
    fetched = api.get(f"{ASSESSMENTS.format(trace.trace_id)}/{created['assessment_id']}").json()["assessment"]
    assert fetched == created
    expectation = fetched["expectation"]
    decoded = expectation["value"] if "value" in expectation else orjson.loads(expectation["serialized_value"]["value"])
    assert decoded == value
    row = stored_row(collector, created["assessment_id"])
    assert row["kind"] == "expectation" and row["value"] == value
    assert row["metadata"] == body.get("metadata", {})


@pytest.mark.parametrize("value", ["good", {"clarity": 4, "tone": "ok"}, 0, False, [1, "a", None]])
def test_feedback_accepts_every_json_value_shape(
    api: httpx.Client, collector: Collector, make_trace: MakeTrace, value: Any
) -> None:
    trace = make_trace()
    created = create(api, trace, "shape", {"feedback": {"value": value}, "source": source("CODE", "t")})
    assert created["feedback"]["value"] == value
    assert stored_row(collector, created["assessment_id"])["value"] == value


def test_expectation_primitive_sent_as_serialized_value_comes_back_as_value(
    api: httpx.Client, make_trace: MakeTrace
) -> None:
    created = create(api, make_trace(), "n", {"expectation": serialized(42)})
    assert created["expectation"] == {"value": 42}


def test_span_level_assessment_and_default_source(
    api: httpx.Client, collector: Collector, make_trace: MakeTrace
) -> None:
    trace = make_trace(children=[("retrieve", {})])
    span_id = trace.child_span_ids[0]
    created = create(api, trace, "relevance", {"feedback": {"value": "yes"}, "span_id": span_id.upper()})
    assert created["span_id"] == span_id
    assert created["source"] == {"source_type": "SOURCE_TYPE_UNSPECIFIED"}
    events = collector.sql(
        'SELECT span_id, event_name, "gen_ai.evaluation.name" AS name, "gen_ai.evaluation.score.label" AS label, '
        '"gen_ai.evaluation.score.value" AS score FROM assessment_events '
        f"WHERE \"annotrace.assessment.id\" = '{created['assessment_id']}'"
    )
    assert events == [
        {
            "span_id": span_id,
            "event_name": "gen_ai.evaluation.result",
            "name": "relevance",
            "label": "yes",
            "score": None,
        }
    ]


def test_assessment_events_view_shows_scores_labels_and_root_span(
    api: httpx.Client, collector: Collector, make_trace: MakeTrace
) -> None:
    trace = make_trace()
    ids = [create(api, trace, n, b)["assessment_id"] for n, b, _ in SEED_FEEDBACK[:3]]
    rows = collector.sql(
        'SELECT "annotrace.assessment.id" AS id, trace_id, span_id, "gen_ai.evaluation.score.value" AS score, '
        '"gen_ai.evaluation.score.label" AS label, "gen_ai.evaluation.explanation" AS why, '
        '"annotrace.assessment.source_type" AS source_type, "annotrace.assessment.kind" AS kind '
        f"FROM assessment_events WHERE trace_id = '{trace.trace_id}' ORDER BY score NULLS LAST"
    )
    by_id = {row.pop("id"): row for row in rows}
    common = {"trace_id": trace.trace_id, "span_id": trace.root_span_id, "kind": "feedback"}
    assert by_id[ids[0]] == {
        **common,
        "score": 4.0,
        "label": None,
        "why": "Human evaluator rating",
        "source_type": "HUMAN",
    }
    assert by_id[ids[1]] == {
        **common,
        "score": 0.85,
        "label": None,
        "why": "LLM judge evaluation",
        "source_type": "LLM_JUDGE",
    }
    assert by_id[ids[2]] == {
        **common,
        "score": None,
        "label": "true",
        "why": "Boolean assessment of helpfulness",
        "source_type": "HUMAN",
    }
