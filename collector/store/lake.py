"""The store on DuckLake: catalog in PostgreSQL, Parquet data on a shared directory, several collectors.

The relations users query are the embedded file's, from the same numbered schema files, translated
for what DuckLake lacks: no PRIMARY KEY / UNIQUE / indexes / sequences, no per-column compression
(Parquet compresses every column). Keys are kept by the writer (spans were already de-duplicated
without an index, see ``store.span_writes``).

``traces`` is the one relation that differs underneath. On the file it is a table the single writer
merges into (``INSERT ... ON CONFLICT DO UPDATE``). On a lake, spans of one trace reach several
collectors at once (clients load-balance by connection), and two collectors merging into one row
would each see only their own spans: DuckLake has no keys to conflict on, so both rows would land.
So on a lake the writers only ever APPEND partial rows to ``trace_parts`` (one per trace per
commit: its spans' aggregates, or a tag/metadata patch), which never conflicts between collectors,
and ``traces`` is a view that merges the parts at read time with the same rules the file's merge
uses. Appends stay as concurrent as DuckLake allows (measured: two writers, no conflicts, no
retries); the price is a GROUP BY over the parts per read, which ``compact`` (rewriting a trace's
parts as one) keeps small.

DuckLake's extensions ship as PyPI wheels only for duckdb 1.5.x (the ``lake`` extra); each wheel
holds a ``.duckdb_extension`` file that ``INSTALL '<path>'`` takes without internet.
"""

from __future__ import annotations

import importlib.util
import re
import weakref
from collections.abc import Callable
from pathlib import Path

import duckdb

from annotrace.collector.errors import Unavailable
from annotrace.collector.store.genai_expiry import expire

LAKE_NAME = "lake"
EXTENSIONS = ("ducklake", "postgres_scanner")

MERGE_RULES = {
    "experiment_id": "arg_min(experiment_id, request_time) FILTER (WHERE experiment_id IS NOT NULL)",
    "state": "coalesce(arg_max(state, last_update_time) FILTER (WHERE root_span_id IS NOT NULL), "
    "arg_max(state, last_update_time) FILTER (WHERE state IS NOT NULL), 'IN_PROGRESS')",
    "request_time": "min(request_time)",
    "end_time": "max(end_time)",
    "execution_duration_ms": "CASE WHEN count(request_time) = 1 THEN max(execution_duration_ms) ELSE greatest("
    "max(execution_duration_ms), (epoch_us(max(end_time)) - epoch_us(min(request_time))) / 1e3) END",
    "tags": "coalesce(list_reduce(list(tags ORDER BY last_update_time) FILTER (WHERE tags IS NOT NULL), "
    "(a, b) -> json_merge_patch(a, b)), '{}')::JSON",
    "trace_metadata": "coalesce(list_reduce(list(trace_metadata ORDER BY last_update_time) FILTER (WHERE trace_metadata "
    "IS NOT NULL), (a, b) -> json_merge_patch(a, b)), '{}')::JSON",
    "span_count": "coalesce(sum(span_count), 0)::BIGINT",
    "error_span_count": "coalesce(sum(error_span_count), 0)::BIGINT",
    "input_tokens": "sum(input_tokens)::BIGINT",
    "output_tokens": "sum(output_tokens)::BIGINT",
    "total_tokens": "sum(total_tokens)::BIGINT",
    "session_id": "arg_min(session_id, request_time) FILTER (WHERE session_id IS NOT NULL)",
    "user_id": "arg_min(user_id, request_time) FILTER (WHERE user_id IS NOT NULL)",
    "last_update_time": "max(last_update_time)",
}
"""How ``traces`` merges a trace's parts: the file's merge rules (``span_writes.MERGE_TRACES``) applied to
all parts at once: sums add, times widen, tag patches apply in order. Any other column (name,
request, root_span_id, a column a later schema file adds) takes its latest non-NULL value. A
trace exists once a part with spans (or an MLflow trace info) gave it a start time."""
LATEST = "arg_max({c}, last_update_time) FILTER (WHERE {c} IS NOT NULL)"


