"""User SQL: the one way a statement written by a user reaches DuckDB (``POST /api/v1/sql``, which
``annotrace sql`` and ``annotrace.sql`` call, and ``annotrace sql --db`` on a stopped collector's file).

Writes are impossible by construction, not by a list of statement types: every query runs on its
own connection inside ``BEGIN TRANSACTION READ ONLY``, and that transaction is always rolled back.
DuckDB refuses any write in it ("transaction is launched in read-only mode"), whatever carries the
write: INSERT, DDL, ``EXPLAIN ANALYZE`` of either (which executes what it wraps), ``nextval``.

Settings are the part a transaction cannot undo: SET, RESET, PRAGMA and setting functions (CALL
``enable_logging()``...) change the shared instance at once, and the user's connection is a cursor of
the writer's instance (DuckDB lets one process open a file only once, and a second read-only instance
would not see new commits). DuckDB's ``lock_configuration`` cannot help: it is one-way, and the
writer moves ``memory_limit`` as indexes grow (``Database.fit_memory_limit``). So the statement is
also checked before it runs, from DuckDB's own parse:

- exactly one statement, and it is a SELECT (DuckDB parses WITH, FROM-first, VALUES, DESCRIBE, SHOW,
  SUMMARIZE and UNPIVOT as SELECT), or ``EXPLAIN [ANALYZE]`` of one: the wrapped statement is
  checked the same way;
- in the SELECT's syntax tree (``json_serialize_sql``), every table function is in
  ``TABLE_FUNCTIONS``. This is an allow-list because DuckDB's other table functions checkpoint,
  switch logging or profiling on, run a query string (``query``), or read files;
- no relation or function there is in ``HIDDEN_RELATIONS`` / ``HIDDEN_FUNCTIONS``: they show the
  server's paths (data file, temp directory, home) and settings. The test scans every system view
  and allowed function's output for those paths.

Last, the instance runs with ``enable_external_access = false`` (``store.db``): no file, network or
extension access even for a statement that passed every check.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import duckdb
import orjson
import pyarrow as pa

from annotrace.collector.config_models import Duration
from annotrace.collector.errors import InvalidParameter, PayloadTooLarge

if TYPE_CHECKING:
    from annotrace.collector.store.db import Database

DEFAULT_ROW_LIMIT = 10_000
MIB = 1024 * 1024
FETCH_ROWS = 2048
NARROWING = "name fewer columns, filter with WHERE, aggregate, or lower max_rows"
TABLE_FUNCTIONS = frozenset(
    {
        "range",
        "generate_series",
        "unnest",
        "json_each",
        "json_tree",
        "repeat",
        "repeat_row",
        "duckdb_columns",
        "duckdb_constraints",
        "duckdb_dependencies",
        "duckdb_functions",
        "duckdb_indexes",
        "duckdb_keywords",
        "duckdb_schemas",
        "duckdb_sequences",
        "duckdb_tables",
        "duckdb_types",
        "duckdb_views",
        "pragma_table_info",
        "pragma_show",
        "pragma_storage_info",
        "pragma_version",
        "pragma_collations",
        "pg_timezone_names",
        "icu_calendar_names",
    }
)
"""Table functions a query may call: generators, JSON walkers and the catalog (what a user needs to
find tables and columns). Everything else is refused."""
HIDDEN_RELATIONS = frozenset({"duckdb_databases", "pragma_database_list", "pg_settings", "duckdb_logs"})
"""System views that show the data file's path or the settings (temp directory, home...)."""
HIDDEN_FUNCTIONS = frozenset({"current_setting", "getvariable"})
"""Scalar functions that read settings (paths among them)."""


@dataclass(frozen=True, kw_only=True, slots=True)
class SQLLimits:
    """What one user query may take (``extensions: web: sql:`` in otel-config.yaml), so that a
    reader cannot starve the process that also ingests. Each bound holds by construction: DuckDB's
    interrupt after ``timeout``, the answer counted while it is fetched, and a non-admin's own
    instance created with ``memory_limit`` and no temp directory (nowhere to spill to). An admin's
    query runs on the store's instance, whose memory the writer sizes (``Database.fit_memory_limit``):
    its time and answer are bounded here, its memory by the store's limit."""

    memory_limit_mib: int = 256
    """Memory of a non-admin's query instance: the visible rows copied in plus the query's work."""
    max_result_mib: int = 64
    """Size of one answer (about its values' bytes), whoever asks."""
    timeout: Duration = 30.0
    """Past this a query is interrupted, whoever asks."""

    def validate(self) -> None:
        if self.memory_limit_mib < 32:
            raise ValueError("memory_limit_mib must be at least 32 (DuckDB's smallest working instance)")
        if self.max_result_mib <= 0:
            raise ValueError("max_result_mib must be positive")
        if self.timeout <= 0:
            raise ValueError("timeout must be positive")


DEFAULT_LIMITS = SQLLimits()


