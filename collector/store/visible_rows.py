"""User SQL for a caller who may read only some experiments: row visibility by construction.

Admins (and everyone when authentication is off) query the store itself (``sandbox.run_query``).
Anyone else's query runs on a new in-memory DuckDB instance of its own, never on the store's: into
it go only the relations of ``VISIBLE``, each holding only the rows of the experiments the caller
may read, copied in one read-only snapshot of the store. Nothing else exists there: not the store
file, not ``users`` or ``audit_log``, not another experiment's rows. So a fully qualified name,
``duckdb_tables()``, ``information_schema`` or an ``ATTACH`` find only what was copied (the
instance has no file system access, so ``ATTACH`` cannot open the store file, and its
configuration is locked before the query runs); the sandbox's statement check and table-function
allow-list still apply on top.

Refusal is not by reading the query for names: the query's syntax tree only chooses what to copy
(``_wanted``): the rows of the relations it names (the others are created empty when it reads the catalog, so ``SHOW TABLES``
and ``DESCRIBE`` still work), and of those only the columns it names, unless it may read columns
without naming them (``*``, ``COLUMNS()``, ``#1``, a NATURAL join, a row or alias used as a value,
column aliases on a table, ``DESCRIBE``): then all of them. A name missed there reads as empty or
NULL, never as someone else's rows.

Every relation of the store is either in ``VISIBLE`` or in ``ADMIN_ONLY``
(``tests/collector/store/test_visible_rows.py`` checks it), so a new table needs a decision.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

import duckdb

from annotrace.collector.errors import InvalidParameter
from annotrace.collector.store.queries import labeling
from annotrace.collector.store.sandbox import (
    DEFAULT_LIMITS,
    DEFAULT_ROW_LIMIT,
    FETCH_ROWS,
    QueryResult,
    SQLLimits,
    read_only_transaction,
    run_checked,
    syntax_nodes,
    too_large,
)

if TYPE_CHECKING:
    from annotrace.collector.store.db import Database

_BY_EXPERIMENT = "SELECT {columns} FROM {name} WHERE list_contains($ids, experiment_id)"
_TRACES = "SELECT trace_id FROM traces WHERE list_contains($ids, experiment_id)"
_BY_TRACE = "SELECT {columns} FROM {name} WHERE trace_id IN (" + _TRACES + ")"
_SESSIONS = "SELECT session_id FROM labeling_sessions WHERE list_contains($ids, experiment_id)"
_BY_SESSION = "SELECT {columns} FROM {name} WHERE session_id IN (" + _SESSIONS + ")"
_DATASETS = "SELECT dataset_id FROM datasets WHERE list_has_any(CAST(experiment_ids AS VARCHAR[]), $ids)"
VISIBLE: dict[str, str] = {
    "experiments": _BY_EXPERIMENT,
    "traces": _BY_EXPERIMENT,
    "spans": _BY_EXPERIMENT,
    "log_records": _BY_EXPERIMENT,
    "label_schemas": _BY_EXPERIMENT,
    "labeling_sessions": _BY_EXPERIMENT,
    "review_queues": _BY_EXPERIMENT,
    "runs": _BY_EXPERIMENT,
    "logged_models": _BY_EXPERIMENT,
    "scorers": _BY_EXPERIMENT,
    "span_events": _BY_TRACE,
    "span_links": _BY_TRACE,
    "documents": _BY_TRACE,
    "messages": _BY_TRACE,
    "assessments": _BY_TRACE,
    "assessment_history": _BY_TRACE,
    "assessment_events": _BY_TRACE,
    "trace_run_links": _BY_TRACE,
    "labeling_items": _BY_SESSION,
    "labeling_item_status": _BY_SESSION,
    "labeling_leases": _BY_SESSION,
    "labeling_labels": _BY_SESSION,
    "labeling_agreement": _BY_SESSION,
    "routing_rules": _BY_SESSION,
    "review_queue_items": "SELECT {columns} FROM {name} WHERE queue_id IN (" + _SESSIONS + ")",
    "run_metrics": "SELECT {columns} FROM {name} WHERE run_id IN "
    "(SELECT run_id FROM runs WHERE list_contains($ids, experiment_id))",
    "scorer_versions": "SELECT {columns} FROM {name} WHERE scorer_id IN "
    "(SELECT scorer_id FROM scorers WHERE list_contains($ids, experiment_id))",
    "datasets": "SELECT {columns} FROM {name} WHERE dataset_id IN (" + _DATASETS + ")",
    "dataset_records": "SELECT {columns} FROM {name} WHERE dataset_id IN (" + _DATASETS + ")",
}
"""Relation -> the query that reads the rows of the experiments ``$ids`` from the store. A dataset
is visible when one of its experiments is; a row without an experiment (a dataset of none, a
message or document of no trace) is visible to admins only."""
ADMIN_ONLY = frozenset(
    {
        "users",
        "api_tokens",
        "web_sessions",
        "experiment_permissions",
        "audit_log",
        "artifacts",
        "schema_migrations",
        "genai_log_events_pending",
        "genai_log_events_seen",
        "trace_parts",
        "lake_locks",
        "lake_users_version",
    }
)
"""Relations with no experiment of their own (or the store's internals, such as a DuckLake store's
``trace_parts`` behind ``traces``): in admins' SQL only."""
LAKE_ONLY = frozenset({"trace_parts", "lake_locks", "lake_users_version"})
"""The admin-only relations that exist on a DuckLake store only (not in an embedded file)."""


