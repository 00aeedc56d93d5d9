"""The command line of ``python -m bench``: every option with its full-run and ``--quick`` values,
and ``--smoke``, which runs every scenario at the smallest size that still goes through its code.

``--smoke`` is for the tests (``tests/bench/test_options.py`` runs it), not for figures: a change
that breaks a scenario (a renamed column, a moved function, a collector that no longer starts)
then fails the tests instead of the next person's ``make bench``. Its figures mean nothing.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from bench.writer import SPANS as WRITER_SPANS

ALL_SCENARIOS = (
    "decode",
    "writer",
    "grpc",
    "grpc2k",
    "stub",
    "http",
    "half",
    "half2k",
    "overload",
    "ryw",
    "assessments",
    "agreement",
    "auth",
    "sqlrows",
    "lake",
    "growth",
)
SLOW_SCENARIOS = ("stub", "lake", "writer")
"""Left out of --quick: ``stub`` repeats ``grpc`` through the generated stub; ``lake`` starts PostgreSQL
and runs collectors from ``.venv-lake``; ``writer`` stages and stores 262,144 spans in-process."""
QUICK_SCENARIOS = tuple(scenario for scenario in ALL_SCENARIOS if scenario not in SLOW_SCENARIOS)
DEFAULT_HALF_RATE = 15_000.0  # used only when `grpc` was not run and --half-rate is not given

# (flag, type, full-run default, --quick default, help)
_OPTIONS: tuple[tuple[str, type, object, object, str], ...] = (
    ("duration", float, 30.0, 10.0, "seconds of sending in the grpc and http scenarios"),
    ("stub-duration", float, 15.0, 8.0, "seconds of sending in the stub scenario"),
    ("half-duration", float, 20.0, 8.0, "seconds of sending in the half-rate scenario"),
    ("overload-duration", float, 15.0, 8.0, "seconds of sending in the overload scenario"),
    ("ryw-duration", float, 20.0, 8.0, "seconds of gRPC load while the ryw scenario's probes read"),
    ("ryw-probes", int, 300, 100, "sequential export-then-read probes on an idle collector"),
    ("decode-seconds", float, 3.0, 1.0, "seconds per measured stage in the decode scenario"),
    ("clients", int, 4, 4, "client processes in the grpc, stub, http and half scenarios"),
    ("overload-clients", int, 8, 8, "client processes in the overload scenario"),
    ("inflight", int, 2, 2, "concurrent exports per client process (threads)"),
    ("overload-inflight", int, 2, 2, "concurrent exports per client process when overloading"),
    ("batch", int, 512, 512, "spans per Export request (multiple of 4)"),
    ("backlog-mib", int, 256, 256, "spool max_backlog_mib for the throughput scenarios"),
    ("overload-backlog-mib", int, 256, 256, "spool max_backlog_mib for the overload scenario (the shipped default)"),
    ("half-rate", float, 0.0, 0.0, "total spans/s for the half scenario (0 = half the measured grpc rate)"),
    ("retry-sleep", float, 0.05, 0.05, "seconds to wait before retrying a back-pressure answer"),
    ("drain-timeout", float, 60.0, 20.0, "max seconds to wait for count(*) to reach the acked count"),
    ("assess-traces", int, 100_000, 20_000, "traces ingested for the assessments scenario's search"),
    ("assess-feedback", int, 2_000, 500, "traces given feedback over REST before the search"),
    ("assess-calls", int, 300, 300, "timed sequential log_feedback calls"),
    ("assess-rows", int, 1_000_000, 1_000_000, "assessments (bulk-loaded) for the GROUP BY figure"),
    ("growth-duration", float, 20.0, 10.0, "seconds of paced gRPC load on each store in the growth scenario"),
    ("growth-rate", float, 8_000.0, 8_000.0, "spans/s of the growth scenario's load (2.6 KB spans)"),
    (
        "lake-spans",
        int,
        10_000_000,
        1_000_000,
        "spans bulk-loaded into a lake and a file for the query figures (0: none)",
    ),
)


def _env_name(flag: str) -> str:
    return "BENCH_" + flag.upper().replace("-", "_")


SMOKE: dict[str, object] = {
    "duration": 2.0,
    "stub_duration": 2.0,
    "half_duration": 2.0,
    "overload_duration": 2.0,
    "ryw_duration": 2.0,
    "ryw_probes": 10,
    "decode_seconds": 0.2,
    "clients": 2,
    "overload_clients": 2,
    "drain_timeout": 60.0,
    "assess_traces": 1_024,
    "assess_feedback": 10,
    "assess_calls": 10,
    "assess_rows": 10_000,
    "growth_duration": 2.0,
    "growth_rate": 1_000.0,
    "lake_spans": 8_000,
}
"""``--smoke``'s option values: seconds of traffic per scenario; an option given explicitly still wins."""


