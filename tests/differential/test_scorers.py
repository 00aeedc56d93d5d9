"""The scorer registry through the stock mlflow client: the same results from annotrace as from mlflow server."""

from __future__ import annotations

from tests.differential.harness import Differential


def test_register_list_get_delete(differential: Differential) -> None:
    stock = differential.assert_same("scorers.py", "register_list_get_delete")
    assert stock["custom"] == {"error_code": "INVALID_PARAMETER_VALUE", "http_status": 400}
    assert stock["listed"] == [["concise", "InstructionsJudge"], ["polite", "Guidelines"]]
    assert stock["after_delete_all"] == ["concise"]
