"""Bulk-load N GenAI spans into a store, then time the reads users make: ``python -m bench.lake_bulk``.

Run by ``bench.lake`` once per store, in the interpreter that store needs: ``.venv-lake`` for a
DuckLake store (``--catalog`` + ``--data``), the bench's own for the embedded file (``--file``).
Ten million spans through OTLP ingest would take hours on this machine, so the rows are made by
DuckDB from ``range()`` and go in through the writer's own statements (``span_writes.INSERT_SPANS``,
``span_writes.TRACE_ROWS``, ``lake.INSERT_TRACE_PARTS``): the same columns and ``traces`` rows (one
``trace_parts`` row per trace on a lake, as after housekeeping merged its parts) as ingest makes.
Every cell is what OTLP ingest stores for the same spans: ``bench.lake_bulk_check`` sends them to a
real collector and compares the two stores column by column (0 cells differ).

The shapes are an agent's: traces of 4 spans (an AGENT root, two chat calls, one TOOL call) in 10
experiments, 250 ms apart. Chat spans carry a system prompt (~700 chars), a user message (~300)
and an answer (~500) in ``inputs``/``outputs``, as ``messages`` rows, and in ``attributes`` as
received (``gen_ai.input.messages``), as the genai processor stores them. The text is words drawn from a vocabulary by hash, from a pool of 4,096 texts, each
use made unique by the trace number: it compresses about as English does, not as a repeated
constant would. The load is chunked (one transaction per ``--chunk`` spans, 1M by default: DuckLake
writes Parquet files per transaction, so few large ones give the file sizes housekeeping's
compaction leaves).

Cost: the rows are generated while the inserts stream them (``NEW_SPANS_VIEW``), so what remains
is mostly the store's own encoding (Parquet on a lake, DuckDB's compression on the file): on the
rows of that time, ~25 CPU seconds per million spans on a lake and ~21 on the file against ~37
and ~25 when each chunk was built in a temporary table with ``json_object`` (load average ~16, 2
cores). The rows grew by a third since (``attributes`` as received); 10M spans then took 1,131 s
into the file at load average ~18.

Prints one JSON object: load seconds (wall and CPU of this process), transactions, spans, and
each timed query's cold (first) and warm (median of the following runs) milliseconds.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb

from annotrace.collector.store import lake
from annotrace.collector.store.db import Database
from annotrace.collector.store.queries import trace_explorer, trace_search, traces
from annotrace.collector.store.sandbox import read_only_transaction
from annotrace.collector.store.span_writes import INSERT_SPANS, INSERT_TRACES, TRACE_ROWS

EXPERIMENTS = 10
POOL = 4096
VOCABULARY = (
    "the a of to and in is for that with as on be by this are from or at an it not which have can will "
    "your you we our their model answer question user tool agent search result document context policy "
    "customer order refund account shipping invoice payment delivery product service support request "
    "please thanks help check find return update status date time week month price plan subscription "
    "error issue problem solution step first then next finally because however therefore example data "
    "report summary table chart value number total average count list item detail note source page "
    "retrieve call function argument output input message system assistant instruction follow rule "
    "always never only must should could would may might also more most less least very really quite"
)
WORDS = VOCABULARY.split()

POOL_SQL = f"""
CREATE OR REPLACE TEMP TABLE bench_pool AS
SELECT n, system_text, user_text, answer_text,
  '{{"query":"' || substr(user_text, 1, 80) || '"}}' AS tool_inputs,
  '[{{"role":"system","parts":[{{"type":"text","content":"' || system_text
    || '"}}]}},{{"role":"user","parts":[{{"type":"text","content":"' AS llm_inputs_head
