"""Scenario ``lake``: durable spans/s of one collector on a DuckLake store, then of two collectors
on one lake with the clients split between them, as a ratio (the scale-out figure).

A PostgreSQL cluster is started for the catalog (``tests/postgres.py``, as the tests do), each
round gets a new catalog database and data directory, and the collectors run from ``.venv-lake``
(duckdb 1.5 with the DuckLake extension wheels; ``make install`` creates it). Durable means
``count(*)`` over ``spans``, read on the first collector, reached every acknowledged span.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

from bench.clients import ClientSpec, run_clients
from bench.collector_proc import Collector, CollectorError
from tests.postgres import binaries, start_cluster

LAKE_PYTHON = Path(__file__).resolve().parents[1] / ".venv-lake" / "bin" / "python"


@dataclass(slots=True)
class LakeResult:
    durable_sps: dict[int, float] = field(default_factory=dict)
    """Collectors -> durable spans/s."""
    notes: list[str] = field(default_factory=list)

    @property
    def ratio(self) -> float | None:
        one, two = self.durable_sps.get(1), self.durable_sps.get(2)
        return two / one if one and two else None


def run_lake(data_root: Path, *, seconds: float, clients: int, batch: int, drain_timeout_s: float) -> LakeResult:
    result = LakeResult()
    if binaries() is None or not LAKE_PYTHON.exists():
        result.notes.append("skipped: needs Debian postgresql and .venv-lake (`make install`)")
        return result
    cluster = start_cluster()
    try:
        for count in (1, 2):
            dsn = cluster.create_database(f"bench_lake_{count}")
            lake_dir = data_root / f"lake-{count}" / "data"
            option = f', ducklake: {{catalog: "{dsn}", data_path: "{lake_dir}"}}'
            collectors = [
                Collector(
                    data_root / f"lake-{count}" / f"collector-{i}",
                    command=[str(LAKE_PYTHON), "-m", "annotrace.collector"],
                    exporter_options=option,
                )
                for i in range(count)
            ]
            try:
                for collector in collectors:
                    collector.start()
                specs = [
                    ClientSpec(
                        index=i,
                        protocol="grpc",
                        target=collectors[i % count].grpc_target,
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
                    result.notes.append(
                        f"{count} collector(s): only {stored:,} of {acked:,} acked spans stored in time"
                    )
                    result.durable_sps[count] = max(stored, 0) / (time.monotonic() - first)
                else:
                    result.durable_sps[count] = acked / (reached - first)
            except CollectorError as exc:
                result.notes.append(str(exc))
            finally:
                for collector in collectors:
                    collector.stop()
    finally:
        cluster.stop()
    return result


def print_lake(result: LakeResult) -> None:
    print(
        "\nlake (DuckLake: catalog in PostgreSQL, Parquet in a local directory; gRPC clients split across collectors)"
    )
    for count, rate in sorted(result.durable_sps.items()):
        print(f"   {count} collector(s): durable {rate:,.0f} spans/s")
    if result.ratio is not None:
        print(f"   2 vs 1 collectors: x{result.ratio:.2f}")
    for note in result.notes:
        print(f"   note: {note}")
