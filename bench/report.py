"""Printing the figures: one table for all load scenarios, the ceilings, the targets, the notes.

Why one module: the numbers are read by people comparing runs, so the layout must not change
from run to run, and "n/a" must be visible where a figure was not measured rather than a zero.
`as_json` gives the same figures for machines (`--json PATH`).
"""

from __future__ import annotations

import dataclasses
import json
import os
import platform
from collections.abc import Sequence
from typing import Any, TextIO

from bench.ceiling import ROWS_STAGE, CeilingResult
from bench.scenarios import LoadResult

TARGET_DURABLE_SPS = 30_000
TARGET_P99_MS = 100.0
TARGET_RSS_BYTES = 1 << 30
_MIB = 1024 * 1024

_COLUMNS = (
    ("scenario", "<", 20),
    ("clients", ">", 7),
    ("accepted/s", ">", 10),
    ("durable/s", ">", 10),
    ("MB/s", ">", 5),
    ("p50 ms", ">", 7),
    ("p99 ms", ">", 7),
    ("max ms", ">", 7),
    ("peak RSS", ">", 9),
    ("B/span db", ">", 9),
    ("rejected", ">", 8),
    ("errors", ">", 6),
    ("coll CPU", ">", 8),
    ("µs/span", ">", 7),
)


def _num(value: float | int | None, digits: int = 0) -> str:
    if value is None:
        return "n/a"
    return f"{value:,.{digits}f}"


def _mib(value: int | None) -> str:
    return "n/a" if value is None else f"{value / _MIB:,.0f} MiB"


def _durable(r: LoadResult) -> str:
    return _num(r.durable_sps) + ("*" if r.durable_partial else "")


def _row(r: LoadResult) -> list[str]:
    cfg = r.config
    cpu = None
    if r.collector_cpu_s is not None and r.measured_s:
        cpu = r.collector_cpu_s / r.measured_s  # cores busy on average, first send to queryable
    return [
        cfg.name,
        f"{cfg.clients}x{cfg.inflight}",
        _num(r.accepted_sps),
        _durable(r),
        _num(r.durable_mb_s, 1),
        _num(r.p50_ms, 1),
        _num(r.p99_ms, 1),
        _num(r.max_ms, 0),
        _mib(r.peak_rss_bytes),
        _num(r.bytes_per_span, 0),
        _num(r.rejected_total),
        _num(sum(r.errors.values())),
        "n/a" if cpu is None else f"{cpu:.2f}",
        _num(r.cpu_us_per_span),
    ]


def _table(rows: Sequence[Sequence[str]], out: TextIO) -> None:
    header = "  ".join(f"{name:{align}{width}}" for name, align, width in _COLUMNS)
    print(header, file=out)
    print("-" * len(header), file=out)
    for row in rows:
        print("  ".join(f"{cell:{align}{width}}" for cell, (_, align, width) in zip(row, _COLUMNS)), file=out)


def _verdict(ok: bool | None) -> str:
    return "n/a" if ok is None else ("PASS" if ok else "FAIL")


def print_report(
    ceiling: CeilingResult | None,
    loads: Sequence[LoadResult],
    out: TextIO,
    load_before: tuple[float, float, float] | None = None,
) -> None:
    """`load_before` is os.getloadavg() before the run: other work on the machine skews every figure."""
    print("\n" + "=" * 100, file=out)
    print(
        f"annotrace bench  |  {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"{platform.system()} {platform.machine()}"
        + (
            f"  |  load average before the run {load_before[0]:.2f} (1 min), {load_before[1]:.2f} (5 min)"
            if load_before
            else ""
        ),
        file=out,
    )
    wire = {r.config.shape: r.wire_bytes_per_span for r in loads if r.wire_bytes_per_span}
    if loads:
        sizes = ", ".join(f"{_num(b)} B/span on the wire ({shape} scenarios)" for shape, b in sorted(wire.items()))
        print(
            f"traffic: {loads[0].config.spans_per_request}-span requests, 4-span GenAI traces; {sizes or 'n/a'}",
            file=out,
        )
    if ceiling is not None:
        print("\nDecode-only ceiling (in-process, one core)", file=out)
        print(f"  {'protobuf parse':<36}{_num(ceiling.parse_sps):>12} spans/s", file=out)
        for label, sps in ceiling.stages.items():
            print(f"  {label:<36}{_num(sps):>12} spans/s", file=out)
        print(
            f"  {'= spans -> rows ceiling':<36}{_num(ceiling.rows_sps):>12} spans/s"
            + (f"  ({ceiling.rows_path})" if ceiling.rows_path and ceiling.rows_path != ROWS_STAGE else ""),
            file=out,
        )
    if loads:
        print("\nLoad scenarios (durable = queryable in DuckDB; coll CPU = collector cores busy)", file=out)
        _table([_row(r) for r in loads], out)
    print("\nTargets", file=out)
    for label, value, ok in _targets(loads):
        print(f"  {label:<48}{value:>14}  {_verdict(ok)}", file=out)
    notes = ([("ceiling", n) for n in ceiling.notes] if ceiling else []) + [
        (r.config.name, n) for r in loads for n in r.notes
    ]
    for r in loads:
        detail = _details(r)
        if detail:
            notes.append((r.config.name, detail))
    if notes:
        print("\nNotes", file=out)
        for name, note in notes:
            print(f"  [{name}] {note}", file=out)
    print("=" * 100, file=out)


