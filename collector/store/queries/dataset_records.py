"""The records of an evaluation dataset (MLflow ``mlflow.genai.datasets``): reads and the writer jobs.

A record is keyed by its inputs: ``merge`` hashes ``json.dumps(inputs, sort_keys=True)`` and, when
the dataset already holds those inputs, replaces the outputs (when the record names them) and
merges expectations and tags key by key; otherwise it inserts a ``dr-`` record. A merge recomputes
the dataset's digest, inferred schema and profile and sets ``last_updated_by`` from the records'
``mlflow.user`` tag. Why apart from ``datasets.py``: that module is the datasets themselves.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

import duckdb
import orjson

from annotrace.collector.errors import InvalidParameter
from annotrace.collector.store.queries import audit
from annotrace.collector.store.queries.datasets import RECORD_PREFIX, SOURCE_TYPES, USER_TAG, digest, find, get

AFTER_MERGE = (
    "UPDATE datasets SET last_update_time = ?, last_updated_by = ?, digest = ?, record_schema = ?, "
    "profile = ? WHERE dataset_id = ?"
)
SET_PROFILE = "UPDATE datasets SET profile = ? WHERE dataset_id = ?"
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
RECORDS_BY_ID = f"SELECT {RECORD_COLUMNS} FROM dataset_records WHERE dataset_id = ? AND list_contains(?, record_id)"


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


def _record(row: tuple[Any, ...]) -> Record:
    values = list(row)
    for i in (3, 4, 5, 6, 7):
        values[i] = orjson.loads(values[i]) if values[i] is not None else None
    return Record(*values)


def input_hash(inputs: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(inputs, sort_keys=True).encode()).hexdigest()


def records(cursor: duckdb.DuckDBPyConnection, dataset_id: str, limit: int, offset: int) -> list[Record]:
    """Oldest first; a dataset that does not exist has none (as in MLflow)."""
    return [_record(row) for row in cursor.execute(RECORDS, [dataset_id, limit, offset]).fetchall()]


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
    previous: list[dict[str, Any]] = []  # for the audit trail: the records as they were, and as given
    written: list[dict[str, Any]] = []
    position = conn.execute(NEXT_POSITION, [dataset_id]).fetchall()[0][0]
    for record in new_records:
        tags = record.get("tags")
        user = tags.get(USER_TAG) if tags else None
        updated_by = user or updated_by
        rows = conn.execute(RECORD_BY_HASH, [dataset_id, input_hash(record["inputs"])]).fetchall()
        if rows:
            old = _record(rows[0])
            _update_record(conn, old, record, user, now)
            previous.append(asdict(old))
            written.append({"record_id": old.record_id, **record})
            updated += 1
        else:
            record_id = _insert_record(conn, dataset_id, position + inserted, record, user, now)
            written.append({"record_id": record_id, **record})
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
    audit.record(
        conn,
        action="upsert-records",
        object_type="dataset",
        object_id=dataset_id,
        previous={"dataset_id": dataset_id, "records": previous},
        new={"dataset_id": dataset_id, "records": written},
        time=now,
    )
    return inserted, updated


def _insert_record(
    conn: duckdb.DuckDBPyConnection,
    dataset_id: str,
    position: int,
    record: dict[str, Any],
    user: str | None,
    now: datetime,
) -> str:
    """The new record's id."""
    source = record.get("source")
    source_type = source_id = None
    if source is not None:
        data = source.get("source_data") or {}
        source = {"source_type": source["source_type"], "source_data": data}
        source_type = source["source_type"]
        source_id = data.get("trace_id") if source_type == "TRACE" else data.get("source_id")
    inputs = record["inputs"]
    record_id = RECORD_PREFIX + uuid.uuid4().hex
    conn.execute(
        INSERT_RECORD,
        [
            position,
            record_id,
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
    return record_id


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
    wanted = list(dict.fromkeys(record_ids))
    gone = [asdict(_record(row)) for row in conn.execute(RECORDS_BY_ID, [dataset_id, wanted]).fetchall()]
    for record_id in wanted:
        deleted += len(conn.execute(DELETE_RECORDS + " RETURNING 1", [dataset_id, record_id]).fetchall())
    if gone:
        previous = {"dataset_id": dataset_id, "records": gone}
        audit.record(conn, action="delete-records", object_type="dataset", object_id=dataset_id, previous=previous)
    dataset = find(conn, dataset_id)
    if deleted and dataset is not None:
        left = max(0, (json.loads(dataset.profile or "{}") or {}).get("num_records", 0) - deleted)
        conn.execute(SET_PROFILE, [json.dumps({"num_records": left} if left else None), dataset_id])
    return deleted


def _json(value: Any) -> str | None:
    return None if value is None else orjson.dumps(value).decode()
