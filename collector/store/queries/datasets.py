"""Evaluation datasets (MLflow ``mlflow.genai.datasets``): reads and the writer jobs.

The rules are a stock MLflow server's (``SqlAlchemyStore``), so the unmodified client sees the same
datasets from either server. A record is keyed by its inputs: ``merge`` hashes
``json.dumps(inputs, sort_keys=True)`` and, when the dataset already holds those inputs, replaces
the outputs (when the record names them) and merges expectations and tags key by key; otherwise it
inserts a ``dr-`` record. A merge recomputes the dataset's digest, inferred schema and profile and
sets ``last_updated_by`` from the records' ``mlflow.user`` tag. Names need not be unique.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

import duckdb
import orjson

from annotrace.collector.errors import InvalidParameter, NotFound
from annotrace.collector.store.queries import audit, dataset_search

PREFIX, RECORD_PREFIX = "d-", "dr-"
MAX_NAME_CHARS = 500
SOURCE_TYPES = ("TRACE", "HUMAN", "DOCUMENT", "CODE")
USER_TAG = "mlflow.user"

COLUMNS = (
    "dataset_id, name, experiment_ids, tags, created_by, last_updated_by, create_time, last_update_time, "
    "digest, record_schema, profile"
)
GET = f"SELECT {COLUMNS} FROM datasets WHERE dataset_id = ?"
LIST = f"SELECT {COLUMNS} FROM datasets"
INSERT = f"INSERT INTO datasets ({COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
SET_TAGS = "UPDATE datasets SET tags = ? WHERE dataset_id = ?"
SET_EXPERIMENTS = "UPDATE datasets SET experiment_ids = ?, last_update_time = ? WHERE dataset_id = ?"
EXPERIMENT_EXISTS = "SELECT 1 FROM experiments WHERE experiment_id = ?"
DELETE = {table: f"DELETE FROM {table} WHERE dataset_id = ?" for table in ("dataset_records", "datasets")}


@dataclass(frozen=True, slots=True)
class Dataset:
    dataset_id: str
    name: str
    experiment_ids: list[str]
    tags: dict[str, str]
    created_by: str | None
    last_updated_by: str | None
    create_time: datetime
    last_update_time: datetime
    digest: str | None
    record_schema: str | None  # MLflow sends schema and profile as JSON text
    profile: str | None

    @property
    def created_time_ms(self) -> int:
        return epoch_ms(self.create_time)

    @property
    def last_update_time_ms(self) -> int:
        return epoch_ms(self.last_update_time)


def epoch_ms(value: datetime) -> int:
    return int(value.replace(tzinfo=UTC).timestamp() * 1000)


def digest(name: str, last_update_time: datetime) -> str:
    """MLflow's dataset digest: it changes whenever the dataset's records do."""
    return hashlib.sha256(f"{name}:{epoch_ms(last_update_time)}".encode()).hexdigest()[:8]


def _dataset(row: tuple[Any, ...]) -> Dataset:
    values = list(row)
    values[2], values[3] = orjson.loads(values[2]), orjson.loads(values[3])
    return Dataset(*values)


# -- reads ---------------------------------------------------------------------------------------
def find(cursor: duckdb.DuckDBPyConnection, dataset_id: str) -> Dataset | None:
    rows = cursor.execute(GET, [dataset_id]).fetchall()
    return _dataset(rows[0]) if rows else None


def get(cursor: duckdb.DuckDBPyConnection, dataset_id: str) -> Dataset:
    found = find(cursor, dataset_id)
    if found is None:
        raise NotFound(f"Evaluation dataset with id '{dataset_id}' not found")
    return found


def experiment_ids(cursor: duckdb.DuckDBPyConnection, dataset_id: str) -> list[str]:
    """Empty for a dataset that does not exist (MLflow answers ``{}`` there too)."""
    found = find(cursor, dataset_id)
    return found.experiment_ids if found is not None else []


def search(
    cursor: duckdb.DuckDBPyConnection,
    experiment_ids: list[str] | None,
    filter_string: str | None,
    order_by: list[str] | None,
    limit: int,
    offset: int,
) -> list[Dataset]:
    """MLflow's filter and order (``dataset_search``); newest first by default."""
    predicates = dataset_search.parse_filter(filter_string)
    order = dataset_search.parse_order(order_by)
    wanted = set(experiment_ids or [])
    found = [
        d
        for d in (_dataset(row) for row in cursor.execute(LIST).fetchall())
        if (not wanted or wanted & set(d.experiment_ids)) and all(p(d) for p in predicates)
    ]
    return dataset_search.sort(found, order)[offset : offset + limit]