def create_traces_view(conn: duckdb.DuckDBPyConnection) -> None:
    """(Re)create the ``traces`` view over ``trace_parts``'s current columns, in their order; run
    after every schema file, so a column a file adds to ``traces`` appears in the view."""
    columns = [
        row[0]
        for row in conn.execute(
            "SELECT column_name FROM duckdb_columns() WHERE database_name = current_database() "
            "AND table_name = 'trace_parts' ORDER BY column_index"
        ).fetchall()
    ]
    if not columns:
        return
    rules = {c: MERGE_RULES.get(c, LATEST).replace("{c}", c) for c in columns if c != "trace_id"}
    merged = ",\n  ".join(f"{rules[c]} AS {c}" if c in rules else c for c in columns)
    conn.execute(
        f"CREATE OR REPLACE VIEW traces AS SELECT\n  {merged}\nFROM trace_parts GROUP BY trace_id "
        "HAVING count(request_time) > 0"
    )


LOCKS = """
CREATE TABLE lake_locks (name VARCHAR NOT NULL, n BIGINT NOT NULL);
COMMENT ON TABLE lake_locks IS 'DuckLake store only: rows that writers change to make DuckLake refuse the second of two concurrent commits (experiment creation).';
INSERT INTO lake_locks VALUES ('experiments', 0);
"""

USERS_LOCK = """
CREATE TABLE lake_users_version (n BIGINT NOT NULL);
COMMENT ON TABLE lake_users_version IS 'DuckLake store only: one row counting the changes to users, tokens, permissions and sign-ins, read by every collector before each request (its copy of them is stale when the count moved); changing it also makes DuckLake refuse the second of two concurrent user changes.';
INSERT INTO lake_users_version VALUES (0);
"""
"""The users' version (``USERS_VERSION``): every change to users, tokens, permissions or sign-ins
adds one, so each collector of the lake knows when its copy of them is stale, and two collectors
adding one name at once cannot both commit. A table of its own, not a ``lake_locks`` row: DuckLake
refuses the second of two transactions that change one table, whichever rows, so a user change
would fail beside another collector creating an experiment."""

_DROPPED = [
    re.compile(r"CREATE SEQUENCE [^;]*;"),
    re.compile(r"CREATE (UNIQUE )?INDEX [^;]*;"),
    re.compile(r"DROP INDEX [^;]*;"),
    re.compile(r",\s*(PRIMARY KEY|UNIQUE)\s*\([^)]*\)"),  # a table constraint after the last column
    re.compile(r"\s+USING COMPRESSION \w+"),
    re.compile(r"\s+PRIMARY KEY\b"),
    re.compile(r"\s+UNIQUE\b(?!\s*\()"),
    re.compile(r"\s+DEFAULT nextval\('[^']*'\)"),
]
_ADD_COLUMN = re.compile(r"(ALTER TABLE \w+ ADD COLUMN [^;]*?)\s+NOT NULL")
_ADD_COLUMN_DEFAULT = re.compile(r"(ALTER TABLE \w+ ADD COLUMN \w+ \w+ DEFAULT )(true|false|-?\d+);")


TRACES_WITHOUT_KEY = "0080_traces_without_key"
"""The file's ``traces`` loses its primary key and gains ``trace_key`` by a rebuild; ``trace_parts``
never had a key, so on a lake that file only adds and fills the column."""
TRACE_KEY_PARTS = """
ALTER TABLE trace_parts ADD COLUMN trace_key UBIGINT;
UPDATE trace_parts SET trace_key = coalesce(try_cast('0x' || right(trace_id, 16) AS UBIGINT), 0);
"""


def translate(name: str, sql: str) -> str:
    """A schema file as DuckLake takes it (see the module docstring): DDL on ``traces`` goes to
    ``trace_parts``, whose columns are all nullable (a part holds what its writer knew);
    ``create_traces_view`` runs after each file."""
    if name == TRACES_WITHOUT_KEY:
        comment = re.search(r"COMMENT ON COLUMN traces\.trace_key IS '(?:[^']|'')*';", sql)
        assert comment is not None
        return TRACE_KEY_PARTS + comment.group(0).replace("traces.trace_key", "trace_parts.trace_key") + "\n"
    for pattern in _DROPPED:
        sql = pattern.sub("", sql)
    sql = _without_checks(sql)
    for view in re.findall(r"CREATE (?:OR REPLACE )?VIEW (\w+)", sql):  # DuckLake comments tables only
        sql = re.sub(rf"COMMENT ON COLUMN {view}\.[^;]*?IS '(?:[^']|'')*';", "", sql)
    # DuckLake adds a column without constraints, with a default only as a quoted literal
    sql = _ADD_COLUMN.sub(r"\1", sql)
    sql = _ADD_COLUMN_DEFAULT.sub(r"\1'\2';", sql)
    sql = re.sub(r"CREATE TABLE traces \(", "CREATE TABLE trace_parts (", sql)
    sql = re.sub(r"(COMMENT ON (?:TABLE|COLUMN)|ALTER TABLE) traces\b", r"\1 trace_parts", sql)
    if name == "0001_core":
        # a part carries only what its writer knows: every other column is NULL there
        body = re.search(r"CREATE TABLE trace_parts \((.*?)\n\);", sql, re.S)
        assert body is not None
        sql = sql.replace(body.group(1), body.group(1).replace(" NOT NULL", ""))
        sql += LOCKS
    if name == "0056_audit_everywhere":
        sql += USERS_LOCK
    return sql


