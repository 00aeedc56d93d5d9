"""MLflow logged models: reads, search, and the writer jobs (create, finalize, tags, params, delete).

The rules are MLflow's SQLAlchemy store's (tests/differential compares the two): a model is
created PENDING in an active experiment with a random name when none is given; a deleted model
is hidden from get and search but can still be finalized or tagged by id; tags are upserted;
search orders by the given fields (missing values last), then newest first, then model id.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

import duckdb
import orjson

from annotrace.collector.errors import InvalidParameter, NotFound
from annotrace.collector.store.queries import audit, run_names, runs
from annotrace.collector.store.queries.filter_sql import NUMERIC_OPS, STRING_OPS, conjunction, json_pointer
from annotrace.collector.store.queries.search_filter import Comparison, parse

STATUSES = ("LOGGED_MODEL_PENDING", "LOGGED_MODEL_READY", "LOGGED_MODEL_UPLOAD_FAILED")
COLUMNS = (
    "m.model_id, m.experiment_id, m.name, m.model_type, m.source_run_id, m.status, m.status_message, "
    "m.creation_timestamp_ms, m.last_updated_timestamp_ms, m.lifecycle_stage, m.params, m.tags"
)
GET = f"SELECT {COLUMNS} FROM logged_models m WHERE m.model_id = ?"
INSERT = (
    f"INSERT INTO logged_models ({COLUMNS.replace('m.', '')}) "
    "VALUES (?, ?, ?, ?, ?, 'LOGGED_MODEL_PENDING', NULL, ?, ?, 'active', ?, ?)"
)
SET_STATUS = "UPDATE logged_models SET status = ?, last_updated_timestamp_ms = ? WHERE model_id = ?"
SET_DELETED = "UPDATE logged_models SET lifecycle_stage = 'deleted', last_updated_timestamp_ms = ? WHERE model_id = ?"
SET_TAGS = "UPDATE logged_models SET tags = ? WHERE model_id = ?"
SET_PARAMS = "UPDATE logged_models SET params = ? WHERE model_id = ?"
SEARCH = (
    f"SELECT {COLUMNS} FROM logged_models m WHERE list_contains(?::VARCHAR[], m.experiment_id) "
    "AND m.lifecycle_stage = 'active' AND ({where}) ORDER BY {order} LIMIT ? OFFSET ?"
)
METRICS = (
    "SELECT model_id, key, value, timestamp, step, run_id, dataset_name, dataset_digest FROM run_metrics "
    "WHERE model_id IN (SELECT unnest(?::VARCHAR[])) ORDER BY timestamp, step"
)
_LATEST = (
    "(SELECT x.value FROM run_metrics x WHERE x.model_id = m.model_id AND x.key = ? "
    "ORDER BY x.timestamp DESC, x.step DESC, x.run_id LIMIT 1)"
)
_ATTRIBUTES: dict[str, tuple[str, bool]] = {
    "name": ("m.name", False),
    "model_id": ("m.model_id", False),
    "model_type": ("m.model_type", False),
    "status": ("m.status", False),
    "source_run_id": ("m.source_run_id", False),
    "creation_timestamp": ("m.creation_timestamp_ms", True),
    "creation_timestamp_ms": ("m.creation_timestamp_ms", True),
    "creation_time": ("m.creation_timestamp_ms", True),
    "last_updated_timestamp": ("m.last_updated_timestamp_ms", True),
    "last_updated_timestamp_ms": ("m.last_updated_timestamp_ms", True),
}


@dataclass(frozen=True, slots=True)
class ModelMetric:
    key: str
    value: float
    timestamp: int
    step: int
    run_id: str
    dataset_name: str | None
    dataset_digest: str | None


@dataclass(frozen=True, slots=True)
class LoggedModel:
    model_id: str
    experiment_id: str
    name: str
    model_type: str | None
    source_run_id: str | None
    status: str
    status_message: str | None
    creation_timestamp_ms: int
    last_updated_timestamp_ms: int
    lifecycle_stage: str
    params: dict[str, str]
    tags: dict[str, str]
    metrics: list[ModelMetric] = field(default_factory=list)


@dataclass(frozen=True, slots=True, kw_only=True)
class NewModel:
    experiment_id: str
    name: str | None = None
    model_type: str | None = None
    source_run_id: str | None = None
    params: dict[str, str] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)


def _models(cursor: duckdb.DuckDBPyConnection, rows: list[tuple[Any, ...]]) -> list[LoggedModel]:
    ids = [row[0] for row in rows]
    metrics: dict[str, list[ModelMetric]] = {}
    for model_id, *rest in cursor.execute(METRICS, [ids]).fetchall():
        metrics.setdefault(model_id, []).append(ModelMetric(*rest))
    out = []
    for row in rows:
        model_id, experiment_id, name, model_type, source_run_id, status, message, created, updated, stage = row[:10]
        out.append(
            LoggedModel(
                model_id,
                experiment_id,
                name,
                model_type,
                source_run_id,
                status,
                message,
                created,
                updated,
                stage,
                orjson.loads(row[10]),
                orjson.loads(row[11]),
                metrics.get(model_id, []),
            )
        )
    return out


def get(cursor: duckdb.DuckDBPyConnection, model_id: str, *, allow_deleted: bool = False) -> LoggedModel:
    rows = cursor.execute(GET, [model_id]).fetchall()
    if not rows or (rows[0][9] != "active" and not allow_deleted):
        raise NotFound(f"Logged model with ID '{model_id}' not found.")
    return _models(cursor, rows)[0]


def search(
    cursor: duckdb.DuckDBPyConnection,
    experiment_ids: list[str],
    filter_string: str | None,
    order_by: list[dict[str, Any]],
    limit: int,
    offset: int,
) -> list[LoggedModel]:
    node = parse(filter_string or "")
    params: list[Any] = []
    where = "true" if node is None else conjunction(node, params, _comparison, "logged model search")
    order_params: list[Any] = []
    order = _order(order_by, order_params)
    rows = cursor.execute(
        SEARCH.format(where=where, order=order), [experiment_ids, *params, *order_params, limit, offset]
    ).fetchall()
    return _models(cursor, rows)


# -- writer jobs ---------------------------------------------------------------------------------
def create(conn: duckdb.DuckDBPyConnection, new: NewModel, now_ms: int) -> LoggedModel:
    runs.check_experiment_active(conn, new.experiment_id)
    name = new.name or run_names.random_name()
    model_id = "m-" + uuid.uuid4().hex
    conn.execute(
        INSERT,
        [
            model_id,
            new.experiment_id,
            name,
            new.model_type,
            new.source_run_id,
            now_ms,
            now_ms,
            orjson.dumps(new.params).decode(),
            orjson.dumps(new.tags).decode(),
        ],
    )
    created = get(conn, model_id)
    _audit(conn, "create", None, created)
    return created


def finalize(conn: duckdb.DuckDBPyConnection, model_id: str, status: str, now_ms: int) -> LoggedModel:
    before = get(conn, model_id, allow_deleted=True)
    conn.execute(SET_STATUS, [status, now_ms, model_id])
    return _audit(conn, "finalize", before, get(conn, model_id, allow_deleted=True))


def delete(conn: duckdb.DuckDBPyConnection, model_id: str, now_ms: int) -> None:
    before = get(conn, model_id, allow_deleted=True)
    conn.execute(SET_DELETED, [now_ms, model_id])
    _audit(conn, "delete", before, get(conn, model_id, allow_deleted=True))


def set_tags(conn: duckdb.DuckDBPyConnection, model_id: str, tags: dict[str, str]) -> None:
    model = get(conn, model_id, allow_deleted=True)
    conn.execute(SET_TAGS, [orjson.dumps({**model.tags, **tags}).decode(), model_id])
    _audit(conn, "set-tags", model, get(conn, model_id, allow_deleted=True))


def delete_tag(conn: duckdb.DuckDBPyConnection, model_id: str, key: str) -> None:
    model = get(conn, model_id, allow_deleted=True)
    if key not in model.tags:
        raise NotFound(f"No tag with key {key!r} found for model with ID {model_id!r}.")
    conn.execute(SET_TAGS, [orjson.dumps({k: v for k, v in model.tags.items() if k != key}).decode(), model_id])
    _audit(conn, "delete-tag", model, get(conn, model_id, allow_deleted=True))


def log_params(conn: duckdb.DuckDBPyConnection, model_id: str, params: dict[str, str]) -> None:
    model = get(conn, model_id, allow_deleted=True)
    conn.execute(SET_PARAMS, [orjson.dumps({**model.params, **params}).decode(), model_id])
    _audit(conn, "log-params", model, get(conn, model_id, allow_deleted=True))


def _audit(conn: duckdb.DuckDBPyConnection, action: str, before: LoggedModel | None, after: LoggedModel) -> LoggedModel:
    """The model's audit row (without its metrics: logged data, not edits); returns ``after``."""
    keys = ("model_id", "experiment_id", "name", "status", "lifecycle_stage", "params", "tags")
    audit.record(
        conn,
        action=action,
        object_type="logged_model",
        object_id=after.model_id,
        previous=None if before is None else {key: getattr(before, key) for key in keys},
        new={key: getattr(after, key) for key in keys},
    )
    return after


