"""Scenario ``lake``: durable spans/s of one collector on the embedded file, of one on a DuckLake
store, then of two collectors on one lake with the clients split between them, as a ratio (the
scale-out figure); then the read side at scale: ``--lake-spans`` (10M) spans bulk-loaded into a
lake and into an embedded file (``bench.lake_bulk``), the latency of the trace table's reads and of
a GROUP BY on each, and bytes per span.

A PostgreSQL cluster is started for the catalog (``tests/postgres.py``, as the tests do), each
round gets a new catalog database and data directory, and the collectors run from ``.venv-lake``
(duckdb 1.5 with the DuckLake extension wheels; ``make install`` creates it). Durable means
``count(*)`` over ``spans``, read on the first collector, reached every acknowledged span.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from bench.clients import ClientSpec, run_clients
from bench.collector_proc import Collector, CollectorError
from tests.postgres import Cluster, binaries, start_cluster

REPO = Path(__file__).resolve().parents[1]
LAKE_PYTHON = REPO / ".venv-lake" / "bin" / "python"
EMBEDDED = 0
"""The ``durable_sps`` key of the embedded file's round (one collector, no lake)."""


@dataclass(slots=True)
class BulkResult:
    """One store with ``spans`` bulk-loaded: load time, size and the reads' latencies."""

    spans: int = 0
    load_s: float = 0.0
    load_cpu_s: float = 0.0
    """CPU seconds of the loading process: on a shared machine the wall time is mostly waiting."""
    transactions: int = 0
    data_bytes: int = 0
    catalog_bytes: int = 0
    queries: dict[str, dict[str, float]] = field(default_factory=dict)
    """Query -> {"cold_ms", "warm_ms"} (``bench.lake_bulk.measure``)."""

    @property
    def bytes_per_span(self) -> float:
        return (self.data_bytes + self.catalog_bytes) / self.spans if self.spans else 0.0


@dataclass(slots=True)
class LakeResult:
    durable_sps: dict[int, float] = field(default_factory=dict)
    """Collectors on the lake (``EMBEDDED``: one on the file) -> durable spans/s."""
    bulk: dict[str, BulkResult] = field(default_factory=dict)
    """"file" / "lake" -> the figures at ``--lake-spans``."""
    seconds: float = 0.0
    load_average: tuple[float, float, float] = (0.0, 0.0, 0.0)
    notes: list[str] = field(default_factory=list)

    @property
    def ratio(self) -> float | None:
        one, two = self.durable_sps.get(1), self.durable_sps.get(2)
        return two / one if one and two else None


def run_lake(
    data_root: Path,
    *,
    seconds: float,
    clients: int,
    batch: int,
    drain_timeout_s: float,
    bulk_spans: int = 10_000_000,
) -> LakeResult:
    result = LakeResult()
    started = time.monotonic()
    if binaries() is None or not LAKE_PYTHON.exists():
        result.notes.append("skipped: needs Debian postgresql and .venv-lake (`make install`)")
        return result
    cluster = start_cluster()
    try:
        _run_rates(result, cluster, data_root, seconds, clients, batch, drain_timeout_s)
        if bulk_spans > 0:
            result.bulk["file"] = _bulk(data_root / "lake-bulk-file", bulk_spans)
            result.bulk["lake"] = _bulk(data_root / "lake-bulk", bulk_spans, cluster)
    except (subprocess.CalledProcessError, ValueError) as exc:
        result.notes.append(f"bulk load failed: {exc}")
    finally:
        cluster.stop()
    result.seconds = time.monotonic() - started
    result.load_average = os.getloadavg()
    return result


def _bulk(directory: Path, spans: int, cluster: Cluster | None = None) -> BulkResult:
    """``bench.lake_bulk`` in the store's interpreter; its progress goes to stderr."""
    directory.mkdir(parents=True, exist_ok=True)
    if cluster is None:
        target = ["--file", str(directory / "annotrace.duckdb")]
        python = sys.executable
    else:
        target = ["--catalog", cluster.create_database("bench_lake_bulk"), "--data", str(directory / "data")]
        python = str(LAKE_PYTHON)
    print(f"   bulk-loading {spans:,} spans into {'the embedded file' if cluster is None else 'a lake'}", flush=True)
    out = subprocess.run(
        [python, "-m", "bench.lake_bulk", "--spans", str(spans), *target],
        cwd=REPO,
        check=True,
        stdout=subprocess.PIPE,
        text=True,
    ).stdout
    figures = json.loads(out.strip().splitlines()[-1])
    result = BulkResult(
        spans=figures["spans"],
        load_s=figures["load_s"],
        load_cpu_s=figures["load_cpu_s"],
        transactions=figures["transactions"],
        queries=figures["queries"],
    )
    result.data_bytes = sum(p.stat().st_size for p in directory.rglob("*") if p.is_file())
    if cluster is not None:
        result.catalog_bytes = int(cluster.query("bench_lake_bulk", "SELECT pg_database_size('bench_lake_bulk')"))
    return result