def _sandbox(limits: SQLLimits = DEFAULT_LIMITS) -> duckdb.DuckDBPyConnection:
    """A new in-memory instance that cannot reach files, the network, extensions or Python
    variables (DuckDB's replacement scans would otherwise read the caller's locals by name), and
    holds at most ``limits.memory_limit_mib``: with no temp directory it cannot spill, so the copy
    and the query fail with DuckDB's out-of-memory instead of growing the collector."""
    return duckdb.connect(
        ":memory:",
        config={
            "enable_external_access": False,
            "python_enable_replacements": False,
            "threads": 1,
            "memory_limit": f"{limits.memory_limit_mib}MiB",
            "temp_directory": "",
        },
    )


_ALL_COLUMNS = frozenset({"STAR", "POSITIONAL_REFERENCE", "SHOW_REF"})
"""Syntax that reads columns it does not name."""


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _wanted(nodes: list[dict[str, Any]], columns: dict[str, list[tuple[str, str]]]) -> dict[str, set[str] | None]:
    """Relation -> the columns to copy (None: all) for the relations the query names."""
    relations = {str(n["table_name"]).lower() for n in nodes if "table_name" in n} & set(columns)
    known = {c.lower() for name in relations for c, _ in columns[name]}
    named: set[str] = set()
    everything = False
    for node in nodes:
        kind = node.get("type")
        if kind in _ALL_COLUMNS or (kind == "JOIN" and node.get("ref_type") == "NATURAL"):
            everything = True
        elif kind == "BASE_TABLE" and node.get("column_name_alias"):
            everything = True  # FROM spans t(a, b) renames columns by position
        elif kind == "JOIN":
            named.update(str(c).lower() for c in node.get("using_columns") or [])
        elif kind == "COLUMN_REF":
            parts = {str(p).lower() for p in node.get("column_names") or []}
            if not parts & known:  # a row, a table alias or a lambda parameter used as a value
                everything = True
            named |= parts
    return {name: None if everything else {c for c, _ in columns[name] if c.lower() in named} for name in relations}


def _fill(
    source: duckdb.DuckDBPyConnection, target: duckdb.DuckDBPyConnection, experiments: list[str], query: str
) -> None:
    """Create the visible relations the query names in ``target`` with the store's column types (all
    of them when it may read the catalog: a system view or table function, ``SHOW``), and copy their
    visible rows (and wanted columns)."""
    columns: dict[str, list[tuple[str, str]]] = {}
    for table, column, data_type in source.execute(
        "SELECT table_name, column_name, data_type FROM duckdb_columns() WHERE database_name = current_database() "
        "AND schema_name = 'main' ORDER BY table_name, column_index"
    ).fetchall():
        if table in VISIBLE:
            columns.setdefault(str(table), []).append((str(column), str(data_type)))
    nodes = syntax_nodes(target, query)
    named = {str(n["table_name"]).lower() for n in nodes if n.get("type") == "BASE_TABLE"}
    catalog = not named <= set(columns) or any(n.get("type") in ("TABLE_FUNCTION", "SHOW_REF") for n in nodes)
    created = columns if catalog else {name: columns[name] for name in named}  # 28 CREATEs: ~30 ms
    target.execute(
        ";".join(
            f"CREATE TABLE {name} ({', '.join(f'{_quoted(c)} {t}' for c, t in cols)})" for name, cols in created.items()
        )
        or "SELECT 1"
    )
    for name, wanted in _wanted(nodes, columns).items():
        copied = [c for c, _ in columns[name] if wanted is None or c in wanted] or [columns[name][0][0]]
        listed = ", ".join(map(_quoted, copied))
        visible = source.sql(VISIBLE[name].format(name=name, columns=listed), params={"ids": experiments})
        for rows in visible.to_arrow_reader(FETCH_ROWS * 8):  # a batch at a time: the target's limit bounds the copy
            target.register("visible_rows_load", rows)
            target.execute(f"INSERT INTO {name} ({listed}) SELECT * FROM visible_rows_load")
            target.unregister("visible_rows_load")


def run_visible_query(
    db: Database,
    query: str,
    experiments: frozenset[str],
    *,
    row_limit: int = DEFAULT_ROW_LIMIT,
    limits: SQLLimits = DEFAULT_LIMITS,
    arrow: bool = False,
) -> QueryResult:
    """Run ``query`` over the rows of ``experiments`` only, within ``limits`` (memory included);
    results and errors as ``run_query``'s."""
    target = _sandbox(limits)
    source = db.cursor()

    def interrupt() -> None:
        source.interrupt()
        target.interrupt()

    timer = threading.Timer(limits.timeout, interrupt)
    try:
        timer.start()
        try:
            with read_only_transaction(source):  # one snapshot for every relation copied
                _fill(source, target, sorted(experiments), query)
        except duckdb.InterruptException:
            raise InvalidParameter(
                f"Query stopped after the time limit of {limits.timeout:g} s (sql.timeout)"
            ) from None
        except duckdb.OutOfMemoryException as exc:
            raise too_large(exc, limits) from None
        except duckdb.Error as exc:
            raise InvalidParameter(f"SQL error: {exc}") from None
        target.execute("SET lock_configuration = true")
        return run_checked(target, query, row_limit=row_limit, limits=limits, arrow=arrow)
    finally:
        timer.cancel()
        source.close()
        target.close()


def experiment_ids(cursor: duckdb.DuckDBPyConnection, labeler: str | None = None) -> list[str]:
    """Every experiment's id, or with ``labeler`` those of the labeling sessions and review queues
    that user may label (``labeling.may_label``): what a labeler's work needs."""
    if labeler is not None:
        return sorted({s.experiment_id for s in labeling.list_sessions(cursor, None, labeler)})
    return [str(row[0]) for row in cursor.execute("SELECT experiment_id FROM experiments").fetchall()]
