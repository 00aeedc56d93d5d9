"""The scorer registry (MLflow ``/api/3.0/mlflow/scorers/*``): reads and the writer jobs.

The rules and messages are a stock MLflow server's (``SqlAlchemyStore.register_scorer`` and
friends): a scorer is a name in an experiment with numbered versions; ``get`` without a version is
the newest; ``delete`` without a version removes the name, with one removes that version only.
"""

from __future__ import annotations

import uuid
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

import duckdb

from annotrace.collector.errors import NotFound
from annotrace.collector.store.queries import audit

EXPERIMENT_EXISTS = "SELECT 1 FROM experiments WHERE experiment_id = ?"
SCORER_ID = "SELECT scorer_id FROM scorers WHERE experiment_id = ? AND name = ?"
INSERT_SCORER = "INSERT INTO scorers (scorer_id, experiment_id, name) VALUES (?, ?, ?)"
MAX_VERSION = "SELECT max(version) FROM scorer_versions WHERE scorer_id = ?"
INSERT_VERSION = "INSERT INTO scorer_versions (scorer_id, version, serialized_scorer, create_time) VALUES (?, ?, ?, ?)"
COLUMNS = "s.scorer_id, s.experiment_id, s.name, v.version, v.serialized_scorer, v.create_time"
VERSIONS = (
    f"SELECT {COLUMNS} FROM scorers s JOIN scorer_versions v USING (scorer_id) WHERE s.scorer_id = ? ORDER BY v.version"
)
LATEST = (
    f"SELECT {COLUMNS} FROM scorers s JOIN scorer_versions v USING (scorer_id) WHERE s.experiment_id = ? "
    "QUALIFY v.version = max(v.version) OVER (PARTITION BY s.scorer_id) ORDER BY s.name"
)
LATEST_ALL = (
    f"SELECT {COLUMNS} FROM scorers s JOIN scorer_versions v USING (scorer_id) "
    "QUALIFY v.version = max(v.version) OVER (PARTITION BY s.scorer_id) "
    "ORDER BY TRY_CAST(s.experiment_id AS BIGINT), s.experiment_id, s.name"
)
DELETE_VERSIONS = "DELETE FROM scorer_versions WHERE scorer_id = ? AND (? IS NULL OR version = ?) RETURNING 1"
DELETE_SCORER = "DELETE FROM scorers WHERE scorer_id = ?"


@dataclass(frozen=True, slots=True)
class ScorerVersion:
    scorer_id: str
    experiment_id: str
    name: str
    version: int
    serialized_scorer: str
    create_time: datetime


def _check_experiment(cursor: duckdb.DuckDBPyConnection, experiment_id: str) -> None:
    if not cursor.execute(EXPERIMENT_EXISTS, [experiment_id]).fetchall():
        raise NotFound(f"No Experiment with id={experiment_id} exists")


def _scorer_id(cursor: duckdb.DuckDBPyConnection, experiment_id: str, name: str) -> str:
    _check_experiment(cursor, experiment_id)
    rows = cursor.execute(SCORER_ID, [experiment_id, name]).fetchall()
    if not rows:
        raise NotFound(f"Scorer with name '{name}' not found for experiment {experiment_id}.")
    return str(rows[0][0])


def _not_found(experiment_id: str, name: str, version: int | None) -> NotFound:
    if version is None:
        return NotFound(f"Scorer with name '{name}' not found for experiment {experiment_id}.")
    return NotFound(f"Scorer with name '{name}' and version {version} not found for experiment {experiment_id}.")


def _versions(cursor: duckdb.DuckDBPyConnection, scorer_id: str) -> list[ScorerVersion]:
    return [ScorerVersion(*row) for row in cursor.execute(VERSIONS, [scorer_id]).fetchall()]


# -- reads ---------------------------------------------------------------------------------------
def latest(cursor: duckdb.DuckDBPyConnection, experiment_id: str | None) -> list[ScorerVersion]:
    """The newest version of each scorer in the experiment (every experiment: None), by name."""
    if experiment_id is None:
        return [ScorerVersion(*row) for row in cursor.execute(LATEST_ALL).fetchall()]
    _check_experiment(cursor, experiment_id)
    return [ScorerVersion(*row) for row in cursor.execute(LATEST, [experiment_id]).fetchall()]


def versions(cursor: duckdb.DuckDBPyConnection, experiment_id: str, name: str) -> list[ScorerVersion]:
    found = _versions(cursor, _scorer_id(cursor, experiment_id, name))
    if not found:
        raise _not_found(experiment_id, name, None)
    return found


def get(cursor: duckdb.DuckDBPyConnection, experiment_id: str, name: str, version: int | None) -> ScorerVersion:
    found = _versions(cursor, _scorer_id(cursor, experiment_id, name))
    if version is not None:
        found = [v for v in found if v.version == version]
    if not found:
        raise _not_found(experiment_id, name, version)
    return found[-1]


# -- writer jobs ---------------------------------------------------------------------------------
def register(
    conn: duckdb.DuckDBPyConnection, experiment_id: str, name: str, serialized_scorer: str, now: datetime
) -> ScorerVersion:
    """Add version max + 1 of ``name`` (the scorer row is made on its first registration)."""
    _check_experiment(conn, experiment_id)
    rows = conn.execute(SCORER_ID, [experiment_id, name]).fetchall()
    if rows:
        scorer_id = str(rows[0][0])
    else:
        scorer_id = str(uuid.uuid4())
        conn.execute(INSERT_SCORER, [scorer_id, experiment_id, name])
    top: Any = conn.execute(MAX_VERSION, [scorer_id]).fetchall()[0][0]
    version = 1 if top is None else int(top) + 1
    conn.execute(INSERT_VERSION, [scorer_id, version, serialized_scorer, now])
    registered = ScorerVersion(scorer_id, experiment_id, name, version, serialized_scorer, now)
    audit.record(conn, action="register", object_type="scorer", object_id=scorer_id, new=asdict(registered), time=now)
    return registered


def delete(conn: duckdb.DuckDBPyConnection, experiment_id: str, name: str, version: int | None) -> None:
    """One version, or (``version`` None) every version and the name itself."""
    scorer_id = _scorer_id(conn, experiment_id, name)
    previous = [asdict(v) for v in _versions(conn, scorer_id) if version is None or v.version == version]
    if not conn.execute(DELETE_VERSIONS, [scorer_id, version, version]).fetchall():
        raise _not_found(experiment_id, name, version)
    audit.record(conn, action="delete", object_type="scorer", object_id=scorer_id, previous=previous)
    if version is None:
        conn.execute(DELETE_SCORER, [scorer_id])
