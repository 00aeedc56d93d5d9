"""``annotrace sql``: ask a running collector over HTTP, or open a stopped one's file read-only.

Both paths run the same sandbox (``store.sandbox.run_query``): one SELECT in a read-only transaction, no file,
network or extension access.
"""

from __future__ import annotations

import argparse
import csv
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
import orjson

from annotrace.collector.config import CollectorConfig
from annotrace.collector.errors import InvalidParameter, Unavailable


def run_sql_command(args: argparse.Namespace, load: Callable[[str], CollectorConfig] | None) -> int:
    """``--db`` names a DuckDB file, or a collector configuration whose ``duckdb`` exporter stores on
    DuckLake (the lake is read directly: its catalog and files, whether collectors run or not)."""
    if args.format == "parquet" and not args.output:
        raise InvalidParameter("--format parquet needs --output FILE")
    url, store = args.url, None
    if args.db:
        store = _store(load(args.db)) if args.db.endswith((".yaml", ".yml")) and load is not None else Store(args.db)
    elif not url and load is not None and os.path.exists(args.config):
        config = load(args.config)
        url = _web_url(config)
        store = _store(config)
    if not url and store is None:
        raise InvalidParameter(f"No collector to ask: pass --url or --db (no config at {args.config})")
    columns: list[str]
    rows: list[Any]
    try:
        if not url:
            raise httpx.ConnectError("no url")
        token = os.environ.get("MLFLOW_TRACKING_TOKEN")  # a collector run for a team: an admin's token
        response = httpx.post(
            f"{url.rstrip('/')}/api/v1/sql",
            json={"query": args.query, "max_rows": args.max_rows},
            headers={"Authorization": f"Bearer {token}"} if token else None,
            timeout=60,
        )
        body = response.json()
        if response.status_code != 200:
            print(f"annotrace: {body.get('message', response.text)}", file=sys.stderr)
            return 1
        columns, rows = body["columns"], body["rows"]
    except httpx.ConnectError:
        if store is None:
            raise Unavailable(f"No collector answers at {url}") from None
        columns, rows = _query_store(store, args.query, args.max_rows)
    _print(columns, rows, args.format, args.output)
    return 0


@dataclass(frozen=True, slots=True)
class Store:
    """Where ``--db`` reads: a DuckDB file, or a DuckLake (``lake_catalog`` and ``lake_data_path``)."""

    path: str
    lake_catalog: str | None = None
    lake_data_path: str | None = None


def _query_store(store: Store, query: str, max_rows: int) -> tuple[list[str], list[Any]]:
    """Open, query, close: the file is held (read-only) no longer than the query, as a collector
    starting meanwhile waits for it (``exporters::duckdb::lock_timeout``); printing comes after.
    A lake is opened read-only too (its schema as the collectors left it)."""
    from annotrace.collector.store.db import Database
    from annotrace.collector.store.sandbox import run_query

    try:
        db = Database(store.path, read_only=True, lake_catalog=store.lake_catalog, lake_data_path=store.lake_data_path)
    except Unavailable as exc:
        raise Unavailable(f"Cannot read {store.path}: {exc.message} (if a collector runs, ask it: --url)") from None
    try:
        result = run_query(db, query, row_limit=max_rows)
    finally:
        db.close()
    return result.columns, [list(r) for r in result.rows]


def _web_url(config: CollectorConfig) -> str | None:
    for cid in config.enabled_extensions:
        if cid.type == "web":
            endpoint = config.extensions[cid].endpoint
            return f"http://{endpoint}"
    return None


def _store(config: CollectorConfig) -> Store | None:
    for cid, exporter in config.exporters.items():
        if cid.type == "duckdb":
            lake = exporter.ducklake
            if lake is None:
                return Store(str(exporter.path))
            return Store(str(exporter.path), lake.catalog, lake.data_path)
    return None


def _print(columns: list[str], rows: list[Any], fmt: str, output: str | None) -> None:
    if fmt == "parquet":
        import pyarrow as pa
        import pyarrow.parquet as pq

        table = pa.table({c: [_cell(r[i]) for r in rows] for i, c in enumerate(columns)})
        pq.write_table(table, output)
        return
    out = open(output, "w", newline="") if output else sys.stdout  # noqa: SIM115
    try:
        if fmt == "json":
            out.write(orjson.dumps([dict(zip(columns, r)) for r in rows], default=str).decode() + "\n")
        elif fmt == "csv":
            writer = csv.writer(out)
            writer.writerow(columns)
            writer.writerows([[_text(v) for v in r] for r in rows])
        else:
            _table(columns, rows, out)
    finally:
        if output:
            out.close()


def _cell(value: Any) -> Any:
    return orjson.dumps(value).decode() if isinstance(value, (dict, list)) else value


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, (dict, list)):
        return orjson.dumps(value).decode()
    return str(value)


def _table(columns: list[str], rows: list[Any], out: Any) -> None:
    cells = [[_text(v).replace("\n", " ")[:80] for v in r] for r in rows]
    widths = [max([len(c)] + [len(r[i]) for r in cells]) for i, c in enumerate(columns)]
    out.write(" | ".join(c.ljust(w) for c, w in zip(columns, widths)) + "\n")
    out.write("-+-".join("-" * w for w in widths) + "\n")
    for r in cells:
        out.write(" | ".join(v.ljust(w) for v, w in zip(r, widths)) + "\n")
    out.write(f"({len(rows)} row{'s' if len(rows) != 1 else ''})\n")
