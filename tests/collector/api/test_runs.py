"""Run routes (``/api/2.0/mlflow/runs/*``, ``traces/link-to-run``) on a real collector: what the stock
client compares in tests/differential, plus what only annotrace has (a labeling session is a run)
and refusals that must write nothing."""

from __future__ import annotations

import httpx

from tests.collector.api.rest import MakeTrace

RUNS = "/api/2.0/mlflow/runs"


def _run(api: httpx.Client, experiment_id: str, **fields: object) -> dict[str, object]:
    response = api.post(f"{RUNS}/create", json={"experiment_id": experiment_id, **fields})
    assert response.status_code == 200, response.text
    run: dict[str, object] = response.json()["run"]
    return run


def test_a_labeling_session_is_a_run_whose_traces_search_by_run_id_finds(
    api: httpx.Client, experiment_id: str, make_trace: MakeTrace
) -> None:
    session = api.post("/api/v1/labeling/sessions", json={"experiment_id": experiment_id, "name": "review"}).json()
    run_id = session["labeling_session"]["mlflow_run_id"]
    api.post(f"/api/v1/labeling/sessions/{run_id}/traces", json={"trace_ids": [make_trace().trace_id]})
    run = api.get(f"{RUNS}/get", params={"run_id": run_id}).json()["run"]
    assert (run["info"]["experiment_id"], run["info"]["run_name"], run["info"]["status"]) == (
        experiment_id,
        "review",
        "RUNNING",
    )
    found = api.post(
        "/api/3.0/mlflow/traces/search",
        json={
            "locations": [{"type": "MLFLOW_EXPERIMENT", "mlflow_experiment": {"experiment_id": experiment_id}}],
            "filter": f"attributes.run_id = '{run_id}'",
        },
    ).json()
    assert len(found["traces"]) == 1


def test_a_refused_batch_writes_nothing(api: httpx.Client, experiment_id: str) -> None:
    run_id = _run(api, experiment_id, run_name="batch")["info"]["run_id"]  # type: ignore[index]
    assert api.post(f"{RUNS}/log-parameter", json={"run_id": run_id, "key": "lr", "value": "0.1"}).status_code == 200
    refused = api.post(
        f"{RUNS}/log-batch",
        json={
            "run_id": run_id,
            "params": [{"key": "lr", "value": "0.2"}],
            "tags": [{"key": "t", "value": "v"}],
            "metrics": [{"key": "m", "value": 1, "timestamp": 1, "step": 0}],
        },
    )
    assert refused.status_code == 400 and refused.json()["error_code"] == "INVALID_PARAMETER_VALUE"
    data = api.get(f"{RUNS}/get", params={"run_id": run_id}).json()["run"]["data"]
    assert data["params"] == [{"key": "lr", "value": "0.1"}] and "metrics" not in data
    assert data["tags"] == [{"key": "mlflow.runName", "value": "batch"}]


def test_bad_fields_are_named(api: httpx.Client, experiment_id: str) -> None:
    run_id = _run(api, experiment_id)["info"]["run_id"]  # type: ignore[index]
    cases = [
        (f"{RUNS}/log-metric", {"run_id": run_id, "key": "m", "value": 1}, "timestamp"),
        (f"{RUNS}/log-metric", {"run_id": run_id, "key": "m", "value": "high", "timestamp": 1}, "value"),
        (f"{RUNS}/update", {"run_id": run_id, "status": "DONE"}, "status"),
        (f"{RUNS}/search", {"experiment_ids": [experiment_id], "run_view_type": "SOME"}, "run_view_type"),
        (f"{RUNS}/search", {"experiment_ids": [experiment_id], "filter": "metrics.m > 'x'"}, "metrics.m"),
        (f"{RUNS}/log-batch", {"run_id": run_id, "metrics": [{"key": "m", "value": 1}]}, "metrics[0].timestamp"),
        ("/api/2.0/mlflow/traces/link-to-run", {"run_id": run_id, "trace_ids": ["nope"]}, "trace_ids"),
    ]
    for path, body, field in cases:
        response = api.post(path, json=body)
        assert response.status_code == 400, (path, response.text)
        assert field in response.json()["message"], (path, response.json())