def _run_rates(
    result: LakeResult,
    cluster: Cluster,
    data_root: Path,
    seconds: float,
    clients: int,
    batch: int,
    drain_timeout_s: float,
) -> None:
    """Durable spans/s of one collector on the file, then one and two on a lake."""
    for count in (EMBEDDED, 1, 2):
        if count == EMBEDDED:
            option, command, members = "", None, 1
        else:
            dsn = cluster.create_database(f"bench_lake_{count}")
            lake_dir = data_root / f"lake-{count}" / "data"
            option = f', ducklake: {{catalog: "{dsn}", data_path: "{lake_dir}"}}'
            command, members = [str(LAKE_PYTHON), "-m", "annotrace.collector"], count
        collectors = [
            Collector(data_root / f"lake-{count}" / f"collector-{i}", command=command, exporter_options=option)
            for i in range(members)
        ]
        try:
            for collector in collectors:
                collector.start()
            specs = [
                ClientSpec(
                    index=i,
                    protocol="grpc",
                    target=collectors[i % members].grpc_target,
                    spans_per_request=batch,
                    duration_s=seconds,
                    phase=i / clients,
                )
                for i in range(clients)
            ]
            outcomes = run_clients(specs)
            acked = sum(c.spans_acked for c in outcomes)
            first = min(c.first_send for c in outcomes if c.first_send)
            reached, stored = collectors[0].wait_for_count(acked, drain_timeout_s, poll_s=0.5)
            if reached is None:
                result.notes.append(f"{_label(count)}: only {stored:,} of {acked:,} acked spans stored in time")
                result.durable_sps[count] = max(stored, 0) / (time.monotonic() - first)
            else:
                result.durable_sps[count] = acked / (reached - first)
        except CollectorError as exc:
            result.notes.append(str(exc))
        finally:
            for collector in collectors:
                collector.stop()


def _label(count: int) -> str:
    return "embedded file, 1 collector" if count == EMBEDDED else f"lake, {count} collector(s)"


QUERIES = {
    "search_traces": "search_traces page (100 newest of one experiment)",
    "get_trace": "open one trace (GetTrace: row + spans)",
    "trace_page": "open one trace (trace page's explorer)",
    "group_by_traces": "GROUP BY over traces (experiment, state)",
    "group_by_spans": "GROUP BY over spans (model, span type)",
    "group_by_spans_deduped_at_read": "  same over spans deduped at read (QUALIFY)",
}


def _ms(cell: dict[str, float] | None) -> str:
    return f"{cell['cold_ms']:,.0f} / {cell['warm_ms']:,.0f}" if cell else "n/a"


def print_lake(result: LakeResult) -> None:
    one, two, load = result.durable_sps.get(1), result.durable_sps.get(2), result.load_average
    print(
        "\nlake (DuckLake: catalog in PostgreSQL, Parquet in a local directory; gRPC clients split across "
        f"collectors; {result.seconds / 60:.0f} min, load average {load[0]:.1f} {load[1]:.1f} {load[2]:.1f} "
        f"on {os.cpu_count()} cores)"
    )
    for count, rate in sorted(result.durable_sps.items()):
        print(f"   {_label(count)}: durable {rate:,.0f} spans/s")
    if one and two:
        print(f"   2 vs 1 lake collectors: x{two / one:.2f}")
    if one and result.durable_sps.get(EMBEDDED):
        print(f"   1 lake collector vs the embedded file: x{one / result.durable_sps[EMBEDDED]:.2f}")
    if result.bulk:
        names = list(result.bulk)
        spans = max(b.spans for b in result.bulk.values())
        print(f"   at {spans:,} spans (bulk-loaded), ms cold / warm median:{''.join(f'{n:>22}' for n in names)}")
        for key, label in QUERIES.items():
            cells = [result.bulk[n].queries.get(key) for n in names]
            if any(cells):
                print(f"     {label:<56}{''.join(f'{_ms(cell):>22}' for cell in cells)}")
        sizes = "".join(f"{f'{b.bytes_per_span:,.0f}':>22}" for b in result.bulk.values())
        print(f"     {'bytes per span (file; lake: data dir + catalog)':<56}{sizes}")
        loads = "".join(f"{f'{b.load_s:,.0f} ({b.load_cpu_s:,.0f} CPU)':>22}" for b in result.bulk.values())
        print(f"     {'bulk load seconds (CPU seconds of the loader)':<56}{loads}")
        commits = "".join(f"{b.transactions:>22,}" for b in result.bulk.values())
        print(f"     {'transactions (up to 1M spans each)':<56}{commits}")
        print(
            "     built by bench/lake_bulk.py: agent traces of 4 spans generated in SQL from range() (10 experiments, "
            "2 chat calls with ~1.5 KB of unique messages per trace), inserted through the writer's own statements "
            "(spans, messages, traces rows; trace_parts on the lake); the rows are those OTLP ingest stores for the "
            "same spans, cell for cell (python -m bench.lake_bulk_check compares the two)"
        )
    for note in result.notes:
        print(f"   note: {note}")
