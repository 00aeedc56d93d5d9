"""One row per experiment ('alpha', 'bravo') in every table of a store, linked across tables (the
same trace, session, run, scorer and dataset ids), ids and texts carrying the experiment's name:
what the row visibility tests (``test_visible_rows``, ``test_lake_visible_rows``) filter. No pytest
here: the lake test runs it in the lake venv."""

from __future__ import annotations

from typing import Any

import duckdb

EXPERIMENTS = ("alpha", "bravo")
_CHOICES = {
    "kind": "feedback",
    "type": "feedback",
    "operation": "create",
    "input_type": "text",
    "status": "pending",
    "role": "viewer",
    "permission": "READ",
}
_LINKS = {
    "experiment_id": "{e}",
    "trace_id": "tr-{e}",
    "linked_trace_id": "tr-{e}",
    "source_trace_id": "tr-{e}",
    "session_id": "run-{e}",
    "run_id": "run-{e}",
    "scorer_id": "scorer-{e}",
    "dataset_id": "dataset-{e}",
    "user_name": "user-{e}",
}


def _value(table: str, column: str, data_type: str, experiment: str) -> Any:
    """A value for one column of the row of ``experiment``, linked to its other rows."""
    if column in _LINKS:
        return _LINKS[column].format(e=experiment)
    if column in _CHOICES:
        return _CHOICES[column]
    if column == "experiment_ids":
        return f'["{experiment}"]'
    if data_type == "JSON":
        return "[]" if column in ("assigned_users", "label_schemas") else f'{{"of": "{experiment}"}}'
    if data_type.endswith("[]"):
        return [f"{column}-{experiment}"]
    if data_type == "VARCHAR":
        return f"{table}-{column}-{experiment}"
    if data_type == "BOOLEAN":
        return True
    if data_type == "TIMESTAMP":
        return "2026-01-01 00:00:00"
    if data_type == "BLOB":
        return experiment.encode()
    return EXPERIMENTS.index(experiment) + 1  # numbers


def fill_every_table(conn: duckdb.DuckDBPyConnection) -> None:
    """One row per experiment in every table of the store ``conn`` is in (a file or a lake)."""
    tables = [
        row[0]
        for row in conn.execute(
            "SELECT table_name FROM duckdb_tables() WHERE database_name = current_database() ORDER BY 1"
        ).fetchall()
    ]
    for table in tables:
        columns = conn.execute(
            "SELECT column_name, data_type FROM duckdb_columns() WHERE database_name = current_database() "
            "AND table_name = ? AND column_name NOT IN ('audit_id') ORDER BY column_index",
            [table],
        ).fetchall()
        names = ", ".join(f'"{c}"' for c, _ in columns)
        marks = ", ".join("?" for _ in columns)
        for experiment in EXPERIMENTS:
            row = [_value(table, c, t, experiment) for c, t in columns]
            conn.execute(f'INSERT INTO "{table}" ({names}) VALUES ({marks})', row)
