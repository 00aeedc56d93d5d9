"""``annotrace.set_experiment`` creates a named experiment on the server at once, as MLflow does."""

from __future__ import annotations

import pytest

import annotrace
from annotrace import tracking
from annotrace.exceptions import MlflowException
from tests.instrumentation.scripted_server import Reply, ScriptedServer

BY_NAME = "/api/2.0/mlflow/experiments/get-by-name"
CREATE = "/api/2.0/mlflow/experiments/create"
MISSING = Reply(404, {"error_code": "RESOURCE_DOES_NOT_EXIST", "message": "Could not find experiment with name 'demo'"})


def test_a_new_name_is_created_now(server: ScriptedServer) -> None:
    server.route("GET", BY_NAME, MISSING)
    server.route("POST", CREATE, Reply(200, {"experiment_id": "3"}))
    annotrace.set_experiment("/Shared/docs-demo")
    assert [(r.method, r.path) for r in server.requests] == [("GET", BY_NAME), ("POST", CREATE)]
    assert server.requests[1].body == {"name": "/Shared/docs-demo"}
    assert tracking.get_experiment() == tracking.ExperimentChoice(name="/Shared/docs-demo")


def test_a_name_created_meanwhile_is_looked_up_again(server: ScriptedServer) -> None:
    answers = iter([MISSING, Reply(200, {"experiment": {"experiment_id": "4", "name": "demo"}})])
    server.route("GET", BY_NAME, lambda request: next(answers))
    server.route("POST", CREATE, Reply(400, {"error_code": "RESOURCE_ALREADY_EXISTS", "message": "exists"}))
    annotrace.set_experiment("demo")
    assert [r.path for r in server.requests] == [BY_NAME, CREATE, BY_NAME]


def test_an_id_is_recorded_without_a_call_and_bad_arguments_make_none(server: ScriptedServer) -> None:
    annotrace.set_experiment(experiment_id="12")
    with pytest.raises(MlflowException, match="exactly one of"):
        annotrace.set_experiment("a", "1")
    assert server.requests == []
    assert tracking.get_experiment() == tracking.ExperimentChoice(experiment_id="12")
