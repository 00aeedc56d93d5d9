"""Row visibility of user SQL on a real DuckDB file: every table of the store gets one row per
experiment ('alpha' and 'bravo'; ids and texts carry the experiment's name), and a caller who may
read only 'alpha' sees, in every relation, alpha's rows and nothing of bravo's, while every way out
of the in-memory instance the query runs on (other catalogs, system views, table functions, ATTACH,
Python variables) finds nothing more."""

from __future__ import annotations

from collections.abc import Iterator

import duckdb
import pytest

from annotrace.collector.errors import InvalidParameter
from annotrace.collector.store.db import Database
from annotrace.collector.store.sandbox import run_query
from annotrace.collector.store.visible_rows import ADMIN_ONLY, LAKE_ONLY, VISIBLE, _sandbox, run_visible_query
from tests.collector.store.every_table import EXPERIMENTS, fill_every_table


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Database]:
    database = Database(tmp_path_factory.mktemp("visible") / "annotrace.duckdb")
    fill_every_table(database.conn)
    yield database
    database.close()


def _relations(db: Database) -> set[str]:
    return {
        row[0]
        for row in db.conn.execute(
            "SELECT table_name FROM duckdb_tables() UNION SELECT view_name FROM duckdb_views() WHERE NOT internal"
        ).fetchall()
    }


def test_every_relation_of_the_store_is_decided(db: Database) -> None:
    """A new table or view must say who sees it: in VISIBLE with its filter, or ADMIN_ONLY."""
    assert _relations(db) - set(VISIBLE) - ADMIN_ONLY == set()


@pytest.mark.parametrize("relation", sorted(VISIBLE))
def test_each_relation_shows_only_the_readable_experiments_rows(db: Database, relation: str) -> None:
    everything = run_query(db, f"SELECT * FROM {relation}").rows
    alpha = [row for row in everything if "alpha" in repr(row)]
    assert len(alpha) == len([row for row in everything if "bravo" in repr(row)])
    seen = run_visible_query(db, f"SELECT * FROM {relation}", frozenset({"alpha"}))
    assert sorted(map(repr, seen.rows)) == sorted(map(repr, alpha))
    assert seen.columns == run_query(db, f"SELECT * FROM {relation}").columns
    assert seen.types == run_query(db, f"SELECT * FROM {relation}").types  # JSON stays JSON
    assert run_visible_query(db, f"SELECT * FROM {relation}", frozenset()).rows == []


def test_joins_and_aggregates_see_the_same_rows(db: Database) -> None:
    query = (
        "SELECT t.experiment_id, count(*) FROM traces t JOIN spans s USING (trace_id) "
        "JOIN assessments a ON a.trace_id = t.trace_id GROUP BY ALL ORDER BY 1"
    )
    assert run_query(db, query).rows == [("alpha", 1), ("bravo", 1)]
    assert run_visible_query(db, query, frozenset({"alpha"})).rows == [("alpha", 1)]
    both = run_visible_query(db, query, frozenset(EXPERIMENTS))
    assert both.rows == [("alpha", 1), ("bravo", 1)]
    arrow = run_visible_query(db, query, frozenset({"alpha"}), arrow=True)
    assert arrow.arrow is not None and arrow.arrow.to_pylist() == [{"experiment_id": "alpha", "count_star()": 1}]


@pytest.mark.parametrize("relation", sorted(ADMIN_ONLY - LAKE_ONLY))
def test_tables_without_an_experiment_do_not_exist(db: Database, relation: str) -> None:
    with pytest.raises(InvalidParameter, match=f"Table with name {relation} does not exist"):
        run_visible_query(db, f"SELECT * FROM {relation}", frozenset(EXPERIMENTS))


ESCAPES = [
    "SELECT * FROM annotrace.main.users",
    "SELECT * FROM annotrace.spans WHERE experiment_id = 'bravo'",
    "SELECT * FROM query_table('users')",
    "SELECT * FROM query('SELECT * FROM users')",
    "SELECT * FROM read_parquet('annotrace.duckdb')",
    "SELECT * FROM 'annotrace.duckdb'",
    "ATTACH 'annotrace.duckdb' AS store",
    "SELECT * FROM duckdb_databases()",
    "SELECT * FROM database",  # run_visible_query's local variables (DuckDB's Python replacement scans)
    "SELECT * FROM source",
    "SELECT * FROM rows",
    "SELECT * FROM db",
]


@pytest.mark.parametrize("query", ESCAPES)
def test_no_way_out_of_the_visible_rows(db: Database, query: str) -> None:
    with pytest.raises(InvalidParameter):
        run_visible_query(db, query, frozenset({"alpha"}))


