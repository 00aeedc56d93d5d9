"""Experiments on the collector (MLflow's ``/api/2.0/mlflow/experiments/*``): find one by name, or
create it, as ``mlflow.set_experiment`` does."""

from __future__ import annotations

from annotrace import tracking
from annotrace.client import rest
from annotrace.client.traces import get_experiment_id_by_name
from annotrace.exceptions import AnnotraceException, ErrorCode

__all__ = ["DEFAULT_EXPERIMENT_ID", "current_experiment_id", "get_or_create_experiment_id"]

DEFAULT_EXPERIMENT_ID = "0"  # MLflow's Default experiment


def get_or_create_experiment_id(name: str) -> str:
    """The id of experiment ``name``, created now if the collector has none by that name.

    A concurrent create (another process, or the span writer creating it for a trace routed by
    name) answers RESOURCE_ALREADY_EXISTS: then the experiment is there, and is looked up again.
    """
    try:
        return get_experiment_id_by_name(name)
    except AnnotraceException as error:
        if error.error_code != ErrorCode.RESOURCE_DOES_NOT_EXIST:
            raise
    try:
        return str(rest.call("POST", "/api/2.0/mlflow/experiments/create", json={"name": name})["experiment_id"])
    except AnnotraceException as error:
        if error.error_code != ErrorCode.RESOURCE_ALREADY_EXISTS:
            raise
        return get_experiment_id_by_name(name)


def current_experiment_id(experiment_id: str | None = None) -> str:
    """``experiment_id``, else the one ``set_experiment`` chose (created now if it is new), else "0"."""
    if experiment_id is not None:
        return str(experiment_id)
    choice = tracking.get_experiment()
    if choice is None:
        return DEFAULT_EXPERIMENT_ID
    if choice.experiment_id is not None:
        return choice.experiment_id
    assert choice.name is not None
    return get_or_create_experiment_id(choice.name)
