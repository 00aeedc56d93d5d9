"""The ``duckdb`` exporter's settings reach the DuckDB instance it opens."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from annotrace.collector.config_models import build
from annotrace.collector.errors import ConfigError
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


@pytest.mark.parametrize("given", ["lots", "256 XB", "-1GB", ""])
def test_a_memory_limit_that_is_not_a_size_is_refused(given: str) -> None:
    with pytest.raises(ValueError, match=f"memory_limit: {given!r} is not a size such as 256MB"):
        DuckDBConfig(path="x", memory_limit=given).validate()


@pytest.mark.parametrize(("given", "mib"), [("224MB", 224e6 / 2**20), ("512MiB", 512.0), ("0.1GB", 1e8 / 2**20)])
def test_memory_limit_is_working_memory_plus_room_for_the_trace_index(tmp_path: Path, given: str, mib: float) -> None:
    exporter = DuckDBExporter(DuckDBConfig(path=str(tmp_path / "m.duckdb"), memory_limit=given))
    exporter.start()
    try:
        assert exporter.db is not None
        limit = exporter.db.cursor().execute("SELECT current_setting('memory_limit')").fetchall()[0][0]
        assert limit.endswith(" MiB")
        # an empty store: at most one step of 16 MiB for the small indexes of the other tables
        assert mib - 0.2 < float(limit.split()[0]) < mib + 16.2
    finally:
        exporter.shutdown()


def test_genai_log_events_max_age_is_a_duration_from_the_config() -> None:
    built = build(DuckDBConfig, {"genai_log_events_max_age": "90m"}, "exporters::duckdb")
    assert built.genai_log_events_max_age == 5400.0
    assert build(DuckDBConfig, None, "exporters::duckdb").genai_log_events_max_age == 86400.0


@pytest.mark.parametrize("given", [0, "-1h"])
def test_a_genai_log_events_max_age_that_is_not_positive_is_refused(given: object) -> None:
    with pytest.raises(ConfigError, match="exporters::duckdb: genai_log_events_max_age must be positive"):
        build(DuckDBConfig, {"genai_log_events_max_age": given}, "exporters::duckdb")
