"""Is a bulk-loaded store the size of an ingested one? ``python -m bench.lake_bulk_check --spans 100000``.

``bench.lake_bulk`` writes its rows straight into the store, so nothing but this check says they
are what ingest would have stored. It takes the spans the bulk load generates, sends them as OTLP
(gRPC, 512-span requests) to a real collector on an embedded file, the way the apps the bulk load
imitates send them (LLM calls as the OpenAI instrumentation does, with ``gen_ai.*`` attributes and
``gen_ai.input.messages`` / ``gen_ai.output.messages``; the agent and tool spans as the SDK does,
with ``mlflow.spanInputs`` / ``mlflow.spanOutputs``), and bulk-loads the same spans into a second
file. Then it prints, for both: bytes per span on disk, rows per table, and the stored size per
span of the large columns, so a difference says which column the bulk load gets wrong.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

import duckdb
import grpc
import orjson
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2 as pb
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, InstrumentationScope, KeyValue
from opentelemetry.proto.resource.v1.resource_pb2 import Resource
from opentelemetry.proto.trace.v1.trace_pb2 import ResourceSpans, ScopeSpans, Span, Status

from annotrace.collector.store.db import Database
from bench.collector_proc import Collector
from bench.lake_bulk import NEW_SPANS_VIEW, POOL_SQL, WORDS, load

EXPORT = "/opentelemetry.proto.collector.trace.v1.TraceService/Export"
PER_REQUEST = 512
KINDS = {"INTERNAL": Span.SPAN_KIND_INTERNAL, "CLIENT": Span.SPAN_KIND_CLIENT}
SIZES = """
SELECT
  (SELECT count(*) FROM spans) AS spans,
  (SELECT count(*) FROM traces) AS traces,
  (SELECT count(*) FROM messages) AS messages,
  (SELECT count(*) FROM span_events) AS span_events,
  (SELECT count(*) FROM documents) AS documents,
  (SELECT avg(strlen(inputs::VARCHAR)) FROM spans) AS "spans.inputs",
  (SELECT avg(strlen(outputs::VARCHAR)) FROM spans) AS "spans.outputs",
  (SELECT avg(strlen(attributes::VARCHAR)) FROM spans) AS "spans.attributes",
  (SELECT avg(strlen(resource_attributes::VARCHAR)) FROM spans) AS "spans.resource_attributes",
  (SELECT sum(strlen(content)) / (SELECT count(*) FROM spans) FROM messages) AS "messages.content per span",
  (SELECT avg(strlen(request::VARCHAR) + strlen(response::VARCHAR)) FROM traces) AS "traces.request+response",
  (SELECT avg(strlen(trace_metadata::VARCHAR)) FROM traces) AS "traces.trace_metadata"