def test_links_are_kept_once_and_at_most_100_per_call(
    api: httpx.Client, experiment_id: str, make_trace: MakeTrace
) -> None:
    run_id = _run(api, experiment_id)["info"]["run_id"]  # type: ignore[index]
    trace_id = make_trace().trace_id
    for _ in range(2):
        linked = api.post("/api/2.0/mlflow/traces/link-to-run", json={"run_id": run_id, "trace_ids": [trace_id]})
        assert linked.status_code == 200, linked.text
    too_many = api.post(
        "/api/2.0/mlflow/traces/link-to-run",
        json={"run_id": run_id, "trace_ids": ["tr-" + f"{i:032x}" for i in range(101)]},
    )
    assert too_many.status_code == 400 and "100" in too_many.json()["message"]
    rows = api.post("/api/v1/sql", json={"query": f"SELECT count(*) FROM trace_run_links WHERE run_id = '{run_id}'"})
    assert rows.json()["rows"] == [[1]]


def test_a_body_with_several_faults_gets_the_stock_servers_first_error(api: httpx.Client) -> None:
    """The field the stock server (mlflow 3.17.2) names for each body, read off it: its handlers check
    fields in a fixed order, which the declarations keep."""
    cases = [
        (f"{RUNS}/create", {"experiment_id": 5, "start_time": "x", "run_name": 3}, "'experiment_id'"),
        (f"{RUNS}/create", {"start_time": "x", "run_name": 3, "tags": [{"key": 1}]}, "'start_time'"),
        (f"{RUNS}/update", {"status": 5, "end_time": "x"}, "'run_id'"),
        (f"{RUNS}/update", {"run_id": "r", "status": 5, "end_time": "x"}, "'end_time'"),
        (f"{RUNS}/update", {"run_uuid": 5}, "'run_id'"),
        (f"{RUNS}/log-metric", {"run_id": "r", "value": "x", "key": 5}, "'key'"),
        (f"{RUNS}/log-metric", {"key": "k", "value": 1, "timestamp": "x"}, "'run_id'"),
        (f"{RUNS}/log-batch", {"run_id": "r", "metrics": [{"key": "m"}], "params": [{}]}, "'metrics[0].value'"),
        (f"{RUNS}/log-batch", {"run_id": "r", "tags": [{"value": "x"}], "params": [{}]}, "'params[0].key'"),
        (f"{RUNS}/search", {"experiment_ids": "x", "max_results": "y", "run_view_type": "S"}, "'experiment_ids'"),
        (f"{RUNS}/search", {"filter": 4, "max_results": 60000, "order_by": [1]}, "'filter'"),
        ("/api/2.0/mlflow/traces/link-to-run", {"trace_ids": [1], "run_id": ""}, "'trace_ids'"),
        (
            "/api/2.0/mlflow/experiments/create",
            {"name": "x", "artifact_location": 3, "tags": "x"},
            "'artifact_location'",
        ),
        ("/api/2.0/mlflow/experiments/search", {"max_results": "y", "filter": 5, "order_by": "z"}, "'max_results'"),
        ("/api/3.0/mlflow/datasets/create", {"name": "", "experiment_ids": "x", "tags": 5}, "'name'"),
        ("/api/3.0/mlflow/scorers/register", {"name": "", "serialized_scorer": ""}, "'experiment_id'"),
        (
            "/api/2.0/mlflow/logged-models/search",
            {"experiment_ids": ["0"], "filter": 5, "max_results": "x"},
            "'filter'",
        ),
    ]
    for path, body, field in cases:
        response = api.post(path, json=body)
        assert response.status_code == 400, (path, body, response.text)
        assert field in response.json()["message"], (path, body, response.json())


def test_query_strings_take_run_uuid_a_nan_metric_and_a_list_given_once(api: httpx.Client, experiment_id: str) -> None:
    run_id = _run(api, experiment_id)["info"]["run_id"]  # type: ignore[index]
    api.post(f"{RUNS}/log-metric", json={"run_id": run_id, "key": "m", "value": "NaN", "timestamp": 1})
    history = api.get("/api/2.0/mlflow/metrics/get-history", params={"run_uuid": run_id, "metric_key": "m"})
    assert history.json() == {"metrics": [{"key": "m", "value": "NaN", "timestamp": 1, "step": 0}]}, history.text
    found = api.get("/api/2.0/mlflow/experiments/search", params={"order_by": "name", "max_results": "1000"})
    assert experiment_id in [e["experiment_id"] for e in found.json()["experiments"]], found.text
