"""Logged models through the stock mlflow client: the same results from annotrace as from mlflow server."""

from __future__ import annotations

from tests.differential.harness import Differential


def test_logged_model_lifecycle(differential: Differential) -> None:
    stock = differential.assert_same("logged_models.py", "lifecycle")
    assert stock["finalized"]["status"] == "READY" and stock["pending"]["status"] == "PENDING"
    assert stock["get_deleted"]["error_code"] == "RESOURCE_DOES_NOT_EXIST"


def test_set_active_model_by_name_creates_once_and_by_id_checks(differential: Differential) -> None:
    stock = differential.assert_same("logged_models.py", "set_active_model")
    assert stock["first"]["model_id"] == stock["again"]["model_id"] == stock["active"]
    assert len(stock["models"]) == 1
