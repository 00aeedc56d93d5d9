"""``annotrace.sql(query)``: a read-only SQL query on the collector's store, as a pandas DataFrame.

The collector runs the query in its sandbox (``POST /api/v1/sql``) and answers with column names,
DuckDB type names and JSON rows; this module turns the rows back into typed columns, so the
DataFrame looks as if DuckDB had produced it locally:

- ``TIMESTAMP*`` and ``DATE`` -> ``datetime64`` (``TIMESTAMP WITH TIME ZONE`` in UTC);
- integers -> ``int64`` (``Int64`` when there are NULLs), floats and decimals -> ``float64``,
  ``BOOLEAN`` -> ``bool`` (``boolean`` with NULLs), ``INTERVAL`` -> ``timedelta64``;
- ``JSON`` stays the JSON text (``str``), like DuckDB's own ``.df()``; lists and structs stay
  Python lists and dicts.

A result cut at ``max_rows`` is logged as a warning and marked in ``df.attrs["truncated"]``.

The module is not called ``sql.py`` on purpose: importing a submodule ``annotrace.sql`` would
bind the package attribute ``annotrace.sql`` to the module and shadow the function.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from annotrace.client import rest
from annotrace.exceptions import AnnotraceException

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["DEFAULT_MAX_ROWS", "sql"]

_logger = logging.getLogger(__name__)

DEFAULT_MAX_ROWS = 10_000
_INTEGERS = (
    "TINYINT",
    "SMALLINT",
    "INTEGER",
    "BIGINT",
    "HUGEINT",
    "UTINYINT",
    "USMALLINT",
    "UINTEGER",
    "UBIGINT",
    "UHUGEINT",
    "INT1",
    "INT2",
    "INT4",
    "INT8",
    "INT",
    "LONG",
    "SHORT",
)
_FLOATS = ("FLOAT", "DOUBLE", "REAL", "FLOAT4", "FLOAT8")


def _column(values: list[Any], duck_type: str) -> pd.Series:
    import pandas as pd

    kind = duck_type.upper().strip()
    has_null = any(value is None for value in values)
    if kind.endswith("[]") or kind.startswith(("STRUCT", "MAP", "UNION", "LIST")) or "[" in kind:
        return pd.Series(values, dtype=object)
    if kind.startswith("TIMESTAMP"):
        utc = "TIME ZONE" in kind or kind == "TIMESTAMPTZ"
        return pd.to_datetime(pd.Series(values, dtype=object), utc=utc, format="ISO8601")
    if kind == "DATE":
        return pd.to_datetime(pd.Series(values, dtype=object), format="ISO8601")
    if kind == "INTERVAL":
        return pd.to_timedelta(pd.Series(values, dtype=object), unit="s")
    if kind in _INTEGERS:
        return pd.Series(values, dtype="Int64" if has_null else "int64")
    if kind in _FLOATS or kind.startswith(("DECIMAL", "NUMERIC")):
        return pd.Series(values, dtype="float64")
    if kind in ("BOOLEAN", "BOOL", "LOGICAL"):
        return pd.Series(values, dtype="boolean" if has_null else "bool")
    return pd.Series(values, dtype=object)  # VARCHAR, JSON, UUID, BLOB (hex), TIME...: text as sent


def sql(query: str, max_rows: int = DEFAULT_MAX_ROWS) -> pd.DataFrame:
    """Run a read-only ``SELECT`` (tables ``traces``, ``spans``, ``assessments``...) on the collector."""
    if not isinstance(query, str) or not query.strip():
        raise AnnotraceException.invalid_parameter_value("`query` must be a non-empty SQL string.")
    answer = rest.call("POST", "/api/v1/sql", json={"query": query, "max_rows": int(max_rows)})
    import pandas as pd

    columns: list[str] = list(answer.get("columns") or [])
    types: list[str] = list(answer.get("types") or ["VARCHAR"] * len(columns))
    rows: list[list[Any]] = answer.get("rows") or []
    data = {}
    for index, (_name, duck_type) in enumerate(zip(columns, types, strict=True)):
        data[index] = _column([row[index] for row in rows], duck_type)
    frame = pd.DataFrame(data)
    frame.columns = pd.Index(columns, dtype=object)  # duplicate names (SELECT a, a) stay as DuckDB names them
    truncated = bool(answer.get("truncated"))
    frame.attrs["truncated"] = truncated
    if truncated:
        _logger.warning("annotrace.sql: the result was cut at %d rows; pass max_rows=... to get more", max_rows)
    return frame
