"""MLflow runs: reads, and the writer jobs behind every run RPC (create, update, log-batch...).

The rules are MLflow's SQLAlchemy store's, because the stock client's behaviour depends on them
(tests/differential compares the two): a param never changes once logged (logging the same value
again is fine); only an *active* run takes writes; the run name and the ``mlflow.runName`` tag are
one value; a run's metric value is the row with the largest (step, timestamp, value); deleting an
experiment deletes its runs and restoring it restores them. Each job runs on the writer thread in
one transaction, so a refused batch writes nothing.
"""

from __future__ import annotations

import math
import sys
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import duckdb
import orjson

from annotrace.collector.errors import InvalidParameter, NotFound
from annotrace.collector.store.queries import audit
from annotrace.collector.store.queries.run_names import random_name

STATUSES = ("RUNNING", "SCHEDULED", "FINISHED", "FAILED", "KILLED")
RUN_NAME_TAG = "mlflow.runName"
MAX_PARAM_VALUE_CHARS = 6000
MAX_TAG_VALUE_CHARS = 8000
MAX_KEY_CHARS = 250

COLUMNS = (
    "r.run_id, r.experiment_id, r.run_name, r.user_id, r.status, r.start_time, r.end_time, r.lifecycle_stage, "
    "r.params, r.tags, r.dataset_inputs, r.model_inputs, r.model_outputs"
)
GET = f"SELECT {COLUMNS} FROM runs r WHERE r.run_id = ?"
GET_MANY = f"SELECT {COLUMNS} FROM runs r WHERE r.run_id IN (SELECT unnest(?::VARCHAR[]))"
LATEST_METRICS = (
    "SELECT run_id, key, value, timestamp, step FROM ("
    " SELECT *, row_number() OVER (PARTITION BY run_id, key ORDER BY step DESC, timestamp DESC, value DESC) AS n"
    " FROM run_metrics WHERE run_id IN (SELECT unnest(?::VARCHAR[]))) WHERE n = 1 ORDER BY run_id, key"
)
HISTORY = (
    "SELECT key, value, timestamp, step FROM run_metrics WHERE run_id = ? AND key = ? ORDER BY step, timestamp, value"
)
INSERT = (
    "INSERT INTO runs (run_id, experiment_id, run_name, user_id, status, start_time, end_time, lifecycle_stage, "
    "deleted_time, params, tags, dataset_inputs, model_inputs, model_outputs) "
    "VALUES (?, ?, ?, ?, 'RUNNING', ?, NULL, 'active', NULL, '{}', ?, '[]', '[]', '[]')"
)
SET_INFO = "UPDATE runs SET status = ?, end_time = ?, run_name = ?, tags = ? WHERE run_id = ?"
SET_LIFECYCLE = "UPDATE runs SET lifecycle_stage = ?, deleted_time = ? WHERE run_id = ?"
SET_EXPERIMENT_RUNS_LIFECYCLE = "UPDATE runs SET lifecycle_stage = ?, deleted_time = ? WHERE experiment_id = ?"
SET_PARAMS_TAGS = "UPDATE runs SET params = ?, tags = ? WHERE run_id = ?"
SET_INPUTS = "UPDATE runs SET dataset_inputs = ?, model_inputs = ? WHERE run_id = ?"
SET_OUTPUTS = "UPDATE runs SET model_outputs = ? WHERE run_id = ?"
INSERT_METRIC = (
    "INSERT INTO run_metrics SELECT * FROM (SELECT unnest(?::STRUCT(run_id VARCHAR, key VARCHAR, "
    "value DOUBLE, timestamp BIGINT, step BIGINT, model_id VARCHAR, dataset_name VARCHAR, dataset_digest VARCHAR)[], "
    "recursive := true))"
)
EXPERIMENT = "SELECT coalesce(lifecycle_stage, 'active') FROM experiments WHERE experiment_id = ?"
LINKED = "SELECT trace_id FROM trace_run_links WHERE run_id = ? AND trace_id IN (SELECT unnest(?::VARCHAR[]))"
INSERT_LINK = "INSERT INTO trace_run_links SELECT unnest(?::VARCHAR[]), ?, ?"
MAX_LINKED_TRACES = 100


