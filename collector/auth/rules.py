"""Who may call which route: one rule per (method, route path), read top to bottom.

Paths are the route table's own (``api/routes.py``, ``web/routes.py``, the OTLP routes) with
MLflow's ``/api/<v>/mlflow`` and ``/ajax-api/<v>/mlflow`` prefixes written ``mlflow:``, and a
page's ``.json`` twin under its page. A route without a rule is refused to everyone but admins
(403) when authentication is on, and ``tests/collector/auth/test_matrix.py`` fails for it: a new
route cannot ship without deciding who may call it.

Levels:
``public``  no credential (health, static files, the login page);
``any``     any signed-in user (the experiment list, their own tokens, sign-out);
``read``    viewer, editor, admin (labelers read only what their sessions need: ``label``);
``label``   labeler, editor, admin; the handler checks a labeler is assigned to the session;
``edit``    editor, admin (traces, assessments, label schemas, sessions, queues, datasets);
``admin``   admin only (users, permissions).
"""

from __future__ import annotations

import re
from typing import Literal

Level = Literal["public", "any", "read", "label", "edit", "admin"]
LEVEL_ROLES: dict[str, frozenset[str]] = {
    "public": frozenset({"admin", "editor", "labeler", "viewer"}),
    "any": frozenset({"admin", "editor", "labeler", "viewer"}),
    "read": frozenset({"admin", "editor", "viewer"}),
    "label": frozenset({"admin", "editor", "labeler"}),
    "edit": frozenset({"admin", "editor"}),
    "admin": frozenset({"admin"}),
}
INGEST: Level = "edit"
"""OTLP exports (gRPC and HTTP, on every port) write traces: editors and admins."""

