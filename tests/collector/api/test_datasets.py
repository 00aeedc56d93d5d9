"""Evaluation-dataset REST routes (``/api/3.0/mlflow/datasets/...``, reference 12.1) on a real
collector: MLflow's shapes (``records`` as a JSON string both ways), de-duplication by inputs,
tags, search, paging and the errors."""

from __future__ import annotations

import json
import uuid
from typing import Any

import httpx

from tests.collector.api.rest import assert_error
from tests.collector_process import Collector

BASE = "/api/3.0/mlflow/datasets"


def _create(api: httpx.Client, experiment_id: str, **fields: Any) -> dict[str, Any]:
    body = {"name": f"ds-{uuid.uuid4().hex[:8]}", "experiment_ids": [experiment_id], **fields}
    response = api.post(f"{BASE}/create", json=body)
    assert response.status_code == 200, response.text
    dataset: dict[str, Any] = response.json()["dataset"]
    return dataset


def _records(api: httpx.Client, dataset_id: str, **params: Any) -> tuple[list[dict[str, Any]], str | None]:
    response = api.get(f"{BASE}/{dataset_id}/records", params=params)
    assert response.status_code == 200, response.text
    body = response.json()
    assert isinstance(body["records"], str)
    return json.loads(body["records"]), body.get("next_page_token")


def test_create_get_search_delete(api: httpx.Client, experiment_id: str) -> None:
    """As a stock MLflow server answers: ``tags`` is JSON text, ``created_by`` comes from the
    ``mlflow.user`` tag, ``experiment_ids`` only in the answer to create, names may repeat."""
    dataset = _create(api, experiment_id, tags=json.dumps({"team": "qa", "mlflow.user": "ann"}))
    dataset_id = dataset["dataset_id"]
    assert dataset_id.startswith("d-") and len(dataset_id) == 34
    assert (dataset["experiment_ids"], json.loads(dataset["tags"]), dataset["created_by"]) == (
        [experiment_id],
        {"team": "qa", "mlflow.user": "ann"},
        "ann",
    )
    assert isinstance(dataset["created_time"], int) and dataset["last_update_time"] == dataset["created_time"]
    assert len(dataset["digest"]) == 8 and "schema" not in dataset and "profile" not in dataset
    got = api.get(f"{BASE}/{dataset_id}").json()["dataset"]
    assert got == {k: v for k, v in dataset.items() if k != "experiment_ids"}
    assert api.get(f"{BASE}/{dataset_id}/experiment-ids").json() == {"experiment_ids": [experiment_id]}

    twin = api.post(f"{BASE}/create", json={"name": dataset["name"], "experiment_ids": [experiment_id]})
    assert twin.status_code == 200 and twin.json()["dataset"]["tags"] == "{}"
    assert_error(
        api.post(f"{BASE}/create", json={"experiment_ids": [experiment_id]}),
        400,
        "INVALID_PARAMETER_VALUE",
        "Missing value for required parameter 'name'",
    )
    assert_error(
        api.post(f"{BASE}/create", json={"name": "x", "tags": {"a": "b"}}), 400, "INVALID_PARAMETER_VALUE", "tags"
    )

    other = _create(api, experiment_id)
    found = api.post(f"{BASE}/search", json={"experiment_ids": [experiment_id]}).json()["datasets"]
    assert {d["dataset_id"] for d in found} == {other["dataset_id"], twin.json()["dataset"]["dataset_id"], dataset_id}
    assert found == sorted(found, key=lambda d: (d["created_time"], d["dataset_id"]), reverse=True)  # newest first
    by_name = api.get(f"{BASE}/search", params={"filter_string": f"name = '{dataset['name']}'"}).json()["datasets"]
    assert {d["dataset_id"] for d in by_name} == {dataset_id, twin.json()["dataset"]["dataset_id"]}
    by_tag = api.post(f"{BASE}/search", json={"filter_string": "tags.team = 'qa'"}).json()["datasets"]
    assert [d["dataset_id"] for d in by_tag] == [dataset_id]
    since = api.post(
        f"{BASE}/search",
        json={"filter_string": f"created_time >= {dataset['created_time']}", "experiment_ids": [experiment_id]},
    ).json()["datasets"]
    assert len(since) == 3
    page = api.post(f"{BASE}/search", json={"experiment_ids": [experiment_id], "max_results": 1}).json()
    rest = api.post(f"{BASE}/search", json={"experiment_ids": [experiment_id], "page_token": page["next_page_token"]})
    assert page["datasets"] + rest.json()["datasets"] == found
    assert_error(
        api.post(f"{BASE}/search", json={"filter_string": "foo = 'y'"}),
        400,
        "INVALID_PARAMETER_VALUE",
        "Invalid attribute key 'foo' specified",
    )
    assert_error(
        api.post(f"{BASE}/search", json={"filter_string": "name = 'a' OR name = 'b'"}),
        400,
        "INVALID_PARAMETER_VALUE",
        "Invalid clause(s) in filter string: OR",
    )
    assert_error(api.post(f"{BASE}/search", json={"max_results": 0}), 400, "INVALID_PARAMETER_VALUE", "max_results")

    assert api.patch(f"{BASE}/{dataset_id}/tags", json={"tags": json.dumps({"v": 2, "gone": None})}).json() == {}
    assert json.loads(api.get(f"{BASE}/{dataset_id}").json()["dataset"]["tags"]) == {
        "team": "qa",
        "mlflow.user": "ann",
        "v": "2",
    }
    assert api.delete(f"{BASE}/{dataset_id}/tags/team").status_code == 200
    assert api.delete(f"{BASE}/{dataset_id}/tags/team").status_code == 200  # idempotent
    assert json.loads(api.get(f"{BASE}/{dataset_id}").json()["dataset"]["tags"]) == {"mlflow.user": "ann", "v": "2"}

    assert api.delete(f"{BASE}/{dataset_id}").json() == {}
    assert api.delete(f"{BASE}/{dataset_id}").status_code == 200  # idempotent
    assert_error(api.get(f"{BASE}/{dataset_id}"), 404, "RESOURCE_DOES_NOT_EXIST", dataset_id)
    assert_error(
        api.patch(f"{BASE}/{dataset_id}/tags", json={"tags": "{}"}), 404, "RESOURCE_DOES_NOT_EXIST", dataset_id
    )
    assert api.get(f"{BASE}/{dataset_id}/experiment-ids").json() == {}


