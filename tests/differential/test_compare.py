"""The comparison normalises only ids, recent times and server addresses, so real differences fail."""

from __future__ import annotations

import time

from tests.differential.compare import differences, normalise

URI = "http://127.0.0.1:5000"
NOW_MS = int(time.time() * 1000)


def test_ids_become_numbered_placeholders_that_keep_references() -> None:
    run_id = "0123456789abcdef0123456789abcdef"
    result = {
        "run_id": run_id,
        "tags": {"mlflow.parentRunId": run_id},
        "uri": f"runs:/{run_id}/model",
        "experiment_id": "7",
        "param": "7",
    }
    assert normalise(result, URI) == {
        "run_id": "<run_id#1>",
        "tags": {"mlflow.parentRunId": "<run_id#1>"},
        "uri": "runs:/<run_id#1>/model",
        "experiment_id": "<experiment_id#1>",
        "param": "7",
    }


def test_a_wrong_reference_still_differs() -> None:
    stock = normalise({"trace_ids": ["tr-" + "a" * 32, "tr-" + "b" * 32], "linked": "tr-" + "a" * 32}, URI)
    ours = normalise({"trace_ids": ["tr-" + "c" * 32, "tr-" + "d" * 32], "linked": "tr-" + "d" * 32}, URI)
    assert differences(stock, ours) == ["$.linked: stock '<trace_id#1>' != annotrace '<trace_id#2>'"]


def test_only_recent_times_are_normalised() -> None:
    assert normalise({"timestamp": 1700000000000}, URI) == {"timestamp": 1700000000000}
    assert normalise({"end_time": None}, URI) == {"end_time": None}
    assert normalise({"start_time": NOW_MS}, URI) == {"start_time": "<time>"}


def test_server_addresses_are_normalised() -> None:
    assert normalise({"artifact_uri": "mlflow-artifacts:/1/abc", "link": f"{URI}/#/experiments/1"}, URI) == {
        "artifact_uri": "<uri>",
        "link": "<tracking-uri>/#/experiments/1",
    }


def test_differences_name_every_path() -> None:
    assert differences({"a": [1, 2], "b": {"c": 1.0}, "d": 1}, {"a": [1], "b": {"c": 1}, "e": 2}) == [
        "$.a: 2 items from stock, 1 from annotrace (stock: [1, 2]; annotrace: [1])",
        "$.b.c: stock 1.0 != annotrace 1",
        "$.d: missing from annotrace (stock: 1)",
        "$.e: only in annotrace (2)",
    ]
