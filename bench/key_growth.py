"""Part of scenario ``growth``: do the stored log records cost the writer memory? (issue 18)

``log_records`` had a primary key until schema 0082: an ART index, which DuckDB holds in memory
and never evicts (~75-96 B per row), and which every ``INSERT OR IGNORE`` loaded and searched.
The writer now finds a batch's stored copies by ``record_key`` (``store.span_writes``). This
measures both designs the same way, each in a process of its own so that peak RSS is the
writer's alone: a file holding N records (bulk-loaded by an earlier process), then 50 commits
of 1,000 new records with 10 copies each, through the writer's statements
(``STORED_LOGS``/``INSERT_LOGS``) or the old ``INSERT OR IGNORE``. It prints peak RSS and CPU per
inserted record at both store sizes. ``assessments`` and ``genai_log_events_seen`` lost the same
kind of key (schemas 0081, 0084) and grow the same way with it; their writes are rarer.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pyarrow as pa

MODES = ("primary key", "record_key")
BATCHES, BATCH = 50, 1000
TABLE = """
CREATE TABLE log_records (record_id VARCHAR {key}, experiment_id VARCHAR NOT NULL, time TIMESTAMP,
  observed_time TIMESTAMP, trace_id VARCHAR, span_id VARCHAR, severity_number INTEGER, severity_text VARCHAR,
  event_name VARCHAR, body JSON, attributes JSON NOT NULL, resource_attributes JSON NOT NULL, scope_name VARCHAR
  {record_key})
"""
BULK = """
INSERT INTO log_records BY NAME SELECT md5(i::VARCHAR) AS record_id, '0' AS experiment_id, now()::TIMESTAMP AS time,
  'tr-' || md5((i // 4)::VARCHAR) AS trace_id, left(md5(i::VARCHAR), 16) AS span_id, 9 AS severity_number,
  'gen_ai.choice' AS event_name, '{{"content": "' || repeat('x', 80) || '"}}' AS body, '{{}}' AS attributes,
  '{{}}' AS resource_attributes{record_key}
FROM range($n) r(i)
"""


@dataclass(frozen=True, slots=True)
class KeyGrowth:
    mode: str
    records: int
    peak_rss_bytes: int
    cpu_us_per_record: float


def _create(path: Path, mode: str, n: int) -> None:
    keyed = mode == "primary key"
    with duckdb.connect(str(path)) as conn:
        conn.execute(
            TABLE.format(
                key="PRIMARY KEY" if keyed else "NOT NULL", record_key="" if keyed else ", record_key UBIGINT NOT NULL"
            )
        )
        column = "" if keyed else ", ('0x' || right(md5(i::VARCHAR), 16))::UBIGINT AS record_key"
        conn.execute(BULK.format(record_key=column), {"n": n})
        conn.execute("CHECKPOINT")


def _measure(path: Path, mode: str) -> dict[str, float]:
    from annotrace.collector.store.db import registered
    from annotrace.collector.store.span_writes import INSERT_LOGS, STORED_LOGS

    conn = duckdb.connect(str(path))
    conn.execute("SET threads = 1")  # the collector's writer on 2 cores
    before = conn.execute("SELECT count(*) FROM log_records").fetchall()[0][0]
    cpu = time.process_time()
    for b in range(BATCHES):
        ids = [f"{before + b * BATCH + i:032x}" for i in range(BATCH)]
        ids += ids[:10]  # copies within the batch
        batch = pa.table(
            {
                "record_id": ids,
                "experiment_id": ["0"] * len(ids),
                "body": ['{"content": "y"}'] * len(ids),
                "attributes": ["{}"] * len(ids),
                "resource_attributes": ["{}"] * len(ids),
            }
        )
        conn.execute("BEGIN")
        with registered(conn, batch_logs=batch):
            if mode == "primary key":
                conn.execute("INSERT OR IGNORE INTO log_records BY NAME SELECT * FROM batch_logs")
            else:
                stored = conn.sql(STORED_LOGS).to_arrow_table()
                with registered(conn, stored_logs=stored):
                    conn.execute(INSERT_LOGS)
        conn.execute("COMMIT")
    cpu = time.process_time() - cpu
    after = conn.execute("SELECT count(*) FROM log_records").fetchall()[0][0]
    assert after == before + BATCHES * BATCH, (before, after)
    return {"peak_rss_bytes": _peak_rss_bytes(), "cpu_s": cpu}


def _peak_rss_bytes() -> int:
    """This process's peak RSS (VmHWM): not ``ru_maxrss``, which Linux keeps across ``execve``, so
    a child of the bench would report the bench's own peak."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    return 0


def run_key_growth(directory: Path, sizes: tuple[int, int]) -> list[KeyGrowth]:
    directory.mkdir(parents=True, exist_ok=True)
    out = []
    for mode in MODES:
        for n in sizes:
            path = directory / f"log_records {mode} {n}.duckdb"
            path.unlink(missing_ok=True)
            args = [sys.executable, "-m", "bench.key_growth", mode, str(n), str(path)]
            subprocess.run([*args, "create"], check=True, timeout=1800)
            done = subprocess.run(args, check=True, timeout=1800, capture_output=True, text=True)
            got = json.loads(done.stdout.strip().splitlines()[-1])
            out.append(KeyGrowth(mode, n, int(got["peak_rss_bytes"]), got["cpu_s"] / (BATCHES * BATCH) * 1e6))
            path.unlink(missing_ok=True)
    return out


def print_key_growth(results: list[KeyGrowth]) -> None:
    print(f"\nlog_records: {BATCHES} commits of {BATCH:,} new records on a file of N records (one process each)")
    for r in results:
        print(
            f"  {r.mode:<12} {r.records:>11,} records stored: peak RSS {r.peak_rss_bytes / 2**20:>7,.0f} MiB, "
            f"writer CPU {r.cpu_us_per_record:5.1f} µs per record"
        )


if __name__ == "__main__":
    mode, n, path = sys.argv[1], int(sys.argv[2]), Path(sys.argv[3])
    if sys.argv[4:] == ["create"]:
        _create(path, mode, n)
    else:
        print(json.dumps(_measure(path, mode)))