_M = "mlflow:"
RULES: dict[tuple[str, str], Level] = {
    # service
    ("GET", "/api/v1/health"): "public",
    ("GET", "/favicon.ico"): "public",
    ("GET", "/version"): "public",  # the MLflow client asks before it signs anything
    ("GET", "/api/v1/openapi.json"): "any",
    ("POST", "/api/v1/sql"): "any",  # rows of the experiments the caller may READ (api/native/sql.py)
    # OTLP/HTTP on the web port
    ("POST", "/v1/traces"): INGEST,
    ("POST", "/v1/logs"): INGEST,
    ("POST", "/v1/metrics"): INGEST,
    # users and tokens (api/native/users.py)
    ("GET", "/api/v1/users"): "admin",
    ("POST", "/api/v1/users"): "admin",
    ("PATCH", "/api/v1/users/{name}"): "admin",
    ("DELETE", "/api/v1/users/{name}"): "admin",
    ("PUT", "/api/v1/users/{name}/permissions/{experiment_id}"): "admin",
    ("DELETE", "/api/v1/users/{name}/permissions/{experiment_id}"): "admin",
    ("GET", "/api/v1/tokens"): "any",
    ("POST", "/api/v1/tokens"): "any",
    ("DELETE", "/api/v1/tokens/{token_id}"): "any",
    # native REST
    ("GET", "/api/v1/traces/{trace_id}/assessments"): "read",
    ("GET", "/api/v1/traces/{trace_id}/assessments/{assessment_id}/history"): "read",
    ("GET", "/api/v1/traces/{trace_id}/spans"): "read",
    ("POST", "/api/v1/labeling/sessions"): "edit",
    ("GET", "/api/v1/labeling/sessions"): "label",
    ("GET", "/api/v1/labeling/sessions/{session_id}"): "label",
    ("PATCH", "/api/v1/labeling/sessions/{session_id}"): "edit",
    ("DELETE", "/api/v1/labeling/sessions/{session_id}"): "edit",
    ("POST", "/api/v1/labeling/sessions/{session_id}/traces"): "edit",
    ("GET", "/api/v1/labeling/sessions/{session_id}/items"): "label",
    ("POST", "/api/v1/labeling/sessions/{session_id}/items/{trace_id}/answers"): "label",
    ("POST", "/api/v1/labeling/sessions/{session_id}/items/{trace_id}/skip"): "label",
    ("GET", "/api/v1/labeling/sessions/{session_id}/progress"): "label",
    ("GET", "/api/v1/labeling/sessions/{session_id}/adjudication"): "read",
    ("POST", "/api/v1/labeling/sessions/{session_id}/items/{trace_id}/gold"): "edit",
    ("POST", "/api/v1/labeling/sessions/{session_id}/routing-rules"): "edit",
    ("GET", "/api/v1/labeling/sessions/{session_id}/routing-rules"): "read",
    ("DELETE", "/api/v1/labeling/sessions/{session_id}/routing-rules/{rule_id}"): "edit",
    ("GET", "/api/v1/agreement/judges"): "read",
    ("GET", "/api/v1/agreement/{session_id}"): "read",
    # MLflow: assessments
    ("POST", _M + "/traces/{trace_id}/assessments"): "edit",
    ("GET", _M + "/traces/{trace_id}/assessments/{assessment_id}"): "read",
    ("PATCH", _M + "/traces/{trace_id}/assessments/{assessment_id}"): "edit",
    ("DELETE", _M + "/traces/{trace_id}/assessments/{assessment_id}"): "edit",
    # MLflow: traces
    ("POST", _M + "/traces/search"): "read",
    ("GET", _M + "/traces/get"): "read",
    ("GET", _M + "/traces/batchGet"): "read",
    ("POST", _M + "/traces/batchGetInfos"): "read",
    ("POST", _M + "/traces/delete-traces"): "edit",
    ("PATCH", _M + "/traces/{trace_id}/tags"): "edit",
    ("DELETE", _M + "/traces/{trace_id}/tags"): "edit",
    ("GET", _M + "/traces/{trace_id}"): "read",
    ("POST", _M + "/traces"): "edit",
    # MLflow: experiments
    ("GET", _M + "/experiments/get-by-name"): "read",
    ("POST", _M + "/experiments/create"): "edit",
    ("GET", _M + "/experiments/get"): "read",
    ("POST", _M + "/experiments/search"): "read",
    ("GET", _M + "/experiments/search"): "read",
    # MLflow: label schemas (labelers read the questions they answer)
    ("POST", _M + "/label-schemas/create"): "edit",
    ("GET", _M + "/label-schemas/get"): "label",
    ("GET", _M + "/label-schemas/get-by-name"): "label",
    ("GET", _M + "/label-schemas/list"): "label",
    ("PATCH", _M + "/label-schemas/update"): "edit",
    ("DELETE", _M + "/label-schemas/delete"): "edit",
    # MLflow: review queues
    ("POST", _M + "/review-queues/create"): "edit",
    ("POST", _M + "/review-queues/get-or-create-user"): "edit",
    ("GET", _M + "/review-queues/get"): "label",
    ("GET", _M + "/review-queues/get-by-name"): "label",
    ("GET", _M + "/review-queues/list"): "label",
    ("POST", _M + "/review-queues/update"): "edit",
    ("POST", _M + "/review-queues/delete"): "edit",
    ("POST", _M + "/review-queues/items/add"): "edit",
    ("POST", _M + "/review-queues/items/remove"): "edit",
    ("GET", _M + "/review-queues/items/list"): "label",
    ("POST", _M + "/review-queues/items/set-status"): "label",
    # MLflow: evaluation datasets
    ("POST", _M + "/datasets/create"): "edit",
    ("POST", _M + "/datasets/search"): "read",
    ("GET", _M + "/datasets/search"): "read",
    ("GET", _M + "/datasets/{dataset_id}"): "read",
    ("DELETE", _M + "/datasets/{dataset_id}"): "edit",
    ("PATCH", _M + "/datasets/{dataset_id}/tags"): "edit",
    ("DELETE", _M + "/datasets/{dataset_id}/tags/{key}"): "edit",
    ("POST", _M + "/datasets/{dataset_id}/records"): "edit",
    ("GET", _M + "/datasets/{dataset_id}/records"): "read",
    ("DELETE", _M + "/datasets/{dataset_id}/records"): "edit",
    ("GET", _M + "/datasets/{dataset_id}/experiment-ids"): "read",
    ("POST", _M + "/datasets/{dataset_id}/add-experiments"): "edit",
    ("POST", _M + "/datasets/{dataset_id}/remove-experiments"): "edit",
    ("POST", _M + "/experiments/delete"): "edit",
    ("POST", _M + "/experiments/restore"): "edit",
    ("POST", _M + "/experiments/update"): "edit",
    ("POST", _M + "/experiments/set-experiment-tag"): "edit",
    ("POST", _M + "/experiments/delete-experiment-tag"): "edit",
    ("POST", _M + "/traces/link-to-run"): "edit",
    # MLflow: runs, metrics, logged models, artifacts (restricted users: only where an experiment is named)
    ("POST", _M + "/runs/create"): "edit",
    ("GET", _M + "/runs/get"): "read",
    ("POST", _M + "/runs/update"): "edit",
    ("POST", _M + "/runs/delete"): "edit",
    ("POST", _M + "/runs/restore"): "edit",
    ("POST", _M + "/runs/search"): "read",
    ("POST", _M + "/runs/log-metric"): "edit",
    ("POST", _M + "/runs/log-parameter"): "edit",
    ("POST", _M + "/runs/set-tag"): "edit",
    ("POST", _M + "/runs/delete-tag"): "edit",
    ("POST", _M + "/runs/log-batch"): "edit",
    ("POST", _M + "/runs/log-inputs"): "edit",
    ("POST", _M + "/runs/outputs"): "edit",
    ("GET", _M + "/metrics/get-history"): "read",
    ("POST", _M + "/logged-models"): "edit",
    ("POST", _M + "/logged-models/search"): "read",
    ("GET", _M + "/logged-models/{model_id}"): "read",
    ("PATCH", _M + "/logged-models/{model_id}"): "edit",
    ("DELETE", _M + "/logged-models/{model_id}"): "edit",
    ("PATCH", _M + "/logged-models/{model_id}/tags"): "edit",
    ("DELETE", _M + "/logged-models/{model_id}/tags/{tag_key}"): "edit",
    ("POST", _M + "/logged-models/{model_id}/params"): "edit",
    ("GET", "mlflow-artifacts:/artifacts"): "read",
    ("GET", "mlflow-artifacts:/artifacts/{artifact_path:path}"): "read",
    ("PUT", "mlflow-artifacts:/artifacts/{artifact_path:path}"): "edit",
    # MLflow: scorers (judges registered on an experiment)
    ("POST", _M + "/scorers/register"): "edit",
    ("GET", _M + "/scorers/list"): "read",
    ("GET", _M + "/scorers/versions"): "read",
    ("GET", _M + "/scorers/get"): "read",
    ("DELETE", _M + "/scorers/delete"): "edit",
    ("GET", _M + "/scorers/online-configs"): "read",
    # pages (and their .json twins)
    ("GET", "/login"): "public",
    ("POST", "/login"): "public",
    ("POST", "/logout"): "any",
    ("GET", "/"): "any",
    ("GET", "/index"): "any",
    ("GET", "/experiments/{experiment_id}/traces"): "read",
    ("POST", "/experiments/{experiment_id}/export"): "read",
    ("GET", "/traces/{trace_id}"): "read",
    ("GET", "/traces/{trace_id}/spans/{span_id}"): "read",
    ("GET", "/review"): "label",
    ("GET", "/review/{session_id}"): "label",
    ("POST", "/review/{session_id}/items/{trace_id}"): "label",
    ("POST", "/review/{session_id}/items/{trace_id}/skip"): "label",
    ("GET", "/review/{session_id}/routing"): "read",
    ("POST", "/review/{session_id}/routing"): "edit",
    ("POST", "/review/{session_id}/routing/{rule_id}/delete"): "edit",
    ("GET", "/agreement/{session_id}"): "read",
    ("GET", "/agreement/{session_id}/adjudicate"): "read",
    ("POST", "/agreement/{session_id}/adjudicate"): "edit",
}
FILTERED: frozenset[tuple[str, str]] = frozenset(
    {
        ("GET", _M + "/experiments/search"),
        ("POST", _M + "/experiments/search"),
        ("GET", _M + "/experiments/get-by-name"),
    }
)
"""Routes that name no experiment yet answer a user restricted to some: the handler shows only the
experiments the user may read (``auth.scope.visible_experiments``), or refuses one by name."""
_MLFLOW_PREFIX = re.compile(r"^/(api|ajax-api)/[0-9.]+/(mlflow(?:-artifacts)?)(?=/)")


def rule_key(method: str, path: str) -> tuple[str, str]:
    """The ``RULES`` key of a route: MLflow prefixes folded, a page's ``.json`` twin on its page."""
    key = _MLFLOW_PREFIX.sub(lambda m: m.group(2) + ":", path)
    if key.endswith(".json") and key != "/api/v1/openapi.json":
        key = key.removesuffix(".json")
    return method.upper(), key


def rule_for(method: str, path: str) -> Level | None:
    return RULES.get(rule_key(method, path))
