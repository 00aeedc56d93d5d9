"""Native routes (``/api/v1``): a trace's assessments as flat rows, one assessment's history, spans
in MLflow's Span.to_dict() form, and the OpenAPI document that describes them."""

from __future__ import annotations

import base64

import httpx
import orjson

from annotrace.collector.api.routes import NATIVE_ROUTES
from tests.collector.api.rest import MakeTrace, assert_error


def test_flat_assessment_list_and_history(api: httpx.Client, make_trace: MakeTrace) -> None:
    trace = make_trace()
    base = f"/api/3.0/mlflow/traces/{trace.trace_id}/assessments"
    first = api.post(
        base,
        json={
            "assessment": {
                "assessment_name": "q",
                "feedback": {"value": 3},
                "source": {"source_type": "LLM_JUDGE", "source_id": "j"},
            }
        },
    )
    old = first.json()["assessment"]["assessment_id"]
    second = api.post(
        base, json={"assessment": {"assessment_name": "q", "feedback": {"value": 5}, "overrides": old}}
    ).json()["assessment"]["assessment_id"]
    listed = api.get(f"/api/v1/traces/{trace.hex}/assessments").json()
    assert listed["trace_id"] == trace.trace_id
    rows = {row["assessment_id"]: row for row in listed["assessments"]}
    assert rows[old]["kind"] == "feedback" and rows[old]["value"] == 3 and rows[old]["valid"] is False
    assert rows[old]["source_type"] == "LLM_JUDGE" and rows[old]["metadata"] == {}
    assert rows[second]["overrides"] == old and rows[old]["version"] == 2
    valid = api.get(f"/api/v1/traces/{trace.trace_id}/assessments", params={"valid_only": "true"}).json()
    assert [row["assessment_id"] for row in valid["assessments"]] == [second]

    history = api.get(f"/api/v1/traces/{trace.trace_id}/assessments/{old}/history").json()["history"]
    assert [(h["version"], h["operation"], h["caused_by"]) for h in history] == [
        (1, "create", None),
        (2, "invalidate", second),
    ]
    assert history[1]["snapshot"]["valid"] is False


def test_native_errors(api: httpx.Client, make_trace: MakeTrace) -> None:
    missing = "tr-" + "9" * 32
    assert_error(api.get(f"/api/v1/traces/{missing}/assessments"), 404, "RESOURCE_DOES_NOT_EXIST", missing)
    trace = make_trace()
    assert_error(
        api.get(f"/api/v1/traces/{trace.trace_id}/assessments", params={"valid_only": "yes"}),
        400,
        "INVALID_PARAMETER_VALUE",
        "valid_only",
    )
    assert_error(
        api.get(f"/api/v1/traces/{trace.trace_id}/assessments/a-{'0' * 32}/history"),
        404,
        "RESOURCE_DOES_NOT_EXIST",
        f"a-{'0' * 32}",
    )


def test_openapi_describes_every_native_route(api: httpx.Client) -> None:
    spec = api.get("/api/v1/openapi.json").json()
    assert spec["openapi"].startswith("3.")
    documented = {(method.upper(), path) for path, item in spec["paths"].items() for method in item}
    assert {(method, path) for method, path, _ in NATIVE_ROUTES} <= documented
    assert ("POST", "/api/v1/sql") in documented


def test_spans_in_mlflow_span_dict_form(api: httpx.Client, make_trace: MakeTrace) -> None:
    trace = make_trace(
        name="rag",
        attributes={"mlflow.spanInputs": '{"q": "hi"}', "plain": "text", "n": 2},
        children=[("retrieve", {"mlflow.spanType": '"RETRIEVER"'})],
    )
    response = api.get(f"/api/v1/traces/{trace.trace_id}/spans")
    assert response.status_code == 200, response.text
    spans = {s["name"]: s for s in response.json()["spans"]}
    root, child = spans["rag"], spans["retrieve"]
    assert base64.b64decode(root["trace_id"]).hex() == trace.hex
    assert base64.b64decode(root["span_id"]).hex() == trace.root_span_id
    assert root["parent_span_id"] is None
    assert base64.b64decode(child["parent_span_id"]).hex() == trace.root_span_id
    assert root["status"] == {"code": "STATUS_CODE_OK", "message": ""}
    # every attribute value is JSON text; MLflow-encoded values are not encoded twice
    decoded = {key: orjson.loads(value) for key, value in root["attributes"].items()}
    assert decoded["mlflow.spanInputs"] == {"q": "hi"}
    assert decoded["plain"] == "text" and decoded["n"] == 2
    assert decoded["mlflow.traceRequestId"] == trace.trace_id
    assert orjson.loads(child["attributes"]["mlflow.spanType"]) == "RETRIEVER"
    assert_error(api.get(f"/api/v1/traces/tr-{'7' * 32}/spans"), 404, "RESOURCE_DOES_NOT_EXIST")
