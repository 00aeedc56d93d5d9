"""``annotrace.set_active_model`` keeps its model on the collector, as ``mlflow.set_active_model`` does."""

from __future__ import annotations

import pytest

import annotrace
from annotrace.exceptions import MlflowException
from tests.collector_process import Collector
from tests.instrumentation.collector_sdk import app, run_app
from tests.instrumentation.scripted_server import Reply, ScriptedServer

__all__ = ["app"]  # the fixture, imported for pytest

SEARCH = "/api/2.0/mlflow/logged-models/search"


def test_a_name_is_created_once_on_the_collector_and_found_again(app: Collector) -> None:
    model = annotrace.set_active_model(name="my_app")
    assert model.model_id.startswith("m-") and annotrace.get_active_model_id() == model.model_id
    assert annotrace.set_active_model(name="my_app").model_id == model.model_id  # found, not created again
    rows = app.sql(f"SELECT name, status FROM logged_models WHERE model_id = '{model.model_id}'")
    assert rows == [{"name": "my_app", "status": "LOGGED_MODEL_READY"}]
    trace_id = run_app(app)
    assert list(annotrace.search_traces(model_id=model.model_id)["trace_id"]) == [trace_id]
    assert annotrace.set_active_model(model_id=model.model_id).name == "my_app"
    with pytest.raises(MlflowException, match="does not match the provided name 'other'"):
        annotrace.set_active_model(name="other", model_id=model.model_id)
    with pytest.raises(MlflowException) as caught:
        annotrace.set_active_model(model_id="m-" + "0" * 32)
    assert caught.value.error_code == "RESOURCE_DOES_NOT_EXIST"


def test_a_collector_without_logged_models_gets_a_stable_derived_id(server: ScriptedServer) -> None:
    server.route("POST", SEARCH, Reply(404, raw=b"Not Found"))
    first = annotrace.set_active_model(name="my_app")
    assert first.model_id.startswith("m-") and annotrace.set_active_model(name="my_app").model_id == first.model_id
    assert [r.path for r in server.requests] == [SEARCH, SEARCH]