@dataclass(frozen=True, slots=True)
class Metric:
    key: str
    value: float
    timestamp: int
    step: int
    model_id: str | None = None
    dataset_name: str | None = None
    dataset_digest: str | None = None


@dataclass(frozen=True, slots=True)
class Run:
    run_id: str
    experiment_id: str
    run_name: str
    user_id: str
    status: str
    start_time: int
    end_time: int | None
    lifecycle_stage: str
    params: dict[str, str]
    tags: dict[str, str]
    dataset_inputs: list[dict[str, Any]]
    model_inputs: list[dict[str, Any]]
    model_outputs: list[dict[str, Any]]
    metrics: list[Metric] = field(default_factory=list)


@dataclass(frozen=True, slots=True, kw_only=True)
class NewRun:
    experiment_id: str
    user_id: str = ""
    start_time: int = 0
    run_name: str | None = None
    tags: dict[str, str] = field(default_factory=dict)


# -- reads ---------------------------------------------------------------------------------------
def get(cursor: duckdb.DuckDBPyConnection, run_id: str) -> Run:
    runs = get_many(cursor, [run_id])
    if not runs:
        raise NotFound(f"Run with id={run_id} not found")
    return runs[0]


def get_many(cursor: duckdb.DuckDBPyConnection, run_ids: list[str]) -> list[Run]:
    """The runs with these ids that exist, in the order given, with their latest metrics."""
    rows = {row[0]: row for row in cursor.execute(GET_MANY, [run_ids]).fetchall()}
    metrics: dict[str, list[Metric]] = {}
    for run_id, key, value, timestamp, step in cursor.execute(LATEST_METRICS, [list(rows)]).fetchall():
        metrics.setdefault(run_id, []).append(Metric(key, value, timestamp, step))
    out = []
    for run_id in dict.fromkeys(run_ids):
        if run_id in rows:
            row = rows[run_id]
            rid, experiment_id, name, user_id, status, start, end, stage = row[:8]
            params, tags, datasets, models_in, models_out = (orjson.loads(v) for v in row[8:13])
            out.append(
                Run(
                    rid,
                    experiment_id,
                    name,
                    user_id,
                    status,
                    start,
                    end,
                    stage,
                    params,
                    tags,
                    datasets,
                    models_in,
                    models_out,
                    metrics.get(run_id, []),
                )
            )
    return out


def metric_history(cursor: duckdb.DuckDBPyConnection, run_id: str, key: str) -> list[Metric]:
    get(cursor, run_id)
    return [Metric(*row) for row in cursor.execute(HISTORY, [run_id, key]).fetchall()]


# -- writer jobs ---------------------------------------------------------------------------------
def create(conn: duckdb.DuckDBPyConnection, new: NewRun, run_id: str | None = None) -> Run:
    """A RUNNING run; the name comes from ``run_name``, else the ``mlflow.runName`` tag, else is random."""
    check_experiment_active(conn, new.experiment_id)
    tag_name = new.tags.get(RUN_NAME_TAG)
    if new.run_name and tag_name and new.run_name != tag_name:
        raise InvalidParameter(
            "Both 'run_name' argument and 'mlflow.runName' tag are specified, but with different values "
            f"(run_name='{new.run_name}', mlflow.runName='{tag_name}')."
        )
    name = new.run_name or tag_name or random_name()
    tags = dict(new.tags)
    tags.setdefault(RUN_NAME_TAG, name)
    _check_tags(tags)
    run_id = run_id or uuid.uuid4().hex
    conn.execute(INSERT, [run_id, new.experiment_id, name, new.user_id, new.start_time, _json(tags)])
    created = get(conn, run_id)
    _audit(conn, "create", None, created)
    return created


def insert_for_session(
    conn: duckdb.DuckDBPyConnection, session_id: str, experiment_id: str, name: str, now: datetime
) -> None:
    """A labeling session's run (Databricks' sessions are runs): ``search_traces(run_id=session.mlflow_run_id)``
    in the stock client first reads the run, then finds the session's copies by ``mlflow.sourceRun``."""
    conn.execute(
        INSERT,
        [
            session_id,
            experiment_id,
            name,
            "",
            int(now.replace(tzinfo=UTC).timestamp() * 1000),
            _json({RUN_NAME_TAG: name}),
        ],
    )


