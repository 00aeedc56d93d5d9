"""The ``sqlrows`` scenario: what row visibility costs a SQL query (``store.visible_rows``).

100,000 spans in 10,000 traces over 5 experiments (20,000 spans each, ~1 KB of attributes per
span), bulk-inserted with SQL into a fresh store file (schema applied by the collector's own
migrations), one assessment per trace. Timed in-process, median of ``RUNS``: each query as an admin
(the store itself, today's path), as a user who may read one experiment, and as a viewer of all
five (the same in-memory copy, of every row). The copy is the cost: it grows with the visible rows
of the relations a query names, whatever the query does with them.
"""

from __future__ import annotations

import os
import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from annotrace.collector.store.db import Database
from annotrace.collector.store.sandbox import run_query
from annotrace.collector.store.visible_rows import run_visible_query

EXPERIMENTS = tuple(f"exp{i}" for i in range(5))
TRACES = 10_000
SPANS_PER_TRACE = 10
RUNS = 5
QUERIES = (
    ("count spans", "SELECT count(*) FROM spans"),
    ("tokens by model", "SELECT model, sum(input_tokens) FROM spans GROUP BY model"),
    ("latest 10 traces", "SELECT trace_id, name FROM traces ORDER BY request_time DESC LIMIT 10"),
    (
        "assessments x traces",
        "SELECT t.experiment_id, count(*) FROM assessments a JOIN traces t USING (trace_id) GROUP BY ALL",
    ),
)
SETUP = """
INSERT INTO experiments (experiment_id, name) SELECT 'exp' || i, 'bench ' || i FROM range(5) r(i);
INSERT INTO traces (trace_id, experiment_id, name, state, request_time, end_time, execution_duration_ms, span_count,
    error_span_count, tags, trace_metadata, last_update_time, trace_key)
SELECT 'tr-' || md5(i::VARCHAR), 'exp' || (i % 5), 'trace ' || i, 'OK', TIMESTAMP '2026-01-01' + INTERVAL (i) SECOND,
    TIMESTAMP '2026-01-01' + INTERVAL (i) SECOND, 0, {spans}, 0, '{{}}', '{{}}', now(),
    ('0x' || right(md5(i::VARCHAR), 16))::UBIGINT
FROM range({traces}) r(i);
INSERT INTO spans (trace_id, span_id, experiment_id, name, kind, span_type, start_time, end_time, duration_ms,
    start_time_unix_nano, end_time_unix_nano, status_code, model, input_tokens, output_tokens, attributes,
    resource_attributes)
SELECT 'tr-' || md5(t::VARCHAR), md5(t::VARCHAR || '/' || s)[:16], 'exp' || (t % 5), 'span ' || s, 'INTERNAL', 'LLM',
    TIMESTAMP '2026-01-01', TIMESTAMP '2026-01-01', 0, 0, 1, 'OK', 'model-' || (s % 3), s, s,
    json_object('gen_ai.prompt', repeat('x', 900), 'n', s), '{{}}'
FROM range({traces}) r(t), range({spans}) q(s);
INSERT INTO assessments (assessment_id, trace_id, assessment_name, kind, value, source_type, source_id, metadata,
    create_time, last_update_time, valid, version, trace_key)
SELECT 'a-' || md5(i::VARCHAR), 'tr-' || md5(i::VARCHAR), 'quality', 'feedback', '4', 'HUMAN', 'ann', '{{}}', now(),
    now(), true, 1, ('0x' || right(md5(i::VARCHAR), 16))::UBIGINT
FROM range({traces}) r(i);
"""


@dataclass(slots=True)
class SqlRowsResult:
    spans: int = 0
    timings_ms: dict[str, dict[str, float]] = field(default_factory=dict)
    """query -> caller -> median ms"""


def _median_ms(run: Callable[[], object]) -> float:
    times = []
    for _ in range(RUNS):
        start = time.perf_counter()
        run()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def run_sql_rows(traces: int = TRACES) -> SqlRowsResult:
    result = SqlRowsResult()
    with tempfile.TemporaryDirectory(prefix="bench-sqlrows-") as directory:
        db = Database(Path(directory) / "annotrace.duckdb")
        try:
            db.conn.execute(SETUP.format(traces=traces, spans=SPANS_PER_TRACE))
            result.spans = int(run_query(db, "SELECT count(*) FROM spans").rows[0][0])
            callers: dict[str, Callable[[str], object]] = {
                "admin": lambda q: run_query(db, q),
                "1 experiment": lambda q: run_visible_query(db, q, frozenset(EXPERIMENTS[:1])),
                "all 5": lambda q: run_visible_query(db, q, frozenset(EXPERIMENTS)),
            }
            for label, query in QUERIES:
                result.timings_ms[label] = {
                    who: _median_ms(lambda run=run, query=query: run(query))  # type: ignore[misc]
                    for who, run in callers.items()
                }
        finally:
            db.close()
    return result


def print_sql_rows(r: SqlRowsResult) -> None:
    print(
        f"SQL row visibility, {r.spans:,} spans in {len(EXPERIMENTS)} experiments (median of {RUNS}, in-process; "
        f"load average {os.getloadavg()[0]:.1f}):",
        flush=True,
    )
    for label, timings in r.timings_ms.items():
        cells = ", ".join(f"{who} {ms:,.0f} ms" for who, ms in timings.items())
        print(f"  {label:<22} {cells}", flush=True)
