"""``store.db``: what the store's connection keeps of the Arrow tables it is given."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pyarrow as pa

from annotrace.collector.store.db import registered


def test_a_registered_table_is_let_go_when_its_block_ends_inside_an_open_transaction(tmp_path: Path) -> None:
    # the writer registers every batch inside one long transaction; DuckDB kept each table until COMMIT
    conn = duckdb.connect(str(tmp_path / "store.duckdb"))
    conn.execute("CREATE TABLE spans (content VARCHAR, n BIGINT)")
    before = pa.total_allocated_bytes()
    conn.execute("BEGIN TRANSACTION")
    for _ in range(3):
        batch = pa.table({"content": pa.array(["x" * 2000] * 5000), "n": pa.array(range(5000), pa.int64())})
        with registered(conn, batch_rows=batch):
            conn.execute("INSERT INTO spans SELECT * FROM batch_rows")
            # read twice in one statement, and again in a second one: each scan gets the whole table
            assert conn.execute("SELECT count(*) FROM batch_rows a JOIN batch_rows b USING (n)").fetchall() == [(5000,)]
        del batch
        assert pa.total_allocated_bytes() - before < 1 << 20  # ~10 MiB per batch while registered
    conn.execute("COMMIT")
    assert conn.execute("SELECT count(*), sum(n) FROM spans").fetchall() == [(15_000, 3 * sum(range(5000)))]
    conn.close()
