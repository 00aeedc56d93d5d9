"""Experiment ids for the routing keys the receivers put in ``experiment_id`` (``id:<id>`` or
``name:<name>``), creating an experiment on first sight, inside the writer's transaction.

Ids are cached per writer; the writer clears the cache when a transaction rolls back, since
experiments it created there are gone.
"""

from __future__ import annotations

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from annotrace.collector.store import lake as lake_sql

FIND_EXPERIMENT_BY_ID = "SELECT experiment_id FROM experiments WHERE experiment_id = ?"
FIND_EXPERIMENT_BY_NAME = "SELECT experiment_id FROM experiments WHERE name = ?"
NEXT_EXPERIMENT_ID = "SELECT coalesce(max(TRY_CAST(experiment_id AS BIGINT)), 0) + 1 FROM experiments"
CREATE_EXPERIMENT = "INSERT INTO experiments (experiment_id, name) VALUES (?, ?)"


class ExperimentIds:
    def __init__(self, *, lake: bool = False) -> None:
        self.lake = lake
        """On a DuckLake store, creating an experiment takes ``lake.LOCK_EXPERIMENTS``."""
        self._ids: dict[str, str] = {}

    def clear(self) -> None:
        self._ids.clear()

    def assign(self, conn: duckdb.DuckDBPyConnection, table: pa.Table) -> pa.Table:
        """Swap the routing keys in ``experiment_id`` for ids, creating experiments on first sight."""
        keys = pc.unique(table["experiment_id"])
        ids = pa.array([self.id_for(conn, key) for key in keys.to_pylist()], pa.string())
        column = ids.take(pc.index_in(table["experiment_id"], value_set=keys))
        return table.set_column(table.schema.get_field_index("experiment_id"), "experiment_id", column)

    def id_for(self, conn: duckdb.DuckDBPyConnection, key: str) -> str:
        """``id:<id>`` or ``name:<name>`` -> experiment id, creating the experiment on first sight."""
        cached = self._ids.get(key)
        if cached is not None:
            return cached
        kind, _, value = key.partition(":")
        # fetchall, not fetchone: DuckDB refuses new work while a result is unfinished
        rows = conn.execute(FIND_EXPERIMENT_BY_ID if kind == "id" else FIND_EXPERIMENT_BY_NAME, [value]).fetchall()
        if not rows and self.lake:
            conn.execute(lake_sql.LOCK_EXPERIMENTS)
        if rows:
            experiment_id = str(rows[0][0])
        elif kind == "id":
            experiment_id = value
            taken = conn.execute(FIND_EXPERIMENT_BY_NAME, [value]).fetchall()
            conn.execute(CREATE_EXPERIMENT, [value, f"experiment {value}" if taken else value])
        else:
            experiment_id = str(conn.execute(NEXT_EXPERIMENT_ID).fetchall()[0][0])
            conn.execute(CREATE_EXPERIMENT, [experiment_id, value])
        self._ids[key] = experiment_id
        return experiment_id
