"""Experiments through the stock mlflow client: the same results from annotrace as from mlflow server."""

from __future__ import annotations

from tests.differential.harness import Differential


def test_create_and_get_experiment(differential: Differential) -> None:
    stock = differential.assert_same("experiments.py", "create_and_get")
    assert stock["by_name"]["lifecycle_stage"] == "active"
    assert stock["missing_id"]["error_code"] == "RESOURCE_DOES_NOT_EXIST"


def test_experiment_tags_rename_delete_restore(differential: Differential) -> None:
    stock = differential.assert_same("experiments.py", "lifecycle")
    assert stock["deleted"]["lifecycle_stage"] == "deleted" and stock["run_after_delete"] == "deleted"
    assert stock["restored"]["lifecycle_stage"] == "active" and stock["run_after_restore"] == "active"
