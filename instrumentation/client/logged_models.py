"""Logged models on the collector (MLflow's ``/api/2.0/mlflow/logged-models/*``): what
``set_active_model`` needs, in MLflow's wire shapes (``{"model": {"info": {...}, "data": {...}}}``)."""

from __future__ import annotations

from typing import Any

from annotrace.client import rest

__all__ = ["create_external_model", "get_logged_model", "search_by_name"]

_BASE = "/api/2.0/mlflow/logged-models"
EXTERNAL_TAG = "mlflow.model.isExternal"  # what mlflow.create_external_model tags its models with


def _info(answer: dict[str, Any]) -> dict[str, Any]:
    info: dict[str, Any] = answer["model"]["info"]
    return info


def search_by_name(experiment_id: str, name: str) -> list[dict[str, Any]]:
    """The infos of the experiment's models called ``name``, newest first (at most 2, as MLflow asks)."""
    escaped = name.replace("\\", "\\\\").replace("'", "\\'")
    answer = rest.call(
        "POST",
        f"{_BASE}/search",
        json={
            "experiment_ids": [experiment_id],
            "filter": f"name='{escaped}'",
            "max_results": 2,
            "order_by": [{"field_name": "creation_timestamp", "ascending": False}],
        },
    )
    return [model["info"] for model in answer.get("models") or []]


def create_external_model(experiment_id: str, name: str) -> dict[str, Any]:
    """A new model for code that lives outside MLflow (``mlflow.create_external_model``)."""
    created = _info(
        rest.call(
            "POST",
            _BASE,
            json={"experiment_id": experiment_id, "name": name, "tags": [{"key": EXTERNAL_TAG, "value": "true"}]},
        )
    )
    return _info(
        rest.call(
            "PATCH",
            f"{_BASE}/{rest.quote(created['model_id'])}",
            json={"model_id": created["model_id"], "status": "LOGGED_MODEL_READY"},
        )
    )


def get_logged_model(model_id: str) -> dict[str, Any]:
    """``GET /logged-models/{id}``: RESOURCE_DOES_NOT_EXIST if there is none."""
    return _info(rest.call("GET", f"{_BASE}/{rest.quote(model_id)}"))
