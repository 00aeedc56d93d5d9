"""MLflow's run search (``search_runs``): a parsed filter compiled to SQL over ``runs``, plus ordering.

Every SQL fragment is a constant picked by (entity, key, operator) from the allow-lists below;
values, param/tag keys (as RFC 6901 JSON pointers) and metric keys are bound parameters. The
semantics are the SQLAlchemy store's: ``metrics.x`` is the run's latest value of x, a run without
the param/tag/metric never matches, default order ``start_time DESC, run_id``, and runs missing an
ordering key sort last in either direction.
"""

from __future__ import annotations

import re
from typing import Any

import duckdb

from annotrace.collector.errors import InvalidParameter
from annotrace.collector.store.queries.filter_sql import NUMERIC_OPS, STRING_OPS, conjunction, json_pointer
from annotrace.collector.store.queries.runs import Run, get_many
from annotrace.collector.store.queries.search_filter import Comparison, parse

VIEW_TYPES = {"ACTIVE_ONLY": ("active",), "DELETED_ONLY": ("deleted",), "ALL": ("active", "deleted")}
SEARCH = (
    "SELECT r.run_id FROM runs r WHERE list_contains(?::VARCHAR[], r.experiment_id) "
    "AND list_contains(?::VARCHAR[], r.lifecycle_stage) AND ({where}) ORDER BY {order} LIMIT ? OFFSET ?"
)
_LATEST = (
    "(SELECT m.value FROM run_metrics m WHERE m.run_id = r.run_id AND m.key = ? "
    "ORDER BY m.step DESC, m.timestamp DESC, m.value DESC LIMIT 1)"
)
_PARAM = "json_extract_string(r.params, ?)"
_TAG = "json_extract_string(r.tags, ?)"
_DATASET = "EXISTS (SELECT 1 FROM (SELECT unnest(from_json(r.dataset_inputs, '[\"JSON\"]')) AS d) WHERE {predicate})"
_DATASET_FIELDS = {
    "name": "json_extract_string(d, '$.dataset.name')",
    "digest": "json_extract_string(d, '$.dataset.digest')",
    "context": "json_extract_string(d, '$.tags[*]')",
}
# attribute -> (SQL expression, numeric?)
_ATTRIBUTES: dict[str, tuple[str, bool]] = {
    "run_id": ("r.run_id", False),
    "run_name": ("r.run_name", False),
    "status": ("r.status", False),
    "user_id": ("r.user_id", False),
    "lifecycle_stage": ("r.lifecycle_stage", False),
    "artifact_uri": ("'mlflow-artifacts:/' || r.experiment_id || '/' || r.run_id || '/artifacts'", False),
    "start_time": ("r.start_time", True),
    "end_time": ("r.end_time", True),
    "created": ("r.start_time", True),
    "created_time": ("r.start_time", True),
}
_ENTITIES = {
    "metric": "metric",
    "metrics": "metric",
    "param": "param",
    "params": "param",
    "parameter": "param",
    "parameters": "param",
    "tag": "tag",
    "tags": "tag",
    "attribute": "attribute",
    "attributes": "attribute",
    "attr": "attribute",
    "run": "attribute",
    "dataset": "dataset",
    "datasets": "dataset",
}
_NULL_OPS = {"IS NULL": "{e} IS NULL", "IS NOT NULL": "{e} IS NOT NULL"}
_ORDER = re.compile(r"^\s*(?:(\w+)\.)?(`[^`]+`|\"[^\"]+\"|[\w.\-/ ]+?)\s*(?:\s(ASC|DESC))?\s*$", re.IGNORECASE)
DEFAULT_ORDER = "r.start_time DESC, r.run_id ASC"


def search(
    cursor: duckdb.DuckDBPyConnection,
    experiment_ids: list[str],
    filter_string: str | None,
    view_type: str,
    order_by: list[str],
    limit: int,
    offset: int,
) -> list[Run]:
    node = parse(filter_string or "")
    params: list[Any] = []
    where = "true" if node is None else conjunction(node, params, _comparison, "MLflow's run search")
    order_params: list[Any] = []
    order = _order(order_by, order_params)
    sql = SEARCH.format(where=where, order=order)
    ids = [
        row[0]
        for row in cursor.execute(
            sql, [experiment_ids, list(VIEW_TYPES[view_type]), *params, *order_params, limit, offset]
        ).fetchall()
    ]
    return get_many(cursor, ids)


def _comparison(node: Comparison, params: list[Any]) -> str:
    entity = _ENTITIES.get(node.entity)
    if entity is None:
        raise InvalidParameter(
            f"Invalid attribute key '{node.text}' specified. Valid keys are "
            "'metrics.<key>', 'params.<key>', 'tags.<key>', 'attributes.<key>' and 'dataset.<key>'"
        )
    if entity == "metric":
        params.append(node.key)
        return _apply(node, _LATEST, True, params)
    if entity in ("param", "tag"):
        params.append(json_pointer(node.key))
        return _apply(node, _PARAM if entity == "param" else _TAG, False, params)
    if entity == "dataset":
        if node.key not in _DATASET_FIELDS:
            raise InvalidParameter(f"Invalid dataset key '{node.key}'; expected name, digest or context.")
        return _DATASET.format(predicate=_apply(node, _DATASET_FIELDS[node.key], False, params))
    if node.key not in _ATTRIBUTES:
        raise InvalidParameter(
            f"Invalid attribute key '{node.key}' specified. Valid keys are " + ", ".join(sorted(_ATTRIBUTES))
        )
    expr, numeric = _ATTRIBUTES[node.key]
    return _apply(node, expr, numeric, params)


def _apply(node: Comparison, expr: str, numeric: bool, params: list[Any]) -> str:
    if node.op in _NULL_OPS:
        return _NULL_OPS[node.op].format(e=expr)
    ops = NUMERIC_OPS if numeric else STRING_OPS
    if node.op not in ops:
        raise InvalidParameter(f"Invalid comparator '{node.op}' for '{node.text}'; expected one of " + ", ".join(ops))
    value: Any = node.value
    if numeric:
        if isinstance(value, str):
            try:
                value = float(value)
            except ValueError:
                raise InvalidParameter(f"Expected numeric value type for '{node.text}', got '{value}'") from None
        if not isinstance(value, float):
            raise InvalidParameter(f"Expected a number for '{node.text}', got {value!r}")
    elif node.op in ("IN", "NOT IN"):
        value = [str(v) for v in value] if isinstance(value, tuple) else [str(value)]
    elif not isinstance(value, str):
        raise InvalidParameter(f"Expected a quoted string value for '{node.text}', got {value!r}")
    params.append(value)
    return ops[node.op].format(e=expr)


def _order(order_by: list[str], params: list[Any]) -> str:
    parts = []
    for clause in order_by:
        match = _ORDER.match(clause)
        entity = _ENTITIES.get((match.group(1) or "attribute").lower()) if match else None
        key = match.group(2).strip('`"') if match else ""
        direction = (match.group(3) or "ASC").upper() if match else "ASC"
        if entity == "metric":
            params.append(key)
            expr = _LATEST
        elif entity in ("param", "tag"):
            params.append(json_pointer(key))
            expr = _PARAM if entity == "param" else _TAG
        elif entity == "attribute" and key in _ATTRIBUTES:
            expr = _ATTRIBUTES[key][0]
        else:
            raise InvalidParameter(f"Invalid order_by clause '{clause}'. Could not be parsed.")
        parts.append(f"{expr} {direction} NULLS LAST")
    return ", ".join([*parts, DEFAULT_ORDER]) if parts else DEFAULT_ORDER
