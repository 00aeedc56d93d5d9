"""The ``duckdb`` exporter's settings reach the DuckDB instance it opens."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from annotrace.collector.exporters.duckdb import DuckDBConfig, DuckDBExporter


def _threads(config: DuckDBConfig) -> int:
    exporter = DuckDBExporter(config)
    exporter.start()
    try:
        assert exporter.db is not None
        return int(exporter.db.cursor().execute("SELECT current_setting('threads')").fetchall()[0][0])
    finally:
        exporter.shutdown()


def test_threads_default_leaves_a_core_to_the_decode_worker(tmp_path: Path) -> None:
    assert _threads(DuckDBConfig(path=str(tmp_path / "a.duckdb"))) == max(1, (os.cpu_count() or 1) - 1)


def test_threads_set_in_the_config(tmp_path: Path) -> None:
    assert _threads(DuckDBConfig(path=str(tmp_path / "b.duckdb"), threads=3)) == 3


def test_negative_threads_are_refused() -> None:
    with pytest.raises(ValueError, match="threads must be >= 0, got -1"):
        DuckDBConfig(path="x", threads=-1).validate()
