"""Client scripts: logged models (create, get, search, finalize, tags, delete, set_active_model).

Run by tests/differential/client_runner.py under each client version: mlflow and the standard
library only.
"""

from __future__ import annotations

from typing import Any

import mlflow
from mlflow import MlflowClient
from mlflow.entities import LoggedModelStatus


def model_json(m: Any) -> dict[str, Any]:
    return {
        "model_id": m.model_id,
        "experiment_id": m.experiment_id,
        "name": m.name,
        "artifact_location": m.artifact_location,
        "creation_timestamp": m.creation_timestamp,
        "last_updated_timestamp": m.last_updated_timestamp,
        "model_type": m.model_type,
        "source_run_id": m.source_run_id,
        "status": str(m.status),
        "status_message": m.status_message,
        "tags": dict(sorted(m.tags.items())),
        "params": dict(sorted(m.params.items())),
        "metrics": sorted((x.key, x.value) for x in (m.metrics or [])),
    }


def lifecycle(client: Any) -> dict[str, Any]:
    c = MlflowClient()
    experiment_id = mlflow.set_experiment(f"diff-models-{client.unique}").experiment_id
    out: dict[str, Any] = {"experiment_id": experiment_id}
    external = mlflow.create_external_model(name="diff-agent", tags={"team": "search"}, model_type="agent")
    out["external"] = model_json(external)
    out["got"] = model_json(mlflow.get_logged_model(external.model_id))
    c.set_logged_model_tags(external.model_id, {"stage": "dev", "team": "ranking"})
    c.delete_logged_model_tag(external.model_id, "stage")
    out["delete_missing_tag"] = client.error(c.delete_logged_model_tag, external.model_id, "stage")
    out["tagged"] = model_json(c.get_logged_model(external.model_id))
    with mlflow.start_run(run_name="diff-model-run") as run:
        pending = c.create_logged_model(
            experiment_id,
            name="diff-pending",
            source_run_id=run.info.run_id,
            params={"temperature": "0.1"},
            tags={"a": "b"},
        )
    out["pending"] = model_json(pending)
    out["finalized"] = model_json(c.finalize_logged_model(pending.model_id, LoggedModelStatus.READY))
    out["search_all"] = [
        model_json(m) for m in mlflow.search_logged_models(experiment_ids=[experiment_id], output_format="list")
    ]
    out["search_name"] = [
        m.model_id
        for m in mlflow.search_logged_models(
            experiment_ids=[experiment_id], filter_string="name = 'diff-agent'", output_format="list"
        )
    ]
    out["search_order"] = [
        m.model_id
        for m in mlflow.search_logged_models(
            experiment_ids=[experiment_id], order_by=[{"field_name": "name", "ascending": True}], output_format="list"
        )
    ]
    out["search_source_run"] = [
        m.model_id
        for m in mlflow.search_logged_models(
            experiment_ids=[experiment_id], filter_string=f"source_run_id = '{run.info.run_id}'", output_format="list"
        )
    ]
    page = c.search_logged_models([experiment_id], max_results=1)
    out["page_1"] = [m.model_id for m in page]
    out["page_2"] = [m.model_id for m in c.search_logged_models([experiment_id], max_results=1, page_token=page.token)]
    c.delete_logged_model(pending.model_id)
    out["get_deleted"] = client.error(c.get_logged_model, pending.model_id)
    out["search_after_delete"] = [
        m.model_id for m in mlflow.search_logged_models(experiment_ids=[experiment_id], output_format="list")
    ]
    out["missing"] = client.error(c.get_logged_model, "m-" + "0" * 32)
    out["missing_experiment"] = client.error(c.create_logged_model, "987654321", name="x")
    return out


def set_active_model(client: Any) -> dict[str, Any]:
    """``set_active_model(name=...)`` creates the model once and reuses it; ``(model_id=...)`` checks it."""
    experiment_id = mlflow.set_experiment(f"diff-active-{client.unique}").experiment_id
    first = mlflow.set_active_model(name="diff-app-v1")
    again = mlflow.set_active_model(name="diff-app-v1")
    by_id = mlflow.set_active_model(model_id=first.model_id)
    found = mlflow.search_logged_models(experiment_ids=[experiment_id], output_format="list")
    return {
        "experiment_id": experiment_id,
        "first": {"model_id": first.model_id, "name": first.name},
        "again": {"model_id": again.model_id, "name": again.name},
        "by_id": {"model_id": by_id.model_id, "name": by_id.name},
        "active": mlflow.get_active_model_id(),
        "models": [model_json(m) for m in found],
        "missing_id": client.error(mlflow.set_active_model, model_id="m-" + "0" * 32),
    }
