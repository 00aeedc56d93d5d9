"""The ``agreement`` scenario: how long the agreement report of a large labeling session takes.

10,000 items x 3 labelers x 3 label schemas (pass_fail, categorical, numeric): 90,000 HUMAN
assessments, bulk-inserted with SQL into a fresh store file (schema applied by the collector's own
migrations), labels that mostly agree (each labeler departs from an item's true answer 20% of the
time). Timed in-process: ``agreement.report`` (the labels read through the ``labeling_labels``
view, alpha / kappas / percent agreement each with 1,000 bootstrap resamples, per-labeler
figures, the worst items) and ``agreement_judges.judges`` for one judge over the same traces.
Goal (issue 13): the report under 1 s.
"""

from __future__ import annotations

import os
import statistics
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import duckdb

from annotrace.collector.store.migrate import migrate
from annotrace.collector.store.queries import agreement, agreement_judges

SESSION = "a" * 32
EXPERIMENT = "bench"
SCHEMAS = (  # name, input_type, input JSON, SQL for a value from $truth (0..) and whether it is shifted
    ("correct", "pass_fail", '{"positive_label": "Pass", "negative_label": "Fail"}'),
    ("tone", "categorical", '{"options": ["calm", "curt", "warm"]}'),
    ("score", "numeric", '{"min_value": 1, "max_value": 5}'),
)
LABELERS = ("ann", "bob", "cy")
RUNS = 3

SETUP = """
INSERT INTO label_schemas (schema_id, experiment_id, name, type, title, instruction, enable_comment, input_type,
    input, created_by, created_at, updated_at)
SELECT 'ls-' || md5(name), $experiment, name, 'feedback', name, NULL, false, input_type, input, NULL, now(), now()
FROM (VALUES ('correct', 'pass_fail', '{}'), ('tone', 'categorical', '{}'), ('score', 'numeric', '{}'))
    AS t(name, input_type, input);
INSERT INTO labeling_sessions (session_id, experiment_id, name, assigned_users, agent, label_schemas,
    enable_multi_turn_chat, custom_inputs, create_time, last_update_time)
VALUES ($session, $experiment, 'bench', '[]', NULL, '["correct", "tone", "score"]', false, NULL, now(), now());
INSERT INTO labeling_items (session_id, trace_id, source_trace_id, position, create_time)
SELECT $session, 'tr-' || md5(i::VARCHAR), 'tr-' || md5(i::VARCHAR), i, now() FROM range($items) r(i);
"""
# one row per item x labeler x schema; truth from a hash of the item, a 20% departure from a hash of the row
LABELS = """
INSERT INTO assessments (assessment_id, trace_id, span_id, assessment_name, kind, value, value_label, value_number,
    rationale, source_type, source_id, error_code, error_message, error_stack_trace, metadata, create_time,
    last_update_time, overrides, valid, version, trace_key)
WITH rows AS (
    SELECT i, l.labeler, s.name,
        hash(i, s.name) % 5 AS truth,
        hash(i, s.name, l.labeler) % 100 < 20 AS departs,
        hash(i, l.labeler) % 3 AS other
    FROM range($items) r(i), (VALUES ('ann'), ('bob'), ('cy')) l(labeler),
         (VALUES ('correct'), ('tone'), ('score')) s(name)
), v AS (
    SELECT *, CASE name
        WHEN 'correct' THEN (CASE WHEN departs THEN truth % 2 = 1 ELSE truth % 2 = 0 END)::VARCHAR
        WHEN 'tone' THEN '"' || ['calm', 'curt', 'warm'][1 + ((truth + (CASE WHEN departs THEN 1 + other % 2
                                                                          ELSE 0 END)) % 3)::INT] || '"'
        ELSE (1 + (truth + CASE WHEN departs THEN 1 ELSE 0 END) % 5)::VARCHAR END AS value
    FROM rows
)
SELECT 'a-' || md5(i::VARCHAR || labeler || name), 'tr-' || md5(i::VARCHAR), NULL, name, 'feedback', value::JSON,
    trim(value, '"'), CASE WHEN name = 'score' THEN value::DOUBLE WHEN name = 'correct' THEN
    (value = 'true')::INT::DOUBLE END, NULL, 'HUMAN', labeler, NULL, NULL, NULL, '{}',
    now() + INTERVAL (i * 20) SECOND, now() + INTERVAL (i * 20) SECOND, NULL, true, 1,
    ('0x' || right(md5(i::VARCHAR), 16))::UBIGINT
FROM v
"""
JUDGE = """
INSERT INTO assessments (assessment_id, trace_id, span_id, assessment_name, kind, value, value_label, value_number,
    rationale, source_type, source_id, error_code, error_message, error_stack_trace, metadata, create_time,
    last_update_time, overrides, valid, version, trace_key)
SELECT 'a-' || md5('judge' || i::VARCHAR), 'tr-' || md5(i::VARCHAR), NULL, 'correct', 'feedback',
    (hash(i, 'judge') % 2 = 0)::VARCHAR::JSON, (hash(i, 'judge') % 2 = 0)::VARCHAR, NULL, NULL, 'LLM_JUDGE',
    'judge-v1', NULL, NULL, NULL, '{}', now(), now(), NULL, true, 1, ('0x' || right(md5(i::VARCHAR), 16))::UBIGINT
FROM range($items) r(i)
"""
TRACES = """
INSERT INTO traces (trace_id, experiment_id, state, request_time, end_time, execution_duration_ms, tags,
    trace_metadata, span_count, error_span_count, last_update_time, trace_key)
SELECT 'tr-' || md5(i::VARCHAR), $experiment, 'OK', now(), now(), 1.0, '{}', '{}', 1, 0, now(),
    ('0x' || right(md5(i::VARCHAR), 16))::UBIGINT FROM range($items) r(i)
"""


