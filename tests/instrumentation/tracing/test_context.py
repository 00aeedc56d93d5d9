"""Active model ids and the last trace id."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest

from annotrace import tracking
from annotrace.exceptions import AnnotraceException
from annotrace.tracing import context


@pytest.fixture(autouse=True)
def _fresh(clean_env: pytest.MonkeyPatch) -> Iterator[None]:
    tracking._reset()
    context._reset()
    yield
    context._reset()


def test_model_id_is_stable_per_name() -> None:
    first = context.set_active_model(name="my_app")
    assert re.fullmatch(r"m-[0-9a-f]{32}", first.model_id)
    assert first.name == "my_app"
    assert context.set_active_model(name="my_app").model_id == first.model_id
    assert context.set_active_model(name="other").model_id != first.model_id
    assert context.get_active_model_id() == context.set_active_model(name="other").model_id


def test_model_id_depends_on_experiment() -> None:
    default = context.set_active_model(name="my_app").model_id
    tracking.set_experiment("exp-a")
    assert context.set_active_model(name="my_app").model_id != default


def test_given_model_id_is_used() -> None:
    model = context.set_active_model(model_id="m-123")
    assert (model.model_id, model.name) == ("m-123", None)
    assert context.get_active_model_id() == "m-123"


def test_needs_a_name_or_id() -> None:
    with pytest.raises(AnnotraceException) as caught:
        context.set_active_model()
    assert caught.value.error_code == "INVALID_PARAMETER_VALUE"


def test_context_manager_restores_previous() -> None:
    outer = context.set_active_model(name="outer")
    with context.set_active_model(name="inner") as inner:
        assert context.get_active_model_id() == inner.model_id
    assert context.get_active_model_id() == outer.model_id


def test_env_default(clean_env: pytest.MonkeyPatch) -> None:
    assert context.get_active_model_id() is None
    clean_env.setenv("MLFLOW_ACTIVE_MODEL_ID", "m-env")
    assert context.get_active_model_id() == "m-env"
    context.set_active_model(model_id="m-explicit")
    assert context.get_active_model_id() == "m-explicit"


def test_last_trace_id() -> None:
    assert context.get_last_active_trace_id() is None
    context.record_last_trace_id("tr-" + "a" * 32)
    assert context.get_last_active_trace_id() == "tr-" + "a" * 32
