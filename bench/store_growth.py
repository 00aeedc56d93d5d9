"""Scenario ``growth``: does the collector's memory grow with the store? Peak RSS of the same load
on a store already holding 500,000 traces and on one holding 5,000,000 (issue 18: within 10%).

Why bulk-loaded: sending 5M traces (20M spans) through OTLP would take the bench ~15 minutes, and
what is measured is what a store of that size costs the collector, not how it got there. The
traces are written into the file before the collector starts, with ids and times as OTLP would
give them, through the collector's own schema (``Database`` runs the migrations); then the
collector takes the same paced gRPC load (2.6 KB spans) on both stores, so any difference in
peak RSS is what the store's size costs: until schema 0080, the ``traces`` primary key, an ART
index DuckDB held in memory (~75-96 B per trace), which every insert loaded whole.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from bench.collector_proc import Collector
from bench.key_growth import KeyGrowth, print_key_growth, run_key_growth
from bench.scenarios import LoadConfig, LoadResult, run_load

SIZES = (500_000, 5_000_000)
TRACES = """
INSERT INTO traces BY NAME
SELECT 'tr-' || id AS trace_id, '0' AS experiment_id, 'rag_pipeline' AS name, 'OK' AS state,
  start AS request_time, start + INTERVAL 1 SECOND AS end_time, 1000.0 AS execution_duration_ms,
  '{"question": "What is the refund policy?"}' AS request, '"You can ask for a refund within 30 days."' AS response,
  'What is the refund policy?' AS request_preview, 'You can ask for a refund within 30 days.' AS response_preview,
  '{}' AS tags, '{}' AS trace_metadata, 4 AS span_count, 0 AS error_span_count, 480 AS input_tokens,
  90 AS output_tokens, 570 AS total_tokens, right(id, 16) AS root_span_id, start AS last_update_time{key}
FROM (
  SELECT md5(i::VARCHAR) AS id, now()::TIMESTAMP - INTERVAL 30 DAY + to_microseconds((i * 500)::BIGINT) AS start
  FROM range($n) r(i)
)
"""
"""``$n`` traces starting 30 days ago, 0.5 ms apart, in time order as they would have arrived;
``{key}`` is ``KEY`` where ``traces`` has the column (schema 0080 on), else empty."""
KEY = ", ('0x' || right(id, 16))::UBIGINT AS trace_key"
HAS_KEY = "SELECT count(*) FROM duckdb_columns() WHERE table_name = 'traces' AND column_name = 'trace_key'"


@dataclass(slots=True)
class GrowthResult:
    sizes: tuple[int, int] = SIZES
    loads: dict[int, LoadResult] = field(default_factory=dict)
    """Traces in the store before the load -> the load's figures."""
    bulk_s: dict[int, float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    log_records: list[KeyGrowth] = field(default_factory=list)
    """``bench.key_growth``: the writer's log inserts on files of ``sizes`` records, with and without the key."""

    @property
    def ratio(self) -> float | None:
        small, large = (self.loads.get(n) for n in self.sizes)
        if small is None or large is None or not small.peak_rss_bytes or not large.peak_rss_bytes:
            return None
        return large.peak_rss_bytes / small.peak_rss_bytes


def _bulk(n: int, result: GrowthResult, command: list[str] | None) -> object:
    def prepare(path: Path) -> None:
        t0 = time.monotonic()
        schema = Collector(path.parent, command=command)  # the collector under test makes its own schema
        schema.start()
        schema.stop()
        with duckdb.connect(str(path)) as conn:
            keyed = conn.execute(HAS_KEY).fetchall()[0][0]
            conn.execute(TRACES.replace("{key}", KEY if keyed else ""), {"n": n})
            conn.execute("CHECKPOINT")
        result.bulk_s[n] = time.monotonic() - t0

    return prepare


def run_growth(
    data_root: Path,
    command: list[str] | None,
    *,
    seconds: float,
    rate: float,
    batch: int,
    sizes: tuple[int, int] = SIZES,
) -> GrowthResult:
    result = GrowthResult(sizes=sizes)
    for n in sizes:
        cfg = LoadConfig(
            name=f"growth {n // 1000:,}k",
            protocol="grpc",
            clients=2,
            duration_s=seconds,
            spans_per_request=batch,
            rate_spans_s=rate,
            shape="2k",
        )
        try:
            result.loads[n] = run_load(cfg, data_root, command, prepare=_bulk(n, result, command))  # type: ignore[arg-type]
        except Exception as exc:
            result.notes.append(f"{n:,} traces: {type(exc).__name__}: {exc}")
    try:
        result.log_records = run_key_growth(data_root / "growth log_records", sizes)
    except Exception as exc:
        result.notes.append(f"log_records: {type(exc).__name__}: {exc}")
    return result


def print_growth(r: GrowthResult) -> None:
    print("\nMemory against store size (the same paced gRPC load on a store of N traces, bulk-loaded)")
    for n, load in r.loads.items():
        rss = f"{load.peak_rss_bytes / 2**20:,.0f} MiB" if load.peak_rss_bytes else "n/a"
        bulk = f", bulk load {r.bulk_s[n]:.0f}s" if n in r.bulk_s else ""
        print(
            f"  {n:>11,} traces stored: peak RSS {rss:>10}, {load.spans_acked:,} spans acked{bulk}"
            + (f"; {'; '.join(load.notes)}" if load.notes else "")
        )
    ratio = r.ratio
    verdict = "n/a" if ratio is None else ("PASS" if ratio <= 1.10 else "FAIL")
    small, large = (f"{n / 1e6:g}M" if n >= 1_000_000 else f"{n // 1000:,}k" for n in r.sizes)
    print(f"  {f'peak RSS {large} / {small} <= 1.10':<48}{'n/a' if ratio is None else f'{ratio:.2f}':>14}  {verdict}")
    if r.log_records:
        print_key_growth(r.log_records)
    for note in r.notes:
        print(f"  [growth] {note}")
