"""Trace routes: TraceInfoV3, GetTrace spans, batch reads, tags and deletion (with cascades)."""

from __future__ import annotations

import base64
import re

import httpx
import orjson

from tests.collector.api.rest import STATUS_ERROR, MakeTrace, assert_error
from tests.collector_process import Collector

TRACES = "/api/3.0/mlflow/traces"


def feedback(api: httpx.Client, trace_id: str, name: str, value: object) -> str:
    response = api.post(
        f"{TRACES}/{trace_id}/assessments",
        json={
            "assessment": {
                "assessment_name": name,
                "feedback": {"value": value},
                "source": {"source_type": "HUMAN", "source_id": "t"},
            }
        },
    )
    assert response.status_code == 200, response.text
    assessment_id: str = response.json()["assessment"]["assessment_id"]
    return assessment_id


def test_trace_info_has_mlflow_shape(api: httpx.Client, make_trace: MakeTrace, experiment_id: str) -> None:
    trace = make_trace(name="predict", start_ns=1_700_000_000_123_000_000, duration_ms=250)
    assessment_id = feedback(api, trace.trace_id, "quality", 4)
    response = api.get(f"{TRACES}/{trace.trace_id}")
    assert response.status_code == 200
    info = response.json()["trace"]["trace_info"]
    assert info["trace_id"] == trace.trace_id
    assert info["trace_location"] == {
        "type": "MLFLOW_EXPERIMENT",
        "mlflow_experiment": {"experiment_id": experiment_id},
    }
    assert info["request_time"] == "2023-11-14T22:13:20.123Z"
    assert info["execution_duration"] == "0.250s"
    assert info["state"] == "OK"
    assert info["tags"]["mlflow.trace.spansLocation"] == "TRACKING_STORE"
    assert info["tags"]["mlflow.traceName"] == "predict"
    assert info["trace_metadata"]["mlflow.trace_schema.version"] == "3"
    assert [a["assessment_id"] for a in info["assessments"]] == [assessment_id]
    assert info["assessments"][0]["feedback"] == {"value": 4}
    # the id is accepted without tr- too (ARCHITECTURE 3.2), and under /ajax-api
    assert api.get(f"/ajax-api/3.0/mlflow/traces/{trace.hex}").json() == response.json()


def test_trace_info_of_unknown_trace_is_404(api: httpx.Client) -> None:
    missing = "tr-" + "ab" * 16
    assert_error(api.get(f"{TRACES}/{missing}"), 404, "RESOURCE_DOES_NOT_EXIST", f"Trace with ID '{missing}' not found")
    assert_error(api.get(f"{TRACES}/get", params={"trace_id": missing}), 404, "RESOURCE_DOES_NOT_EXIST", missing)
    assert_error(api.get(f"{TRACES}/get"), 400, "INVALID_PARAMETER_VALUE", "'trace_id'")


def test_get_trace_returns_spans_in_otel_proto_json(api: httpx.Client, make_trace: MakeTrace) -> None:
    trace = make_trace(
        name="agent",
        status=STATUS_ERROR,
        attributes={"input.value": "hi", "n": 3, "ok": True},
        children=[("search", {"mlflow.spanType": '"RETRIEVER"', "score": 0.5, "tags": ["a", "b"]})],
    )
    response = api.get(f"{TRACES}/get", params={"trace_id": trace.trace_id})
    assert response.status_code == 200, response.text
    body = response.json()["trace"]
    assert body["trace_info"]["state"] == "ERROR"
    spans = {s["name"]: s for s in body["spans"]}
    root, child = spans["agent"], spans["search"]
    assert base64.b64decode(root["trace_id"]).hex() == trace.hex
    assert base64.b64decode(root["span_id"]).hex() == trace.root_span_id
    assert "parent_span_id" not in root
    assert base64.b64decode(child["parent_span_id"]).hex() == trace.root_span_id
    assert root["kind"] == "SPAN_KIND_INTERNAL"
    assert root["status"]["code"] == "STATUS_CODE_ERROR"
    assert root["end_time_unix_nano"] - root["start_time_unix_nano"] == 250_000_000
    attributes = {a["key"]: a["value"] for a in root["attributes"]}
    assert attributes["input.value"] == {"string_value": "hi"}
    assert attributes["n"] == {"int_value": 3}
    assert attributes["ok"] == {"bool_value": True}
    assert attributes["mlflow.traceRequestId"] == {"string_value": orjson.dumps(trace.trace_id).decode()}
    child_attributes = {a["key"]: a["value"] for a in child["attributes"]}
    assert child_attributes["mlflow.spanType"] == {"string_value": '"RETRIEVER"'}
    assert child_attributes["score"] == {"double_value": 0.5}
    assert child_attributes["tags"] == {"array_value": {"values": [{"string_value": "a"}, {"string_value": "b"}]}}


