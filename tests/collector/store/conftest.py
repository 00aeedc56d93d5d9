"""Fixtures of the DuckLake store's tests (``test_lake*.py``): a PostgreSQL cluster per module for the
catalogs, a new catalog database and data directory per test, and lake collectors
(``lake_support.LAKE_PYTHON``)."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.collector.store.lake_support import LAKE_PYTHON, Lake
from tests.collector_process import Collector, start
from tests.postgres import Cluster, start_cluster


@pytest.fixture(scope="module")
def cluster() -> Iterator[Cluster]:
    running = start_cluster()
    yield running
    running.stop()


@pytest.fixture
def lake(cluster: Cluster, tmp_path: Path) -> Lake:
    """A new catalog database and data directory: one store."""
    return cluster.create_database(f"lake_{uuid.uuid4().hex[:8]}"), tmp_path / "lake-data"


@pytest.fixture
def lake_collector(tmp_path: Path) -> Iterator[Callable[..., Collector]]:
    started: list[Collector] = []

    def make(name: str, lake: Lake, **options: Any) -> Collector:
        running = start(tmp_path / name, python=str(LAKE_PYTHON), lake=lake, timeout=60, **options)
        started.append(running)
        return running

    yield make
    for running in started:
        assert running.stop() in (0, -9), running.log