def _details(r: LoadResult) -> str:
    parts = []
    if r.rejected:
        parts.append("rejected: " + ", ".join(f"{k} {v}" for k, v in sorted(r.rejected.items())))
    if r.errors:
        parts.append("errors: " + ", ".join(f"{k} {v}" for k, v in sorted(r.errors.items())))
    if r.abandoned_requests:
        parts.append(f"{r.abandoned_requests} rejected requests not retried (time up)")
    if r.partially_rejected_spans:
        parts.append(f"{r.partially_rejected_spans} spans refused via partial_success")
    if r.config.rate_spans_s:
        offered = r.spans_acked / r.sending_s if r.sending_s else None
        parts.append(f"target rate {_num(r.config.rate_spans_s)}/s, achieved {_num(offered)}/s")
    parts.append(
        f"{_num(r.spans_acked)} spans acked in {_num(r.requests_ok)} requests"
        + (f", queryable after {r.durable_s:.1f}s" if r.durable_s else "")
        + (
            f", collector CPU {r.collector_cpu_s:.1f}s = {r.cpu_us_per_span:.0f} µs/span"
            if r.collector_cpu_s and r.cpu_us_per_span
            else ""
        )
        + (f", client CPU {r.client_cpu_s:.1f}s" if r.client_cpu_s else "")
        + (f", SIGTERM to exit {r.stop_s:.1f}s" if r.stop_s is not None else "")
    )
    return "; ".join(parts)


def _find(loads: Sequence[LoadResult], name: str) -> LoadResult | None:
    return next((r for r in loads if r.config.name == name), None)


def _targets(loads: Sequence[LoadResult]) -> list[tuple[str, str, bool | None]]:
    out: list[tuple[str, str, bool | None]] = []
    for name, label in (("grpc", "1.2 KB"), ("grpc 2k", "2.6 KB")):
        grpc = _find(loads, name)
        if grpc is None and name != "grpc":
            continue
        sps = grpc.durable_sps if grpc else None
        out.append(
            (
                f"gRPC durable spans/s >= {TARGET_DURABLE_SPS:,} ({label} spans)",
                _durable(grpc) if grpc else "n/a",
                None if sps is None else sps >= TARGET_DURABLE_SPS,
            )
        )
        half = _find(loads, f"{name} half-rate")
        p99 = half.p99_ms if half else None
        out.append(
            (
                f"p99 at half the peak rate <= {TARGET_P99_MS:.0f} ms ({label} spans)",
                _num(p99, 1) + " ms" if p99 else "n/a",
                None if p99 is None else p99 <= TARGET_P99_MS,
            )
        )
    # every load scenario but the paced one overloads the collector (clients are refused and
    # retry), so the memory bound is checked on the highest peak of them all, not one of them
    over = _find(loads, "overload")
    peaks = [r.peak_rss_bytes for r in loads if r.peak_rss_bytes]
    rss = max(peaks) if peaks else None
    out.append(
        ("peak RSS under overload <= 1 GiB (any scenario)", _mib(rss), None if rss is None else rss <= TARGET_RSS_BYTES)
    )
    if over is not None:
        ok = over.exit_code == 0 and not any("died" in n for n in over.notes)
        out.append(("overload: collector survives, exits 0 on SIGTERM", str(over.exit_code), ok))
    return out


def as_json(ceiling: CeilingResult | None, loads: Sequence[LoadResult]) -> str:
    def conv(obj: Any) -> Any:
        # Not dataclasses.asdict: it rebuilds a Counter from (key, value) pairs and so counts the pairs.
        if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
            return {f.name: conv(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
        if isinstance(obj, dict):
            return {str(k): conv(v) for k, v in obj.items()}
        if isinstance(obj, list):
            return [conv(v) for v in obj]
        return obj

    return json.dumps(
        {
            "ceiling": conv(ceiling),
            "loads": [conv(r) for r in loads],
            "targets": [{"target": t, "value": v, "pass": ok} for t, v, ok in _targets(loads)],
        },
        indent=2,
        default=str,
    )
