"""The SQL sandbox on a real DuckDB file: hostile statements are refused with a 400 and change
neither data nor settings; no system view or allowed function shows the server's paths; the
read-only questions users ask (DESCRIBE, SHOW, SUMMARIZE, EXPLAIN ANALYZE of a SELECT...) work."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from annotrace.collector.errors import InvalidParameter
from annotrace.collector.store import sandbox
from annotrace.collector.store.db import Database
from annotrace.collector.store.sandbox import TABLE_FUNCTIONS, run_query

HOSTILE = [
    "EXPLAIN ANALYZE DROP TABLE spans",
    "EXPLAIN ANALYZE UPDATE assessments SET source_id = 'mallory'",
    "EXPLAIN ANALYZE SET threads = 1",
    "EXPLAIN ANALYZE INSERT INTO experiments (experiment_id, name) VALUES ('666', 'evil')",
    "EXPLAIN ANALYZE DELETE FROM experiments",
    "EXPLAIN ANALYZE TRUNCATE experiments",
    "EXPLAIN ANALYZE ALTER TABLE spans RENAME TO gone",
    "EXPLAIN ANALYZE CREATE MACRO evil() AS 1",
    "EXPLAIN ANALYZE CHECKPOINT",
    "EXPLAIN ANALYZE CALL enable_logging()",
    "explain /* hidden */ analyze\n drop table spans",
    "EXPLAIN (ANALYZE, FORMAT json) DELETE FROM experiments",
    "EXPLAIN EXPLAIN ANALYZE DROP TABLE spans",
    "EXPLAIN",
    "DROP TABLE spans",
    "DELETE FROM experiments",
    "UPDATE experiments SET name = 'x'",
    "TRUNCATE experiments",
    "INSERT INTO experiments (experiment_id, name) VALUES ('666', 'evil')",
    "ALTER TABLE spans RENAME TO gone",
    "CREATE MACRO evil() AS 1",
    "CREATE TEMP TABLE t AS SELECT 1",
    "CREATE VIEW v AS SELECT 1",
    "SET threads = 1",
    "SET GLOBAL memory_limit = '1GB'",
    "RESET threads",
    "SET enable_external_access = true",
    "SET VARIABLE x = 1",
    "PRAGMA threads = 1",
    "PRAGMA enable_profiling",
    "PRAGMA database_list",
    "CALL enable_logging()",
    "CALL enable_profiling()",
    "SELECT * FROM enable_logging()",
    "SELECT * FROM enable_profiling()",
    "SELECT * FROM checkpoint()",
    "SELECT * FROM force_checkpoint()",
    "SELECT * FROM truncate_duckdb_logs()",
    "CHECKPOINT",
    "FORCE CHECKPOINT",
    "VACUUM",
    "ATTACH ':memory:' AS other",
    "DETACH annotrace",
    "USE memory",
    "COPY spans TO 'spans.csv'",
    "COPY (SELECT 1) TO 'one.csv'",
    "EXPORT DATABASE 'dump'",
    "INSTALL httpfs",
    "LOAD httpfs",
    "BEGIN",
    "COMMIT",
    "ROLLBACK",
    "PREPARE p AS SELECT 1",
    "SELECT 1; DROP TABLE spans",
    "SELECT 1; SELECT 2",
    "SELECT * FROM duckdb_settings()",
    "SELECT * FROM duckdb_databases()",
    "SELECT * FROM duckdb_databases",
    "SELECT path FROM system.main.duckdb_databases",
    "SELECT * FROM pragma_database_list",
    "SELECT * FROM pg_catalog.pg_settings",
    "SELECT current_setting('temp_directory')",
    "SELECT * FROM duckdb_temporary_files()",
    "SELECT * FROM duckdb_extensions()",
    "SELECT (SELECT max(name) FROM duckdb_settings()) AS hidden_in_a_subquery",
    "WITH s AS (SELECT * FROM duckdb_settings()) SELECT * FROM s",
    "SELECT * FROM query('DROP TABLE spans')",
    "SELECT * FROM query_table('spans')",
    "SELECT * FROM read_csv('/etc/passwd')",
    "SELECT * FROM read_text('/etc/passwd')",
    "SELECT * FROM glob('/*')",
    "SELECT * FROM '/etc/passwd'",
    "SELEC 1",
]


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Database]:
    database = Database(tmp_path_factory.mktemp("sandbox") / "annotrace.duckdb")
    database.conn.execute("INSERT INTO experiments (experiment_id, name) VALUES ('7', 'kept')")
    yield database
    database.close()


def _state(db: Database) -> dict[str, Any]:
    """What an attack could change: every setting, the catalog (tables, columns, views, macros) and the rows."""
    conn = db.conn
    tables = [name for (name,) in conn.execute("SELECT table_name FROM duckdb_tables() ORDER BY 1").fetchall()]
    return {
        "settings": conn.execute("SELECT name, value FROM duckdb_settings() ORDER BY name").fetchall(),
        "columns": conn.execute(
            "SELECT table_name, column_name, data_type FROM duckdb_columns() ORDER BY ALL"
        ).fetchall(),
        "objects": conn.execute(
            "SELECT function_name FROM duckdb_functions() WHERE NOT internal UNION ALL "
            "SELECT view_name FROM duckdb_views() WHERE NOT internal ORDER BY 1"
        ).fetchall(),
        "databases": conn.execute("SELECT database_name FROM duckdb_databases() ORDER BY 1").fetchall(),
        "rows": {name: conn.execute(f'SELECT count(*) FROM "{name}"').fetchall() for name in tables},
        "experiments": conn.execute("SELECT * FROM experiments ORDER BY ALL").fetchall(),
    }


@pytest.mark.parametrize("query", HOSTILE)
@pytest.mark.parametrize("arrow", [False, True], ids=["json", "arrow"])
def test_hostile_sql_is_refused_and_changes_nothing(db: Database, query: str, arrow: bool) -> None:
    before = _state(db)
    with pytest.raises(InvalidParameter):
        run_query(db, query, arrow=arrow)
    assert _state(db) == before
    assert run_query(db, "SELECT name FROM experiments WHERE experiment_id = '7'").rows == [("kept",)]


def test_a_refused_query_leaves_no_transaction_open(db: Database) -> None:
    """The writer's connection still commits after a burst of refusals (no lock, no conflict left)."""
    for query in HOSTILE:
        with pytest.raises(InvalidParameter):
            run_query(db, query)
    db.conn.execute("BEGIN")
    db.conn.execute("INSERT INTO experiments (experiment_id, name) VALUES ('8', 'after')")
    db.conn.execute("COMMIT")
    assert run_query(db, "SELECT name FROM experiments WHERE experiment_id = '8'").rows == [("after",)]


