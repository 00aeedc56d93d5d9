"""The SQL that MLflow's run and logged-model searches share: operator templates, key pointers, and
the AND-only walk over a parsed filter (``search_filter.py`` parses; this compiles the common part).

Why one place: both searches bind every value and key as a parameter and take only fragments from
these allow-lists, so a fix to how an operator or a key is compiled holds for both.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from annotrace.collector.errors import InvalidParameter
from annotrace.collector.store.queries.search_filter import BoolOp, Comparison, Node

# operator -> SQL, ``{e}`` the compared expression; the value is always a bound parameter
STRING_OPS = {
    "=": "{e} = ?",
    "!=": "{e} != ?",
    "LIKE": "{e} LIKE ?",
    "ILIKE": "{e} ILIKE ?",
    "IN": "{e} IN (SELECT unnest(?::VARCHAR[]))",
    "NOT IN": "{e} NOT IN (SELECT unnest(?::VARCHAR[]))",
}
NUMERIC_OPS = {op: "{e} " + op + " ?" for op in ("=", "!=", "<", "<=", ">", ">=")}


def json_pointer(key: str) -> str:
    """A param or tag key as an RFC 6901 JSON pointer, bound as ``json_extract_string``'s path (so
    a key with ``/``, ``~`` or quotes needs no escaping in SQL)."""
    return "/" + key.replace("~", "~0").replace("/", "~1")


def conjunction(node: Node, params: list[Any], comparison: Callable[[Comparison, list[Any]], str], search: str) -> str:
    """SQL for comparisons joined by AND: MLflow's run and logged-model searches have no OR, and
    say so in a 400 that names ``search``."""
    if isinstance(node, BoolOp):
        if node.op == "OR":
            raise InvalidParameter(f"Invalid value in parameter 'filter': {search} supports AND only.")
        return "(" + " AND ".join(conjunction(item, params, comparison, search) for item in node.items) + ")"
    return comparison(node, params)
