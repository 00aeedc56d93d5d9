"""Experiments: lookups, creation (a writer job) and MLflow's experiment search.

Ids are decimal strings ("0" is Default) allocated as max + 1 on the writer thread, the same rule
the span writer uses when a new experiment is first seen, so the two never hand out one id twice.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import duckdb
import orjson

from annotrace.collector.errors import AlreadyExists, InvalidParameter, NotFound
from annotrace.collector.store.queries.search_filter import BoolOp, Comparison, Node, parse

COLUMNS = "e.experiment_id, e.name, e.creation_time, e.tags"
GET = f"SELECT {COLUMNS} FROM experiments e WHERE e.experiment_id = ?"
GET_BY_NAME = f"SELECT {COLUMNS} FROM experiments e WHERE e.name = ?"
NEXT_ID = "SELECT coalesce(max(TRY_CAST(experiment_id AS BIGINT)), 0) + 1 FROM experiments"
CREATE = "INSERT INTO experiments (experiment_id, name, creation_time, tags) VALUES (?, ?, ?, ?)"
SEARCH = f"SELECT {COLUMNS} FROM experiments e WHERE {{where}} ORDER BY {{order}} LIMIT ? OFFSET ?"
MAX_NAME_CHARS = 500
# The explorer's front page: one aggregate pass over traces (measured ~10 ms at 100,000 traces).
OVERVIEW = (
    "WITH t AS (SELECT experiment_id, count(*) AS n, max(request_time) AS last FROM traces GROUP BY experiment_id), "
    "s AS (SELECT experiment_id, count(*) AS n FROM labeling_sessions GROUP BY experiment_id) "
    "SELECT e.experiment_id, e.name, e.creation_time, coalesce(t.n, 0), t.last, coalesce(s.n, 0) "
    "FROM experiments e LEFT JOIN t ON t.experiment_id = e.experiment_id "
    "LEFT JOIN s ON s.experiment_id = e.experiment_id "
    "ORDER BY t.last DESC NULLS LAST, TRY_CAST(e.experiment_id AS BIGINT)"
)

_ATTRIBUTES = {
    "name": ("e.name", False),
    "experiment_id": ("e.experiment_id", False),
    "creation_time": ("epoch_ms(e.creation_time)", True),
    "last_update_time": ("epoch_ms(e.creation_time)", True),
}
_STRING_OPS = {"=": "{e} = ?", "!=": "{e} != ?", "LIKE": "{e} LIKE ?", "ILIKE": "{e} ILIKE ?"}
_NUMERIC_OPS = {op: "{e} " + op + " ?" for op in ("=", "!=", "<", "<=", ">", ">=")}
ORDER_KEYS = {
    "name": "e.name", "experiment_id": "TRY_CAST(e.experiment_id AS BIGINT)", "creation_time": "e.creation_time",
    "last_update_time": "e.creation_time",
}
DEFAULT_ORDER = "e.creation_time DESC, TRY_CAST(e.experiment_id AS BIGINT) ASC"
_ORDER = re.compile(r"^\s*(?:attribute\.)?`?(\w+)`?(?:\s+(ASC|DESC))?\s*$", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class Experiment:
    experiment_id: str
    name: str
    creation_time: datetime
    tags: dict[str, str]


@dataclass(frozen=True, slots=True)
class Overview:
    """An experiment with its trace count, latest trace time and number of labeling sessions."""

    experiment_id: str
    name: str
    creation_time: datetime
    trace_count: int
    last_trace_time: datetime | None
    session_count: int


def _row(row: tuple[Any, ...]) -> Experiment:
    experiment_id, name, creation_time, tags = row
    return Experiment(str(experiment_id), name, creation_time, orjson.loads(tags) if tags else {})


def get(cursor: duckdb.DuckDBPyConnection, experiment_id: str) -> Experiment:
    rows = cursor.execute(GET, [experiment_id]).fetchall()
    if not rows:
        raise NotFound(f"No Experiment with id={experiment_id} exists")
    return _row(rows[0])


def name_of(cursor: duckdb.DuckDBPyConnection, experiment_id: str) -> str | None:
    """The name of the experiment with this id, or None when there is none."""
    rows = cursor.execute(GET, [experiment_id]).fetchall()
    return _row(rows[0]).name if rows else None


def get_by_name(cursor: duckdb.DuckDBPyConnection, name: str) -> Experiment:
    rows = cursor.execute(GET_BY_NAME, [name]).fetchall()
    if not rows:
        raise NotFound(f"Could not find experiment with name '{name}'")
    return _row(rows[0])


def overview(cursor: duckdb.DuckDBPyConnection) -> list[Overview]:
    """Every experiment, the one with the most recent trace first (empty ones last)."""
    return [Overview(str(eid), name, created, int(n), last, int(sessions))
            for eid, name, created, n, last, sessions in cursor.execute(OVERVIEW).fetchall()]


def create(conn: duckdb.DuckDBPyConnection, name: str, tags: dict[str, str], now: datetime) -> str:
    """Writer job: a new experiment named ``name``; its id."""
    if conn.execute(GET_BY_NAME, [name]).fetchall():
        raise AlreadyExists(f"Experiment(name={name}) already exists.")
    experiment_id = str(conn.execute(NEXT_ID).fetchall()[0][0])
    conn.execute(CREATE, [experiment_id, name, now, orjson.dumps(tags).decode()])
    return experiment_id


def search(cursor: duckdb.DuckDBPyConnection, filter_string: str | None, order_by: list[str], limit: int,
           offset: int) -> list[Experiment]:
    node = parse(filter_string or "")
    params: list[Any] = []
    where = "true" if node is None else _node(node, params)
    sql = SEARCH.format(where=where, order=_order(order_by))
    return [_row(row) for row in cursor.execute(sql, [*params, limit, offset]).fetchall()]


def _order(order_by: list[str]) -> str:
    parts = []
    for clause in order_by:
        match = _ORDER.match(clause)
        if match is None or match.group(1).lower() not in ORDER_KEYS:
            raise InvalidParameter(
                f"Invalid value for parameter 'order_by': {clause!r}; expected '<key> [ASC|DESC]' with key one of "
                + ", ".join(sorted(ORDER_KEYS))
            )
        parts.append(f"{ORDER_KEYS[match.group(1).lower()]} {(match.group(2) or 'ASC').upper()}")
    return ", ".join([*parts, "TRY_CAST(e.experiment_id AS BIGINT) ASC"]) if parts else DEFAULT_ORDER


def _node(node: Node, params: list[Any]) -> str:
    if isinstance(node, BoolOp):
        return "(" + f" {node.op} ".join(_node(item, params) for item in node.items) + ")"
    return _comparison(node, params)


def _comparison(node: Comparison, params: list[Any]) -> str:
    if node.entity in ("tag", "tags"):
        params.append("/" + node.key.replace("~", "~0").replace("/", "~1"))
        expr, numeric = "json_extract_string(e.tags, ?)", False
    elif node.entity in ("", "attribute", "attributes") and node.key.lower() in _ATTRIBUTES:
        expr, numeric = _ATTRIBUTES[node.key.lower()]
    else:
        raise InvalidParameter(
            f"Invalid value in parameter 'filter': unknown experiment key {node.text!r}; expected name, "
            "experiment_id, creation_time, last_update_time or tags.<key>"
        )
    ops = _NUMERIC_OPS if numeric else _STRING_OPS
    if node.op not in ops:
        raise InvalidParameter(
            f"Invalid value in parameter 'filter': operator {node.op} is not supported for {node.text!r}; use one of "
            + ", ".join(ops)
        )
    if numeric != isinstance(node.value, float):
        raise InvalidParameter(
            f"Invalid value in parameter 'filter': {node.text} {node.op} expects "
            f"{'a number' if numeric else 'a quoted string'}, got {node.value!r}"
        )
    params.append(node.value)
    return ops[node.op].format(e=expr)