# -- writer jobs ---------------------------------------------------------------------------------
def create(
    conn: duckdb.DuckDBPyConnection, name: str, experiment_ids: list[str], tags: dict[str, str], now: datetime
) -> Dataset:
    if not name.strip():
        raise InvalidParameter("Invalid value for parameter 'name': a dataset needs a name.")
    if len(name) > MAX_NAME_CHARS:
        raise InvalidParameter(f"Invalid value for parameter 'name': longer than {MAX_NAME_CHARS} characters.")
    dataset_id = PREFIX + uuid.uuid4().hex
    user = tags.get(USER_TAG)
    conn.execute(
        INSERT,
        [
            dataset_id,
            name,
            orjson.dumps(list(dict.fromkeys(experiment_ids))).decode(),
            orjson.dumps(tags).decode(),
            user,
            user,
            now,
            now,
            digest(name, now),
            None,
            None,
        ],
    )
    created = get(conn, dataset_id)
    _audit(conn, "create", None, created, now)
    return created


def _audit(conn: duckdb.DuckDBPyConnection, action: str, old: Any, new: Any, now: datetime | None = None) -> None:
    """The dataset's audit row (``old`` / ``new``: a ``Dataset``, a dict, or None)."""
    before, after = (asdict(v) if isinstance(v, Dataset) else v for v in (old, new))
    dataset_id = (after or before)["dataset_id"]
    audit.record(conn, action=action, object_type="dataset", object_id=dataset_id, previous=before, new=after, time=now)


def link_experiments(
    conn: duckdb.DuckDBPyConnection, dataset_id: str, experiment_ids: list[str], add: bool, now: datetime
) -> Dataset:
    """MLflow's add-/remove-experiments: unknown experiments are refused on add, ignored on remove."""
    found = find(conn, dataset_id)
    if found is None:
        raise NotFound(f"Dataset '{dataset_id}' not found")
    if add:
        for experiment_id in experiment_ids:
            if not conn.execute(EXPERIMENT_EXISTS, [experiment_id]).fetchall():
                raise NotFound(f"No Experiment with id={experiment_id}")
        linked = list(dict.fromkeys([*found.experiment_ids, *experiment_ids]))
    else:
        linked = [e for e in found.experiment_ids if e not in set(experiment_ids)]
    conn.execute(SET_EXPERIMENTS, [orjson.dumps(linked).decode(), now, dataset_id])
    updated = get(conn, dataset_id)
    _audit(conn, "add-experiments" if add else "remove-experiments", found, updated, now)
    return updated


def delete(conn: duckdb.DuckDBPyConnection, dataset_id: str) -> bool:
    """Delete the dataset and its records (idempotent: False when already gone)."""
    found = find(conn, dataset_id)
    if found is None:
        return False
    _audit(conn, "delete", found, None)
    for sql in DELETE.values():
        conn.execute(sql, [dataset_id])
    return True


def set_tags(conn: duckdb.DuckDBPyConnection, dataset_id: str, tags: Mapping[str, Any]) -> None:
    """Upsert ``tags`` (values as text; a null value is skipped), as MLflow's ``set_dataset_tags``."""
    found = find(conn, dataset_id)
    if found is None:
        raise NotFound(f"Could not find evaluation dataset with ID {dataset_id}")
    merged = dict(found.tags)
    merged.update({key: _text(value) for key, value in tags.items() if value is not None})
    conn.execute(SET_TAGS, [orjson.dumps(merged).decode(), dataset_id])
    _audit(conn, "set-tags", {"dataset_id": dataset_id, "tags": found.tags}, {"dataset_id": dataset_id, "tags": merged})


def delete_tag(conn: duckdb.DuckDBPyConnection, dataset_id: str, key: str) -> None:
    """Idempotent: no dataset or no such tag is not an error."""
    found = find(conn, dataset_id)
    if found is not None and key in found.tags:
        left = {k: v for k, v in found.tags.items() if k != key}
        conn.execute(SET_TAGS, [orjson.dumps(left).decode(), dataset_id])
        _audit(
            conn, "delete-tag", {"dataset_id": dataset_id, "tags": found.tags}, {"dataset_id": dataset_id, "tags": left}
        )


def _text(value: Any) -> str:
    """Python's ``str()`` of a JSON value, which is what MLflow stores for a tag value."""
    return str(value)