def too_large(exc: duckdb.OutOfMemoryException, limits: SQLLimits) -> PayloadTooLarge:
    """DuckDB's out-of-memory as the caller's 413: which limit, and how to narrow the query."""
    first = str(exc).splitlines()[0]
    return PayloadTooLarge(
        f"Query needs more memory than it may use (a non-admin's query: sql.memory_limit_mib = "
        f"{limits.memory_limit_mib}): {NARROWING} ({first})"
    )


@dataclass(slots=True)
class QueryResult:
    columns: list[str]
    types: list[str]
    rows: list[tuple[Any, ...]]
    truncated: bool
    arrow: pa.Table | None = None  # set instead of rows when asked for Arrow


def _single_statement(query: str) -> duckdb.Statement:
    try:
        statements = duckdb.extract_statements(query)
    except duckdb.Error as exc:
        raise InvalidParameter(f"Invalid SQL: {exc}") from None
    if len(statements) != 1:
        raise InvalidParameter(f"Exactly one SQL statement is allowed, got {len(statements)}")
    return statements[0]


def _explained(query: str) -> str:
    """The statement an ``EXPLAIN ANALYZE stmt`` or ``EXPLAIN (options) stmt`` wraps, found with
    DuckDB's tokenizer (so comments and spacing cannot hide it)."""
    tokens = [offset for offset, kind in duckdb.tokenize(query) if kind != duckdb.token_type.comment]
    words = [query[start:end].strip().upper() for start, end in zip(tokens, [*tokens[1:], len(query)], strict=True)]
    position = 1  # words[0] is EXPLAIN
    if position < len(words) and words[position] == "(":  # options: skip to the matching parenthesis
        depth = 0
        while position < len(words):
            depth += words[position].count("(") - words[position].count(")")
            position += 1
            if depth == 0:
                break
    elif position < len(words) and words[position] == "ANALYZE":
        position += 1
    if position >= len(words):
        raise InvalidParameter("EXPLAIN needs a statement to explain")
    return query[tokens[position] :]


def _select_statement(query: str) -> str:
    """The SELECT that ``query`` is or explains; any other statement is a 400."""
    statement = _single_statement(query)
    if statement.type == duckdb.StatementType.EXPLAIN:
        return _select_statement(_explained(statement.query))
    if statement.type != duckdb.StatementType.SELECT:
        raise InvalidParameter(
            "Only read-only queries are allowed (SELECT, WITH, FROM, VALUES, DESCRIBE, SHOW, SUMMARIZE, "
            f"or EXPLAIN of one); got {statement.type.name}"
        )
    return statement.query


def _nodes(tree: Any) -> Iterator[dict[str, Any]]:
    stack = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            yield node
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)


def _check_tree(cursor: duckdb.DuckDBPyConnection, select: str) -> None:
    """Refuse table functions off the allow-list and references to hidden relations or functions."""
    tree = orjson.loads(cursor.execute("SELECT json_serialize_sql(?)", [select]).fetchall()[0][0])
    if tree.get("error"):
        raise InvalidParameter(f"Not allowed: this statement cannot be checked ({tree.get('error_message')})")
    for node in _nodes(tree["statements"]):
        kind = node.get("type")
        if kind == "TABLE_FUNCTION":
            name = str(node["function"].get("function_name", "")).lower()
            if name not in TABLE_FUNCTIONS:
                raise InvalidParameter(
                    f"Not allowed: table function {name}() (allowed: {', '.join(sorted(TABLE_FUNCTIONS))})"
                )
        elif kind == "BASE_TABLE" and str(node.get("table_name", "")).lower() in HIDDEN_RELATIONS:
            raise InvalidParameter(f"Not allowed: {node['table_name']} shows the server's paths and settings")
        elif kind == "FUNCTION" and str(node.get("function_name", "")).lower() in HIDDEN_FUNCTIONS:
            raise InvalidParameter(f"Not allowed: {node['function_name']}() shows the server's settings")


def syntax_nodes(cursor: duckdb.DuckDBPyConnection, query: str) -> list[dict[str, Any]]:
    """Every node of the syntax tree of the SELECT ``query`` is or explains (empty when DuckDB
    cannot serialize it: ``check_query`` then refuses it)."""
    tree = orjson.loads(cursor.execute("SELECT json_serialize_sql(?)", [_select_statement(query)]).fetchall()[0][0])
    return list(_nodes(tree.get("statements", [])))


def check_query(cursor: duckdb.DuckDBPyConnection, query: str) -> None:
    """Refuse, with a 400 that says why, anything but one SELECT over allowed relations and functions."""
    _check_tree(cursor, _select_statement(query))


