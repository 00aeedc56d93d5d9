"""Row visibility of user SQL on a DuckLake store: every table of the lake (``trace_parts`` behind
the ``traces`` view among them) gets one row per experiment, and a caller who may read only
'alpha' sees alpha's rows in every relation and cannot reach ``trace_parts``, ``lake_locks`` or
the lake's catalog. Run in the lake venv (duckdb 1.5), as the lake collectors are."""

from __future__ import annotations

import subprocess
import textwrap
from pathlib import Path

from tests.collector.store.lake_support import LAKE_PYTHON, REPO, Lake, needs_lake

pytestmark = needs_lake

SCRIPT = textwrap.dedent("""
    import sys
    from pathlib import Path

    from annotrace.collector.errors import InvalidParameter
    from annotrace.collector.store.db import Database
    from annotrace.collector.store.sandbox import run_query
    from annotrace.collector.store.visible_rows import ADMIN_ONLY, VISIBLE, run_visible_query
    from tests.collector.store.every_table import fill_every_table

    db = Database(Path(sys.argv[3]) / "annotrace.duckdb", lake_catalog=sys.argv[1], lake_data_path=sys.argv[2])
    cursor = db.cursor()
    fill_every_table(cursor)
    relations = {r[0] for r in cursor.execute(
        "SELECT table_name FROM duckdb_tables() WHERE database_name = current_database() UNION "
        "SELECT view_name FROM duckdb_views() WHERE database_name = current_database() AND NOT internal").fetchall()}
    cursor.close()
    assert relations - set(VISIBLE) - ADMIN_ONLY == set(), relations - set(VISIBLE) - ADMIN_ONLY
    alpha = frozenset({"alpha"})
    for relation in sorted(relations & set(VISIBLE)):
        everything = run_query(db, f"SELECT * FROM {relation}").rows
        expected = sorted(repr(row) for row in everything if "alpha" in repr(row))
        seen = run_visible_query(db, f"SELECT * FROM {relation}", alpha)
        assert sorted(map(repr, seen.rows)) == expected, relation
        assert seen.types == run_query(db, f"SELECT * FROM {relation}").types, relation
    assert run_visible_query(db, "SELECT experiment_id FROM traces", alpha).rows == [("alpha",)]
    for query in ("SELECT * FROM trace_parts", "SELECT * FROM lake_locks", "SELECT * FROM users",
                  "SELECT * FROM lake.main.spans", "SELECT * FROM __ducklake_metadata_lake.ducklake_table"):
        try:
            run_visible_query(db, query, alpha)
        except InvalidParameter:
            continue
        raise AssertionError(f"{query} ran")
    db.close()
    print("ok")
""")


def test_a_lake_shows_each_relation_only_the_readable_experiments_rows(lake: Lake, tmp_path: Path) -> None:
    catalog, data = lake
    done = subprocess.run(
        [str(LAKE_PYTHON), "-c", SCRIPT, catalog, str(data), str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=REPO,
    )
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stdout + done.stderr
