"""Evaluation datasets through the stock mlflow client: the same results from annotrace as from mlflow server."""

from __future__ import annotations

from tests.differential.harness import Differential


def test_dataset_crud_and_search(differential: Differential) -> None:
    stock = differential.assert_same("datasets.py", "crud_and_search")
    assert stock["by_name"]["tags"]["team"] == "qa" and stock["tags_after"]["rows"] == "3"
    assert len(stock["search"]["default"]) == 2 and stock["search"]["like_case"] == []
    assert stock["errors"]["or"] == {"error_code": "INVALID_PARAMETER_VALUE", "http_status": 400}


def test_dataset_records(differential: Differential) -> None:
    stock = differential.assert_same("datasets.py", "merge_and_read_records")
    assert stock["record_count"] == 5 and stock["pages"] == [2, 2, 1] and stock["deleted"] == 1
    assert stock["after_second_merge"]["profile"] == {"num_records": 5}


def test_dataset_from_traces(differential: Differential) -> None:
    stock = differential.assert_same("datasets.py", "merge_from_traces")
    assert len(stock["rows"]) == 2 and stock["rows"][0]["expectations"] == {"expected_response": "ALPHA!"}