@dataclass(frozen=True, slots=True)
class AgreementResult:
    items: int
    labels: int
    report_s: float  # wall time, median of RUNS
    report_cpu_s: float  # CPU time of this process (all threads), median of RUNS: less affected by other load
    judges_s: float
    alphas: dict[str, float]


def run_agreement(items: int = 10_000) -> AgreementResult:
    with tempfile.TemporaryDirectory(prefix="bench-agreement-") as folder:
        conn = duckdb.connect(str(Path(folder) / "store.duckdb"))
        migrate(conn)
        params = {"session": SESSION, "experiment": EXPERIMENT, "items": items}
        for statement in SETUP.split(";"):
            if statement.strip():
                conn.execute(statement, {k: v for k, v in params.items() if f"${k}" in statement})
        conn.execute(LABELS, {"items": items})
        conn.execute(TRACES, {"items": items, "experiment": EXPERIMENT})
        conn.execute(JUDGE, {"items": items})
        labels = conn.execute("SELECT count(*) FROM labeling_labels").fetchall()[0][0]
        report_times, report_cpu, judge_times = [], [], []
        report = None
        for _ in range(RUNS):
            cursor = conn.cursor()
            start, cpu = time.perf_counter(), time.process_time()
            report = agreement.report(cursor, SESSION)
            report_times.append(time.perf_counter() - start)
            report_cpu.append(time.process_time() - cpu)
            start = time.perf_counter()
            agreement_judges.judges(cursor, "correct", experiment_id=EXPERIMENT)
            judge_times.append(time.perf_counter() - start)
            cursor.close()
        conn.close()
    assert report is not None
    return AgreementResult(
        items,
        int(labels),
        statistics.median(report_times),
        statistics.median(report_cpu),
        statistics.median(judge_times),
        {s.schema: s.alpha.value for s in report.schemas},
    )


def print_agreement(r: AgreementResult) -> None:
    alphas = ", ".join(f"{name} {value:.3f}" for name, value in r.alphas.items())
    print(
        f"agreement report, {r.items:,} items x {len(LABELERS)} labelers x {len(SCHEMAS)} schemas "
        f"({r.labels:,} labels, 1,000 bootstrap resamples per figure): {r.report_s * 1000:,.0f} ms "
        f"(CPU {r.report_cpu_s * 1000:,.0f} ms; goal < 1,000 ms; median of {RUNS}; load average "
        f"{os.getloadavg()[0]:.1f}); alpha {alphas}",
        flush=True,
    )
    print(f"judge vs human, 1 judge over {r.items:,} traces: {r.judges_s * 1000:,.0f} ms", flush=True)
