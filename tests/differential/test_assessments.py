"""Assessments through the stock mlflow client: the same results from annotrace as from mlflow server."""

from __future__ import annotations

from tests.differential.harness import Differential


def test_update_override_delete(differential: Differential) -> None:
    stock = differential.assert_same("assessments.py", "update_and_override")
    assert stock["updated_read"]["assessment_name"] == "quality_v2" and stock["updated_read"]["rationale"] == "better"
    assert stock["original_after_override"]["valid"] is False and stock["original_after_delete"]["valid"] is True
    assert stock["errors"]["get_missing"]["error_code"] == "RESOURCE_DOES_NOT_EXIST"
