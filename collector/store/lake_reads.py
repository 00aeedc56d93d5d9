"""What keeps reads on a DuckLake store from paying PostgreSQL round trips they need not pay.

Every query on a lake reads the catalog in PostgreSQL before it reads Parquet: the snapshot, the
schema, then for each table it touches the table's statistics, its files and their min/max. Over
a network each of those is a round trip, and on a loaded machine each cost milliseconds, so a
page of a dozen small queries spent seconds in the catalog (``make bench``, scenario ``lake``;
README "Scale-out on DuckLake" has the figures). Two causes, two answers:

* **Tables that never held a row.** DuckLake (1.5.5's extension) caches a table's statistics,
  but not their absence: a table that never had a row has none, so every query that reads it
  asks PostgreSQL again, twice per column it names (``span_events`` in GetTrace: 12 round trips,
  every time; 40 of a 5-column table's 46). Span events, links, documents and assessments are
  empty in many deployments. ``give_statistics`` inserts one row into each such table and
  deletes it in the same transaction: nobody ever sees the row, and the table has statistics
  (zero rows) from then on. The collector does it at every start, after migrations.
* **One snapshot per query.** Outside a transaction each query looks up the newest snapshot and
  the schema again. ``store.access.Access.read`` runs a request's reads in one read-only
  transaction instead: one snapshot for the whole page or API call, so its queries agree with
  each other, and the catalog is read once per request, not once per query. Read-your-writes
  still holds: the transaction starts when the request is handled, after the read barrier, so
  it sees everything acknowledged before it, and nothing is cached across requests.
"""

from __future__ import annotations

import contextlib
import logging

import duckdb

from annotrace.collector.store.lake import LAKE_NAME

log = logging.getLogger(__name__)

NEVER_FILLED = f"""
SELECT t.table_name FROM __ducklake_metadata_{LAKE_NAME}.ducklake_table t
JOIN duckdb_tables() d ON d.database_name = '{LAKE_NAME}' AND d.schema_name = 'main' AND d.table_name = t.table_name
WHERE t.end_snapshot IS NULL
  AND t.table_id NOT IN (SELECT table_id FROM __ducklake_metadata_{LAKE_NAME}.ducklake_table_stats)
ORDER BY t.table_name
"""
"""The lake's tables that have no statistics row: no row was ever committed to them."""
PLACEHOLDER = (
    "coalesce(try_cast('0' AS {t}), try_cast('1970-01-01' AS {t}), try_cast('[]' AS {t}), try_cast('{{}}' AS {t}), "
    "try_cast('00000000-0000-0000-0000-000000000000' AS {t}))"
)
"""A value of most column types (0, '0', false, 1970-01-01, an empty list or map, a nil UUID), for
NOT NULL columns of the row that only exists inside ``give_statistics``'s transaction; a type with
none of these fails that table's insert, and the table stays without statistics (slower, not wrong)."""


def give_statistics(conn: duckdb.DuckDBPyConnection) -> list[str]:
    """Give every table that never held a row its statistics (see the module docstring): for each,
    one transaction inserts a row and deletes it again. A table another collector filled meanwhile
    (its rows are in this transaction's snapshot) is skipped, so the delete only ever removes the
    row inserted here. Returns the tables that got statistics; a table whose commit failed (two
    collectors starting at once, a column type without a placeholder) is logged and left to the
    next start."""
    done = []
    for (table,) in conn.execute(NEVER_FILLED).fetchall():
        conn.execute("BEGIN TRANSACTION")
        try:
            columns = conn.execute(
                "SELECT column_name, data_type, is_nullable FROM duckdb_columns() WHERE database_name = ? "
                "AND schema_name = 'main' AND table_name = ? ORDER BY column_index",
                [LAKE_NAME, table],
            ).fetchall()
            values = ", ".join("NULL" if nullable else PLACEHOLDER.format(t=kind) for _, kind, nullable in columns)
            names = ", ".join(f'"{name}"' for name, _, _ in columns)
            inserted = conn.execute(
                f'INSERT INTO "{table}" ({names}) SELECT {values} WHERE NOT EXISTS (SELECT 1 FROM "{table}")'
            ).fetchall()
            if inserted and inserted[0][0]:
                conn.execute(f'DELETE FROM "{table}"')
                done.append(table)
            conn.execute("COMMIT")
        except duckdb.Error as exc:
            with contextlib.suppress(duckdb.Error):  # a failed COMMIT has already ended the transaction
                conn.execute("ROLLBACK")
            log.warning(
                "store: lake table %s keeps no statistics until the next start (%s)", table, str(exc).splitlines()[0]
            )
    return done