@pytest.mark.parametrize(
    "query",
    [
        "SELECT count(*) FROM spans",
        "FROM experiments",
        "VALUES (1, 'a')",
        "DESCRIBE spans",
        "SHOW TABLES",
        "SHOW ALL TABLES",
        "SUMMARIZE experiments",
        "EXPLAIN SELECT * FROM spans",
        "EXPLAIN ANALYZE SELECT count(*) FROM traces",
        "EXPLAIN ANALYZE (SELECT 1)",
        "EXPLAIN (FORMAT json) SELECT 1",
        "WITH x AS (SELECT 1 AS n) SELECT n FROM x",
        "SELECT table_name FROM duckdb_tables()",
        "SELECT * FROM information_schema.columns",
        "SELECT * FROM range(3), unnest([1, 2])",
        "SELECT * FROM json_each('{\"a\": 1}')",
        "SELECT * FROM pragma_table_info('spans')",
        "UNPIVOT (SELECT 1 AS a, 2 AS b) ON a, b INTO NAME k VALUE v",
    ],
)
def test_read_only_questions_still_work(db: Database, query: str) -> None:
    assert run_query(db, query).columns


def test_no_system_view_or_allowed_function_shows_a_server_path(db: Database) -> None:
    secrets = [str(db.path.parent), os.path.expanduser("~"), str(Path.cwd())]
    views = db.conn.execute("SELECT schema_name, view_name FROM duckdb_views() WHERE internal").fetchall()
    queries = [f'SELECT * FROM {schema}."{view}"' for schema, view in views]
    queries += [f"SELECT * FROM {name}()" for name in sorted(TABLE_FUNCTIONS)]
    queries += [
        "SHOW DATABASES",
        "SHOW ALL TABLES",
        "SELECT * FROM pragma_storage_info('spans')",
        "SELECT * FROM pragma_show('spans')",
        "SELECT current_database(), current_schema()",
    ]
    shown = []
    for query in queries:
        try:
            result = run_query(db, query)
        except InvalidParameter as exc:
            assert "Not allowed" in str(exc) or "SQL error" in str(exc), (query, exc)
            continue
        text = repr(result.rows)
        shown += [(query, secret) for secret in secrets if secret in text]
    assert shown == []


@pytest.mark.parametrize(
    "query",
    [
        "EXPLAIN ANALYZE DROP TABLE spans",
        "EXPLAIN ANALYZE DELETE FROM experiments",
        "DELETE FROM experiments",
        "UPDATE experiments SET name = 'x'",
        "INSERT INTO experiments (experiment_id, name) VALUES ('9', 'x')",
        "DROP TABLE spans",
        "CREATE MACRO evil() AS 1",
        "ALTER TABLE spans RENAME TO gone",
    ],
)
def test_writes_fail_even_without_the_statement_check(
    db: Database, query: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The read-only transaction alone stops every write: the check is a second layer, not the wall."""
    monkeypatch.setattr(sandbox, "check_query", lambda cursor, query: None)
    before = _state(db)
    with pytest.raises(InvalidParameter, match="read-only mode"):
        run_query(db, query)
    assert _state(db) == before