def test_batch_reads(api: httpx.Client, make_trace: MakeTrace) -> None:
    first, second = make_trace(), make_trace()
    missing = "tr-" + "cd" * 16
    response = api.get(
        f"{TRACES}/batchGet", params=[("trace_ids", first.trace_id), ("trace_ids", missing), ("trace_ids", second.hex)]
    )
    assert response.status_code == 200, response.text
    assert [t["trace_info"]["trace_id"] for t in response.json()["traces"]] == [first.trace_id, second.trace_id]
    assert all(len(t["spans"]) == 1 for t in response.json()["traces"])
    infos = api.post(f"{TRACES}/batchGetInfos", json={"trace_ids": [second.trace_id, first.trace_id]})
    assert [i["trace_id"] for i in infos.json()["trace_infos"]] == [second.trace_id, first.trace_id]
    assert_error(api.get(f"{TRACES}/batchGet"), 400, "INVALID_PARAMETER_VALUE", "'trace_ids'")
    assert_error(
        api.post(f"{TRACES}/batchGetInfos", json={"trace_ids": ["nope"]}),
        400,
        "INVALID_PARAMETER_VALUE",
        "trace_ids",
        "nope",
    )


def test_set_and_delete_trace_tags(api: httpx.Client, collector: Collector, make_trace: MakeTrace) -> None:
    trace = make_trace()
    url = f"/api/2.0/mlflow/traces/{trace.trace_id}/tags"
    assert api.patch(url, json={"key": "reviewed", "value": "yes"}).json() == {}
    assert api.patch(f"{TRACES}/{trace.hex}/tags", json={"key": "team.name", "value": "search"}).json() == {}
    tags = api.get(f"{TRACES}/{trace.trace_id}").json()["trace"]["trace_info"]["tags"]
    assert tags["reviewed"] == "yes" and tags["team.name"] == "search"
    rows = collector.sql(f"SELECT tags->>'reviewed' AS reviewed FROM traces WHERE trace_id = '{trace.trace_id}'")
    assert rows == [{"reviewed": "yes"}]
    assert api.request("DELETE", url, json={"key": "reviewed"}).json() == {}
    assert "reviewed" not in api.get(f"{TRACES}/{trace.trace_id}").json()["trace"]["trace_info"]["tags"]
    assert_error(
        api.request("DELETE", url, json={"key": "reviewed"}),
        404,
        "RESOURCE_DOES_NOT_EXIST",
        f"No trace tag with key 'reviewed' for trace with ID '{trace.trace_id}'",
    )


def test_tag_rules(api: httpx.Client, make_trace: MakeTrace) -> None:
    trace = make_trace()
    url = f"/api/2.0/mlflow/traces/{trace.trace_id}/tags"
    assert_error(
        api.patch(url, json={"key": "mlflow.artifactLocation", "value": "s3://x"}),
        400,
        "INVALID_PARAMETER_VALUE",
        "Tag 'mlflow.artifactLocation' is immutable and cannot be set on a trace.",
    )
    assert_error(
        api.request("DELETE", url, json={"key": "mlflow.trace.spansLocation"}),
        400,
        "INVALID_PARAMETER_VALUE",
        "cannot be deleted",
    )
    assert_error(api.patch(url, json={"value": "v"}), 400, "INVALID_PARAMETER_VALUE", "'key'")
    assert_error(api.patch(url, json={"key": 5, "value": "v"}), 400, "INVALID_PARAMETER_VALUE", "'key'")
    assert_error(api.patch(url, json={"key": "k", "value": 5}), 400, "INVALID_PARAMETER_VALUE", "'value'")
    assert_error(api.patch(url, json={"key": "k" * 251, "value": "v"}), 400, "INVALID_PARAMETER_VALUE", "'key'")
    assert_error(api.patch(url, json={"key": "k", "value": "v" * 4097}), 400, "INVALID_PARAMETER_VALUE", "'value'")
    assert_error(api.request("DELETE", url, json={}), 400, "INVALID_PARAMETER_VALUE", "'key'")
    unknown = "tr-" + "12" * 16
    assert_error(
        api.patch(f"/api/2.0/mlflow/traces/{unknown}/tags", json={"key": "k", "value": "v"}),
        404,
        "RESOURCE_DOES_NOT_EXIST",
        unknown,
    )


