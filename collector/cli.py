"""The ``annotrace`` command: ``serve``, ``validate`` (check a config without running) and ``sql``."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading
from pathlib import Path

import orjson

from annotrace.collector import registry
from annotrace.collector.config import CollectorConfig, load
from annotrace.collector.errors import CollectorError, ConfigError
from annotrace.collector.extensions import check_auth
from annotrace.collector.sqlcli import run_sql_command
from annotrace.collector.usercli import add_parsers as add_user_parsers
from annotrace.collector.usercli import run as run_user_command

DEFAULT_CONFIG = "otel-config.yaml"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="annotrace", description="OpenTelemetry collector for GenAI traces")
    parser.add_argument("--version", action="version", version=f"annotrace {_version()}")
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="run the collector")
    serve.add_argument("--config", default=DEFAULT_CONFIG, help="OpenTelemetry Collector YAML file")
    serve.add_argument("--ready-file", help="write the bound endpoints here (JSON) once every listener is up")
    validate = commands.add_parser("validate", help="check a configuration file and exit")
    validate.add_argument("--config", default=DEFAULT_CONFIG)
    sql = commands.add_parser("sql", help="run a read-only SQL query")
    sql.add_argument("query")
    sql.add_argument("--config", default=DEFAULT_CONFIG, help="where to find the web endpoint and database")
    sql.add_argument("--url", help="web endpoint of a running collector, e.g. http://127.0.0.1:5000")
    sql.add_argument(
        "--db", help="a DuckDB file of a stopped collector, or a collector config (.yaml) whose store is a DuckLake"
    )
    sql.add_argument("--format", choices=["table", "csv", "json", "parquet"], default="table")
    sql.add_argument("--output", "-o", help="write to this file (required for parquet)")
    sql.add_argument("--max-rows", type=int, default=10_000)
    add_user_parsers(commands, DEFAULT_CONFIG)
    args = parser.parse_args(argv)
    if args.command in ("serve", "validate") and args.config == DEFAULT_CONFIG and not os.path.exists(args.config):
        print(
            f"annotrace: no {DEFAULT_CONFIG} in {os.getcwd()}: run from the annotrace checkout (it has one) "
            "or pass --config PATH",
            file=sys.stderr,
        )
        return 2
    try:
        if args.command == "validate":
            check_auth(_load(args.config))
            print(f"{args.config}: OK")
            return 0
        if args.command in ("users", "tokens"):
            return run_user_command(args, _load if os.path.exists(args.config) else None)
        if args.command == "sql":
            return run_sql_command(args, _load)
        config = _load(args.config)
        check_auth(config)  # not for users/tokens/sql: adding the first user is how to satisfy it
        return _serve(config, args.ready_file)
    except ConfigError as exc:
        print(f"annotrace: invalid configuration: {exc}", file=sys.stderr)
        return 2
    except CollectorError as exc:
        print(f"annotrace: {exc.message}", file=sys.stderr)
        return 1


def _version() -> str:
    """The installed distribution's version (pyproject's ``version``)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("annotrace")
    except PackageNotFoundError:  # run from a checkout that was never installed
        return "unknown (not installed)"


def _load(path: str) -> CollectorConfig:
    config = load(path, registry.config_classes())
    if not any(p.signal in ("traces", "logs") for p in config.pipelines.values()):
        raise ConfigError("service::pipelines: at least one traces or logs pipeline is required")
    return config


def _serve(config: CollectorConfig, ready_file: str | None) -> int:
    from annotrace.collector.pipeline.malloc import limit_arenas, use_system_allocator_for_arrow
    from annotrace.collector.pipeline.workers import tune_gc
    from annotrace.collector.service import Service

    limit_arenas()  # before any thread starts (see pipeline.malloc)
    use_system_allocator_for_arrow()
    logging.basicConfig(level=config.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    tune_gc()  # as in the decode workers: decoding in-process (decode_workers: 0) is the same loop
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    service = Service(config)
    try:
        endpoints = service.start()
    except OSError as exc:
        service.shutdown()
        raise ConfigError(str(exc)) from None
    except Exception:
        service.shutdown()
        raise
    info = {"pid": os.getpid(), **endpoints.as_dict()}
    logging.getLogger("annotrace").info("listening: %s", info)
    if ready_file:
        tmp = Path(ready_file + ".tmp")
        tmp.write_bytes(orjson.dumps(info))
        tmp.replace(ready_file)
    while not stop.wait(0.5):
        pass
    logger = logging.getLogger("annotrace")
    logger.info("stopping: storing everything acknowledged")
    service.shutdown()
    logger.info("%s", service.stopped_message())
    # Everything is stored and closed; skip interpreter teardown, where duckdb 2.0's bindings print
    # "nanobind: leaked ..." lines that would look like a failure on every clean stop.
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)