@dataclass(frozen=True, slots=True)
class FixedSizes:
    """Sizes the full run and ``--quick`` fix and ``--smoke`` shrinks (``args.sizes``)."""

    agreement_items: int = 10_000
    sqlrows_traces: int = 10_000
    growth_traces: tuple[int, int] = (500_000, 5_000_000)
    """The two stores of ``bench.store_growth`` (traces bulk-loaded before the load)."""
    writer_spans: int = WRITER_SPANS


SMOKE_SIZES = FixedSizes(agreement_items=200, sqlrows_traces=200, growth_traces=(1_000, 10_000), writer_spans=16_384)


def parse_args(argv: Sequence[str] | None = None, description: str | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench", description=description, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        default=bool(os.environ.get("BENCH_QUICK")),
        help="about one minute: shorter durations, no stub or lake scenario (env BENCH_QUICK=1)",
    )
    parser.add_argument(
        "--smoke",
        action="store_true",
        help="every scenario (lake too) at the smallest size that runs its code, for the tests; figures mean nothing",
    )
    parser.add_argument(
        "--scenarios",
        default=os.environ.get("BENCH_SCENARIOS", ""),
        help=f"comma list out of {','.join(ALL_SCENARIOS)} (default: all; --quick: no stub or lake)",
    )
    for flag, kind, full, _quick, text in _OPTIONS:
        env = os.environ.get(_env_name(flag))
        parser.add_argument(
            f"--{flag}",
            type=kind,
            default=kind(env) if env else None,
            help=f"{text} (default {full}; env {_env_name(flag)})",
        )
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=Path(os.environ.get("BENCH_DATA_DIR", "bench-data")),
        help="where collectors keep their files (default ./bench-data, git-ignored)",
    )
    parser.add_argument("--keep", action="store_true", help="keep each scenario's data directory")
    parser.add_argument(
        "--collector-cmd",
        default=os.environ.get("BENCH_COLLECTOR_CMD", ""),
        help="command that starts the collector, before 'serve ...' (default: this python -m annotrace.collector)",
    )
    parser.add_argument("--json", type=Path, default=None, help="also write the figures as JSON here")
    args = parser.parse_args(argv)
    for flag, _kind, full, quick, _text in _OPTIONS:
        attr = flag.replace("-", "_")
        if getattr(args, attr) is None:
            setattr(args, attr, SMOKE.get(attr, quick) if args.smoke else quick if args.quick else full)
    args.sizes = SMOKE_SIZES if args.smoke else FixedSizes()
    chosen = [s.strip() for s in args.scenarios.split(",") if s.strip()] if args.scenarios else None
    args.scenarios = chosen or list(QUICK_SCENARIOS if args.quick and not args.smoke else ALL_SCENARIOS)
    unknown = set(args.scenarios) - set(ALL_SCENARIOS)
    if unknown:
        parser.error(f"unknown scenario(s) {', '.join(sorted(unknown))}; choose from {', '.join(ALL_SCENARIOS)}")
    if args.batch <= 0 or args.batch % 4:
        parser.error("--batch must be a positive multiple of 4 (one trace = 4 spans)")
    return args
