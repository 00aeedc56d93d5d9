"""Every route in the table is documented: MLflow routes by MLflow's RPC table (reference 5, 6.1,
the v2 experiment RPCs), native routes by the OpenAPI document."""

from __future__ import annotations

from annotrace.collector.api.native.openapi import SPEC
from annotrace.collector.api.routes import MLFLOW_ROUTES, NATIVE_ROUTES

# (method, path under /api/<v>/mlflow) of MLflow's RPCs, with the versions MLflow serves them at
MLFLOW_RPCS = {
    ("POST", "/traces/{trace_id}/assessments"): {"3.0"},
    ("GET", "/traces/{trace_id}/assessments/{assessment_id}"): {"3.0"},
    ("PATCH", "/traces/{trace_id}/assessments/{assessment_id}"): {"3.0"},
    ("DELETE", "/traces/{trace_id}/assessments/{assessment_id}"): {"3.0"},
    ("GET", "/traces/{trace_id}"): {"3.0"},
    ("POST", "/traces"): {"3.0"},  # StartTraceV3 (reference 6.1)
    ("GET", "/traces/get"): {"3.0"},
    ("GET", "/traces/batchGet"): {"3.0"},
    ("POST", "/traces/batchGetInfos"): {"3.0"},
    ("POST", "/traces/search"): {"3.0"},
    ("POST", "/traces/delete-traces"): {"2.0", "3.0"},
    ("PATCH", "/traces/{trace_id}/tags"): {"2.0", "3.0"},
    ("DELETE", "/traces/{trace_id}/tags"): {"2.0", "3.0"},
    ("GET", "/experiments/get-by-name"): {"2.0"},
    ("POST", "/experiments/create"): {"2.0"},
    ("GET", "/experiments/get"): {"2.0"},
    ("POST", "/experiments/search"): {"2.0"},
    ("GET", "/experiments/search"): {"2.0"},
    # the run, logged-model and experiment RPCs below: as a stock mlflow 3.17.2 server lists them
    # (mlflow.server.handlers.get_endpoints)
    ("POST", "/experiments/delete"): {"2.0"},
    ("POST", "/experiments/restore"): {"2.0"},
    ("POST", "/experiments/update"): {"2.0"},
    ("POST", "/experiments/set-experiment-tag"): {"2.0"},
    ("POST", "/experiments/delete-experiment-tag"): {"2.0"},
    ("POST", "/traces/link-to-run"): {"2.0"},
    ("POST", "/runs/create"): {"2.0"},
    ("GET", "/runs/get"): {"2.0"},
    ("POST", "/runs/update"): {"2.0"},
    ("POST", "/runs/delete"): {"2.0"},
    ("POST", "/runs/restore"): {"2.0"},
    ("POST", "/runs/search"): {"2.0"},
    ("POST", "/runs/log-metric"): {"2.0"},
    ("POST", "/runs/log-parameter"): {"2.0"},
    ("POST", "/runs/set-tag"): {"2.0"},
    ("POST", "/runs/delete-tag"): {"2.0"},
    ("POST", "/runs/log-batch"): {"2.0"},
    ("POST", "/runs/log-inputs"): {"2.0"},
    ("POST", "/runs/outputs"): {"2.0"},
    ("GET", "/metrics/get-history"): {"2.0"},
    ("POST", "/logged-models"): {"2.0"},
    ("POST", "/logged-models/search"): {"2.0"},
    ("GET", "/logged-models/{model_id}"): {"2.0"},
    ("PATCH", "/logged-models/{model_id}"): {"2.0"},
    ("DELETE", "/logged-models/{model_id}"): {"2.0"},
    ("PATCH", "/logged-models/{model_id}/tags"): {"2.0"},
    ("DELETE", "/logged-models/{model_id}/tags/{tag_key}"): {"2.0"},
    ("POST", "/logged-models/{model_id}/params"): {"2.0"},
    ("POST", "/label-schemas/create"): {"3.0"},
    ("GET", "/label-schemas/get"): {"3.0"},
    ("GET", "/label-schemas/get-by-name"): {"3.0"},
    ("GET", "/label-schemas/list"): {"3.0"},
    ("PATCH", "/label-schemas/update"): {"3.0"},
    ("DELETE", "/label-schemas/delete"): {"3.0"},
    # review queues (review_queues.proto, MLflow 3.14+)
    ("POST", "/review-queues/create"): {"3.0"},
    ("POST", "/review-queues/get-or-create-user"): {"3.0"},
    ("GET", "/review-queues/get"): {"3.0"},
    ("GET", "/review-queues/get-by-name"): {"3.0"},
    ("GET", "/review-queues/list"): {"3.0"},
    ("POST", "/review-queues/update"): {"3.0"},
    ("POST", "/review-queues/delete"): {"3.0"},
    ("POST", "/review-queues/items/add"): {"3.0"},
    ("POST", "/review-queues/items/remove"): {"3.0"},
    ("GET", "/review-queues/items/list"): {"3.0"},
    ("POST", "/review-queues/items/set-status"): {"3.0"},
    ("POST", "/datasets/create"): {"3.0"},
    ("POST", "/datasets/search"): {"3.0"},
    ("GET", "/datasets/search"): {"3.0"},
    ("GET", "/datasets/{dataset_id}"): {"3.0"},
    ("DELETE", "/datasets/{dataset_id}"): {"3.0"},
    ("PATCH", "/datasets/{dataset_id}/tags"): {"3.0"},
    ("DELETE", "/datasets/{dataset_id}/tags/{key}"): {"3.0"},
    ("POST", "/datasets/{dataset_id}/records"): {"3.0"},
    ("GET", "/datasets/{dataset_id}/records"): {"3.0"},
    ("DELETE", "/datasets/{dataset_id}/records"): {"3.0"},
    ("GET", "/datasets/{dataset_id}/experiment-ids"): {"3.0"},
    ("POST", "/datasets/{dataset_id}/add-experiments"): {"3.0"},
    ("POST", "/datasets/{dataset_id}/remove-experiments"): {"3.0"},
    ("POST", "/scorers/register"): {"3.0"},
    ("GET", "/scorers/list"): {"3.0"},
    ("GET", "/scorers/versions"): {"3.0"},
    ("GET", "/scorers/get"): {"3.0"},
    ("DELETE", "/scorers/delete"): {"3.0"},
    ("GET", "/scorers/online-configs"): {"3.0"},
}


def test_every_mlflow_route_is_an_mlflow_rpc_at_its_version() -> None:
    for versions, method, path, _ in MLFLOW_ROUTES:
        assert (method, path) in MLFLOW_RPCS, (method, path)
        assert set(versions) <= MLFLOW_RPCS[(method, path)], (method, path, versions)


def test_every_native_route_is_in_the_openapi_document() -> None:
    for method, path, _ in NATIVE_ROUTES:
        assert method.lower() in SPEC["paths"].get(path, {}), (method, path)
