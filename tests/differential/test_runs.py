"""Runs through the stock mlflow client: the same results from annotrace as from mlflow server."""

from __future__ import annotations

from tests.differential.harness import Differential


def test_run_lifecycle_params_metrics_tags_search_delete_restore(differential: Differential) -> None:
    stock = differential.assert_same("runs.py", "lifecycle")
    assert stock["finished"]["metrics"] == {"acc": 0.9, "f1": 0.8, "loss": 0.25}
    assert stock["param_changed"]["error_code"] == "INVALID_PARAMETER_VALUE"
    assert stock["search_deleted"] == [stock["deleted"]["run_id"]]


def test_start_run_as_a_script_writes_it(differential: Differential) -> None:
    stock = differential.assert_same("runs.py", "fluent_start_run")
    assert stock["run"]["status"] == "FINISHED" and stock["failed_status"] == ["FAILED"]


def test_log_inputs_keeps_each_dataset_once(differential: Differential) -> None:
    stock = differential.assert_same("runs.py", "log_inputs")
    assert [d["name"] for d in stock["run"]["dataset_inputs"]] == ["eval", "train"]


def test_special_metric_values_and_metrics_on_a_logged_model(differential: Differential) -> None:
    stock = differential.assert_same("runs.py", "special_metrics")
    assert stock["metrics"]["nan"] == "nan" and stock["model_metrics"]
