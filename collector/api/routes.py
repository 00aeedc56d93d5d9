"""The REST route table (MLflow-compatible paths and the native API), read top to bottom.

Every MLflow RPC is served under ``/api/<v>/mlflow`` and ``/ajax-api/<v>/mlflow`` (MLflow
registers both; the UI uses ``ajax-api``), at the major version where MLflow defines it, plus
``2.0`` for the trace tag and delete RPCs the Python client still calls on v2. Static paths
come before ``{trace_id}`` ones so ``/traces/search`` is never read as a trace id.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from functools import partial
from typing import TYPE_CHECKING

from starlette.responses import PlainTextResponse, Response
from starlette.routing import BaseRoute, Route

from annotrace.collector.api.mlflow import (
    artifacts,
    assessments,
    datasets,
    experiments,
    label_schemas,
    logged_models,
    review_queues,
    runs,
    scorers,
    start_trace,
    traces,
)
from annotrace.collector.api.native import adjudication, agreement, labeling, openapi, routing_rules, users
from annotrace.collector.api.native import traces as native_traces
from annotrace.collector.store.access import Access

if TYPE_CHECKING:
    from starlette.requests import Request

Handler = Callable[[Access, "Request"], Awaitable[Response]]
MLFLOW_VERSION = "3.18.0"  # GET /version: >= 3.4 makes the MLflow client send spans over OTLP

# (versions, method, path under /mlflow, handler)
MLFLOW_ROUTES: list[tuple[tuple[str, ...], str, str, Handler]] = [
    # assessments (reference 5)
    (("3.0",), "POST", "/traces/{trace_id}/assessments", assessments.create_assessment),
    (("3.0",), "GET", "/traces/{trace_id}/assessments/{assessment_id}", assessments.get_assessment),
    (("3.0",), "PATCH", "/traces/{trace_id}/assessments/{assessment_id}", assessments.update_assessment),
    (("3.0",), "DELETE", "/traces/{trace_id}/assessments/{assessment_id}", assessments.delete_assessment),
    # traces (reference 6.1)
    (("3.0",), "POST", "/traces/search", traces.search_traces),
    (("3.0",), "GET", "/traces/get", traces.get_trace),
    (("3.0",), "GET", "/traces/batchGet", traces.batch_get_traces),
    (("3.0",), "POST", "/traces/batchGetInfos", traces.batch_get_trace_infos),
    (("2.0", "3.0"), "POST", "/traces/delete-traces", traces.delete_traces),
    (("2.0", "3.0"), "PATCH", "/traces/{trace_id}/tags", traces.set_trace_tag),
    (("2.0", "3.0"), "DELETE", "/traces/{trace_id}/tags", traces.delete_trace_tag),
    (("3.0",), "GET", "/traces/{trace_id}", traces.get_trace_info),
    (("3.0",), "POST", "/traces", start_trace.start_trace),
    (("2.0",), "POST", "/traces/link-to-run", runs.link_traces_to_run),
    # experiments (the v2 subset MLflow clients use)
    (("2.0",), "GET", "/experiments/get-by-name", experiments.get_experiment_by_name),
    (("2.0",), "POST", "/experiments/create", experiments.create_experiment),
    (("2.0",), "GET", "/experiments/get", experiments.get_experiment),
    (("2.0",), "POST", "/experiments/search", experiments.search_experiments),
    (("2.0",), "GET", "/experiments/search", experiments.search_experiments),
    (("2.0",), "POST", "/experiments/delete", experiments.delete_experiment),
    (("2.0",), "POST", "/experiments/restore", experiments.restore_experiment),
    (("2.0",), "POST", "/experiments/update", experiments.update_experiment),
    (("2.0",), "POST", "/experiments/set-experiment-tag", experiments.set_experiment_tag),
    (("2.0",), "POST", "/experiments/delete-experiment-tag", experiments.delete_experiment_tag),
    # runs (what start_run, search_traces(run_id=...) and genai.evaluate call)
    (("2.0",), "POST", "/runs/create", runs.create_run),
    (("2.0",), "GET", "/runs/get", runs.get_run),
    (("2.0",), "POST", "/runs/update", runs.update_run),
    (("2.0",), "POST", "/runs/delete", runs.delete_run),
    (("2.0",), "POST", "/runs/restore", runs.restore_run),
    (("2.0",), "POST", "/runs/search", runs.search_runs),
    (("2.0",), "POST", "/runs/log-metric", runs.log_metric),
    (("2.0",), "POST", "/runs/log-parameter", runs.log_param),
    (("2.0",), "POST", "/runs/set-tag", runs.set_tag),
    (("2.0",), "POST", "/runs/delete-tag", runs.delete_tag),
    (("2.0",), "POST", "/runs/log-batch", runs.log_batch),
    (("2.0",), "POST", "/runs/log-inputs", runs.log_inputs),
    (("2.0",), "POST", "/runs/outputs", runs.log_outputs),
    (("2.0",), "GET", "/metrics/get-history", runs.get_metric_history),
    # logged models (set_active_model, create_external_model); static paths before {model_id}
    (("2.0",), "POST", "/logged-models", logged_models.create_logged_model),
    (("2.0",), "POST", "/logged-models/search", logged_models.search_logged_models),
    (("2.0",), "GET", "/logged-models/{model_id}", logged_models.get_logged_model),
    (("2.0",), "PATCH", "/logged-models/{model_id}", logged_models.finalize_logged_model),
    (("2.0",), "DELETE", "/logged-models/{model_id}", logged_models.delete_logged_model),
    (("2.0",), "PATCH", "/logged-models/{model_id}/tags", logged_models.set_logged_model_tags),
    (("2.0",), "DELETE", "/logged-models/{model_id}/tags/{tag_key}", logged_models.delete_logged_model_tag),
    (("2.0",), "POST", "/logged-models/{model_id}/params", logged_models.log_logged_model_params),
    # label schemas (reference 10.2)
    (("3.0",), "POST", "/label-schemas/create", label_schemas.create_label_schema),
    (("3.0",), "GET", "/label-schemas/get", label_schemas.get_label_schema),
    (("3.0",), "GET", "/label-schemas/get-by-name", label_schemas.get_label_schema_by_name),
    (("3.0",), "GET", "/label-schemas/list", label_schemas.list_label_schemas),
    (("3.0",), "PATCH", "/label-schemas/update", label_schemas.update_label_schema),
    (("3.0",), "DELETE", "/label-schemas/delete", label_schemas.delete_label_schema),
    # review queues (reference 11.3 and 14; MLflow 3.14+ OSS)
    (("3.0",), "POST", "/review-queues/create", review_queues.create_review_queue),
    (("3.0",), "POST", "/review-queues/get-or-create-user", review_queues.get_or_create_user_queue),
    (("3.0",), "GET", "/review-queues/get", review_queues.get_review_queue),
    (("3.0",), "GET", "/review-queues/get-by-name", review_queues.get_review_queue_by_name),
    (("3.0",), "GET", "/review-queues/list", review_queues.list_review_queues),
    (("3.0",), "POST", "/review-queues/update", review_queues.update_review_queue),
    (("3.0",), "POST", "/review-queues/delete", review_queues.delete_review_queue),
    (("3.0",), "POST", "/review-queues/items/add", review_queues.add_items),
    (("3.0",), "POST", "/review-queues/items/remove", review_queues.remove_items),
    (("3.0",), "GET", "/review-queues/items/list", review_queues.list_items),
    (("3.0",), "POST", "/review-queues/items/set-status", review_queues.set_item_status),
    # evaluation datasets (reference 12.1); static paths before {dataset_id}
    (("3.0",), "POST", "/datasets/create", datasets.create_dataset),
    (("3.0",), "POST", "/datasets/search", datasets.search_datasets),
    (("3.0",), "GET", "/datasets/search", datasets.search_datasets),
    (("3.0",), "GET", "/datasets/{dataset_id}", datasets.get_dataset),
    (("3.0",), "DELETE", "/datasets/{dataset_id}", datasets.delete_dataset),
    (("3.0",), "PATCH", "/datasets/{dataset_id}/tags", datasets.set_tags),
    (("3.0",), "DELETE", "/datasets/{dataset_id}/tags/{key}", datasets.delete_tag),
    (("3.0",), "POST", "/datasets/{dataset_id}/records", datasets.upsert_records),
    (("3.0",), "GET", "/datasets/{dataset_id}/records", datasets.get_records),
    (("3.0",), "DELETE", "/datasets/{dataset_id}/records", datasets.delete_records),
    (("3.0",), "GET", "/datasets/{dataset_id}/experiment-ids", datasets.experiment_ids),
    (("3.0",), "POST", "/datasets/{dataset_id}/add-experiments", datasets.add_experiments),
    (("3.0",), "POST", "/datasets/{dataset_id}/remove-experiments", datasets.remove_experiments),
    # scorer registry (Scorer.register, list_scorers, get_scorer, delete_scorer)
    (("3.0",), "POST", "/scorers/register", scorers.register_scorer),
    (("3.0",), "GET", "/scorers/list", scorers.list_scorers),
    (("3.0",), "GET", "/scorers/versions", scorers.list_scorer_versions),
    (("3.0",), "GET", "/scorers/get", scorers.get_scorer),
    (("3.0",), "DELETE", "/scorers/delete", scorers.delete_scorer),
    (("3.0",), "GET", "/scorers/online-configs", scorers.online_scoring_configs),
]

# (method, path under /api/2.0/mlflow-artifacts, handler): MLflow's artifact proxy, for logged models' MLmodel files
ARTIFACT_ROUTES: list[tuple[str, str, Handler]] = [
    ("GET", "/artifacts", artifacts.list_artifacts),
    ("PUT", "/artifacts/{artifact_path:path}", artifacts.upload_artifact),
    ("GET", "/artifacts/{artifact_path:path}", artifacts.download_artifact),
]

# (method, path, handler): routes MLflow has no equivalent for, described in native/openapi.py
NATIVE_ROUTES: list[tuple[str, str, Handler]] = [
    ("GET", "/api/v1/traces/{trace_id}/assessments", native_traces.list_assessments),
    ("GET", "/api/v1/traces/{trace_id}/assessments/{assessment_id}/history", native_traces.assessment_history),
    ("GET", "/api/v1/traces/{trace_id}/spans", native_traces.span_list),
    # labeling sessions (MLflow's are Databricks-only; reference 11.1)
    ("POST", "/api/v1/labeling/sessions", labeling.create_session),
    ("GET", "/api/v1/labeling/sessions", labeling.list_sessions),
    ("GET", "/api/v1/labeling/sessions/{session_id}", labeling.get_session),
    ("PATCH", "/api/v1/labeling/sessions/{session_id}", labeling.update_session),
    ("DELETE", "/api/v1/labeling/sessions/{session_id}", labeling.delete_session),
    ("POST", "/api/v1/labeling/sessions/{session_id}/traces", labeling.add_traces),
    ("GET", "/api/v1/labeling/sessions/{session_id}/items", labeling.list_items),
    ("POST", "/api/v1/labeling/sessions/{session_id}/items/{trace_id}/answers", labeling.post_answer),
    ("POST", "/api/v1/labeling/sessions/{session_id}/items/{trace_id}/skip", labeling.skip_item),
    ("GET", "/api/v1/labeling/sessions/{session_id}/progress", labeling.progress),
    ("GET", "/api/v1/labeling/sessions/{session_id}/adjudication", adjudication.list_disputes),
    ("POST", "/api/v1/labeling/sessions/{session_id}/items/{trace_id}/gold", adjudication.record_gold),
    # routing rules: new matching traces join a session or queue as they arrive (store/routing.py)
    ("POST", "/api/v1/labeling/sessions/{session_id}/routing-rules", routing_rules.create_rule),
    ("GET", "/api/v1/labeling/sessions/{session_id}/routing-rules", routing_rules.list_rules),
    ("DELETE", "/api/v1/labeling/sessions/{session_id}/routing-rules/{rule_id}", routing_rules.delete_rule),
    # agreement (labelers with each other; judges against humans); static path first
    ("GET", "/api/v1/agreement/judges", agreement.judge_agreement),
    ("GET", "/api/v1/agreement/{session_id}", agreement.session_agreement),
    # users, permissions and API tokens (who may call: auth/rules.py)
    ("GET", "/api/v1/users", users.list_users),
    ("POST", "/api/v1/users", users.add_user),
    ("PATCH", "/api/v1/users/{name}", users.update_user),
    ("DELETE", "/api/v1/users/{name}", users.delete_user),
    ("PUT", "/api/v1/users/{name}/permissions/{experiment_id}", users.set_permission),
    ("DELETE", "/api/v1/users/{name}/permissions/{experiment_id}", users.delete_permission),
    ("GET", "/api/v1/tokens", users.list_tokens),
    ("POST", "/api/v1/tokens", users.create_token),
    ("DELETE", "/api/v1/tokens/{token_id}", users.revoke_token),
]


async def _version(request: Request) -> Response:
    return PlainTextResponse(MLFLOW_VERSION)


def api_routes(access: Access) -> list[BaseRoute]:
    """The REST routes, all reaching the store through ``access`` (shared with the web pages)."""
    routes: list[BaseRoute] = [
        Route("/version", _version, methods=["GET"]),
        Route("/api/v1/openapi.json", openapi.openapi_json, methods=["GET"]),
    ]
    for method, path, handler in NATIVE_ROUTES:
        routes.append(Route(path, partial(handler, access), methods=[method]))
    for method, path, handler in ARTIFACT_ROUTES:
        for prefix in ("/api", "/ajax-api"):
            routes.append(Route(f"{prefix}/2.0/mlflow-artifacts{path}", partial(handler, access), methods=[method]))
    for versions, method, path, handler in MLFLOW_ROUTES:
        for prefix in ("/api", "/ajax-api"):
            for version in versions:
                routes.append(Route(f"{prefix}/{version}/mlflow{path}", partial(handler, access), methods=[method]))
    return routes
