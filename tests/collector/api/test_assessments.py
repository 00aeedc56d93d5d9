"""Seed 001 over REST: every feedback and expectation example, created with the bodies the MLflow
client sends, read back through GET and through SQL; update with update_mask; the override life
cycle; and the REST body of the seed's curl example, verbatim."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

import httpx
import orjson
import pytest

from tests.collector.api.rest import MakeTrace, Traced, assert_error
from tests.collector_process import Collector

ASSESSMENTS = "/api/3.0/mlflow/traces/{}/assessments"
RFC3339 = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{3})?Z$")


def parse_time(text: str) -> datetime:
    return datetime.fromisoformat(text)


def source(kind: str, who: str) -> dict[str, str]:
    return {"source_type": kind, "source_id": who}


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


def create(api: httpx.Client, trace: Traced, name: str, body: dict[str, Any]) -> dict[str, Any]:
    response = api.post(
        ASSESSMENTS.format(trace.trace_id),
        json={"assessment": {"assessment_name": name, "trace_id": trace.trace_id, **body}},
    )
    assert response.status_code == 200, response.text
    created: dict[str, Any] = response.json()["assessment"]
    return created


def stored_row(collector: Collector, assessment_id: str) -> dict[str, Any]:
    rows = collector.sql(
        "SELECT trace_id, span_id, assessment_name, kind, value, value_label, value_number, rationale, source_type, "
        "source_id, error_code, error_message, metadata, overrides, valid, create_time, last_update_time "
        f"FROM assessments WHERE assessment_id = '{assessment_id}'"
    )
    assert len(rows) == 1
    row = rows[0]
    row["value"] = None if row["value"] is None else orjson.loads(row["value"])
    row["metadata"] = orjson.loads(row["metadata"])
    return row


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


def test_update_with_update_mask(api: httpx.Client, collector: Collector, make_trace: MakeTrace) -> None:
    trace = make_trace(children=[("llm", {})])
    created = create(
        api,
        trace,
        "quality",
        {
            "feedback": {"value": 4},
            "rationale": "first",
            "source": source("HUMAN", "bob"),
            "metadata": {"a": "1"},
            "span_id": trace.child_span_ids[0],
        },
    )
    url = f"{ASSESSMENTS.format(trace.trace_id)}/{created['assessment_id']}"
    response = api.patch(
        url,
        json={
            "assessment": {
                "assessment_id": created["assessment_id"],
                "trace_id": trace.trace_id,
                "feedback": {"value": 5},
                "rationale": "revised",
                "metadata": {"b": "2"},
            },
            "update_mask": "feedback,rationale,metadata",
        },
    )
    assert response.status_code == 200, response.text
    updated = response.json()["assessment"]
    assert updated["feedback"] == {"value": 5}
    assert updated["rationale"] == "revised"
    assert updated["metadata"] == {"a": "1", "b": "2"}
    for unchanged in ("assessment_id", "assessment_name", "source", "span_id", "create_time", "valid"):
        assert updated[unchanged] == created[unchanged], unchanged
    assert parse_time(updated["last_update_time"]) > parse_time(created["last_update_time"])
    assert api.get(url).json()["assessment"] == updated

    renamed = api.patch(
        url,
        json={
            "assessment": {"assessment_name": "overall_quality", "rationale": None},
            "update_mask": "assessment_name,rationale",
        },
    ).json()["assessment"]
    assert renamed["assessment_name"] == "overall_quality" and renamed["rationale"] == "revised"
    row = stored_row(collector, created["assessment_id"])
    assert (row["assessment_name"], row["value"], row["value_number"]) == ("overall_quality", 5, 5.0)
    assert row["last_update_time"] > row["create_time"]

    # MLflow's client writes the FieldMask in protobuf's JSON form: camelCase paths
    camel = api.patch(
        url,
        json={
            "assessment": {"assessment_name": "q2", "feedback": {"value": 1}, "rationale": "c"},
            "update_mask": "assessmentName,feedback,rationale",
        },
    )
    assert camel.status_code == 200, camel.text
    assert [camel.json()["assessment"][k] for k in ("assessment_name", "feedback", "rationale")] == [
        "q2",
        {"value": 1},
        "c",
    ]


def test_update_feedback_value_replaces_error(api: httpx.Client, make_trace: MakeTrace) -> None:
    trace = make_trace()
    created = create(api, trace, "judge", {"feedback": {"error": {"error_code": "TIMEOUT"}}})
    url = f"{ASSESSMENTS.format(trace.trace_id)}/{created['assessment_id']}"
    updated = api.patch(url, json={"assessment": {"feedback": {"value": "pass"}}, "update_mask": "feedback"})
    assert updated.json()["assessment"]["feedback"] == {"value": "pass"}


def test_override_and_delete_life_cycle(api: httpx.Client, collector: Collector, make_trace: MakeTrace) -> None:
    trace = make_trace()
    base = ASSESSMENTS.format(trace.trace_id)
    old = create(api, trace, "correctness", {"feedback": {"value": 0.2}, "source": source("LLM_JUDGE", "judge")})
    new = create(
        api,
        trace,
        "correctness",
        {
            "feedback": {"value": 0.9},
            "rationale": "human fix",
            "source": source("HUMAN", "ann"),
            "overrides": old["assessment_id"],
        },
    )
    assert new["overrides"] == old["assessment_id"] and new["valid"] is True
    assert api.get(f"{base}/{old['assessment_id']}").json()["assessment"]["valid"] is False

    info = api.get(f"/api/3.0/mlflow/traces/{trace.trace_id}").json()["trace"]["trace_info"]
    assert {(a["assessment_id"], a["valid"]) for a in info["assessments"]} == {
        (old["assessment_id"], False),
        (new["assessment_id"], True),
    }

    assert api.delete(f"{base}/{new['assessment_id']}").json() == {}
    assert api.get(f"{base}/{old['assessment_id']}").json()["assessment"]["valid"] is True
    assert_error(
        api.get(f"{base}/{new['assessment_id']}"), 404, "RESOURCE_DOES_NOT_EXIST", new["assessment_id"], trace.trace_id
    )
    again = api.delete(f"{base}/{new['assessment_id']}")  # idempotent, as in MLflow
    assert again.status_code == 200 and again.json() == {}

    history = collector.sql(
        "SELECT assessment_id, version, operation, caused_by, snapshot->>'valid' AS valid FROM assessment_history "
        f"WHERE trace_id = '{trace.trace_id}' ORDER BY change_time, assessment_id = '{old['assessment_id']}', version"
    )
    assert [(h["assessment_id"], h["version"], h["operation"], h["caused_by"], h["valid"]) for h in history] == [
        (old["assessment_id"], 1, "create", None, "true"),
        (new["assessment_id"], 1, "create", None, "true"),
        (old["assessment_id"], 2, "invalidate", new["assessment_id"], "false"),
        (new["assessment_id"], 2, "delete", None, "true"),
        (old["assessment_id"], 3, "restore", new["assessment_id"], "true"),
    ]


def test_second_override_keeps_the_original_invalid_until_both_are_gone(
    api: httpx.Client, make_trace: MakeTrace
) -> None:
    trace = make_trace()
    base = ASSESSMENTS.format(trace.trace_id)
    old = create(api, trace, "q", {"feedback": {"value": 1}})
    first = create(api, trace, "q", {"feedback": {"value": 2}, "overrides": old["assessment_id"]})
    second = create(api, trace, "q", {"feedback": {"value": 3}, "overrides": old["assessment_id"]})
    api.delete(f"{base}/{first['assessment_id']}")
    assert api.get(f"{base}/{old['assessment_id']}").json()["assessment"]["valid"] is False
    api.delete(f"{base}/{second['assessment_id']}")
    assert api.get(f"{base}/{old['assessment_id']}").json()["assessment"]["valid"] is True


def seed_curl_body(trace_id: str) -> dict[str, Any]:
    """The request body of the seed's curl example, verbatim (it is MLflow's schema placeholder)."""
    return orjson.loads("""{
      "assessment": {
        "assessment_name": "string",
        "create_time": "2019-08-24T14:15:22Z",
        "expectation": {
          "serialized_value": {
            "serialization_format": "string",
            "value": "string"
          },
          "value": {}
        },
        "feedback": {
          "error": {
            "error_code": "string",
            "error_message": "string",
            "stack_trace": "string"
          },
          "value": {}
        },
        "last_update_time": "2019-08-24T14:15:22Z",
        "metadata": {
          "property1": "string",
          "property2": "string"
        },
        "overrides": "string",
        "rationale": "string",
        "source": {
          "source_id": "string",
          "source_type": "HUMAN"
        },
        "span_id": "string",
        "valid": true
      }
    }""")


def test_seed_curl_example_verbatim_is_refused_for_setting_both_kinds(api: httpx.Client, make_trace: MakeTrace) -> None:
    trace = make_trace()
    response = api.post(
        ASSESSMENTS.format(trace.trace_id),
        json=seed_curl_body(trace.trace_id),
        headers={"Authorization": "Bearer <databricks-token>"},
    )
    assert_error(response, 400, "INVALID_PARAMETER_VALUE", "assessment.feedback", "assessment.expectation")


def test_seed_curl_example_adapted_step_by_step(api: httpx.Client, collector: Collector, make_trace: MakeTrace) -> None:
    """Each placeholder the example carries hits one rule; fixing them one by one ends in a 200
    whose body has the keys of the example response."""
    trace = make_trace(children=[("answer", {})])
    url = ASSESSMENTS.format(trace.trace_id)
    body = seed_curl_body(trace.trace_id)
    a = body["assessment"]
    expectation = a.pop("expectation")
    assert_error(api.post(url, json=body), 400, "INVALID_PARAMETER_VALUE", "assessment.span_id", "string")
    a["span_id"] = trace.child_span_ids[0]
    assert_error(api.post(url, json=body), 404, "RESOURCE_DOES_NOT_EXIST", "string", trace.trace_id)
    del a["overrides"]
    response = api.post(url, json=body)
    assert response.status_code == 200, response.text
    created = response.json()["assessment"]
    example_response_keys = {
        "assessment_id",
        "assessment_name",
        "create_time",
        "feedback",
        "last_update_time",
        "metadata",
        "rationale",
        "source",
        "span_id",
        "trace_id",
        "valid",
    }
    assert set(created) == example_response_keys  # the example's, minus expectation and the unset overrides
    assert created["feedback"] == {
        "value": {},
        "error": {"error_code": "string", "error_message": "string", "stack_trace": "string"},
    }
    assert created["metadata"] == {"property1": "string", "property2": "string"}
    assert created["create_time"] != "2019-08-24T14:15:22Z"  # the server stamps its own time
    assert created["trace_id"] == trace.trace_id and created["valid"] is True
    row = stored_row(collector, created["assessment_id"])
    assert (row["span_id"], row["rationale"], row["error_code"]) == (trace.child_span_ids[0], "string", "string")

    # the expectation half of the example: both value forms, then an unknown serialization format
    del a["feedback"]
    a["expectation"] = expectation
    assert_error(api.post(url, json=body), 400, "INVALID_PARAMETER_VALUE", "serialized_value", "value")
    del expectation["value"]
    assert_error(
        api.post(url, json=body),
        400,
        "INVALID_PARAMETER_VALUE",
        "Unknown serialization format: string",
        "serialization_format",
    )
    expectation["serialized_value"] = {"serialization_format": "JSON_FORMAT", "value": '"string"'}
    response = api.post(url, json=body)
    assert response.status_code == 200, response.text
    assert response.json()["assessment"]["expectation"] == {"value": "string"}


def test_ajax_api_prefix_serves_the_same_routes(api: httpx.Client, make_trace: MakeTrace) -> None:
    trace = make_trace()
    response = api.post(
        f"/ajax-api/3.0/mlflow/traces/{trace.hex}/assessments",
        json={"assessment": {"assessment_name": "q", "feedback": {"value": 1}}},
    )
    assert response.status_code == 200, response.text
    assert response.json()["assessment"]["trace_id"] == trace.trace_id
