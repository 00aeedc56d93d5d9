"""Fixtures for the REST tests: an httpx client on the session collector, a fresh experiment per
test (created through the MLflow API), and a factory that ingests a trace over OTLP/HTTP and
waits until the store has every span of it."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from tests.collector.api.rest import Traced, ingest_trace
from tests.collector_process import Collector


@pytest.fixture
def api(collector: Collector) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=collector.web, timeout=30) as client:
        yield client


@pytest.fixture
def experiment_id(api: httpx.Client) -> str:
    """A new experiment for this test, so searches see only this test's traces."""
    response = api.post("/api/2.0/mlflow/experiments/create", json={"name": f"api-test-{uuid.uuid4().hex}"})
    assert response.status_code == 200, response.text
    experiment: str = response.json()["experiment_id"]
    return experiment


@pytest.fixture
def make_trace(collector: Collector, experiment_id: str) -> Callable[..., Traced]:
    """``make_trace(**options)``: ``ingest_trace`` into this test's experiment."""

    def make(**options: Any) -> Traced:
        return ingest_trace(collector, experiment_id, **options)

    return make
