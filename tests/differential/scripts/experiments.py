"""Client scripts: experiments (create, get, get by name, search by name, tags, rename, delete, restore).

Run by tests/differential/client_runner.py under each client version: mlflow and the standard
library only.
"""

from __future__ import annotations

from typing import Any

import mlflow
from mlflow import MlflowClient
from mlflow.entities import ViewType


def _experiment(e: Any) -> dict[str, Any]:
    return {
        "experiment_id": e.experiment_id,
        "name": e.name,
        "lifecycle_stage": e.lifecycle_stage,
        "tags": dict(sorted(e.tags.items())),
        "creation_time": e.creation_time,
        "last_update_time": e.last_update_time,
    }


def create_and_get(client: Any) -> dict[str, Any]:
    """set_experiment creates; get / get-by-name read it back; a missing name and id are errors."""
    name = f"diff-exp-{client.unique}"
    mlflow_client = MlflowClient()
    created = mlflow.set_experiment(name)
    return {
        "created": _experiment(created),
        "by_id": _experiment(mlflow_client.get_experiment(created.experiment_id)),
        "by_name": _experiment(mlflow_client.get_experiment_by_name(name)),
        "missing_name": mlflow_client.get_experiment_by_name(f"no-such-{client.unique}"),
        "missing_id": client.error(mlflow_client.get_experiment, "987654321"),
        "duplicate": client.error(mlflow_client.create_experiment, name),
    }


def lifecycle(client: Any) -> dict[str, Any]:
    """Tags, rename, delete (with its runs), restore, and search by name and view type."""
    c = MlflowClient()
    name = f"diff-life-{client.unique}"
    experiment_id = c.create_experiment(name, tags={"team": "search"})
    run_id = c.create_run(experiment_id, run_name="diff-in-exp").info.run_id
    c.set_experiment_tag(experiment_id, "stage", "dev")
    c.set_experiment_tag(experiment_id, "stage", "prod")
    c.delete_experiment_tag(experiment_id, "team")
    out: dict[str, Any] = {"experiment_id": experiment_id, "tagged": _experiment(c.get_experiment(experiment_id))}
    out["delete_missing_tag"] = client.error(c.delete_experiment_tag, experiment_id, "team")
    c.rename_experiment(experiment_id, f"{name}-renamed")
    out["renamed"] = _experiment(c.get_experiment(experiment_id))
    out["old_name"] = c.get_experiment_by_name(name)
    other = c.create_experiment(f"{name}-other")
    role = {experiment_id: "renamed", other: "other"}  # ids differ between servers, what a search finds must not

    def found(experiments: Any) -> list[str]:
        return [role.get(e.experiment_id, e.experiment_id) for e in experiments]

    out["rename_taken"] = client.error(c.rename_experiment, other, f"{name}-renamed")
    out["search_name"] = found(c.search_experiments(filter_string=f"name = '{name}-renamed'"))
    out["search_like"] = found(c.search_experiments(filter_string=f"name LIKE '{name}%'", order_by=["name ASC"]))
    c.delete_experiment(experiment_id)
    out["deleted"] = _experiment(c.get_experiment(experiment_id))
    out["deleted_by_name"] = _experiment(c.get_experiment_by_name(f"{name}-renamed"))
    out["run_after_delete"] = c.get_run(run_id).info.lifecycle_stage
    out["search_active"] = found(c.search_experiments(filter_string=f"name LIKE '{name}%'"))
    out["search_deleted"] = found(
        c.search_experiments(view_type=ViewType.DELETED_ONLY, filter_string=f"name LIKE '{name}%'")
    )
    out["search_all"] = found(
        c.search_experiments(view_type=ViewType.ALL, filter_string=f"name LIKE '{name}%'", order_by=["name ASC"])
    )
    out["delete_twice"] = client.error(c.delete_experiment, experiment_id)
    out["create_same_name"] = client.error(c.create_experiment, f"{name}-renamed")
    out["run_in_deleted"] = client.error(c.create_run, experiment_id)
    out["tag_deleted"] = client.error(c.set_experiment_tag, experiment_id, "k", "v")
    out["set_deleted"] = client.error(mlflow.set_experiment, f"{name}-renamed")
    c.restore_experiment(experiment_id)
    out["restored"] = _experiment(c.get_experiment(experiment_id))
    out["run_after_restore"] = c.get_run(run_id).info.lifecycle_stage
    out["restore_twice"] = client.error(c.restore_experiment, experiment_id)
    out["missing_delete"] = client.error(c.delete_experiment, "987654321")
    return out
