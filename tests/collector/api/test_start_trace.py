"""StartTraceV3 (``POST /api/3.0/mlflow/traces``): the trace info MLflow clients send at trace end."""

from __future__ import annotations

import time
import uuid
from typing import Any

import httpx

from tests.collector.api.rest import MakeTrace, assert_error
from tests.collector_process import Collector
from tests.otlp_builders import new_span_id, new_trace_id, request, span

PATH = "/api/3.0/mlflow/traces"


def _info(trace_id: str, experiment_id: str, **extra: Any) -> dict[str, Any]:
    info = {
        "trace_id": trace_id,
        "trace_location": {"type": "MLFLOW_EXPERIMENT", "mlflow_experiment": {"experiment_id": experiment_id}},
        "request_time": "2026-01-02T03:04:05.250Z",
        "execution_duration": "1.500s",
        "state": "OK",
        "tags": {"team": "search", "mlflow.artifactLocation": "s3://nope"},
        "trace_metadata": {"mlflow.trace.user": "u-1"},
    }
    info.update(extra)
    return {"trace": {"trace_info": info, "spans": []}}


def test_merges_tags_metadata_and_assessments_into_a_stored_trace(
    api: httpx.Client, make_trace: MakeTrace, experiment_id: str, collector: Collector
) -> None:
    traced = make_trace(name="predict")
    assessment_id = "a-" + uuid.uuid4().hex
    body = _info(
        traced.trace_id,
        experiment_id,
        client_request_id="req-7",
        assessments=[
            {
                "assessment_id": assessment_id,
                "assessment_name": "inline",
                "feedback": {"value": True},
                "source": {"source_type": "CODE", "source_id": "rule"},
            }
        ],
    )
    for _ in range(2):  # a retried call changes nothing
        response = api.post(PATH, json=body)
        assert response.status_code == 200, response.text
    info = response.json()["trace"]["trace_info"]
    assert info["tags"]["team"] == "search"
    assert info["tags"]["mlflow.trace.spansLocation"] == "TRACKING_STORE"
    assert "mlflow.artifactLocation" not in info["tags"]
    assert info["trace_metadata"]["mlflow.trace.user"] == "u-1"
    assert info["tags"]["mlflow.traceName"] == "predict"
    assert [(a["assessment_id"], a["feedback"]["value"]) for a in info["assessments"]] == [(assessment_id, True)]
    assert info["client_request_id"] == "req-7"
    rows = collector.sql(f"SELECT span_count, name, client_request_id FROM traces WHERE trace_id = '{traced.trace_id}'")
    assert rows == [{"span_count": 1, "name": "predict", "client_request_id": "req-7"}]
    found = api.post(
        "/api/3.0/mlflow/traces/search",
        json={
            "locations": [{"type": "MLFLOW_EXPERIMENT", "mlflow_experiment": {"experiment_id": experiment_id}}],
            "filter": "trace.client_request_id = 'req-7'",
        },
    ).json()["traces"]
    assert [t["trace_id"] for t in found] == [traced.trace_id]


def test_trace_info_before_its_spans_is_completed_by_them(
    api: httpx.Client, experiment_id: str, collector: Collector
) -> None:
    trace, root = new_trace_id(), new_span_id()
    trace_id = "tr-" + trace.hex()
    response = api.post(PATH, json=_info(trace_id, experiment_id))
    assert response.status_code == 200, response.text
    exported = httpx.post(
        f"{collector.http}/v1/traces",
        headers={"content-type": "application/x-protobuf", "x-mlflow-experiment-id": experiment_id},
        content=request([span(trace, root, name="late-root", start=time.time_ns())]).SerializeToString(),
    )
    assert exported.status_code == 200
    rows = collector.wait_for(
        f"SELECT name, span_count, tags->>'team' AS team FROM traces WHERE trace_id = '{trace_id}'",
        [{"name": "late-root", "span_count": 1, "team": "search"}],
    )
    assert rows == [{"name": "late-root", "span_count": 1, "team": "search"}]


def test_bad_trace_info_is_refused_naming_the_field(api: httpx.Client, experiment_id: str) -> None:
    trace_id = "tr-" + new_trace_id().hex()
    assert_error(api.post(PATH, json={"trace": {}}), 400, "INVALID_PARAMETER_VALUE", "trace.trace_info")
    assert_error(api.post(PATH, json=_info("12345", experiment_id)), 400, "INVALID_PARAMETER_VALUE", "trace_id")
    assert_error(
        api.post(PATH, json=_info(trace_id, experiment_id, execution_duration="soon")),
        400,
        "INVALID_PARAMETER_VALUE",
        "execution_duration",
    )
    assert_error(
        api.post(PATH, json=_info(trace_id, experiment_id, state="DONE")), 400, "INVALID_PARAMETER_VALUE", "state"
    )
    assert_error(
        api.post(PATH, json=_info(trace_id, experiment_id, assessments=[{"assessment_name": "x"}])),
        400,
        "INVALID_PARAMETER_VALUE",
        "assessments[0]",
    )
    assert_error(
        api.post(PATH, json=_info(trace_id, experiment_id, assessments=[{"assessment_name": 3, "feedback": {}}])),
        400,
        "INVALID_PARAMETER_VALUE",
        "'trace.trace_info.assessments[0].assessment_name'",
    )
    assert api.get(f"/api/3.0/mlflow/traces/{trace_id}").status_code == 404  # nothing half-written
