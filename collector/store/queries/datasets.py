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
import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import duckdb
import orjson

from annotrace.collector.errors import InvalidParameter, NotFound
from annotrace.collector.store.queries import dataset_search

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
AFTER_MERGE = (
    "UPDATE datasets SET last_update_time = ?, last_updated_by = ?, digest = ?, record_schema = ?, "
    "profile = ? WHERE dataset_id = ?"
)
SET_PROFILE = "UPDATE datasets SET profile = ? WHERE dataset_id = ?"
SET_EXPERIMENTS = "UPDATE datasets SET experiment_ids = ?, last_update_time = ? WHERE dataset_id = ?"
EXPERIMENT_EXISTS = "SELECT 1 FROM experiments WHERE experiment_id = ?"
RECORD_COLUMNS = (
    "record_id, dataset_id, input_hash, inputs, outputs, expectations, tags, source, source_type, "
    "source_id, create_time, last_update_time, created_by, last_updated_by"
)
RECORDS = f"SELECT {RECORD_COLUMNS} FROM dataset_records WHERE dataset_id = ? ORDER BY position LIMIT ? OFFSET ?"
RECORD_BY_HASH = f"SELECT {RECORD_COLUMNS} FROM dataset_records WHERE dataset_id = ? AND input_hash = ?"
INSERT_RECORD = (
    f"INSERT INTO dataset_records (position, {RECORD_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
NEXT_POSITION = "SELECT coalesce(max(position) + 1, 0) FROM dataset_records WHERE dataset_id = ?"
COUNT_RECORDS = "SELECT count(*) FROM dataset_records WHERE dataset_id = ?"
UPDATE_RECORD = (
    "UPDATE dataset_records SET outputs = ?, expectations = ?, tags = ?, last_update_time = ?, "
    "last_updated_by = ? WHERE record_id = ?"
)
DELETE_RECORDS = "DELETE FROM dataset_records WHERE dataset_id = ? AND record_id = ?"
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


@dataclass(frozen=True, slots=True)
class Record:
    record_id: str
    dataset_id: str
    input_hash: str
    inputs: dict[str, Any]
    outputs: Any
    expectations: dict[str, Any] | None
    tags: dict[str, str] | None
    source: dict[str, Any] | None
    source_type: str | None
    source_id: str | None
    create_time: datetime
    last_update_time: datetime
    created_by: str | None
    last_updated_by: str | None


def epoch_ms(value: datetime) -> int:
    return int(value.replace(tzinfo=UTC).timestamp() * 1000)


def digest(name: str, last_update_time: datetime) -> str:
    """MLflow's dataset digest: it changes whenever the dataset's records do."""
    return hashlib.sha256(f"{name}:{epoch_ms(last_update_time)}".encode()).hexdigest()[:8]


def _dataset(row: tuple[Any, ...]) -> Dataset:
    values = list(row)
    values[2], values[3] = orjson.loads(values[2]), orjson.loads(values[3])
    return Dataset(*values)


def _record(row: tuple[Any, ...]) -> Record:
    values = list(row)
    for i in (3, 4, 5, 6, 7):
        values[i] = orjson.loads(values[i]) if values[i] is not None else None
    return Record(*values)


def input_hash(inputs: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(inputs, sort_keys=True).encode()).hexdigest()


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


def records(cursor: duckdb.DuckDBPyConnection, dataset_id: str, limit: int, offset: int) -> list[Record]:
    """Oldest first; a dataset that does not exist has none (as in MLflow)."""
    return [_record(row) for row in cursor.execute(RECORDS, [dataset_id, limit, offset]).fetchall()]


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
    return get(conn, dataset_id)


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
    return get(conn, dataset_id)


def delete(conn: duckdb.DuckDBPyConnection, dataset_id: str) -> bool:
    """Delete the dataset and its records (idempotent: False when already gone)."""
    if find(conn, dataset_id) is None:
        return False
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


def delete_tag(conn: duckdb.DuckDBPyConnection, dataset_id: str, key: str) -> None:
    """Idempotent: no dataset or no such tag is not an error."""
    found = find(conn, dataset_id)
    if found is not None and key in found.tags:
        conn.execute(SET_TAGS, [orjson.dumps({k: v for k, v in found.tags.items() if k != key}).decode(), dataset_id])


def _text(value: Any) -> str:
    """Python's ``str()`` of a JSON value, which is what MLflow stores for a tag value."""
    return str(value)


def check_record(record: Any, index: int) -> None:
    if not isinstance(record, dict):
        raise InvalidParameter(f"Invalid record at index {index}: each record must be an object.")
    inputs = record.get("inputs")
    if inputs is None:
        raise InvalidParameter("Each record must have an 'inputs' field")
    if not isinstance(inputs, dict):
        raise InvalidParameter(f"Invalid record at index {index}: 'inputs' must be an object.")
    for key in ("expectations", "tags"):
        if record.get(key) is not None and not isinstance(record[key], dict):
            raise InvalidParameter(f"Invalid record at index {index}: '{key}' must be an object.")
    source = record.get("source")
    if source is not None and (
        not isinstance(source, dict)
        or source.get("source_type") not in SOURCE_TYPES
        or not isinstance(source.get("source_data") or {}, dict)
    ):
        raise InvalidParameter(
            f"Invalid record at index {index}: 'source' must be {{\"source_type\": one of {', '.join(SOURCE_TYPES)}, "
            '"source_data": {...}}.'
        )


def merge(
    conn: duckdb.DuckDBPyConnection, dataset_id: str, new_records: list[dict[str, Any]], now: datetime
) -> tuple[int, int]:
    """Upsert by inputs; ``(inserted_count, updated_count)``."""
    dataset = get(conn, dataset_id)
    for index, record in enumerate(new_records):
        check_record(record, index)
    inserted = updated = 0
    updated_by: str | None = None
    position = conn.execute(NEXT_POSITION, [dataset_id]).fetchall()[0][0]
    for record in new_records:
        tags = record.get("tags")
        user = tags.get(USER_TAG) if tags else None
        updated_by = user or updated_by
        rows = conn.execute(RECORD_BY_HASH, [dataset_id, input_hash(record["inputs"])]).fetchall()
        if rows:
            _update_record(conn, _record(rows[0]), record, user, now)
            updated += 1
        else:
            _insert_record(conn, dataset_id, position + inserted, record, user, now)
            inserted += 1
    schema = infer_schema(dataset.record_schema, new_records)
    count = conn.execute(COUNT_RECORDS, [dataset_id]).fetchall()[0][0]
    profile = json.dumps({"num_records": count}) if count else dataset.profile
    conn.execute(
        AFTER_MERGE,
        [
            now,
            updated_by,
            digest(dataset.name, now),
            None if schema is None else json.dumps(schema),
            profile,
            dataset_id,
        ],
    )
    return inserted, updated


def _insert_record(
    conn: duckdb.DuckDBPyConnection,
    dataset_id: str,
    position: int,
    record: dict[str, Any],
    user: str | None,
    now: datetime,
) -> None:
    source = record.get("source")
    source_type = source_id = None
    if source is not None:
        data = source.get("source_data") or {}
        source = {"source_type": source["source_type"], "source_data": data}
        source_type = source["source_type"]
        source_id = data.get("trace_id") if source_type == "TRACE" else data.get("source_id")
    inputs = record["inputs"]
    conn.execute(
        INSERT_RECORD,
        [
            position,
            RECORD_PREFIX + uuid.uuid4().hex,
            dataset_id,
            input_hash(inputs),
            _json(inputs),
            _json(record.get("outputs", {})),
            _json(record.get("expectations")),
            _json(record.get("tags") or {}),
            _json(source),
            source_type,
            None if source_id is None else str(source_id),
            now,
            now,
            user,
            user,
        ],
    )


def _update_record(
    conn: duckdb.DuckDBPyConnection, old: Record, record: dict[str, Any], user: str | None, now: datetime
) -> None:
    outputs = record.get("outputs", old.outputs)  # a null given replaces too
    expectations, tags = old.expectations, old.tags
    if record.get("expectations"):
        expectations = {**(expectations or {}), **record["expectations"]}
    if record.get("tags"):
        tags = {**(tags or {}), **record["tags"]}
    conn.execute(
        UPDATE_RECORD,
        [_json(outputs), _json(expectations), _json(tags), now, user or old.last_updated_by, old.record_id],
    )


def infer_schema(existing: str | None, new_records: list[dict[str, Any]]) -> dict[str, Any] | None:
    """MLflow's dataset schema: the type of each field the first time it is seen."""
    if not new_records and not existing:
        return None
    schema: dict[str, Any] = (
        json.loads(existing) if existing else {"inputs": {}, "outputs": {}, "expectations": {}, "version": "1.0"}
    )
    for record in new_records:
        for key, value in (record.get("inputs") or {}).items():
            schema["inputs"].setdefault(key, _field_type(value))
        outputs = record.get("outputs")
        if isinstance(outputs, dict) and isinstance(schema["outputs"], dict):
            for key, value in outputs.items():
                schema["outputs"].setdefault(key, _field_type(value))
        elif outputs is not None and not isinstance(outputs, dict) and not schema["outputs"]:
            schema["outputs"] = _field_type(outputs)
        for key, value in (record.get("expectations") or {}).items():
            schema["expectations"].setdefault(key, _field_type(value))
    return schema


def _field_type(value: Any) -> str:
    for kind, name in (
        (type(None), "null"),
        (bool, "boolean"),
        (int, "integer"),
        (float, "float"),
        (str, "string"),
        (list, "array"),
        (dict, "object"),
    ):
        if isinstance(value, kind):
            return name
    return "unknown"


def delete_records(conn: duckdb.DuckDBPyConnection, dataset_id: str, record_ids: list[str]) -> int:
    """Delete by id; the profile's count goes down (MLflow leaves the update time and digest)."""
    deleted = 0
    for record_id in dict.fromkeys(record_ids):
        deleted += len(conn.execute(DELETE_RECORDS + " RETURNING 1", [dataset_id, record_id]).fetchall())
    dataset = find(conn, dataset_id)
    if deleted and dataset is not None:
        left = max(0, (json.loads(dataset.profile or "{}") or {}).get("num_records", 0) - deleted)
        conn.execute(SET_PROFILE, [json.dumps({"num_records": left} if left else None), dataset_id])
    return deleted


def _json(value: Any) -> str | None:
    return None if value is None else orjson.dumps(value).decode()