def test_the_catalog_shows_only_the_visible_relations_and_rows(db: Database) -> None:
    alpha = frozenset({"alpha"})
    tables = {row[0] for row in run_visible_query(db, "SELECT table_name FROM duckdb_tables()", alpha).rows}
    assert tables == set(VISIBLE) & _relations(db)
    schema = {row[0] for row in run_visible_query(db, "SELECT table_name FROM information_schema.tables", alpha).rows}
    assert schema == tables
    assert {row[0] for row in run_visible_query(db, "SHOW TABLES", alpha).rows} == tables
    assert run_visible_query(db, "SELECT database_name FROM duckdb_tables() LIMIT 1", alpha).rows == [("memory",)]
    everywhere = run_visible_query(
        db,
        "SELECT string_agg(t::VARCHAR) FROM (SELECT * FROM spans UNION ALL BY NAME SELECT * FROM traces "
        "UNION ALL BY NAME SELECT * FROM experiments) t",
        alpha,
    )
    assert "alpha" in str(everywhere.rows) and "bravo" not in str(everywhere.rows)


def test_the_query_instance_cannot_open_the_store_file(db: Database) -> None:
    """Even a statement the sandbox check let through could not reach the file: the instance the
    query runs on has no file system access, and its settings are locked."""
    instance = _sandbox()
    with pytest.raises(duckdb.Error):  # DuckDB: "already attached" (the store's instance has it)
        instance.execute(f"ATTACH '{db.path}' AS store (READ_ONLY)")
    with pytest.raises(duckdb.PermissionException):
        instance.execute(f"ATTACH '{db.path.with_name('copy.duckdb')}' AS store (READ_ONLY)")
    with pytest.raises(duckdb.PermissionException):
        instance.execute(f"SELECT * FROM read_parquet('{db.path}')")
    instance.execute("SET lock_configuration = true")
    with pytest.raises(duckdb.InvalidInputException):
        instance.execute("SET enable_external_access = true")
    instance.close()


def test_the_sandbox_rules_still_apply(db: Database) -> None:
    for query in ("DROP TABLE spans", "SELECT * FROM duckdb_settings()", "SET threads = 1", "SELECT 1; SELECT 2"):
        with pytest.raises(InvalidParameter):
            run_visible_query(db, query, frozenset({"alpha"}))
    assert run_visible_query(db, "SELECT count(*) FROM spans", frozenset({"alpha"})).rows == [(1,)]


PARTIAL = [  # only some columns are copied: every spelling that reads more must still see them
    ("SELECT name, model FROM spans", "SELECT name, model FROM spans WHERE experiment_id = 'alpha'"),
    ("SELECT count(*) FROM spans", "SELECT count(*) FROM spans WHERE experiment_id = 'alpha'"),
    ("SELECT s FROM spans s", "SELECT s FROM spans s WHERE experiment_id = 'alpha'"),
    ("SELECT t.* FROM traces t", "SELECT * FROM traces WHERE experiment_id = 'alpha'"),
    ("SELECT #2 FROM traces", "SELECT #2 FROM traces WHERE experiment_id = 'alpha'"),
    ("SELECT name FROM spans t(name)", "SELECT trace_id FROM spans WHERE experiment_id = 'alpha'"),
    ("SELECT COLUMNS('.*_id') FROM traces", "SELECT COLUMNS('.*_id') FROM traces WHERE experiment_id = 'alpha'"),
    ("FROM traces NATURAL JOIN spans", "FROM traces NATURAL JOIN spans WHERE experiment_id = 'alpha'"),
    (
        "SELECT a.value, t.name FROM assessments a JOIN traces t USING (trace_id)",
        "SELECT a.value, t.name FROM assessments a JOIN traces t USING (trace_id) WHERE t.experiment_id = 'alpha'",
    ),
    (
        "SELECT list_transform(experiment_ids::VARCHAR[], lambda x: upper(x)) FROM datasets",
        "SELECT list_transform(experiment_ids::VARCHAR[], lambda x: upper(x)) FROM datasets WHERE experiment_ids::VARCHAR LIKE '%alpha%'",
    ),
]


@pytest.mark.parametrize(("query", "expected"), PARTIAL)
def test_queries_that_read_unnamed_columns_get_them(db: Database, query: str, expected: str) -> None:
    assert repr(run_visible_query(db, query, frozenset({"alpha"})).rows) == repr(run_query(db, expected).rows)
