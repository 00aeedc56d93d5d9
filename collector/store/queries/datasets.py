"""Evaluation datasets (MLflow ``mlflow.genai.datasets``): reads and the writer jobs.

A record is keyed by its inputs: ``merge`` hashes ``json.dumps(inputs, sort_keys=True)`` (MLflow's
rule) and, when the dataset already holds those inputs, merges expectations and tags key by key
and replaces outputs; otherwise it inserts a ``dr-`` record. Names are unique; ``create`` checks
that inside its writer job, so two racing creates cannot both win.
"""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from dataclasses import dataclass
from datetime import datetime
from collections.abc import Mapping
from typing import Any

import duckdb
import orjson

from annotrace.collector.errors import AlreadyExists, InvalidParameter, NotFound

PREFIX, RECORD_PREFIX = "d-", "dr-"
MAX_NAME_CHARS = 500
SOURCE_TYPES = ("TRACE", "HUMAN", "DOCUMENT", "CODE")

COLUMNS = "dataset_id, name, experiment_ids, tags, created_by, last_updated_by, create_time, last_update_time"
GET = f"SELECT {COLUMNS} FROM datasets WHERE dataset_id = ?"
GET_BY_NAME = f"SELECT {COLUMNS} FROM datasets WHERE name = ?"
LIST = f"SELECT {COLUMNS} FROM datasets ORDER BY create_time DESC, dataset_id"
INSERT = f"INSERT INTO datasets ({COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
TOUCH = "UPDATE datasets SET last_update_time = ? WHERE dataset_id = ?"
SET_TAGS = "UPDATE datasets SET tags = ?, last_update_time = ? WHERE dataset_id = ?"
RECORD_COLUMNS = ("record_id, dataset_id, input_hash, inputs, outputs, expectations, tags, source, source_type, "
                  "source_id, create_time, last_update_time")