def update(
    conn: duckdb.DuckDBPyConnection, run_id: str, status: str | None, end_time: int | None, run_name: str | None
) -> Run:
    run = _active(conn, run_id)
    tags = dict(run.tags)
    if run_name:
        tags[RUN_NAME_TAG] = run_name
    conn.execute(
        SET_INFO,
        [
            status or run.status,
            end_time if end_time is not None else run.end_time,
            run_name or run.run_name,
            _json(tags),
            run_id,
        ],
    )
    updated = get(conn, run_id)
    _audit(conn, "update", run, updated)
    return updated


def set_lifecycle(conn: duckdb.DuckDBPyConnection, run_id: str, deleted: bool, now_ms: int) -> None:
    before = get(conn, run_id)
    conn.execute(SET_LIFECYCLE, ["deleted" if deleted else "active", now_ms if deleted else None, run_id])
    _audit(conn, "delete" if deleted else "restore", before, get(conn, run_id))


def set_experiment_runs_lifecycle(
    conn: duckdb.DuckDBPyConnection, experiment_id: str, deleted: bool, now_ms: int
) -> None:
    """Part of delete_experiment / restore_experiment: every run of the experiment follows it."""
    conn.execute(
        SET_EXPERIMENT_RUNS_LIFECYCLE, ["deleted" if deleted else "active", now_ms if deleted else None, experiment_id]
    )


def log_batch(
    conn: duckdb.DuckDBPyConnection, run_id: str, metrics: list[Metric], params: dict[str, str], tags: dict[str, str]
) -> None:
    """LogBatch (and LogMetric, LogParam, SetTag): all of it or, on any refusal, nothing."""
    run = _active(conn, run_id)
    changed = [
        {"key": k, "old_value": run.params[k], "new_value": v}
        for k, v in params.items()
        if k in run.params and run.params[k] != v
    ]
    if changed:
        raise InvalidParameter(
            f"Changing param values is not allowed. Params were already logged='{changed}' for run ID='{run_id}'."
        )
    for key, value in params.items():
        _check_key(key, "params")
        if len(value) > MAX_PARAM_VALUE_CHARS:
            raise InvalidParameter(
                f"Param value '{value[:50]}...' had length {len(value)}, which exceeded length "
                f"limit of {MAX_PARAM_VALUE_CHARS}"
            )
    _check_tags(tags)
    for metric in metrics:
        _check_key(metric.key, "metrics")
    new_name = tags.get(RUN_NAME_TAG)
    merged_tags = {**run.tags, **tags}
    conn.execute(SET_PARAMS_TAGS, [_json({**run.params, **params}), _json(merged_tags), run_id])
    if new_name:
        conn.execute(SET_INFO, [run.status, run.end_time, new_name, _json(merged_tags), run_id])
    if params or tags:  # metrics are measurements a training loop logs by the thousand, not edits
        _audit(conn, "log-params-tags", run, get(conn, run_id))
    if metrics:
        rows = [
            {
                "run_id": run_id,
                "key": m.key,
                "value": _finite(m.value),
                "timestamp": m.timestamp,
                "step": m.step,
                "model_id": m.model_id,
                "dataset_name": m.dataset_name,
                "dataset_digest": m.dataset_digest,
            }
            for m in dict.fromkeys(metrics)
        ]
        conn.execute(INSERT_METRIC, [rows])


def delete_tag(conn: duckdb.DuckDBPyConnection, run_id: str, key: str) -> None:
    run = _active(conn, run_id)
    if key not in run.tags:
        raise NotFound(f"No tag with name: {key} in run with id {run_id}")
    tags = {k: v for k, v in run.tags.items() if k != key}
    conn.execute(SET_PARAMS_TAGS, [_json(run.params), _json(tags), run_id])
    _audit(conn, "delete-tag", run, get(conn, run_id))


