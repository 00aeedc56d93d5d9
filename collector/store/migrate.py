"""Applies the numbered ``schema/NNNN_*.sql`` files in order, each once, each in one transaction.

A merged schema file is never edited; a change is a new file. ``schema_migrations`` records what
ran, so opening an older database brings it forward and opening a current one does nothing.
"""

from __future__ import annotations

from importlib import resources

import duckdb


def schema_files() -> list[tuple[str, str]]:
    folder = resources.files("annotrace.collector.store") / "schema"
    files = sorted(p.name for p in folder.iterdir() if p.name.endswith(".sql"))
    return [(name.removesuffix(".sql"), (folder / name).read_text(encoding="utf-8")) for name in files]


def migrate(conn: duckdb.DuckDBPyConnection) -> list[str]:
    """Apply pending migrations; returns the names applied."""
    conn.execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations (name VARCHAR PRIMARY KEY, applied_time TIMESTAMP NOT NULL)"
    )
    done = {row[0] for row in conn.execute("SELECT name FROM schema_migrations").fetchall()}
    applied = []
    for name, sql in schema_files():
        if name in done:
            continue
        conn.execute("BEGIN TRANSACTION")
        try:
            conn.execute(sql)
            conn.execute("INSERT INTO schema_migrations VALUES (?, current_timestamp::TIMESTAMP)", [name])
            conn.execute("COMMIT")
        except Exception:
            conn.execute("ROLLBACK")
            raise
        applied.append(name)
    return applied