# -- search filter and order ---------------------------------------------------------------------
def _comparison(node: Comparison, params: list[Any]) -> str:
    if node.entity in ("metric", "metrics"):
        params.append(node.key)
        expr, numeric = _LATEST, True
    elif node.entity in ("param", "params", "tag", "tags"):
        params.append(json_pointer(node.key))
        expr, numeric = (
            (
                "json_extract_string(m.params, ?)"
                if node.entity.startswith("param")
                else "json_extract_string(m.tags, ?)"
            ),
            False,
        )
    elif node.entity in ("", "attribute", "attributes") and node.key in _ATTRIBUTES:
        expr, numeric = _ATTRIBUTES[node.key]
    else:
        raise InvalidParameter(
            f"Invalid filter key '{node.text}': expected an attribute ("
            + ", ".join(sorted(_ATTRIBUTES))
            + "), metrics.<key>, params.<key> or tags.<key>"
        )
    ops = NUMERIC_OPS if numeric else STRING_OPS
    if node.op not in ops:
        raise InvalidParameter(
            f"Invalid comparison operator '{node.op}' for '{node.text}'; expected one of " + ", ".join(ops)
        )
    value: Any = node.value
    if node.op in ("IN", "NOT IN"):
        value = [str(v) for v in value] if isinstance(value, tuple) else [str(value)]
    elif numeric and not isinstance(value, float):
        raise InvalidParameter(f"Invalid value {value!r} for '{node.text}': expected a number")
    params.append(value)
    return ops[node.op].format(e=expr)


def _order(order_by: list[dict[str, Any]], params: list[Any]) -> str:
    parts = []
    names = set()
    for index, clause in enumerate(order_by):
        field_name = clause.get("field_name")
        if not isinstance(field_name, str):
            raise InvalidParameter(f"Invalid value for parameter 'order_by[{index}].field_name': expected a string.")
        direction = "ASC" if clause.get("ascending", True) else "DESC"
        if field_name.startswith("metrics."):
            params.append(field_name.split(".", 1)[1])
            parts.append(f"{_LATEST} {direction} NULLS LAST")
        elif "." not in field_name and field_name in _ATTRIBUTES:
            expr = _ATTRIBUTES[field_name][0]
            names.add(expr)
            parts.append(f"{expr} {direction} NULLS LAST")
        else:
            raise InvalidParameter(f"Invalid order by field name: {field_name}")
    if "m.creation_timestamp_ms" not in names:
        parts.append("m.creation_timestamp_ms DESC")
    if "m.model_id" not in names:
        parts.append("m.model_id ASC")
    return ", ".join(parts)