def log_inputs(
    conn: duckdb.DuckDBPyConnection, run_id: str, datasets: list[dict[str, Any]], models: list[dict[str, Any]]
) -> None:
    """Dataset inputs are kept once per (name, digest), with the tags of their first logging."""
    run = _active(conn, run_id)
    kept = list(run.dataset_inputs)
    seen = {(d["dataset"]["name"], d["dataset"]["digest"]) for d in kept}
    for item in datasets:
        key = (item["dataset"]["name"], item["dataset"]["digest"])
        if key not in seen:
            seen.add(key)
            kept.append(item)
    model_ids = [m["model_id"] for m in run.model_inputs]
    model_inputs = run.model_inputs + [m for m in models if m["model_id"] not in model_ids]
    conn.execute(SET_INPUTS, [_json(kept), _json(model_inputs), run_id])


def log_outputs(conn: duckdb.DuckDBPyConnection, run_id: str, models: list[dict[str, Any]]) -> None:
    run = _active(conn, run_id)
    conn.execute(SET_OUTPUTS, [_json(run.model_outputs + models), run_id])


def link_traces(conn: duckdb.DuckDBPyConnection, trace_ids: list[str], run_id: str, now_ms: int) -> None:
    """LinkTracesToRun: at most 100 traces; a link made twice is kept once. Like MLflow's store, it
    checks neither the run nor the traces (a trace may arrive after its link)."""
    if len(trace_ids) > MAX_LINKED_TRACES:
        raise InvalidParameter(
            f"Cannot link more than {MAX_LINKED_TRACES} traces to a run in a single request. "
            f"Provided {len(trace_ids)} traces."
        )
    if not trace_ids:
        return
    linked = {row[0] for row in conn.execute(LINKED, [run_id, trace_ids]).fetchall()}
    new = [t for t in dict.fromkeys(trace_ids) if t not in linked]
    if new:
        conn.execute(INSERT_LINK, [new, run_id, now_ms])


def _audit(conn: duckdb.DuckDBPyConnection, action: str, before: Run | None, after: Run) -> None:
    """The run's audit row, with what a user edits (name, status, lifecycle, params, tags; not
    metrics or inputs, which are logged data)."""
    audit.record(
        conn, action=action, object_type="run", object_id=after.run_id, previous=_audited(before), new=_audited(after)
    )


def _audited(run: Run | None) -> dict[str, Any] | None:
    if run is None:
        return None
    keys = ("run_id", "experiment_id", "run_name", "status", "end_time", "lifecycle_stage", "params", "tags")
    return {key: getattr(run, key) for key in keys}


def check_experiment_active(conn: duckdb.DuckDBPyConnection, experiment_id: str) -> None:
    rows = conn.execute(EXPERIMENT, [experiment_id]).fetchall()
    if not rows:
        raise NotFound(f"No Experiment with id={experiment_id} exists")
    if rows[0][0] != "active":
        raise InvalidParameter(
            f"The experiment {experiment_id} must be in the 'active' state. Current state is {rows[0][0]}."
        )


def _active(conn: duckdb.DuckDBPyConnection, run_id: str) -> Run:
    run = get(conn, run_id)
    if run.lifecycle_stage != "active":
        raise InvalidParameter(
            f"The run {run_id} must be in the 'active' state. Current state is {run.lifecycle_stage}."
        )
    return run


def _check_key(key: str, what: str) -> None:
    if not key or len(key) > MAX_KEY_CHARS:
        raise InvalidParameter(
            f"Invalid value '{key[:60]}' for parameter '{what}': a key must have 1 to {MAX_KEY_CHARS} characters."
        )


def _check_tags(tags: dict[str, str]) -> None:
    for key, value in tags.items():
        _check_key(key, "tags")
        if len(value) > MAX_TAG_VALUE_CHARS:
            raise InvalidParameter(
                f"Tag value '{value[:50]}...' had length {len(value)}, which exceeded length "
                f"limit of {MAX_TAG_VALUE_CHARS}"
            )


def _finite(value: float) -> float:
    """MLflow's store keeps +-infinity as the largest finite double (SQL databases cannot hold it), so
    a client reads 1.7976931348623157e308 back; NaN is kept."""
    if math.isinf(value):
        return sys.float_info.max if value > 0 else -sys.float_info.max
    return value


def _json(value: Any) -> str:
    return orjson.dumps(value).decode()