def test_records_dedupe_by_inputs(api: httpx.Client, collector: Collector, experiment_id: str) -> None:
    dataset_id = _create(api, experiment_id)["dataset_id"]
    records = [
        {"inputs": {"q": "a", "n": 1}, "expectations": {"expected_response": "A"}},
        {
            "inputs": {"q": "b"},
            "outputs": "B?",
            "tags": {"k": "1"},
            "source": {"source_type": "TRACE", "source_data": {"trace_id": "tr-" + "0" * 32}},
        },
    ]
    first = api.post(f"{BASE}/{dataset_id}/records", json={"records": json.dumps(records)})
    assert first.json() == {"inserted_count": 2, "updated_count": 0}, first.text
    again = [
        {"inputs": {"n": 1, "q": "a"}, "expectations": {"expected_facts": ["x"]}},  # same inputs, other key order
        {"inputs": {"q": "c"}},
    ]
    second = api.post(f"{BASE}/{dataset_id}/records", json={"records": again})  # a list is accepted too
    assert second.json() == {"inserted_count": 1, "updated_count": 1}

    stored, token = _records(api, dataset_id)
    assert token is None and [r["inputs"] for r in stored] == [{"q": "a", "n": 1}, {"q": "b"}, {"q": "c"}]
    a, b, c = stored
    assert a["expectations"] == {"expected_response": "A", "expected_facts": ["x"]}
    assert (a["outputs"], a["tags"], "source" in a, "source_type" in a) == ({}, {}, False, False)
    assert (b["source_type"], b["source_id"], b["outputs"], b["tags"]) == ("TRACE", "tr-" + "0" * 32, "B?", {"k": "1"})
    assert "expectations" not in c
    dataset = api.get(f"{BASE}/{dataset_id}").json()["dataset"]
    assert json.loads(dataset["profile"]) == {"num_records": 3}
    assert json.loads(dataset["schema"]) == {
        "inputs": {"q": "string", "n": "integer"},
        "outputs": "string",
        "expectations": {"expected_response": "string", "expected_facts": "array"},
        "version": "1.0",
    }
    assert all(r["dataset_record_id"].startswith("dr-") and r["dataset_id"] == dataset_id for r in stored)
    assert collector.sql(f"SELECT count(*) AS n FROM dataset_records WHERE dataset_id = '{dataset_id}'") == [{"n": 3}]

    page, token = _records(api, dataset_id, max_results=2)
    assert len(page) == 2 and token
    tail, _ = _records(api, dataset_id, max_results=2, page_token=token)
    assert [r["inputs"] for r in tail] == [{"q": "c"}]

    deleted = api.request(
        "DELETE", f"{BASE}/{dataset_id}/records", json={"dataset_record_ids": [c["dataset_record_id"]]}
    )
    assert deleted.json() == {"deleted_count": 1}
    assert len(_records(api, dataset_id)[0]) == 2
    assert json.loads(api.get(f"{BASE}/{dataset_id}").json()["dataset"]["profile"]) == {"num_records": 2}


def test_record_errors(api: httpx.Client, experiment_id: str) -> None:
    dataset_id = _create(api, experiment_id)["dataset_id"]
    url = f"{BASE}/{dataset_id}/records"
    assert_error(
        api.post(url, json={"records": json.dumps([{"expectations": {"x": 1}}])}),
        400,
        "INVALID_PARAMETER_VALUE",
        "Each record must have an 'inputs' field",
    )
    assert_error(api.post(url, json={"records": "not json"}), 400, "INVALID_PARAMETER_VALUE", "records")
    assert_error(api.post(url, json={}), 400, "INVALID_PARAMETER_VALUE", "records")
    assert_error(
        api.post(url, json={"records": [{"inputs": {"q": 1}, "source": {"source_type": "ROBOT"}}]}),
        400,
        "INVALID_PARAMETER_VALUE",
        "source",
    )
    unknown = f"{BASE}/d-{'0' * 32}/records"
    assert_error(api.post(unknown, json={"records": "[]"}), 404, "RESOURCE_DOES_NOT_EXIST", "not found")
    assert api.get(unknown).json() == {"records": "[]"}  # as MLflow answers
    assert_error(api.get(f"{BASE}/nope"), 404, "RESOURCE_DOES_NOT_EXIST", "not found")