RECORDS = f"SELECT {RECORD_COLUMNS} FROM dataset_records WHERE dataset_id = ? ORDER BY position LIMIT ? OFFSET ?"
RECORD_BY_HASH = f"SELECT {RECORD_COLUMNS} FROM dataset_records WHERE dataset_id = ? AND input_hash = ?"
INSERT_RECORD = (f"INSERT INTO dataset_records (position, {RECORD_COLUMNS}) "
                 "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
NEXT_POSITION = "SELECT coalesce(max(position) + 1, 0) FROM dataset_records WHERE dataset_id = ?"
UPDATE_RECORD = ("UPDATE dataset_records SET outputs = ?, expectations = ?, tags = ?, last_update_time = ? "
                 "WHERE record_id = ?")
DELETE_RECORDS = "DELETE FROM dataset_records WHERE dataset_id = ? AND record_id = ?"
DELETE = {table: f"DELETE FROM {table} WHERE dataset_id = ?" for table in ("dataset_records", "datasets")}
NAME_FILTER = re.compile(r"""^\s*name\s*(=|LIKE|ILIKE)\s*(['"])(.*)\2\s*$""", re.IGNORECASE)


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


@dataclass(frozen=True, slots=True)
class Record:
    record_id: str
    dataset_id: str
    input_hash: str
    inputs: dict[str, Any]
    outputs: Any
    expectations: dict[str, Any]
    tags: dict[str, str]
    source: dict[str, Any] | None
    source_type: str | None
    source_id: str | None
    create_time: datetime
    last_update_time: datetime


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
def get(cursor: duckdb.DuckDBPyConnection, dataset_id: str) -> Dataset:
    rows = cursor.execute(GET, [dataset_id]).fetchall()
    if not rows:
        raise NotFound(f"Dataset '{dataset_id}' not found")
    return _dataset(rows[0])


def search(cursor: duckdb.DuckDBPyConnection, experiment_ids: list[str] | None, filter_string: str | None,
           limit: int, offset: int) -> list[Dataset]:
    """Newest first; ``filter_string`` may be ``name = '...'`` or ``name LIKE '...%'``."""
    name_op: tuple[str, str] | None = None
    if filter_string and filter_string.strip():
        match = NAME_FILTER.match(filter_string)
        if match is None:
            raise InvalidParameter(
                f"Invalid filter_string '{filter_string}': only \"name = '...'\" and \"name LIKE '...'\" are "
                "supported for datasets.")
        name_op = (match.group(1).upper(), match.group(3))
    found = []
    for row in cursor.execute(LIST).fetchall():
        d = _dataset(row)
        if experiment_ids and not set(experiment_ids) & set(d.experiment_ids):
            continue
        if name_op is not None:
            op, value = name_op
            if op == "=" and d.name != value:
                continue
            if op != "=" and not _like(d.name, value, op == "ILIKE"):
                continue
        found.append(d)
    return found[offset:offset + limit]


def _like(name: str, pattern: str, fold: bool) -> bool:
    regex = "".join(".*" if c == "%" else "." if c == "_" else re.escape(c) for c in pattern)
    return re.fullmatch(regex, name, re.IGNORECASE | re.DOTALL if fold else re.DOTALL) is not None


def records(cursor: duckdb.DuckDBPyConnection, dataset_id: str, limit: int, offset: int) -> list[Record]:
    get(cursor, dataset_id)
    return [_record(row) for row in cursor.execute(RECORDS, [dataset_id, limit, offset]).fetchall()]


# -- writer jobs ---------------------------------------------------------------------------------
def create(conn: duckdb.DuckDBPyConnection, name: str, experiment_ids: list[str], tags: dict[str, str],
           created_by: str | None, now: datetime) -> Dataset:
    if not name.strip():
        raise InvalidParameter("Invalid value for parameter 'name': a dataset needs a name.")
    if len(name) > MAX_NAME_CHARS:
        raise InvalidParameter(f"Invalid value for parameter 'name': longer than {MAX_NAME_CHARS} characters.")
    if conn.execute(GET_BY_NAME, [name]).fetchall():
        raise AlreadyExists(f"Dataset with name '{name}' already exists.")
    dataset_id = PREFIX + uuid.uuid4().hex
    conn.execute(INSERT, [dataset_id, name, orjson.dumps(list(dict.fromkeys(experiment_ids))).decode(),
                          orjson.dumps(tags).decode(), created_by, created_by, now, now])
    return get(conn, dataset_id)


def delete(conn: duckdb.DuckDBPyConnection, dataset_id: str) -> bool:
    """Delete the dataset and its records (idempotent: False when already gone)."""
    if not conn.execute(GET, [dataset_id]).fetchall():
        return False
    for sql in DELETE.values():
        conn.execute(sql, [dataset_id])
    return True


def set_tags(conn: duckdb.DuckDBPyConnection, dataset_id: str, tags: Mapping[str, str | None],
             now: datetime) -> Dataset:
    """Merge ``tags`` into the dataset's; a None value deletes that key."""
    merged = dict(get(conn, dataset_id).tags)
    for key, value in tags.items():
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = value
    conn.execute(SET_TAGS, [orjson.dumps(merged).decode(), now, dataset_id])
    return get(conn, dataset_id)


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
    if source is not None and (not isinstance(source, dict) or source.get("source_type") not in SOURCE_TYPES):
        raise InvalidParameter(
            f"Invalid record at index {index}: 'source' must be {{\"source_type\": one of {', '.join(SOURCE_TYPES)}, "
            "\"source_data\": {...}}.")


def merge(conn: duckdb.DuckDBPyConnection, dataset_id: str, new_records: list[dict[str, Any]],
          now: datetime) -> tuple[int, int]:
    """Upsert by inputs; ``(inserted_count, updated_count)``."""
    get(conn, dataset_id)
    for index, record in enumerate(new_records):
        check_record(record, index)
    inserted = updated = 0
    position = conn.execute(NEXT_POSITION, [dataset_id]).fetchall()[0][0]
    for record in new_records:
        inputs = record["inputs"]
        digest = input_hash(inputs)
        expectations, tags = record.get("expectations") or {}, record.get("tags") or {}
        rows = conn.execute(RECORD_BY_HASH, [dataset_id, digest]).fetchall()
        if rows:
            old = _record(rows[0])
            outputs = record["outputs"] if record.get("outputs") is not None else old.outputs
            conn.execute(UPDATE_RECORD, [_json(outputs), _json({**old.expectations, **expectations}),
                                         _json({**old.tags, **tags}), now, old.record_id])
            updated += 1
            continue
        source = record.get("source")
        source_type = record.get("source_type") or (source or {}).get("source_type") or (
            "HUMAN" if expectations else "CODE")
        source_id = record.get("source_id")
        if source_id is None and source is not None:
            data = source.get("source_data") or {}
            source_id = data.get("trace_id") or data.get("source_id")
        conn.execute(INSERT_RECORD, [
            position + inserted, RECORD_PREFIX + uuid.uuid4().hex, dataset_id, digest, _json(inputs), _json(record.get("outputs")),
            _json(expectations), _json(tags), _json(source), source_type, source_id, now, now])
        inserted += 1
    conn.execute(TOUCH, [now, dataset_id])
    return inserted, updated


def delete_records(conn: duckdb.DuckDBPyConnection, dataset_id: str, record_ids: list[str], now: datetime) -> int:
    get(conn, dataset_id)
    deleted = 0
    for record_id in dict.fromkeys(record_ids):
        deleted += len(conn.execute(DELETE_RECORDS + " RETURNING 1", [dataset_id, record_id]).fetchall())
    conn.execute(TOUCH, [now, dataset_id])
    return deleted


def _json(value: Any) -> str | None:
    return None if value is None else orjson.dumps(value).decode()
