"""The default question on a database from before migration 0006: an experiment whose users made
their own "feedback" schema keeps it, as it is, and gets no second one until it is deleted."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import duckdb
import pytest

from annotrace.collector.errors import InvalidParameter
from annotrace.collector.store.migrate import migrate, schema_files
from annotrace.collector.store.queries import label_schemas as store

NOW = datetime(2025, 6, 1, 10, 0, 0)


@pytest.fixture
def conn(tmp_path: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    """A database migrated up to 0005, holding a user schema named "feedback", then brought forward."""
    connection = duckdb.connect(str(tmp_path / "old.duckdb"))
    connection.execute("CREATE TABLE schema_migrations (name VARCHAR PRIMARY KEY, applied_time TIMESTAMP NOT NULL)")
    for name, sql in schema_files():
        if name >= "0006":
            break
        connection.execute(sql)
        connection.execute("INSERT INTO schema_migrations VALUES (?, current_timestamp::TIMESTAMP)", [name])
    connection.execute(
        "INSERT INTO label_schemas (schema_id, experiment_id, name, type, title, instruction, enable_comment, "
        "input_type, input, created_by, created_at, updated_at) VALUES ('ls-old', '0', 'feedback', 'feedback', "
        'NULL, \'Mine\', false, \'pass_fail\', \'{"positive_label": "Up", "negative_label": "Down"}\', NULL, ?, ?)',
        [NOW, NOW],
    )
    assert "0006_default_label_schema" in migrate(connection)
    yield connection
    connection.close()


def test_an_older_schema_named_like_the_default_is_kept(conn: duckdb.DuckDBPyConnection) -> None:
    assert not store.needs_default(conn, "0")
    assert store.seed_default(conn, "0", NOW) is None
    [kept] = store.list_schemas(conn, "0", 10, 0)
    assert (kept.schema_id, kept.name, kept.input_type, kept.is_default) == ("ls-old", "feedback", "pass_fail", False)
    with pytest.raises(InvalidParameter, match="Label schema Feedback not found"):
        store.ensure(conn, "0", "Feedback", NOW)  # no default seeded beside it
    assert store.delete(conn, "ls-old")  # not the default: deletable
    seeded = store.seed_default(conn, "0", NOW)
    assert seeded is not None and (seeded.name, seeded.is_default) == ("Feedback", True)
    assert store.seed_default(conn, "0", NOW) == seeded
    assert [s.schema_id for s in store.list_schemas(conn, "0", 10, 0)] == [seeded.schema_id]
