"""Seed 001 over REST, after creation: update with update_mask, the override life cycle, the REST
body of the seed's curl example (verbatim, then step by step), and the ``/ajax-api`` prefix."""

from __future__ import annotations

from typing import Any

import httpx
import orjson

from tests.collector.api.rest import (
    ASSESSMENTS,
    MakeTrace,
    assert_error,
    create,
    parse_time,
    source,
    stored_row,
)
from tests.collector_process import Collector


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
