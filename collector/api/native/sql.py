"""``POST /api/v1/sql``: the read-only SQL sandbox over HTTP (used by ``annotrace sql`` and the SDK).

Answers ``{"columns", "types", "rows", "truncated"}``, or an Arrow IPC stream when the body says
``"format": "arrow"`` or the client accepts ``application/vnd.apache.arrow.stream`` (exact types,
no JSON round trip for large results). The sandbox rules live in ``store.sandbox``.

With authentication on, every signed-in user may query, with their permissions: an admin queries
the store itself; anyone else gets only the rows of the experiments they may READ
(``Principal.can``; a labeler only those of the sessions they may label), through
``store.visible_rows``, where no other row or table exists.
"""

from __future__ import annotations

import datetime
import decimal
import uuid
from typing import Annotated, Any, NotRequired

import orjson
import pyarrow as pa
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from typing_extensions import TypedDict  # pydantic reads typing's TypedDict only from Python 3.12

from annotrace.collector.api.models import Integer, Text, parse
from annotrace.collector.auth.principal import Principal, principal_of
from annotrace.collector.auth.scope import visible_experiments
from annotrace.collector.errors import InvalidParameter
from annotrace.collector.store.db import Database
from annotrace.collector.store.sandbox import DEFAULT_LIMITS, DEFAULT_ROW_LIMIT, QueryResult, SQLLimits, run_query
from annotrace.collector.store.visible_rows import experiment_ids, run_visible_query

ARROW_STREAM = "application/vnd.apache.arrow.stream"
MAX_ROWS = 1_000_000


class QueryAnswer(TypedDict):
    """The JSON answer (an Arrow stream answers ``"format": "arrow"``)."""

    columns: list[str]
    types: list[str]
    rows: list[tuple[Any, ...]]
    truncated: bool


class QueryBody(TypedDict):
    """``{"query", "max_rows"?, "format"?}``; a null is refused like any other wrong value."""

    query: Annotated[str, Text(non_empty=True, documented={"description": "one statement"})]
    max_rows: NotRequired[Annotated[int, Integer(minimum=1, maximum=MAX_ROWS, strict=True)]]
    format: NotRequired[Annotated[str, Text(choices=("json", "arrow"))]]


MESSAGES = {
    "query": "Field 'query' is required and must be a non-empty string",
    "max_rows": f"Field 'max_rows' must be an integer between 1 and {MAX_ROWS}",
    "format": "Field 'format' must be 'json' or 'arrow'",
}
"""This route's own wording (older than the MLflow-worded native routes; clients match on it)."""


def _default(value: Any) -> Any:
    if isinstance(value, decimal.Decimal):
        return float(value)
    if isinstance(value, (datetime.timedelta,)):
        return value.total_seconds()
    if isinstance(value, (bytes, bytearray)):
        return value.hex()
    if isinstance(value, uuid.UUID):
        return str(value)
    return str(value)


def _run_as(
    principal: Principal | None, db: Database, query: str, *, row_limit: int, limits: SQLLimits, arrow: bool
) -> QueryResult:
    if principal is None or principal.is_admin:  # no authentication, or an admin: the store itself
        return run_query(db, query, row_limit=row_limit, limits=limits, arrow=arrow)
    cursor = db.cursor()
    try:
        visible = visible_experiments(cursor, principal)
        experiments = frozenset(experiment_ids(cursor)) if visible is None else visible
    finally:
        cursor.close()
    return run_visible_query(db, query, experiments, row_limit=row_limit, limits=limits, arrow=arrow)


async def sql_endpoint(request: Request, db: Database, limits: SQLLimits = DEFAULT_LIMITS) -> Response:
    """``limits`` are the web extension's ``sql:`` (time, answer size, and a non-admin's memory)."""
    try:
        body = orjson.loads(await request.body())
    except orjson.JSONDecodeError:
        raise InvalidParameter('Body must be JSON: {"query": "SELECT ..."}') from None
    if not isinstance(body, dict):
        raise InvalidParameter(MESSAGES["query"])
    if ARROW_STREAM in request.headers.get("accept", ""):  # the client's Accept wins over the body's format
        body = body | {"format": "arrow"}
    parsed = parse(QueryBody, body, messages=MESSAGES)
    fmt = parsed.get("format", "json")
    limit = parsed.get("max_rows", DEFAULT_ROW_LIMIT)
    result = await run_in_threadpool(
        _run_as, principal_of(request), db, parsed["query"], row_limit=limit, limits=limits, arrow=fmt == "arrow"
    )
    if fmt == "arrow":
        sink = pa.BufferOutputStream()
        table = result.arrow if result.arrow is not None else pa.table({})
        with pa.ipc.new_stream(sink, table.schema) as stream:
            stream.write_table(table)
        headers = {"x-annotrace-truncated": "true" if result.truncated else "false"}
        return Response(sink.getvalue().to_pybytes(), media_type=ARROW_STREAM, headers=headers)
    payload: QueryAnswer = {
        "columns": result.columns,
        "types": result.types,
        "rows": result.rows,
        "truncated": result.truncated,
    }
    return Response(
        orjson.dumps(payload, default=_default, option=orjson.OPT_NON_STR_KEYS | orjson.OPT_SERIALIZE_NUMPY),
        media_type="application/json",
    )