def _without_checks(sql: str) -> str:
    """Drop every ``CHECK (...)`` (nested parentheses included), with the comma before a table-level one."""
    while (match := re.search(r"(,\s*|\s+)CHECK\s*\(", sql)) is not None:
        depth, end = 1, match.end()
        while depth:
            depth += {"(": 1, ")": -1}.get(sql[end], 0)
            end += 1
        sql = sql[: match.start()] + sql[end:]
    return sql


def extension_path(name: str) -> Path:
    """The ``.duckdb_extension`` file the PyPI wheel ``duckdb-extension-<name>`` installed, for the
    running duckdb version."""
    spec = importlib.util.find_spec(f"duckdb_extension_{name}")
    if spec is None or not spec.submodule_search_locations:
        raise Unavailable(
            f"the ducklake store needs the PyPI package duckdb-extension-{name.replace('_', '-')}=={duckdb.__version__}"
            " (`pip install 'annotrace[lake]'`; `make install` puts it in .venv-lake)"
        )
    folder = Path(next(iter(spec.submodule_search_locations)))
    found = sorted(folder.glob(f"extensions/v{duckdb.__version__}/*.duckdb_extension"))
    if not found:
        raise Unavailable(
            f"duckdb-extension-{name} has no extension for duckdb {duckdb.__version__} in {folder}: "
            "the ducklake store needs duckdb 1.5.x with the same extension version (the `lake` extra)"
        )
    return found[0]


def attach(conn: duckdb.DuckDBPyConnection, catalog: str, data_path: str, *, read_only: bool = False) -> None:
    """Load the extensions from their wheels, attach the lake and make it the current catalog.

    ``catalog`` is a libpq connection string (``host=... port=... dbname=... user=...``); the
    catalog's tables are created in that database on first start."""
    for name in EXTENSIONS:
        conn.execute(f"INSTALL '{_literal(str(extension_path(name)))}'")
        conn.execute(f"LOAD {name}")
    if "://" not in data_path:
        if not read_only:
            Path(data_path).mkdir(parents=True, exist_ok=True)
        data_path = str(Path(data_path).resolve()) + "/"
    options = f"DATA_PATH '{_literal(data_path)}'" + (", READ_ONLY" if read_only else "")
    try:
        conn.execute(f"ATTACH 'ducklake:postgres:{_literal(catalog)}' AS {LAKE_NAME} ({options})")
    except duckdb.Error as exc:
        raise Unavailable(f"cannot open the DuckLake catalog ({catalog}): {str(exc).splitlines()[0]}") from None
    conn.execute(f"USE {LAKE_NAME}")


_CONNECTIONS: weakref.WeakSet[duckdb.DuckDBPyConnection] = weakref.WeakSet()


