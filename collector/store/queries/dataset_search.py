"""``search_datasets``'s filter and order as a stock MLflow server reads them.

MLflow's grammar for datasets (``SearchEvaluationDatasetsUtils``) is narrower than the traces
one: comparisons joined by ``AND`` only; attributes ``name``, ``created_by``, ``last_updated_by``
(``= != < <= > >= LIKE ILIKE``, and ``IN`` for ``name``) and ``created_time``,
``last_update_time`` (numbers, ``= != < <= > >=``); ``tags.<key>`` with ``= != LIKE ILIKE``.
``LIKE`` is case-sensitive (MLflow turns on sqlite's ``case_sensitive_like``), ``ILIKE`` is not.
The messages are MLflow's, so a client sees the same error from either server. Datasets are few,
so the filter runs on the loaded rows rather than in SQL.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from annotrace.collector.errors import InvalidParameter
from annotrace.collector.store.queries import search_filter
from annotrace.collector.store.queries.search_filter import BoolOp, Comparison

if TYPE_CHECKING:
    from annotrace.collector.store.queries.datasets import Dataset

SEARCH_KEYS = ("name", "created_time", "last_update_time", "created_by", "last_updated_by")
ORDER_KEYS = ("name", "created_time", "last_update_time")
NUMERIC_KEYS = ("created_time", "last_update_time")
STRING_OPS = ("=", "!=", "<", "<=", ">", ">=", "LIKE", "ILIKE")
NUMERIC_OPS = ("=", "!=", "<", "<=", ">", ">=")
TAG_OPS = ("=", "!=", "LIKE", "ILIKE")
_COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    "=": lambda a, b: a == b,
    "!=": lambda a, b: a != b,
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
}

Predicate = Callable[["Dataset"], bool]


def _key_set(keys: tuple[str, ...]) -> str:
    return "{" + ", ".join(repr(k) for k in keys) + "}"


def parse_filter(text: str | None) -> list[Predicate]:
    """One predicate per comparison; all must hold. InvalidParameter with MLflow's message."""
    if not text or not text.strip():
        return []
    node = search_filter.parse(text, "filter")
    comparisons = _and_terms(node)
    return [_predicate(c) for c in comparisons]


def _and_terms(node: search_filter.Node | None) -> list[Comparison]:
    if node is None:
        return []
    if isinstance(node, BoolOp):
        if node.op == "OR":
            raise InvalidParameter("Invalid clause(s) in filter string: OR")
        return [term for item in node.items for term in _and_terms(item)]
    return [node]


def _predicate(c: Comparison) -> Predicate:
    if c.entity == "tags":
        return _tag_predicate(c)
    if c.entity:
        raise InvalidParameter(f"Invalid identifier token '{c.entity}' specified")
    if c.text.startswith("`") or c.key not in SEARCH_KEYS:
        raise InvalidParameter(f"Invalid attribute key '{c.text}' specified. Valid keys are: {_key_set(SEARCH_KEYS)}")
    if c.op in ("IS NULL", "IS NOT NULL"):
        raise InvalidParameter(
            f"IS NULL / IS NOT NULL is only supported for tags and params, not for 'attribute' '{c.key}'"
        )
    key = c.key
    if key in NUMERIC_KEYS:
        if not isinstance(c.value, float):
            raise InvalidParameter(f"Expected numeric value type for numeric attribute: {key}. Found {c.value!r}")
        if c.op not in NUMERIC_OPS:
            raise InvalidParameter(f"Invalid comparator for numeric attribute: {c.op}")
        number, compare = c.value, _COMPARE[c.op]
        return lambda d: compare(getattr(d, key + "_ms"), number)
    if c.op in ("IN", "NOT IN"):
        if key != "name" or c.op == "NOT IN":
            raise InvalidParameter(f"Invalid comparator for string attribute: {c.op}")
        names = {str(v) for v in (c.value if isinstance(c.value, tuple) else ())}
        return lambda d: d.name in names
    if not isinstance(c.value, str):
        raise InvalidParameter(f"Expected a quoted string value for attributes. Got value {_shown(c.value)}")
    if c.op not in STRING_OPS:
        raise InvalidParameter(f"Invalid comparator for string attribute: {c.op}")
    return _string_test(lambda d: getattr(d, key), c.op, c.value)


def _tag_predicate(c: Comparison) -> Predicate:
    if not isinstance(c.value, str):
        raise InvalidParameter(f"Expected a quoted string value for tag (e.g. 'my-value'). Got value {_shown(c.value)}")
    if c.op not in TAG_OPS:
        raise InvalidParameter(f"Invalid comparator for tag: {c.op}")
    key = c.key
    test = _string_test(lambda d: d.tags.get(key), c.op, c.value)
    return lambda d: key in d.tags and test(d)


def _shown(value: Any) -> str:
    if isinstance(value, tuple):
        return "(" + ", ".join(repr(v) if isinstance(v, str) else _shown(v) for v in value) + ")"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _string_test(read: Callable[[Dataset], str | None], op: str, value: str) -> Predicate:
    """SQL semantics: a NULL column matches nothing, not even ``!=``."""
    if op in ("LIKE", "ILIKE"):
        regex = like_regex(value, fold=op == "ILIKE")
        return lambda d: (v := read(d)) is not None and regex.fullmatch(v) is not None
    compare = _COMPARE[op]
    return lambda d: (v := read(d)) is not None and compare(v, value)


def like_regex(pattern: str, *, fold: bool) -> re.Pattern[str]:
    body = "".join(".*" if ch == "%" else "." if ch == "_" else re.escape(ch) for ch in pattern)
    return re.compile(body, re.DOTALL | (re.IGNORECASE if fold else 0))


def parse_order(order_by: list[str] | None) -> list[tuple[str, bool]]:
    """``["name ASC", ...]`` -> ``[(key, ascending)]``; default newest first."""
    out = []
    for clause in order_by or ["created_time DESC"]:
        words = clause.strip().split()
        ascending = True
        if len(words) == 2 and words[1].upper() in ("ASC", "DESC"):
            ascending = words[1].upper() == "ASC"
            words = words[:1]
        if len(words) != 1:
            raise InvalidParameter(f"Invalid order_by clause '{clause}'. Could not be parsed.")
        key = words[0]
        if "." in key:
            if key.split(".", 1)[0] == "tags":
                raise InvalidParameter("Invalid order_by entity: tag")
            raise InvalidParameter(f"Invalid identifier token '{key.split('.', 1)[0]}' specified")
        if key not in ORDER_KEYS:
            raise InvalidParameter(f"Invalid attribute key '{key}' specified. Valid keys are: {_key_set(ORDER_KEYS)}")
        out.append((key, ascending))
    return out


def sort(datasets: list[Dataset], order: list[tuple[str, bool]]) -> list[Dataset]:
    """Stable sorts from the last key to the first; ties end on dataset_id descending (MLflow's)."""
    ordered = sorted(datasets, key=lambda d: d.dataset_id, reverse=True)
    for key, ascending in reversed(order):
        attribute = key + "_ms" if key in NUMERIC_KEYS else key
        ordered.sort(key=lambda d: getattr(d, attribute), reverse=not ascending)
    return ordered
