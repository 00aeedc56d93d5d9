"""Client scripts: experiments (create, get, get by name, search by name, tags, rename, delete, restore).

Run by tests/differential/client_runner.py under each client version: mlflow and the standard
library only.
"""

from __future__ import annotations

from typing import Any

import mlflow
from mlflow import MlflowClient


def _experiment(e: Any) -> dict[str, Any]:
    return {"experiment_id": e.experiment_id, "name": e.name, "lifecycle_stage": e.lifecycle_stage,
            "tags": {k: v for k, v in sorted(e.tags.items())}, "creation_time": e.creation_time,
            "last_update_time": e.last_update_time}


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
