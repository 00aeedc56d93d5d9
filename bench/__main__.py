"""`python -m bench` (`make bench`): start real collectors, load them, print the figures.

Scenarios, in order (each load scenario gets a fresh collector and data directory):
  decode    in-process ceilings: protobuf parse, and the collector's spans -> rows path
  writer    the DuckDB writer alone (in-process): its CPU and the file's bytes per span, both span sizes
  grpc      4 client processes, raw gRPC channel sending pre-serialized 512-span requests (~1.2 KB spans)
  grpc2k    the same with ~2.6 KB GenAI spans (5 retrieved documents of ~1 KB, a ~3 KB prompt, a ~1 KB
            completion: bench/trace_shapes.py), the size real GenAI apps send
  stub      the same through the generated TraceServiceStub (client parses + re-serializes)
  http      4 client processes, OTLP/HTTP protobuf with httpx
  half      gRPC paced to half the durable rate measured by `grpc` (latency when not saturated)
  half2k    the same for `grpc2k`
  overload  8 clients as fast as possible against the default spool backlog (back-pressure, memory)
  ryw       read-your-writes: export a trace, read it at once; read latency idle, under gRPC load paced
            at 80% of `grpc`'s durable rate and unpaced, and those loads' ingest rates with the reads on
  assessments  log_feedback round trip, feedback-filtered search over 100,000 traces (--quick: 20,000),
            GROUP BY over 1,000,000 assessments (bulk-loaded into the stopped collector's file)
  agreement  the agreement report of a session of 10,000 items x 3 labelers x 3 schemas (in-process)
  sqlrows   what SQL row visibility costs: queries over 100,000 spans in 5 experiments as an admin, as a
            user of 1 experiment and as a viewer of all 5 (in-process)
  growth    peak RSS of the same paced gRPC load on a store of 500,000 and of 5,000,000 traces (bulk-loaded)
  lake      DuckLake store: durable spans/s of 1 collector on the file, 1 on a lake, then 2 on one lake
            (clients split), as ratios; then --lake-spans (10M) spans bulk-loaded into a lake and a file:
            trace table and GROUP BY latencies, bytes per span (about 45 min on 2 loaded cores)
  auth      what authentication costs: authenticate() per call, and gRPC spans/s through an open
            receiver vs one behind bearertokenauth, same collector, alternating rounds

Every option can also be set by environment, e.g. BENCH_DURATION=60 for --duration 60;
BENCH_DUCKDB_THREADS sets the collectors' `duckdb` exporter `threads` (0 = its default), BENCH_DECODE_WORKERS
their spool `decode_workers` (-1 = its default).
`--quick` shortens everything to about a minute; the default run takes about 3 minutes; `--smoke`
(bench/options.py) runs every scenario at a toy size, for the tests. All
grow when the collector cannot keep up: the bench then waits (at most --drain-timeout) for the
store to catch up, and SIGTERM makes the collector store its whole backlog before it exits.
"""

from __future__ import annotations

import os
import shlex
import shutil
import sys
from collections.abc import Sequence
from pathlib import Path

from bench.agreement import AgreementResult, print_agreement, run_agreement
from bench.assessments import AssessmentsConfig, AssessmentsResult, as_dict, print_assessments, run_assessments
from bench.auth import AuthResult, print_auth, run_auth
from bench.ceiling import CeilingResult, run_ceiling
from bench.lake import LakeResult, print_lake, run_lake
from bench.options import DEFAULT_HALF_RATE, parse_args
from bench.read_your_writes import RywConfig, RywResult, print_read_your_writes, run_read_your_writes, ryw_as_dict
from bench.report import as_json, print_report
from bench.scenarios import LoadConfig, LoadResult, run_load
from bench.sql_visibility import SqlRowsResult, print_sql_rows, run_sql_rows
from bench.store_growth import GrowthResult, print_growth, run_growth
from bench.writer import WriterResult, print_writer, run_writer


def _say(text: str) -> None:
    print(text, flush=True)