def test_delete_traces_by_id_takes_assessments_along(
    api: httpx.Client, collector: Collector, make_trace: MakeTrace, experiment_id: str
) -> None:
    doomed, kept = make_trace(children=[("c", {})]), make_trace()
    feedback(api, doomed.trace_id, "q", 1)
    feedback(api, kept.trace_id, "q", 2)
    response = api.post(
        "/api/2.0/mlflow/traces/delete-traces", json={"experiment_id": experiment_id, "request_ids": [doomed.trace_id]}
    )
    assert response.status_code == 200, response.text
    assert response.json() == {"traces_deleted": 1}
    for table in ("traces", "spans", "assessments", "assessment_history"):
        counts = collector.sql(
            f"SELECT trace_id, count(*) AS n FROM {table} WHERE trace_id IN "
            f"('{doomed.trace_id}', '{kept.trace_id}') GROUP BY trace_id"
        )
        assert [c["trace_id"] for c in counts] == [kept.trace_id], table
    assert_error(api.get(f"{TRACES}/{doomed.trace_id}"), 404, "RESOURCE_DOES_NOT_EXIST")
    # another experiment's traces are never touched
    again = api.post(f"{TRACES}/delete-traces", json={"experiment_id": "0", "trace_ids": [kept.hex]})
    assert again.json() == {"traces_deleted": 0}


def test_delete_traces_by_timestamp(api: httpx.Client, make_trace: MakeTrace, experiment_id: str) -> None:
    old = [make_trace(start_ns=1_600_000_000_000_000_000 + i * 1_000_000_000) for i in range(3)]
    new = make_trace()
    response = api.post(
        "/api/2.0/mlflow/traces/delete-traces",
        json={"experiment_id": experiment_id, "max_timestamp_millis": 1_600_000_002_000, "max_traces": 2},
    )
    assert response.json() == {"traces_deleted": 2}
    left = api.post(f"{TRACES}/search", json={"experiment_ids": [experiment_id]}).json()["traces"]
    assert {t["trace_id"] for t in left} == {old[2].trace_id, new.trace_id}


def test_delete_traces_rules(api: httpx.Client) -> None:
    url = "/api/2.0/mlflow/traces/delete-traces"
    assert_error(
        api.post(url, json={"request_ids": ["tr-" + "0" * 32]}), 400, "INVALID_PARAMETER_VALUE", "'experiment_id'"
    )
    assert_error(
        api.post(url, json={"experiment_id": "0"}),
        400,
        "INVALID_PARAMETER_VALUE",
        "max_timestamp_millis",
        "request_ids",
    )
    assert_error(
        api.post(url, json={"experiment_id": "0", "request_ids": [], "max_timestamp_millis": 1}),
        400,
        "INVALID_PARAMETER_VALUE",
        "Exactly one",
    )
    assert_error(
        api.post(url, json={"experiment_id": "0", "request_ids": ["tr-" + "0" * 32], "max_traces": 1}),
        400,
        "INVALID_PARAMETER_VALUE",
        "max_traces",
    )
    assert_error(
        api.post(url, json={"experiment_id": "0", "request_ids": ["x"]}),
        400,
        "INVALID_PARAMETER_VALUE",
        "request_ids",
        "'x'",
    )
    assert_error(
        api.post(url, json={"experiment_id": "0", "max_timestamp_millis": "soon"}),
        400,
        "INVALID_PARAMETER_VALUE",
        "max_timestamp_millis",
    )


def test_version_endpoint_lets_mlflow_clients_use_otlp(api: httpx.Client) -> None:
    response = api.get("/version")
    assert response.status_code == 200
    assert re.fullmatch(r"3\.\d+\.\d+", response.text)
    major, minor = (int(p) for p in response.text.split(".")[:2])
    assert (major, minor) >= (3, 4)