FROM (
  SELECT n,
    array_to_string(list_transform(range(110), lambda j: w[(1 + hash(n, j, 's') % {len(WORDS)})::BIGINT]), ' ') AS system_text,
    array_to_string(list_transform(range(50), lambda j: w[(1 + hash(n, j, 'u') % {len(WORDS)})::BIGINT]), ' ') AS user_text,
    array_to_string(list_transform(range(80), lambda j: w[(1 + hash(n, j, 'a') % {len(WORDS)})::BIGINT]), ' ') AS answer_text
  FROM range({POOL}) r(n), (SELECT ?::VARCHAR[] AS w)
)
"""
# One chunk of spans in the genai processor's staged rows (``new_spans``, which the writer's statements
# read): spans i in [bench_lo, bench_hi) (DuckDB variables, set per chunk). A view, so the chunk is
# generated while the INSERT streams it into the store rather than held in a temporary table; the
# JSON columns are concatenated from the pool's pieces and cast, not built with json_object (the
# vocabulary needs no escaping, and the text is what json_object or orjson would write). Both
# together cut the load's CPU by about a third.
#
# Every column holds what ingest stores for the spans ``bench.lake_bulk_check`` sends (it compares
# the two stores): the LLM calls as the OpenAI instrumentation sends them (CHAT_MODEL spans whose
# inputs and outputs are the ``gen_ai.input.messages`` / ``gen_ai.output.messages`` as sent), the
# agent and tool spans as the SDK does (``mlflow.spanInputs`` / ``mlflow.spanOutputs``, the session
# and user as trace metadata on the root); ``attributes`` keeps every attribute as received, the
# messages too, so it is the largest column, as on a real store.
NEW_SPANS_VIEW = f"""
CREATE OR REPLACE TEMP VIEW new_spans AS
WITH ids AS (
  SELECT i, i // 4 AS t, i % 4 AS k,
    (getvariable('bench_base') + (i // 4) * 250000000 + (i % 4) * 20000000)::BIGINT AS start_ns,
    (15000 + hash(i) % 900000)::BIGINT * 1000 AS took_ns
  FROM range(getvariable('bench_lo'), getvariable('bench_hi')) r(i)
), texts AS (
  SELECT ids.*, p.system_text, p.user_text || ' #' || t AS user_text, p.answer_text || ' (' || t || ')' AS answer_text,
    p.tool_inputs, p.llm_inputs_head,
    CASE k WHEN 0 THEN 'AGENT' WHEN 2 THEN 'TOOL' ELSE 'CHAT_MODEL' END AS span_type,
    CASE k WHEN 1 THEN 'gpt-4o' WHEN 3 THEN 'gpt-4o-mini' END AS model,
    CASE WHEN k IN (1, 3) THEN (200 + hash(i) % 1800)::BIGINT END AS input_tokens,
    CASE WHEN k IN (1, 3) THEN (20 + hash(i, 'o') % 400)::BIGINT END AS output_tokens,
    CASE WHEN k = 0 THEN 'session-' || (t // 5) END AS session_id,
    CASE WHEN k = 0 THEN 'user-' || (t % 997) END AS user_id
  FROM ids JOIN bench_pool p ON p.n = (hash(t) % {POOL})::BIGINT
), rows AS (
  SELECT texts.*,
    CASE k WHEN 0 THEN '{{"question":"' || user_text || '"}}'
      WHEN 2 THEN tool_inputs
      ELSE llm_inputs_head || user_text || '"}}]}}]'
    END AS inputs_text,
    CASE k WHEN 0 THEN '[{{"role":"assistant","content":"' || answer_text || '"}}]'
      WHEN 2 THEN '{{"orders":[' || t || ',' || (t + 1) || ']}}'
      ELSE '[{{"role":"assistant","parts":[{{"type":"text","content":"' || answer_text || '"}}]}}]'
    END AS outputs_text
  FROM texts
)
SELECT 'tr-' || md5('t' || t) AS trace_id, substr(md5('s' || i), 1, 16) AS span_id,
  CASE WHEN k = 0 THEN NULL ELSE substr(md5('s' || (t * 4)), 1, 16) END AS parent_span_id,
  (1 + t % {EXPERIMENTS})::VARCHAR AS experiment_id,
  CASE k WHEN 0 THEN 'support-agent' WHEN 2 THEN 'search_orders' ELSE 'chat ' || model END AS name,
  CASE WHEN k IN (1, 3) THEN 'CLIENT' ELSE 'INTERNAL' END AS kind, span_type,
  make_timestamp(start_ns // 1000) AS start_time,
  make_timestamp((start_ns + took_ns) // 1000) AS end_time,
  start_ns AS start_time_unix_nano, start_ns + took_ns AS end_time_unix_nano,
  CASE WHEN hash(i, 'e') % 50 = 0 THEN 'ERROR' ELSE 'OK' END AS status_code, NULL::VARCHAR AS status_message,
  inputs_text::JSON AS inputs, outputs_text::JSON AS outputs,
  model, CASE WHEN model IS NOT NULL THEN 'openai' END AS provider,
  input_tokens::BIGINT AS input_tokens, output_tokens::BIGINT AS output_tokens,
  (input_tokens + output_tokens)::BIGINT AS total_tokens, session_id, user_id,
  CASE WHEN model IS NULL THEN '{{"mlflow.spanType":"' || span_type || '","mlflow.spanInputs":"'
      || replace(inputs_text, '"', '\\"') || '","mlflow.spanOutputs":"' || replace(outputs_text, '"', '\\"') || '"'
      || CASE WHEN k = 0 THEN ',"mlflow.traceMetadata.mlflow.trace.session":"' || session_id
        || '","mlflow.traceMetadata.mlflow.trace.user":"' || user_id || '"' ELSE '' END || '}}'
    ELSE '{{"gen_ai.operation.name":"chat","gen_ai.provider.name":"openai","gen_ai.request.model":"' || model
      || '","gen_ai.response.model":"' || model || '","gen_ai.usage.input_tokens":' || input_tokens
      || ',"gen_ai.usage.output_tokens":' || output_tokens || ',"gen_ai.response.id":"chatcmpl-' || md5('r' || i)
      || '","gen_ai.input.messages":"' || replace(inputs_text, '"', '\\"')
      || '","gen_ai.output.messages":"' || replace(outputs_text, '"', '\\"') || '"}}' END::JSON AS attributes,
  ('{{"service.name":"bench-' || (t % {EXPERIMENTS}) || '","telemetry.sdk.name":"opentelemetry",'
    || '"telemetry.sdk.version":"1.38.0","host.name":"worker-' || (t % 16) || '"}}')::JSON AS resource_attributes,
  'opentelemetry.instrumentation.openai' AS scope_name, '0.54.0' AS scope_version, NULL::VARCHAR AS trace_state,
  1::UBIGINT AS flags, 0::UBIGINT AS dropped_attributes_count, 0::UBIGINT AS dropped_events_count,
  0::UBIGINT AS dropped_links_count, NULL::VARCHAR[] AS normalization_errors,
  CASE WHEN k = 0 THEN inputs_text END AS request_preview,
  CASE WHEN k = 0 THEN answer_text END AS response_preview,
  system_text, user_text, answer_text
FROM rows
"""
INSERT_MESSAGES = """
INSERT INTO messages BY NAME
SELECT trace_id, span_id, 'input' AS direction, 0 AS position, 'system' AS role, system_text AS content
FROM new_spans WHERE model IS NOT NULL
UNION ALL SELECT trace_id, span_id, 'input', 1, 'user', user_text FROM new_spans WHERE model IS NOT NULL
UNION ALL SELECT trace_id, span_id, 'output', 0, 'assistant', answer_text FROM new_spans WHERE model IS NOT NULL
"""
TRACE_METADATA = (
    "UPDATE new_traces SET trace_metadata = "
    '\'{"mlflow.trace.session":"\' || session_id || \'","mlflow.trace.user":"\' || user_id || \'"}\''
)
"""The root's session and user as the trace's metadata, which ingest adds to the trace's row."""
GROUP_BY_SPANS = (
    "SELECT model, span_type, count(*) AS spans, sum(input_tokens) AS input_tokens, "
    "sum(output_tokens) AS output_tokens, avg(duration_ms) AS avg_ms FROM {spans} GROUP BY ALL ORDER BY ALL"
)
GROUP_BY_TRACES = (
    "SELECT experiment_id, state, count(*) AS traces, avg(execution_duration_ms) AS avg_ms, "
    "sum(total_tokens) AS tokens FROM traces GROUP BY ALL ORDER BY ALL"
)
DEDUPED_SPANS = "(SELECT * FROM spans QUALIFY row_number() OVER (PARTITION BY trace_id, span_id) = 1)"
"""What a read-time dedupe of ``spans`` would be (``bench.lake`` prints its cost; the store removes
copies in housekeeping instead, ``lake.remove_duplicate_spans``)."""


def load(db: Database, spans: int, chunk: int, base_ns: int | None = None) -> tuple[float, float, int]:
    """Bulk-load ``spans`` spans (a multiple of 4), one transaction per ``chunk`` spans; returns wall
    seconds, CPU seconds of this process (what a loaded machine does not inflate) and the number
    of transactions."""
    conn = db.cursor()
    started, cpu_started = time.monotonic(), _cpu_seconds()
    conn.execute(POOL_SQL, [WORDS])
    conn.execute("BEGIN")
    for n in range(1, EXPERIMENTS + 1):
        conn.execute("INSERT INTO experiments (experiment_id, name) VALUES (?, ?)", [str(n), f"bench-{n - 1}"])
    conn.execute("COMMIT")
    # the first trace starts a week ago (or at ``base_ns``: ``bench.lake_bulk_check`` sends the same spans)
    conn.execute("SET VARIABLE bench_base = ?", [base_ns or (time.time_ns() // 10**9 - 7 * 86400) * 10**9])
    conn.execute(NEW_SPANS_VIEW)
    transactions = 0
    for lo in range(0, spans, chunk):
        conn.execute("SET VARIABLE bench_lo = ?", [lo])
        conn.execute("SET VARIABLE bench_hi = ?", [min(lo + chunk, spans)])
        conn.execute("BEGIN")
        conn.execute(INSERT_SPANS)
        conn.execute(INSERT_MESSAGES)
        conn.execute(f"CREATE OR REPLACE TEMP TABLE new_traces AS {TRACE_ROWS}")
        conn.execute(TRACE_METADATA)
        conn.execute(lake.INSERT_TRACE_PARTS if db.is_lake else INSERT_TRACES)
        conn.execute("COMMIT")
        transactions += 1
        print(f"  loaded {min(lo + chunk, spans):,} spans, {time.monotonic() - started:.0f} s", file=sys.stderr)
    conn.execute("DROP VIEW new_spans")
    conn.execute("DROP TABLE IF EXISTS new_traces")
    if not db.is_lake:
        conn.execute("CHECKPOINT")
    conn.close()
    return time.monotonic() - started, _cpu_seconds() - cpu_started, transactions


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def timed(run: Callable[[], Any], repeat: int) -> dict[str, float]:
    """Cold (first) and warm (median of ``repeat`` more) milliseconds of ``run``."""
    times = []
    for _ in range(repeat + 1):
        started = time.perf_counter()
        run()
        times.append((time.perf_counter() - started) * 1e3)
    return {"cold_ms": times[0], "warm_ms": statistics.median(times[1:])}


def measure(db: Database, repeat: int, dedupe: bool) -> dict[str, dict[str, float]]:
    """The reads: a search_traces page (100 newest of one experiment, as the REST API and the
    traces table page run it), one trace opened (GetTrace with its spans, and the trace page's
    explorer), a GROUP BY over spans and one over traces."""
    cursor = db.cursor()
    newest = cursor.execute("SELECT trace_id FROM spans ORDER BY start_time DESC LIMIT 1").fetchall()[0][0]
    everything, order = trace_search.compile_filter(None), trace_search.compile_order([])

    def request(read: Callable[[duckdb.DuckDBPyConnection], Any]) -> Callable[[], Any]:
        """``read`` as a request runs it (``store.access.Access.read``): on a lake, in one transaction."""
        if not db.is_lake:
            return lambda: read(cursor)

        def run() -> Any:
            with read_only_transaction(cursor):
                return read(cursor)

        return run

    figures = {
        "search_traces": timed(request(lambda c: trace_search.search(c, ["3"], everything, order, 100, 0)), repeat),
        "get_trace": timed(request(lambda c: traces.get_with_spans(c, newest)), repeat),
        "trace_page": timed(request(lambda c: trace_explorer.load(c, newest, None)), repeat),
        "group_by_spans": timed(lambda: cursor.execute(GROUP_BY_SPANS.format(spans="spans")).fetchall(), repeat),
        "group_by_traces": timed(lambda: cursor.execute(GROUP_BY_TRACES).fetchall(), repeat),
    }
    if dedupe:
        deduped = GROUP_BY_SPANS.format(spans=DEDUPED_SPANS)
        figures["group_by_spans_deduped_at_read"] = timed(lambda: cursor.execute(deduped).fetchall(), repeat)
    cursor.close()
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.lake_bulk", description=__doc__)
    parser.add_argument("--spans", type=int, required=True)
    parser.add_argument("--chunk", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--file", type=Path, help="an embedded DuckDB file to create")
    parser.add_argument("--catalog", help="a DuckLake catalog (libpq connection string), with --data")
    parser.add_argument("--data", help="the DuckLake data directory")
    parser.add_argument("--threads", type=int, default=0)
    args = parser.parse_args(argv)
    spans = args.spans - args.spans % 4
    threads = args.threads or None
    if args.catalog:
        db = Database(
            Path(args.data) / "unused.duckdb", threads=threads, lake_catalog=args.catalog, lake_data_path=args.data
        )
    else:
        db = Database(args.file, threads=threads)
    try:
        seconds, cpu_seconds, transactions = load(db, spans, args.chunk)
        figures = measure(db, args.repeat, dedupe=db.is_lake)
    finally:
        db.close()
    print(
        json.dumps(
            {
                "spans": spans,
                "load_s": seconds,
                "load_cpu_s": cpu_seconds,
                "transactions": transactions,
                "queries": figures,
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
