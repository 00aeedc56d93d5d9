"""Trace search: a parsed filter (``search_filter``) compiled to SQL over ``traces``, plus paging.

Every SQL fragment below is a constant chosen from an allow-list by the (entity, key, operator)
of a comparison; user values (including tag and metadata keys, as RFC 6901 JSON pointers) are
bound parameters. Assessment filters read the ``value_label``/``value_number`` shadow columns of
*valid* rows only, as MLflow does, so ``feedback.quality >= 4`` is one semi-join.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import duckdb

from annotrace.collector.errors import InvalidParameter
from annotrace.collector.store.queries import assessments as assessment_queries
from annotrace.collector.store.queries.assessments import Assessment
from annotrace.collector.store.queries.search_filter import (
    BoolOp,
    Comparison,
    Node,
    Value,
    parse,
)
from annotrace.collector.store.queries.traces import TraceRow, get_many

MAX_RESULTS = 500
# Two steps: the ids of the page (a Top-N over few columns), then their rows; selecting every
# column in the Top-N scan cost ~3x more on 100k traces.
SEARCH = (
    "SELECT t.trace_id FROM traces t WHERE list_contains(?::VARCHAR[], t.experiment_id) "
    "AND ({where}) ORDER BY {order} LIMIT ? OFFSET ?"
)

_TAG = "json_extract_string(t.tags, ?)"
_META = "json_extract_string(t.trace_metadata, ?)"
# Keys MLflow keeps in tags/metadata that annotrace derives from columns when nobody set them.
_DERIVED_TAGS = {"mlflow.traceName": "coalesce(json_extract_string(t.tags, ?), t.name)"}
_DERIVED_METADATA = {
    "mlflow.trace.session": "coalesce(json_extract_string(t.trace_metadata, ?), t.session_id)",
    "mlflow.trace.user": "coalesce(json_extract_string(t.trace_metadata, ?), t.user_id)",
}
_NAME = "coalesce(json_extract_string(t.tags, '/mlflow.traceName'), t.name)"
_RUN_ID = "json_extract_string(t.trace_metadata, '/mlflow.sourceRun')"
_LINKED_RUN = "EXISTS (SELECT 1 FROM trace_run_links l WHERE l.trace_id = t.trace_id AND {predicate})"
_POSITIVE_OPS = ("=", "IN", "LIKE", "ILIKE", "RLIKE")
_SPAN_CONTENT = "concat_ws(' ', s.name, s.status_message, s.inputs, s.outputs, s.attributes)"
_SPAN_EXISTS = "EXISTS (SELECT 1 FROM spans s WHERE s.trace_id = t.trace_id AND {predicate})"
_ASSESSMENT = (
    "EXISTS (SELECT 1 FROM assessments a WHERE a.trace_id = t.trace_id AND a.kind = ? AND a.assessment_name = ? "
    "AND a.valid{predicate})"
)

# attribute keys: name -> (SQL expression, numeric?, IN allowed?)
_ATTRIBUTES: dict[str, tuple[str, bool, bool]] = {
    "request_id": ("t.trace_id", False, True),
    "trace_id": ("t.trace_id", False, True),
    "timestamp": ("epoch_ms(t.request_time)", True, False),
    "timestamp_ms": ("epoch_ms(t.request_time)", True, False),
    "execution_time": ("t.execution_duration_ms", True, False),
    "execution_time_ms": ("t.execution_duration_ms", True, False),
    "end_time": ("epoch_ms(t.end_time)", True, False),
    "end_time_ms": ("epoch_ms(t.end_time)", True, False),
    "status": ("t.state", False, True),
    "state": ("t.state", False, True),
    "name": (_NAME, False, True),
    "run_id": (_RUN_ID, False, True),
    "client_request_id": ("t.client_request_id", False, True),
    "prompt": ("json_extract_string(t.tags, '/mlflow.linkedPrompts')", False, False),
    "experiment_id": ("t.experiment_id", False, True),
}
_SPAN_KEYS = {"name": "s.name", "type": "s.span_type", "status": "s.status_code", "content": _SPAN_CONTENT}
_ENTITIES = {
    "": "attribute",
    "attribute": "attribute",
    "attributes": "attribute",
    "trace": "attribute",
    "tag": "tag",
    "tags": "tag",
    "request_metadata": "metadata",
    "metadata": "metadata",
    "span": "span",
    "spans": "span",
    "feedback": "feedback",
    "expectation": "expectation",
    "expectations": "expectation",
}
_STRING_OPS = {
    "=": "{e} = ?",
    "!=": "{e} != ?",
    "LIKE": "{e} LIKE ?",
    "ILIKE": "{e} ILIKE ?",
    "RLIKE": "regexp_matches({e}, ?)",
    "IN": "{e} IN (SELECT unnest(?::VARCHAR[]))",
    "NOT IN": "{e} NOT IN (SELECT unnest(?::VARCHAR[]))",
}
_NUMERIC_OPS = {op: "{e} " + op + " ?" for op in ("=", "!=", "<", "<=", ">", ">=")}
_NULL_OPS = {"IS NULL": "{e} IS NULL", "IS NOT NULL": "{e} IS NOT NULL"}

ORDER_KEYS = {
    "experiment_id": "t.experiment_id",
    "timestamp": "t.request_time",
    "timestamp_ms": "t.request_time",
    "execution_time": "t.execution_duration_ms",
    "execution_time_ms": "t.execution_duration_ms",
    "end_time": "t.end_time",
    "end_time_ms": "t.end_time",
    "status": "t.state",
    "state": "t.state",
    "request_id": "t.trace_id",
    "trace_id": "t.trace_id",
    "name": _NAME,
    "run_id": _RUN_ID,
}
DEFAULT_ORDER = "t.request_time DESC, t.trace_id ASC"
_ORDER = re.compile(r"^\s*(\S+?)(?:\s+(ASC|DESC))?\s*$", re.IGNORECASE)
_ORDER_ENTITIES = {
    "attribute": "attribute",
    "attributes": "attribute",
    "trace": "attribute",
    "tag": "tag",
    "tags": "tag",
    "metadata": "metadata",
    "request_metadata": "metadata",
}


@dataclass(frozen=True, slots=True)
class Compiled:
    """A SQL fragment (a WHERE condition, or an ORDER BY list) and its bound parameters."""

    where: str
    params: list[Any]


def compile_filter(text: str | None) -> Compiled:
    """The WHERE fragment and parameters for an MLflow trace filter string."""
    node = parse(text or "")
    if node is None:
        return Compiled("true", [])
    params: list[Any] = []
    return Compiled(_node(node, params), params)


def compile_order(order_by: list[str]) -> Compiled:
    """ORDER BY from MLflow order_by clauses, as MLflow's store sorts: attributes, ``tags.<key>``
    and ``metadata.<key>`` (empty values last), then newest first and the trace id."""
    parts: list[str] = []
    params: list[Any] = []
    seen: set[tuple[str, str]] = set()
    for clause in order_by:
        match = _ORDER.match(clause)
        if match is None:
            raise InvalidParameter(f"Invalid value for parameter 'order_by': clause {clause!r} could not be parsed.")
        entity, key = _order_key(match.group(1))
        direction = (match.group(2) or "ASC").upper()
        if (entity, key) in seen:
            raise InvalidParameter(f"Invalid value for parameter 'order_by': it contains duplicate fields: {order_by}")
        seen.add((entity, key))
        if entity == "attribute":
            parts.append(f"{ORDER_KEYS[key]} {direction} NULLS LAST")
        else:
            derived = (_DERIVED_TAGS if entity == "tag" else _DERIVED_METADATA).get(key)
            parts.append(f"{derived or (_TAG if entity == 'tag' else _META)} {direction} NULLS LAST")
            params.append(pointer(key))
    return Compiled(", ".join([*parts, DEFAULT_ORDER]), params)


def _order_key(identifier: str) -> tuple[str, str]:
    """``tags.`a.b``` -> ("tag", "a.b"); ``trace.timestamp_ms`` / ``timestamp_ms`` -> ("attribute", ...)."""
    prefix, dot, rest = identifier.partition(".")
    entity = _ORDER_ENTITIES.get(prefix.lower()) if dot else None
    if entity is None:
        entity, rest = "attribute", identifier
    key = rest[1:-1] if rest.startswith("`") and rest.endswith("`") else rest
    if entity == "attribute" and key.lower() not in ORDER_KEYS:
        raise InvalidParameter(
            f"Invalid value for parameter 'order_by': {identifier!r}; expected tags.<key>, metadata.<key> or one of "
            + ", ".join(sorted(ORDER_KEYS))
        )
    return entity, key.lower() if entity == "attribute" else key


def search(
    cursor: duckdb.DuckDBPyConnection,
    experiment_ids: list[str],
    compiled: Compiled,
    order: Compiled,
    limit: int,
    offset: int,
) -> list[TraceRow]:
    """One page of traces; ``order`` must come from ``compile_order``."""
    sql = SEARCH.format(where=compiled.where, order=order.where)
    with translate_errors():
        ids = [
            row[0]
            for row in cursor.execute(sql, [experiment_ids, *compiled.params, *order.params, limit, offset]).fetchall()
        ]
    return get_many(cursor, ids)


def search_page(
    cursor: duckdb.DuckDBPyConnection,
    experiment_ids: list[str],
    compiled: Compiled,
    order: Compiled,
    limit: int,
    offset: int,
) -> tuple[list[tuple[TraceRow, list[Assessment]]], bool]:
    """One page of traces with their assessments, and whether another page follows."""
    rows = search(cursor, experiment_ids, compiled, order, limit + 1, offset)
    more = len(rows) > limit
    rows = rows[:limit]
    found = assessment_queries.for_traces(cursor, [row.trace_id for row in rows])
    return [(row, found[row.trace_id]) for row in rows], more


@contextmanager
def translate_errors() -> Iterator[None]:
    """DuckDB rejects some user values only at run time (a bad RLIKE pattern): that is a 400."""
    try:
        yield
    except (duckdb.InvalidInputException, duckdb.ConversionException) as exc:
        raise InvalidParameter(f"Invalid value in parameter 'filter': {exc}") from None


def pointer(key: str) -> str:
    """An RFC 6901 JSON pointer to a top-level key, so any key is bound, never parsed as a path."""
    return "/" + key.replace("~", "~0").replace("/", "~1")


def _node(node: Node, params: list[Any]) -> str:
    if isinstance(node, BoolOp):
        return "(" + f" {node.op} ".join(_node(item, params) for item in node.items) + ")"
    entity = _ENTITIES.get(node.entity)
    if entity is None:
        raise InvalidParameter(
            f"Invalid value in parameter 'filter': unknown entity {node.entity!r} in {node.text!r}; expected one of "
            "trace, attribute, tag, metadata, request_metadata, span, feedback, expectation"
        )
    if entity == "attribute":
        return _attribute(node, params)
    if entity in ("tag", "metadata"):
        derived = (_DERIVED_TAGS if entity == "tag" else _DERIVED_METADATA).get(node.key)
        params.append(pointer(node.key))
        expr = derived or (_TAG if entity == "tag" else _META)
        return _apply(node, expr, params, string=True, nulls=True)
    if entity == "span":
        return _span(node, params)
    return _assessment(node, entity, params)


def _attribute(node: Comparison, params: list[Any]) -> str:
    spec = _ATTRIBUTES.get(node.key.lower())
    if node.key.lower() == "text":
        if node.op not in ("LIKE", "ILIKE"):
            _bad_op(node, ("LIKE", "ILIKE"))
        return _SPAN_EXISTS.format(predicate=_apply(node, _SPAN_CONTENT, params, string=True))
    if spec is None:
        raise InvalidParameter(
            f"Invalid value in parameter 'filter': unknown trace attribute {node.key!r} in {node.text!r}; expected "
            "one of " + ", ".join(sorted([*_ATTRIBUTES, "text"]))
        )
    expr, numeric, allow_in = spec
    if not allow_in and node.op in ("IN", "NOT IN"):
        _bad_op(node, ("=", "!=", "LIKE", "ILIKE", "RLIKE"))
    if expr == "t.trace_id":
        node = _normalise_trace_ids(node)
    if expr == _RUN_ID and node.op in _POSITIVE_OPS:
        # MLflow: the run named in metadata mlflow.sourceRun, or one the trace was linked to later
        # (POST traces/link-to-run, as genai.evaluate does)
        source = _apply(node, expr, params, string=True)
        return f"({source} OR {_LINKED_RUN.format(predicate=_apply(node, 'l.run_id', params, string=True))})"
    return _apply(node, expr, params, numeric=numeric, string=not numeric)


def _span(node: Comparison, params: list[Any]) -> str:
    key = node.key
    if key.lower().startswith("attributes."):
        params.append(pointer(key[len("attributes.") :]))
        expr = "json_extract_string(s.attributes, ?)"
    elif key.lower() in _SPAN_KEYS:
        expr = _SPAN_KEYS[key.lower()]
        if key.lower() == "content" and node.op not in ("LIKE", "ILIKE"):
            _bad_op(node, ("LIKE", "ILIKE"))
    else:
        raise InvalidParameter(
            f"Invalid value in parameter 'filter': unknown span key {key!r} in {node.text!r}; expected one of "
            "name, type, status, content, attributes.<name>"
        )
    return _SPAN_EXISTS.format(predicate=_apply(node, expr, params, string=True))


def _assessment(node: Comparison, kind: str, params: list[Any]) -> str:
    params.extend([kind, node.key])
    if node.op in ("IS NULL", "IS NOT NULL"):
        exists = _ASSESSMENT.format(predicate="")
        return exists if node.op == "IS NOT NULL" else f"NOT {exists}"
    numeric = node.op in ("<", "<=", ">", ">=") or (node.op in ("=", "!=") and isinstance(node.value, float))
    column = "a.value_number" if numeric else "a.value_label"
    return _ASSESSMENT.format(predicate=" AND " + _apply(node, column, params, numeric=numeric, string=not numeric))


def _apply(
    node: Comparison, expr: str, params: list[Any], *, numeric: bool = False, string: bool = False, nulls: bool = False
) -> str:
    """``expr <op> ?`` for the operators the key allows, binding the value with the right type."""
    allowed: dict[str, str] = {}
    if numeric:
        allowed.update(_NUMERIC_OPS)
    if string:
        allowed.update(_STRING_OPS)
    if nulls:
        allowed.update(_NULL_OPS)
        for op in ("IN", "NOT IN"):  # MLflow has no IN for tags and metadata
            allowed.pop(op, None)
    template = allowed.get(node.op)
    if template is None:
        _bad_op(node, tuple(allowed))
        raise AssertionError
    if node.op in _NULL_OPS:
        return template.format(e=expr)
    if node.op in ("IN", "NOT IN"):
        assert isinstance(node.value, tuple)
        params.append([_string(node, v) for v in node.value])
    elif numeric:
        params.append(_number(node, node.value))
    else:
        params.append(_string(node, node.value))
    return template.format(e=expr)


def _number(node: Comparison, value: Value | tuple[Value, ...] | None) -> float:
    if isinstance(value, float):
        return value
    try:
        return float(str(value))
    except ValueError:
        raise InvalidParameter(
            f"Invalid value in parameter 'filter': {node.text} {node.op} expects a number, got {value!r}"
        ) from None


def _string(node: Comparison, value: Value | tuple[Value, ...] | None) -> str:
    if not isinstance(value, str):
        raise InvalidParameter(
            f"Invalid value in parameter 'filter': {node.text} {node.op} expects a quoted string, got {value!r}"
        )
    return value


def _bad_op(node: Comparison, allowed: tuple[str, ...]) -> None:
    raise InvalidParameter(
        f"Invalid value in parameter 'filter': operator {node.op} is not supported for {node.text!r}; use one of "
        + ", ".join(allowed)
    )


def _normalise_trace_ids(node: Comparison) -> Comparison:
    """Trace ids may be given with or without ``tr-`` (ARCHITECTURE 3.2)."""

    def fix(value: Value) -> Value:
        if isinstance(value, str) and re.fullmatch(r"[0-9a-fA-F]{32}", value):
            return "tr-" + value.lower()
        return value

    if node.op in ("=", "!=", "IN", "NOT IN"):
        value = (
            tuple(fix(v) for v in node.value)
            if isinstance(node.value, tuple)
            else (fix(node.value) if node.value is not None else None)
        )
        return Comparison(node.entity, node.key, node.op, value, node.text)
    return node
