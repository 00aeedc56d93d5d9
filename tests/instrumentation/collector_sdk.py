"""The SDK against a real collector: the ``app`` fixture and the seed's traced app, for e2e tests.

Shared by ``tests/e2e/test_seed_001.py`` and ``test_traces_collector.py`` (which import the
fixture). Each test gets its own experiment, so ``search_traces()`` with no arguments (the
experiment set by ``set_experiment``) sees only that test's traces; the SDK's process-wide state
(tracking settings, active model, REST session) is reset before and after.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

import annotrace as mlflow
from annotrace import tracking
from annotrace.client import rest
from annotrace.tracing import context
from tests.collector_process import Collector

__all__ = ["app", "run_app"]

SDK_ENV = (
    "ANNOTRACE_TRACKING_URI",
    "MLFLOW_TRACKING_URI",
    "ANNOTRACE_EXPERIMENT_NAME",
    "MLFLOW_EXPERIMENT_NAME",
    "ANNOTRACE_EXPERIMENT_ID",
    "MLFLOW_EXPERIMENT_ID",
    "ANNOTRACE_ACTIVE_MODEL_ID",
    "MLFLOW_ACTIVE_MODEL_ID",
    "OTEL_EXPORTER_OTLP_ENDPOINT",
    "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
    "OTEL_SERVICE_NAME",
    "OTEL_RESOURCE_ATTRIBUTES",
    "OTEL_SDK_DISABLED",
)


@pytest.fixture
def app(collector: Collector, monkeypatch: pytest.MonkeyPatch) -> Iterator[Collector]:
    """The SDK pointed at ``collector`` with a fresh experiment; SDK state reset on both sides."""
    for name in SDK_ENV:
        monkeypatch.delenv(name, raising=False)
    tracking._reset()
    context._reset()
    rest.close()
    mlflow.set_tracking_uri(collector.web)
    mlflow.set_experiment(f"sdk-e2e-{uuid.uuid4().hex[:8]}")
    yield collector
    rest.close()
    tracking._reset()
    context._reset()


def run_app(collector: Collector, text: str = "hello") -> str:
    """Seed 001's traced app, run once as the seed runs it; its trace id. The trace is stored by
    the time anything asks (read-your-writes): nothing here flushes or waits."""

    @mlflow.trace
    def my_app(input: str) -> str:
        return input + "_output"

    my_app(input=text)
    trace_id = mlflow.get_last_active_trace_id()
    if trace_id is None:
        raise ValueError("No active trace found. Make sure to run a traced function first.")
    # read through the SDK, as the app's own process would: an SDK read first exports this process's
    # ended spans (a raw HTTP read from here could overtake the export on its background thread)
    stored = mlflow.sql(
        f"SELECT (SELECT count(*) FROM traces WHERE trace_id = '{trace_id}') AS traces, "
        f"(SELECT count(*) FROM spans WHERE trace_id = '{trace_id}') AS spans"
    )
    assert stored.to_dict("records") == [{"traces": 1, "spans": 1}]
    return trace_id