def run_query(
    db: Database,
    query: str,
    *,
    row_limit: int = DEFAULT_ROW_LIMIT,
    limits: SQLLimits = DEFAULT_LIMITS,
    arrow: bool = False,
) -> QueryResult:
    """Run a user query on the store in a read-only transaction that is always rolled back, within
    ``limits``' time and answer size: what admins (and everyone without authentication) get.
    Other users get ``store.visible_rows.run_visible_query``."""
    cursor = db.cursor()
    try:
        return run_checked(cursor, query, row_limit=row_limit, limits=limits, arrow=arrow)
    finally:
        cursor.close()


_IN_TRANSACTION: weakref.WeakSet[duckdb.DuckDBPyConnection] = weakref.WeakSet()
"""Cursors inside ``read_only_transaction``: DuckDB cannot say, and a second BEGIN aborts the first."""


@contextmanager
def read_only_transaction(cursor: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """``BEGIN TRANSACTION READ ONLY``, always rolled back: nothing done inside can be written.

    Inside one already (a request's reads on a lake, ``store.access``), the block joins it and
    the outer block ends it."""
    if cursor in _IN_TRANSACTION:
        yield
        return
    cursor.execute("BEGIN TRANSACTION READ ONLY")
    _IN_TRANSACTION.add(cursor)
    try:
        yield
    finally:
        _IN_TRANSACTION.discard(cursor)
        try:
            cursor.execute("ROLLBACK")
        except duckdb.Error:
            pass  # no transaction left to undo (DuckDB ended it on an error)


def _row_bytes(row: tuple[Any, ...]) -> int:
    """About what a row weighs in the answer: its texts' and blobs' lengths, 8 bytes for the rest
    (nested values by their text: rare, and a list or struct is what builds a huge value)."""
    size = 0
    for value in row:
        if isinstance(value, (str, bytes, bytearray)):
            size += len(value)
        elif isinstance(value, (list, dict, tuple)):
            size += len(str(value))
        else:
            size += 8
    return size


def _result_too_large(limits: SQLLimits) -> PayloadTooLarge:
    return PayloadTooLarge(
        f"Query answer is larger than this collector sends (sql.max_result_mib = {limits.max_result_mib}): {NARROWING}"
    )


def _fetch_arrow(relation: duckdb.DuckDBPyRelation, row_limit: int, limits: SQLLimits) -> pa.Table:
    """Up to ``row_limit + 1`` rows as Arrow, batch by batch, refused once past the size limit."""
    batches: list[pa.RecordBatch] = []
    size = 0
    reader = relation.limit(row_limit + 1).to_arrow_reader(FETCH_ROWS)
    for batch in reader:
        size += batch.nbytes
        if size > limits.max_result_mib * MIB:
            raise _result_too_large(limits)
        batches.append(batch)
    return pa.Table.from_batches(batches, schema=reader.schema)


def _fetch_rows(result: duckdb.DuckDBPyConnection, row_limit: int, limits: SQLLimits) -> list[Any]:
    """Up to ``row_limit + 1`` rows, a chunk at a time, refused once past the size limit."""
    rows: list[Any] = []
    size = 0
    while len(rows) <= row_limit:
        chunk = result.fetchmany(min(FETCH_ROWS, row_limit + 1 - len(rows)))
        if not chunk:
            break
        size += sum(map(_row_bytes, chunk))
        if size > limits.max_result_mib * MIB:
            raise _result_too_large(limits)
        rows.extend(chunk)
    return rows


def run_checked(
    cursor: duckdb.DuckDBPyConnection,
    query: str,
    *,
    row_limit: int,
    limits: SQLLimits,
    arrow: bool,
) -> QueryResult:
    """Check and run ``query`` on ``cursor`` inside ``BEGIN TRANSACTION READ ONLY``, rolled back after."""
    timer = threading.Timer(limits.timeout, cursor.interrupt)
    table = None
    try:
        with read_only_transaction(cursor):
            check_query(cursor, query)
            timer.start()
            rows: list[Any] = []
            if arrow:  # a relation, not a DB-API result: DuckDB hands Arrow over without a copy
                relation = cursor.sql(query)
                columns, types = list(relation.columns), [str(t) for t in relation.types]
                table = _fetch_arrow(relation, row_limit, limits)
                truncated = table.num_rows > row_limit
                table = table.slice(0, row_limit)
            else:
                result = cursor.execute(query)
                columns = [d[0] for d in result.description or []]
                types = [str(d[1]) for d in result.description or []]
                rows = _fetch_rows(result, row_limit, limits)
                truncated = len(rows) > row_limit
    except duckdb.InterruptException:
        raise InvalidParameter(f"Query stopped after the time limit of {limits.timeout:g} s (sql.timeout)") from None
    except duckdb.OutOfMemoryException as exc:
        raise too_large(exc, limits) from None
    except (duckdb.PermissionException, duckdb.TransactionException) as exc:
        raise InvalidParameter(f"Not allowed: {exc}") from None
    except duckdb.Error as exc:
        raise InvalidParameter(f"SQL error: {exc}") from None
    finally:
        timer.cancel()
    return QueryResult(columns, types, rows[:row_limit], truncated, table)