"""
"""What each store holds: rows per table and stored text per row (or per span) of the large columns."""


COLUMNS = (
    "SELECT column_name FROM duckdb_columns() WHERE database_name = 'ingested' AND table_name = ? ORDER BY column_index"
)
SKIPPED = ("last_update_time", "trace_key")
BASE_NS = 1_700_000_000 * 10**9
"""When the first trace starts, in both stores."""


def generated_spans(spans: int) -> list[dict[str, Any]]:
    """The rows ``bench.lake_bulk`` would insert for spans [0, spans), from an in-memory DuckDB."""
    conn = duckdb.connect()
    conn.execute(POOL_SQL, [WORDS])
    conn.execute("SET VARIABLE bench_base = ?", [BASE_NS])
    conn.execute("SET VARIABLE bench_lo = 0")
    conn.execute("SET VARIABLE bench_hi = ?", [spans])
    conn.execute(NEW_SPANS_VIEW)
    rows: list[dict[str, Any]] = (
        conn.sql("SELECT * FROM new_spans ORDER BY start_time_unix_nano").to_arrow_table().to_pylist()
    )
    conn.close()
    return rows


def _kv(key: str, value: str | int) -> KeyValue:
    any_value = AnyValue(int_value=value) if isinstance(value, int) else AnyValue(string_value=value)
    return KeyValue(key=key, value=any_value)


def otlp_span(row: dict[str, Any]) -> Span:
    """The span an app would have sent for ``row``: its ``attributes`` are what ingest keeps as received."""
    return Span(
        trace_id=bytes.fromhex(row["trace_id"].removeprefix("tr-")),
        span_id=bytes.fromhex(row["span_id"]),
        parent_span_id=bytes.fromhex(row["parent_span_id"]) if row["parent_span_id"] else b"",
        name=row["name"],
        kind=KINDS[row["kind"]],
        start_time_unix_nano=row["start_time_unix_nano"],
        end_time_unix_nano=row["end_time_unix_nano"],
        attributes=[_kv(k, v) for k, v in orjson.loads(row["attributes"]).items()],
        status=Status(code=Status.STATUS_CODE_ERROR if row["status_code"] == "ERROR" else Status.STATUS_CODE_OK),
        flags=1,
    )


def requests(rows: list[dict[str, Any]]) -> list[bytes]:
    """``PER_REQUEST`` spans per request, one resource (service, host) per trace."""
    out = []
    for lo in range(0, len(rows), PER_REQUEST):
        request = pb.ExportTraceServiceRequest()
        for row in rows[lo : lo + PER_REQUEST]:
            resource = Resource(attributes=[_kv(k, v) for k, v in orjson.loads(row["resource_attributes"]).items()])
            scope = InstrumentationScope(name=row["scope_name"], version=row["scope_version"])
            request.resource_spans.append(
                ResourceSpans(resource=resource, scope_spans=[ScopeSpans(scope=scope, spans=[otlp_span(row)])])
            )
        out.append(request.SerializeToString())
    return out


def ingest(directory: Path, rows: list[dict[str, Any]]) -> Path:
    """Send ``rows`` to a real collector; returns its store file once it has stopped."""
    collector = Collector(directory)
    collector.start()
    try:
        with grpc.insecure_channel(collector.grpc_target) as channel:
            export: Any = channel.unary_unary(EXPORT, request_serializer=None, response_deserializer=None)
            for payload in requests(rows):
                export(payload, timeout=120)
        reached, stored = collector.wait_for_count(len(rows), timeout_s=600, poll_s=0.5)
        if reached is None:
            raise RuntimeError(f"only {stored:,} of {len(rows):,} spans stored:\n{collector.log_tail()}")
    finally:
        collector.stop()
    return collector.db_path


def differences(ingested: Path, bulk: Path) -> dict[str, int]:
    """Cells that differ between the two stores, per column of ``spans`` and ``traces`` (rows joined on
    their ids; ``last_update_time`` and ``trace_key`` aside): zero everywhere means the bulk load
    stored what ingest stores."""
    conn = duckdb.connect()
    conn.execute(f"ATTACH '{ingested}' AS ingested (READ_ONLY)")
    conn.execute(f"ATTACH '{bulk}' AS bulk (READ_ONLY)")
    out: dict[str, int] = {}
    for table, keys in (("spans", ("trace_id", "span_id")), ("traces", ("trace_id",))):
        columns = [c for (c,) in conn.execute(COLUMNS, [table]).fetchall() if c not in keys + SKIPPED]
        counts = ", ".join(f"count(*) FILTER (i.{c}::VARCHAR IS DISTINCT FROM b.{c}::VARCHAR)" for c in columns)
        joined = f"ingested.{table} i FULL JOIN bulk.{table} b USING ({', '.join(keys)})"
        row = conn.execute(
            f"SELECT count(*) FILTER (i.{keys[0]} IS NULL OR b.{keys[0]} IS NULL), {counts} FROM {joined}"
        )
        values = row.fetchall()[0]
        out[f"{table}: rows in one store only"] = int(values[0])
        out.update({f"{table}.{c}": int(v) for c, v in zip(columns, values[1:], strict=True) if v})
    conn.close()
    return out


def figures(path: Path) -> dict[str, float]:
    with duckdb.connect(str(path), read_only=True) as conn:
        relation = conn.sql(SIZES)
        values = relation.fetchall()[0]
        result = dict(zip(relation.columns, (float(v or 0) for v in values), strict=True))
    result["bytes per span (file)"] = path.stat().st_size / result["spans"]
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.lake_bulk_check", description=__doc__)
    parser.add_argument("--spans", type=int, default=100_000)
    parser.add_argument("--dir", type=Path, default=None, help="where the two stores go (default: a temporary one)")
    parser.add_argument("--keep", action="store_true", help="keep both stores (their folder is printed)")
    args = parser.parse_args(argv)
    spans = args.spans - args.spans % 4
    root = Path(tempfile.mkdtemp(prefix="bench-bulk-check-", dir=args.dir))
    try:
        ingested = ingest(root / "ingest", generated_spans(spans))
        bulk = Database(root / "bulk" / "annotrace.duckdb")
        try:
            load(bulk, spans, 1_000_000, BASE_NS)
        finally:
            bulk.close()
        sides = {"OTLP ingest": figures(ingested), "bulk load": figures(bulk.path)}
        differing = differences(ingested, bulk.path)
    finally:
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)
    print(
        f"{spans:,} spans, the same rows sent over OTLP and bulk-loaded (bench/lake_bulk.py)"
        + (f" in {root}" if args.keep else "")
        + ":"
    )
    print(f"  {'':<34}{''.join(f'{name:>16}' for name in sides)}")
    for key in sides["bulk load"]:
        print(f"  {key:<34}{''.join(f'{side[key]:>16,.0f}' for side in sides.values())}")
    print("cells that differ (rows joined on their ids):")
    for key, count in differing.items():
        print(f"  {key:<50}{count:>10,}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
