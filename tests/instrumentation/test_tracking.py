"""Tracking URI and experiment settings: explicit calls, environment, validation, change events."""

from __future__ import annotations

import pytest

from annotrace import tracking
from annotrace.exceptions import AnnotraceException


@pytest.fixture(autouse=True)
def _fresh(clean_env: pytest.MonkeyPatch) -> None:
    tracking._reset()


def test_default_uri() -> None:
    assert tracking.get_tracking_uri() == "http://127.0.0.1:5000"
    assert not tracking.is_tracking_uri_set()


def test_env_uri_annotrace_wins_over_mlflow(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("MLFLOW_TRACKING_URI", "http://mlflow:5000/")
    assert tracking.get_tracking_uri() == "http://mlflow:5000"
    clean_env.setenv("ANNOTRACE_TRACKING_URI", "http://annotrace:5000")
    assert tracking.get_tracking_uri() == "http://annotrace:5000"
    assert tracking.is_tracking_uri_set()


def test_explicit_uri_wins_over_env(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("ANNOTRACE_TRACKING_URI", "http://env:5000")
    tracking.set_tracking_uri("https://explicit:443/")
    assert tracking.get_tracking_uri() == "https://explicit:443"


@pytest.mark.parametrize("uri", ["databricks", "file:///tmp/mlruns", "127.0.0.1:5000", ""])
def test_non_http_uri_is_rejected(uri: str) -> None:
    with pytest.raises(AnnotraceException, match="http://") as caught:
        tracking.set_tracking_uri(uri)
    assert caught.value.error_code == "INVALID_PARAMETER_VALUE"


def test_set_experiment_by_name_or_id() -> None:
    assert tracking.get_experiment() is None
    tracking.set_experiment("/Shared/docs-demo")
    assert tracking.get_experiment() == tracking.ExperimentChoice(name="/Shared/docs-demo")
    tracking.set_experiment(experiment_id="42")
    assert tracking.get_experiment() == tracking.ExperimentChoice(experiment_id="42")


@pytest.mark.parametrize(("name", "experiment_id"), [(None, None), ("a", "1"), ("  ", None)])
def test_set_experiment_needs_exactly_one(name: str | None, experiment_id: str | None) -> None:
    with pytest.raises(AnnotraceException) as caught:
        tracking.set_experiment(name, experiment_id)
    assert caught.value.error_code == "INVALID_PARAMETER_VALUE"


def test_experiment_from_env(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("MLFLOW_EXPERIMENT_ID", "7")
    assert tracking.get_experiment() == tracking.ExperimentChoice(experiment_id="7")
    clean_env.setenv("MLFLOW_EXPERIMENT_NAME", "from-mlflow-env")
    assert tracking.get_experiment() == tracking.ExperimentChoice(name="from-mlflow-env")
    clean_env.setenv("ANNOTRACE_EXPERIMENT_NAME", "from-annotrace-env")
    assert tracking.get_experiment() == tracking.ExperimentChoice(name="from-annotrace-env")
    tracking.set_experiment("explicit")
    assert tracking.get_experiment() == tracking.ExperimentChoice(name="explicit")


def test_listeners_hear_real_changes_only() -> None:
    calls: list[str] = []
    listener = lambda: calls.append("changed")  # noqa: E731
    tracking.subscribe(listener)
    tracking.subscribe(listener)  # subscribing twice is harmless
    try:
        tracking.set_tracking_uri("http://a:1")
        tracking.set_tracking_uri("http://a:1/")  # same after normalisation
        tracking.set_experiment("e")
        tracking.set_experiment("e")
        assert calls == ["changed", "changed"]
    finally:
        tracking._listeners.remove(listener)
