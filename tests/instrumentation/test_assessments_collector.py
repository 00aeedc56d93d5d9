"""Errors of the assessment, search and SQL APIs as a real collector answers them.

Each must reach the user as ``MlflowException`` with MLflow's ``error_code`` and message, never
as an httpx error or a bare status code.
"""

from __future__ import annotations

import sys
import uuid

import pytest

import annotrace
import annotrace as mlflow
from tests.collector_process import Collector
from tests.instrumentation.collector_sdk import app, run_app

__all__ = ["app"]  # the fixture, imported for pytest


def test_errors_from_the_server(app: Collector) -> None:
    trace_id = run_app(app)
    missing = "a-" + "0" * 32
    with pytest.raises(mlflow.MlflowException, match=f"Assessment with ID '{missing}' not found") as caught:
        mlflow.get_assessment(trace_id, missing)
    assert caught.value.error_code == "RESOURCE_DOES_NOT_EXIST"
    with pytest.raises(mlflow.MlflowException, match="not found") as caught:
        mlflow.log_feedback(trace_id="tr-" + "0" * 32, name="orphan", value=1)
    assert caught.value.error_code == "RESOURCE_DOES_NOT_EXIST"
    expectation = mlflow.log_expectation(trace_id=trace_id, name="expected_response", value="Paris")
    with pytest.raises(mlflow.MlflowException, match="is not a feedback assessment"):
        mlflow.override_feedback(trace_id=trace_id, assessment_id=expectation.assessment_id or "", value=1)
    with pytest.raises(mlflow.MlflowException) as caught:
        mlflow.search_traces(filter_string="trace.status ==== 'OK'")
    assert caught.value.error_code == "INVALID_PARAMETER_VALUE"
    with pytest.raises(mlflow.MlflowException) as caught:
        annotrace.sql("SELEC 1")
    assert caught.value.error_code == "INVALID_PARAMETER_VALUE"
    # an experiment named in the environment (not created by set_experiment) that does not exist
    annotrace.tracking.set_experiment("never-used-" + uuid.uuid4().hex)
    with pytest.raises(mlflow.MlflowException, match="Could not find experiment with name 'never-used-"):
        mlflow.search_traces()
    created = "created-" + uuid.uuid4().hex
    mlflow.set_experiment(created)  # creates it at once, as MLflow does: nothing to find yet, no error
    assert len(mlflow.search_traces()) == 0
    assert mlflow.get_trace("tr-" + "0" * 32, silent=True) is None
    assert "pandas" in sys.modules  # loaded by search_traces, as expected
