"""Request bodies nest at most ``MAX_JSON_DEPTH`` levels: a deeper one is a 400 naming the
parameter, never a 500 from a value that could be parsed but not written back (orjson stops at
254 levels; MLflow's protobuf parser at 100)."""

from __future__ import annotations

import httpx
import pytest

from annotrace.collector.api.mlflow.wire import MAX_JSON_DEPTH, nesting_depth
from tests.collector.api.rest import MakeTrace, assert_error


def _nested(levels: int) -> str:
    return "[" * levels + "1" + "]" * levels


def test_nesting_depth_counts_arrays_and_objects() -> None:
    assert nesting_depth(1) == 0 and nesting_depth([]) == 1 and nesting_depth({"a": [1, {"b": []}]}) == 4
    deep: list[object] = []
    for _ in range(500):
        deep = [deep]
    assert nesting_depth(deep, limit=10) == 11  # stops counting past the limit


@pytest.mark.parametrize("levels", [MAX_JSON_DEPTH, 253, 900, 2000])
def test_deep_assessment_values_are_a_400(api: httpx.Client, make_trace: MakeTrace, levels: int) -> None:
    trace = make_trace()
    body = (
        '{"assessment": {"assessment_name": "deep", "feedback": {"value": ' + _nested(levels) + "}, "
        '"source": {"source_type": "HUMAN", "source_id": "me"}}}'
    )
    response = api.post(
        f"/api/3.0/mlflow/traces/{trace.trace_id}/assessments",
        content=body,
        headers={"content-type": "application/json"},
    )
    assert_error(response, 400, "INVALID_PARAMETER_VALUE", "depth" if levels > 1000 else "nest deeper than")
    info = api.get(f"/api/3.0/mlflow/traces/{trace.trace_id}")
    assert info.status_code == 200 and not info.json()["trace"]["trace_info"].get("assessments")


def test_a_value_just_inside_the_limit_is_stored(api: httpx.Client, make_trace: MakeTrace) -> None:
    trace = make_trace()
    body = (
        '{"assessment": {"assessment_name": "deep", "feedback": {"value": ' + _nested(MAX_JSON_DEPTH - 4) + "}, "
        '"source": {"source_type": "HUMAN", "source_id": "me"}}}'
    )
    response = api.post(
        f"/api/3.0/mlflow/traces/{trace.trace_id}/assessments",
        content=body,
        headers={"content-type": "application/json"},
    )
    assert response.status_code == 200, response.text


@pytest.mark.parametrize("levels", [253, 900, 2000])
def test_deep_dataset_records_are_a_400_naming_records(api: httpx.Client, levels: int) -> None:
    created = api.post("/api/3.0/mlflow/datasets/create", json={"name": f"deep-{levels}"})
    dataset_id = created.json()["dataset"]["dataset_id"]
    records = '[{"inputs": {"q": ' + _nested(levels) + "}}]"
    response = api.post(f"/api/3.0/mlflow/datasets/{dataset_id}/records", json={"records": records})
    assert_error(response, 400, "INVALID_PARAMETER_VALUE", "'records'")
    listed = api.get(f"/api/3.0/mlflow/datasets/{dataset_id}/records")
    assert listed.status_code == 200 and "q" not in listed.text