def register(conn: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyConnection:
    """Mark ``conn`` as working on a lake (``Database`` does it for its connection and cursors)."""
    _CONNECTIONS.add(conn)
    return conn


def is_lake(conn: duckdb.DuckDBPyConnection) -> bool:
    """Whether ``conn`` works on a DuckLake store (API writes that change ``traces`` append parts
    there). Asked without a statement: writer jobs count theirs."""
    return conn in _CONNECTIONS


def _literal(text: str) -> str:
    return text.replace("'", "''")


# -- the writer's statements on a lake (``store.span_writes`` picks them when ``Database.is_lake``) ------
INSERT_TRACE_PARTS = "INSERT INTO trace_parts BY NAME SELECT * FROM new_traces"
"""One part per trace per batch, with the batch's aggregates; ``traces`` merges them when read."""
INSERT_TRACE_EXTRAS = (
    "INSERT INTO trace_parts BY NAME SELECT trace_id, tags, trace_metadata, client_request_id, "
    "current_timestamp::TIMESTAMP AS last_update_time FROM extras"
)
"""Tags and metadata the spans carried, as a patch part (applied after the parts before it)."""
STORED_LOGS = (
    "SELECT record_id FROM log_records WHERE record_key IN "
    "(SELECT DISTINCT coalesce(try_cast('0x' || right(record_id, 16) AS UBIGINT), 0) FROM batch_logs)"
)
"""``span_writes.STORED_LOGS`` without rowids: a scan of ``record_key``, not of every ``record_id``."""
LOCK_EXPERIMENTS = "UPDATE lake_locks SET n = n + 1 WHERE name = 'experiments'"
"""Taken by a transaction that creates an experiment: DuckLake fails the commit of the second of
two such transactions (both changed that row), so two collectors seeing a new service at once
cannot both create it (under two ids, or twice); the loser's batch is retried and finds it."""
BUMP_USERS = "UPDATE lake_users_version SET n = n + 1"
"""Run by every writer job that changes users, tokens, permissions or sign-ins (``queries.users``)."""
USERS_VERSION = "SELECT n FROM lake_users_version"
"""Read by the authenticator before each request on a lake: a change another collector committed
(a revoked token, a new sign-in) is seen by the very next request here."""
SET_TAG = (
    "INSERT INTO trace_parts (tags, trace_id, last_update_time) "
    "VALUES (json_object(?, ?), ?, current_timestamp::TIMESTAMP)"
)
"""A tag edit as a patch part; same parameters as ``queries.traces.SET_TAG``."""
DELETE_TAG = (
    "INSERT INTO trace_parts (tags, trace_id, last_update_time) "
    "VALUES (json_object(?, NULL), ?, current_timestamp::TIMESTAMP)"
)


# -- housekeeping -----------------------------------------------------------------------------------
TELEMETRY_TABLES = ("span_events", "span_links", "documents", "messages", "log_records", "spans")
"""What retention drops with an old trace. Assessments (and the ``traces`` row they hang on) stay."""
MERGE_PARTS = """
CREATE OR REPLACE TEMP TABLE housekeeping_merged AS
SELECT * FROM traces WHERE trace_id IN (SELECT trace_id FROM trace_parts GROUP BY trace_id HAVING count(*) > 1)
"""


def housekeeping(
    conn: duckdb.DuckDBPyConnection,
    *,
    retention_days: int,
    join_pending: Callable[[duckdb.DuckDBPyConnection], int] | None = None,
    genai_max_age_s: float | None = None,
) -> dict[str, int]:
    """One round, in the caller's transaction (the writer's): copies of a span removed, GenAI log
    events joined that two collectors' overlapping commits left waiting (``join_pending``:
    ``genai_join.join_pending`` with the writer's chat reader), retention, then each trace's parts merged into one (reads of
    ``traces`` group fewer rows); ``compact`` follows. A part another
    collector appends meanwhile is not touched (the delete removes the rows this transaction saw),
    and a commit conflict with another collector's round fails this one, which the next round
    repeats. GenAI log records stored more than ``genai_max_age_s`` ago stop waiting for their span
    (``genai_expiry``). Returns rows removed per table, and parts merged."""
    removed: dict[str, int] = {"span_copies": remove_span_copies(conn)}
    if join_pending is not None:
        removed["genai_messages_joined"] = join_pending(conn)
    if genai_max_age_s is not None:
        removed["genai_pending_expired"], removed["genai_seen_pruned"] = expire(conn, genai_max_age_s)
    if retention_days > 0:
        old = (
            "SELECT trace_id FROM traces WHERE request_time < current_timestamp::TIMESTAMP - "
            f"INTERVAL {int(retention_days)} DAY"
        )
        for table in TELEMETRY_TABLES:
            removed[table] = _count(conn.execute(f"DELETE FROM {table} WHERE trace_id IN ({old})").fetchall())
        removed["trace_parts"] = _count(
            conn.execute(
                f"DELETE FROM trace_parts WHERE trace_id IN ({old}) "
                "AND trace_id NOT IN (SELECT trace_id FROM assessments)"
            ).fetchall()
        )
    conn.execute(MERGE_PARTS)
    merged = conn.execute("SELECT count(*) FROM housekeeping_merged").fetchall()[0][0]
    if merged:
        conn.execute("DELETE FROM trace_parts WHERE trace_id IN (SELECT trace_id FROM housekeeping_merged)")
        conn.execute("INSERT INTO trace_parts BY NAME SELECT * FROM housekeeping_merged")
    conn.execute("DROP TABLE housekeeping_merged")
    removed["traces_merged"] = int(merged)
    return removed


def compact(conn: duckdb.DuckDBPyConnection, *, keep_snapshots_hours: float) -> None:
    """DuckLake's own upkeep, after ``housekeeping``: rows inlined in the catalog written out to
    Parquet, small Parquet files merged, snapshots older than ``keep_snapshots_hours`` expired and
    their files deleted. Each call commits on its own, on a connection that is not the writer's:
    DuckLake refuses a transaction that both changes rows and compacts ("either make changes OR
    perform compaction"), and the writer's transaction may hold batches.

    Inlined rows: DuckLake keeps a commit of at most 10 rows per table in PostgreSQL instead of a
    Parquet file, and every scan of the table copies all of them from there (no filter reaches
    them), until they are flushed; a light stream of small commits piles spans up there."""
    conn.execute(f"CALL ducklake_flush_inlined_data('{LAKE_NAME}')")
    conn.execute(f"CALL ducklake_merge_adjacent_files('{LAKE_NAME}')")
    older = f"now() - INTERVAL {int(keep_snapshots_hours * 3600)} SECOND"
    conn.execute(f"CALL ducklake_expire_snapshots('{LAKE_NAME}', older_than => {older})")
    conn.execute(f"CALL ducklake_cleanup_old_files('{LAKE_NAME}', older_than => {older})")


# -- copies of a span ------------------------------------------------------------------------------
FIND_COPIES = """
CREATE OR REPLACE TEMP TABLE housekeeping_copies AS
SELECT trace_id, span_id, count(*) - 1 AS extra FROM spans GROUP BY trace_id, span_id HAVING count(*) > 1
"""
"""A span stored more than once: an export retried to a second collector while the first was still
storing it (each checked for copies in its own snapshot, without the other's uncommitted rows)."""
SPAN_TABLES = {
    "spans": "trace_id, span_id",
    "span_events": "trace_id, span_id, position",
    "span_links": "trace_id, span_id, position",
    "documents": "trace_id, span_id, position",
    "messages": "trace_id, span_id, direction, position",
}
"""Each table written with a span, and what identifies one of its rows: a copied span's rows came twice."""
UNCOUNT_COPIES = """
INSERT INTO trace_parts BY NAME
SELECT k.trace_id, -sum(c.extra)::BIGINT AS span_count,
  -coalesce(sum(c.extra) FILTER (WHERE k.status_code = 'ERROR'), 0)::BIGINT AS error_span_count,
  -sum(k.input_tokens * c.extra)::BIGINT AS input_tokens, -sum(k.output_tokens * c.extra)::BIGINT AS output_tokens,
  -sum(k.total_tokens * c.extra)::BIGINT AS total_tokens, current_timestamp::TIMESTAMP AS last_update_time
FROM housekeeping_kept_spans k JOIN housekeeping_copies c USING (trace_id, span_id) GROUP BY k.trace_id
"""
"""A part that takes the copies' counts and tokens back out of their traces' sums."""


def remove_span_copies(conn: duckdb.DuckDBPyConnection) -> int:
    """Keep one row of each copied span (and of its events, links, documents and messages), and
    take the copies back out of ``traces``; returns the spans removed.

    Copies are removed here rather than hidden at read time: a ``spans`` view that keeps one row per
    (trace_id, span_id) costs every query on spans a window over all of them (``make bench``,
    scenario ``lake``, prints both), while copies are rare and this finds them with one scan of
    the keys per round. Until the round, a copied span is counted twice."""
    conn.execute(FIND_COPIES)
    copies = int(conn.execute("SELECT coalesce(sum(extra), 0) FROM housekeeping_copies").fetchall()[0][0])
    if copies:
        for table, key in SPAN_TABLES.items():
            kept = f"housekeeping_kept_{table}"
            conn.execute(
                f"CREATE OR REPLACE TEMP TABLE {kept} AS SELECT t.* FROM {table} t "
                f"SEMI JOIN housekeeping_copies c USING (trace_id, span_id) "
                f"QUALIFY row_number() OVER (PARTITION BY {key}) = 1"
            )
            if table == "spans":
                conn.execute(UNCOUNT_COPIES)
            conn.execute(
                f"DELETE FROM {table} WHERE EXISTS (SELECT 1 FROM housekeeping_copies c "
                f"WHERE c.trace_id = {table}.trace_id AND c.span_id = {table}.span_id)"
            )
            conn.execute(f"INSERT INTO {table} SELECT * FROM {kept}")
            conn.execute(f"DROP TABLE {kept}")
    conn.execute("DROP TABLE housekeeping_copies")
    return copies


def _count(rows: list[tuple[object, ...]]) -> int:
    return int(rows[0][0]) if rows and isinstance(rows[0][0], int) else 0