def _summary(r: LoadResult) -> str:
    def f(v: float | None, unit: str = "") -> str:
        return "n/a" if v is None else f"{v:,.0f}{unit}"

    star = "*" if r.durable_partial else ""
    return (
        f"   accepted {f(r.accepted_sps)}/s, durable {f(r.durable_sps)}{star}/s, p50 {f(r.p50_ms, ' ms')}, "
        f"p99 {f(r.p99_ms, ' ms')}, peak RSS {f((r.peak_rss_bytes or 0) / 2**20 or None, ' MiB')}, "
        f"rejected {r.rejected_total}" + ("" if not r.notes else f"  ({len(r.notes)} note(s))")
    )


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv, __doc__)
    load_before = os.getloadavg()
    command = shlex.split(args.collector_cmd) if args.collector_cmd else None
    data_root: Path = args.data_dir.resolve()
    data_root.mkdir(parents=True, exist_ok=True)
    ceiling: CeilingResult | None = None
    loads: list[LoadResult] = []

    def load(cfg: LoadConfig) -> LoadResult:
        pace = f", paced to {cfg.rate_spans_s:,.0f} spans/s" if cfg.rate_spans_s else ""
        _say(
            f"[{cfg.name}] {cfg.clients} {cfg.protocol} clients x {cfg.inflight} in flight, "
            f"{cfg.spans_per_request}-span requests, {cfg.duration_s:g}s, backlog {cfg.backlog_mib} MiB{pace}"
        )
        result = run_load(cfg, data_root, command)
        _say(_summary(result))
        loads.append(result)
        if not args.keep:
            shutil.rmtree(data_root / cfg.name, ignore_errors=True)
        return result

    common = {
        "spans_per_request": args.batch,
        "retry_sleep_s": args.retry_sleep,
        "drain_timeout_s": args.drain_timeout,
    }
    if "decode" in args.scenarios:
        _say(f"[decode] in-process ceilings, {args.decode_seconds:g}s per stage")
        ceiling = run_ceiling(args.batch, args.decode_seconds)
    writer: WriterResult | None = None
    if "writer" in args.scenarios:
        _say("[writer] the DuckDB writer alone, in-process: 2.6 KB and 1.2 KB spans, 8,192- and 512-span batches")
        writer = run_writer(data_root, args.sizes.writer_spans)
    peaks: dict[str, LoadResult] = {}
    for scenario, name, protocol, seconds, shape in (
        ("grpc", "grpc", "grpc", args.duration, "1k"),
        ("grpc2k", "grpc 2k", "grpc", args.duration, "2k"),
        ("stub", "grpc-stub", "grpc-stub", args.stub_duration, "1k"),
        ("http", "http", "http", args.duration, "1k"),
    ):
        if scenario in args.scenarios:
            peaks[scenario] = load(
                LoadConfig(
                    name=name,
                    protocol=protocol,
                    clients=args.clients,
                    duration_s=seconds,
                    inflight=args.inflight,
                    backlog_mib=args.backlog_mib,
                    shape=shape,
                    **common,
                )
            )
    grpc = peaks.get("grpc")
    for scenario, peak_name, shape in (("half", "grpc", "1k"), ("half2k", "grpc2k", "2k")):
        if scenario not in args.scenarios:
            continue
        peak = peaks.get(peak_name)
        rate = args.half_rate or (peak.durable_sps / 2 if peak and peak.durable_sps else DEFAULT_HALF_RATE)
        half = load(
            LoadConfig(
                name=("grpc" if shape == "1k" else "grpc 2k") + " half-rate",
                protocol="grpc",
                clients=args.clients,
                duration_s=args.half_duration,
                inflight=args.inflight,
                rate_spans_s=rate,
                backlog_mib=args.backlog_mib,
                shape=shape,
                **common,
            )
        )
        if not args.half_rate and not (peak and peak.durable_sps):
            half.notes.append(f"no measured gRPC durable rate: paced to the default {DEFAULT_HALF_RATE:,.0f} spans/s")
    if "overload" in args.scenarios:
        load(
            LoadConfig(
                name="overload",
                protocol="grpc",
                clients=args.overload_clients,
                duration_s=args.overload_duration,
                inflight=args.overload_inflight,
                backlog_mib=args.overload_backlog_mib,
                **common,
            )
        )
    ryw: RywResult | None = None
    if "ryw" in args.scenarios:
        _say(
            f"[ryw] {args.ryw_probes} export-then-read probes idle, then probes for {args.ryw_duration:g}s under "
            f"{args.clients} gRPC clients x {args.inflight}"
        )
        paced = grpc.durable_sps * 0.8 if grpc and grpc.durable_sps and not grpc.durable_partial else DEFAULT_HALF_RATE
        ryw_load = dict(
            protocol="grpc",
            clients=args.clients,
            duration_s=args.ryw_duration,
            inflight=args.inflight,
            backlog_mib=args.backlog_mib,
            **common,
        )
        ryw = run_read_your_writes(
            RywConfig(
                idle_probes=args.ryw_probes,
                loads=(
                    LoadConfig(name="ryw paced", rate_spans_s=paced, **ryw_load),  # type: ignore[arg-type]
                    LoadConfig(name="ryw saturated", **ryw_load),  # type: ignore[arg-type]
                ),
            ),
            data_root,
            command,
        )
        if not args.keep:
            for name in ("ryw-idle", "ryw paced", "ryw saturated"):
                shutil.rmtree(data_root / name, ignore_errors=True)
    assessments: AssessmentsResult | None = None
    if "assessments" in args.scenarios:
        _say(
            f"[assessments] {args.assess_traces:,} traces over gRPC, {args.assess_calls} log_feedback calls, "
            f"{args.assess_feedback:,} REST feedbacks, {args.assess_rows:,} assessments bulk-loaded"
        )
        assessments = run_assessments(
            AssessmentsConfig(
                traces=args.assess_traces,
                feedback_traces=args.assess_feedback,
                feedback_calls=args.assess_calls,
                rows=args.assess_rows,
                drain_timeout_s=max(args.drain_timeout, 120.0),
                quick=args.quick,
            ),
            data_root,
            command,
        )
        if not args.keep:
            shutil.rmtree(data_root / "assessments", ignore_errors=True)
    agreement: AgreementResult | None = None
    if "agreement" in args.scenarios:
        items = args.sizes.agreement_items
        _say(f"[agreement] {items:,} items x 3 labelers x 3 schemas, bulk-loaded into a fresh store file")
        agreement = run_agreement(items)
    auth: AuthResult | None = None
    if "auth" in args.scenarios:
        _say("[auth] OTLP gRPC spans/s, open vs behind bearertokenauth, alternating rounds")
        auth = run_auth(
            data_root,
            seconds=1.0 if args.smoke else 4.0 if args.quick else 6.0,
            rounds=1 if args.smoke else 3 if args.quick else 5,
        )
        if not args.keep:
            for path in data_root.glob("auth-*"):
                shutil.rmtree(path, ignore_errors=True)
    sql_rows: SqlRowsResult | None = None
    if "sqlrows" in args.scenarios:
        traces = args.sizes.sqlrows_traces
        _say(f"[sqlrows] SQL over {traces * 10:,} spans in 5 experiments: admin, 1 experiment, all 5 (in-process)")
        sql_rows = run_sql_rows(traces)
    lake: LakeResult | None = None
    if "lake" in args.scenarios:
        _say(
            "[lake] 1 collector on the file, 1 on a DuckLake store, then 2 on one lake, clients split between them; "
            f"then {args.lake_spans:,} spans bulk-loaded into a lake and a file"
        )
        lake = run_lake(
            data_root,
            seconds=args.duration,
            clients=args.clients,
            batch=args.batch,
            drain_timeout_s=args.drain_timeout,
            bulk_spans=args.lake_spans,
        )
        if not args.keep:
            for path in data_root.glob("lake-*"):
                shutil.rmtree(path, ignore_errors=True)
    growth: GrowthResult | None = None
    if "growth" in args.scenarios:
        small, large = args.sizes.growth_traces
        _say(
            f"[growth] {args.growth_rate:,.0f} spans/s for {args.growth_duration:g}s on stores of {small:,} and "
            f"{large:,} traces"
        )
        growth = run_growth(
            data_root,
            command,
            seconds=args.growth_duration,
            rate=args.growth_rate,
            batch=args.batch,
            sizes=args.sizes.growth_traces,
        )
        if not args.keep:
            for path in data_root.glob("growth *"):
                shutil.rmtree(path, ignore_errors=True)
    others = (writer, assessments, agreement, auth, lake, sql_rows, growth)
    if ceiling is not None or loads or all(other is None for other in others):
        print_report(ceiling, loads, sys.stdout, load_before)
    if writer is not None:
        print_writer(writer)
    if ryw is not None:
        print_read_your_writes(ryw, sys.stdout, grpc)
    if assessments is not None:
        print_assessments(assessments, sys.stdout)
    if agreement is not None:
        print_agreement(agreement)
    if auth is not None:
        print_auth(auth)
    if sql_rows is not None:
        print_sql_rows(sql_rows)
    if lake is not None:
        print_lake(lake)
    if growth is not None:
        print_growth(growth)
    if args.json:
        import json

        data = json.loads(as_json(ceiling, loads))
        if assessments is not None:
            data["assessments"] = as_dict(assessments)
        if ryw is not None:
            data["read_your_writes"] = ryw_as_dict(ryw)
        args.json.write_text(json.dumps(data, indent=2, default=str))
    if not args.keep:
        try:
            data_root.rmdir()  # only if empty: never remove what someone else put there
        except OSError:
            pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
