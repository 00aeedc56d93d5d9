"""Applies the numbered ``schema/NNNN_*.sql`` files in order, each once, all pending in one transaction.

A merged schema file is never edited; a change is a new file. ``schema_migrations`` records what
ran, so opening an older database brings it forward and opening a current one does nothing.

Upgrades keep data: every pending file runs inside ONE transaction, with its ``schema_migrations``
row. If any of them fails, everything rolls back and the file is left byte for byte as it was, so
the release that wrote it still opens it; the collector refuses to start and says which file
failed (``Unavailable``). Applying the pending files one transaction each would leave a store
half-way between two releases, which neither release knows. A store that records a file this
release does not have was written by a newer release: it is refused before anything runs, as this
code cannot know what that file changed.

So a schema file must run inside a transaction, as DuckDB's DDL does. Adding a column always
works; dropping, renaming or retyping a column that an index (a primary key included) depends on
is refused by DuckDB: rebuild such a table instead (CREATE the new one, INSERT ... SELECT, DROP
the old, ALTER ... RENAME), which also runs in the transaction.

``tests/fixtures/store_0_1_0`` holds a store written by release 0.1.0;
``tests/collector/store/test_migrate.py`` upgrades it and compares every row.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from importlib import resources

import duckdb

from annotrace.collector.errors import Unavailable

SchemaFile = tuple[str, str]
"""(name without ``.sql``, its SQL text)"""


def schema_files() -> list[SchemaFile]:
    folder = resources.files("annotrace.collector.store") / "schema"
    files = sorted(p.name for p in folder.iterdir() if p.name.endswith(".sql"))
    return [(name.removesuffix(".sql"), (folder / name).read_text(encoding="utf-8")) for name in files]


Translate = Callable[[str, str], str]
"""(file name, SQL) -> the SQL to run: ``store.lake.translate`` for a DuckLake store."""
AfterFile = Callable[[duckdb.DuckDBPyConnection], None]
"""Runs after each file, in the same transaction: ``store.lake.create_traces_view``."""
CONFLICT_RETRIES = 5


def migrate(
    conn: duckdb.DuckDBPyConnection,
    where: str = "the store",
    translate: Translate | None = None,
    after_file: AfterFile | None = None,
) -> list[str]:
    """Apply pending migrations, all or none; returns the names applied.

    ``where`` names the store in error messages (its path). On a DuckLake store, collectors that
    start together migrate together: the one whose commit loses DuckLake's conflict check looks
    again, and finds the schema applied."""
    if translate is None:
        return _migrate(conn, where, translate, after_file)
    for attempt in range(CONFLICT_RETRIES):
        try:
            return _migrate(conn, where, translate, after_file)
        except duckdb.TransactionException:
            if attempt == CONFLICT_RETRIES - 1:
                raise
    return []


def _migrate(
    conn: duckdb.DuckDBPyConnection, where: str, translate: Translate | None, after_file: AfterFile | None
) -> list[str]:
    files = schema_files()
    known = {name for name, _ in files}
    exists = conn.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE database_name = current_database() "
        "AND schema_name = 'main' AND table_name = 'schema_migrations'"
    ).fetchall()[0][0]
    done: set[str] = set()
    if exists:
        done = {row[0] for row in conn.execute("SELECT name FROM schema_migrations").fetchall()}
    newer = sorted(done - known)
    if newer:
        raise Unavailable(
            f"{where} was written by a newer annotrace (it has schema {', '.join(newer)}, which this release "
            f"does not know; newest here: {files[-1][0] if files else 'none'}): run that release or a later one"
        )
    pending = [(name, sql) for name, sql in files if name not in done]
    if not pending:
        return []
    current = max(done) if done else "empty"
    conn.execute("BEGIN TRANSACTION")
    name = pending[0][0]
    try:
        conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations "
            f"(name VARCHAR{'' if translate else ' PRIMARY KEY'}, applied_time TIMESTAMP NOT NULL)"
        )
        for name, sql in pending:
            conn.execute(translate(name, sql) if translate else sql)
            if after_file is not None:
                after_file(conn)
            conn.execute("INSERT INTO schema_migrations VALUES (?, current_timestamp::TIMESTAMP)", [name])
        conn.execute("COMMIT")
    except duckdb.TransactionException:
        with contextlib.suppress(duckdb.Error):
            conn.execute("ROLLBACK")
        if translate is not None:
            raise  # a lake's commit conflict: ``migrate`` looks again
        raise Unavailable(f"cannot upgrade {where}: schema {name} failed (nothing was changed)") from None
    except duckdb.Error as exc:
        conn.execute("ROLLBACK")
        raise Unavailable(
            f"cannot upgrade {where}: schema {name} failed: {str(exc).splitlines()[0]}. Nothing was changed "
            f"(the store is still at schema {current}; the release that wrote it still opens it)"
        ) from None
    return [name for name, _ in pending]
