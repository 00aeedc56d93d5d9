"""Client scripts: ``search_traces`` filter strings and ``order_by`` (MLflow's ``SearchTraceUtils``
grammar) and ``client_request_id``, on four traces with fixed times, tags and states.

Run by tests/differential/client_runner.py under each client version: mlflow and the standard
library only.
"""

from __future__ import annotations

import time
from typing import Any

import mlflow
from mlflow import MlflowClient

MS = 1_000_000  # nanoseconds

# each filter and order is run against both servers and the names found compared (end_time_ms is
# left out: the stock server answers it with a 500, which its client retries for minutes)
FILTERS = [
    "trace.execution_time_ms > 1000",
    "trace.execution_time_ms >= 1500",
    "attributes.execution_time_ms < 200",
    "execution_time_ms = 1500",
    "trace.timestamp_ms > {t1}",
    "attributes.timestamp_ms < {t2}",
    "trace.timestamp_ms >= {t0} AND trace.timestamp_ms <= {t1}",
    "timestamp_ms != {t0}",
    "tags.env = 'prod'",
    "tags.env != 'prod'",
    "tags.env IN ('prod', 'dev')",
    "tags.env LIKE 'pr%'",
    "tags.env LIKE 'PR%'",
    "tags.env ILIKE 'PR%'",
    "tags.team IS NULL",
    "tags.team IS NOT NULL",
    "tags.`env` = 'dev'",
    "trace.status = 'ERROR'",
    "trace.status != 'OK'",
    "trace.status IN ('OK', 'ERROR')",
    "trace.status NOT IN ('OK')",
    "attributes.status = 'OK' AND tags.env = 'prod'",
    "trace.name = 'beta'",
    "trace.name != 'beta'",
    "trace.name LIKE '%ta'",
    "trace.name ILIKE 'ALP%'",
    "trace.client_request_id = 'req-42'",
    "trace.client_request_id != 'req-42'",
    "trace.client_request_id IN ('req-42', 'req-x')",
    "trace.client_request_id LIKE 'req-%'",
    "request_metadata.`mlflow.traceInputs` LIKE '%q%'",
    "span.name = 'beta'",
    "span.type = 'CHAIN'",
    "feedback.quality > 3",
    "feedback.quality = '2'",
    "feedback.quality >= 2 AND tags.env = 'dev'",
    "feedback.quality IS NULL",
    "feedback.quality IS NOT NULL",
    "feedback.verdict = 'pass'",
    "feedback.verdict != 'pass'",
    "expectation.expected = 'ALPHA'",
    "trace.name RLIKE '^[ab]'",
    "tags.env RLIKE 'd.v'",
    "metadata.`mlflow.trace_schema.version` = '3'",
    "trace.status = 'OK' AND trace.execution_time_ms > 50 AND tags.team IS NOT NULL",
    "span.status = 'ERROR'",
    "span.name LIKE 'al%'",
    "trace.request_id = '{alpha_id}'",
    "trace.text LIKE '%ALPHA%'",
    "colour = 'red'",
    "tags.env > 'a'",
    "trace.status LIKE 'O%'",
]
# where annotrace deliberately answers otherwise (tests/differential/test_trace_search.py says why)
EXTENSIONS = [
    "feedback.quality = 2",
    "trace.name IN ('alpha', 'gamma')",
    "trace.name = 'alpha' OR trace.name = 'beta'",
    "trace.execution_time_ms > 'slow'",
]
ORDERS = [
    ["timestamp_ms ASC"],
    ["timestamp_ms DESC"],
    ["execution_time_ms DESC"],
    ["trace.execution_time_ms ASC"],
    ["attributes.timestamp_ms"],
    ["status ASC", "timestamp_ms DESC"],
    ["name DESC"],
    ["tags.env"],
    ["colour"],
]


def _span_trace(name: str, start_ns: int, duration_ms: int, tags: dict[str, str], status: str = "OK") -> str:
    span = mlflow.start_span_no_context(name, span_type="CHAIN", inputs={"q": name}, tags=tags, start_time_ns=start_ns)
    span.end(outputs=name.upper(), status=status, end_time_ns=start_ns + duration_ms * MS)
    return span.trace_id


def filters_and_order(client: Any) -> dict[str, Any]:
    """FILTERS and ORDERS over the four traces, and client_request_id read back and searched."""
    return _searches(client, FILTERS, ORDERS, with_client_request_id=True)


def extensions(client: Any) -> dict[str, Any]:
    """EXTENSIONS over the same four traces."""
    return _searches(client, EXTENSIONS, [], with_client_request_id=False)


def _searches(client: Any, filters: list[str], orders: list[list[str]], with_client_request_id: bool) -> dict[str, Any]:
    experiment = mlflow.set_experiment(f"diff-search-{client.unique}")
    base_ns = (int(time.time()) - 3600) * 1_000_000_000  # an hour ago, on a whole second
    t0, t1, t2 = (base_ns // MS + offset for offset in (0, 2000, 4000))
    ids = {
        "alpha": _span_trace("alpha", base_ns, 100, {"env": "prod", "team": "a"}),
        "beta": _span_trace("beta", base_ns + 2000 * MS, 1500, {"env": "dev"}),
        "gamma": _span_trace("gamma", base_ns + 4000 * MS, 3000, {"env": "prod", "team": "b"}, status="ERROR"),
    }

    @mlflow.trace(name="delta")
    def delta() -> str:
        mlflow.update_current_trace(tags={"env": "staging"}, client_request_id="req-42")
        return "D"

    delta()
    ids["delta"] = mlflow.get_last_active_trace_id()
    mlflow.flush_trace_async_logging()  # the stock client logs traces in the background
    names = {trace_id: name for name, trace_id in ids.items()}
    mlflow.log_feedback(trace_id=ids["alpha"], name="quality", value=5)
    mlflow.log_feedback(trace_id=ids["beta"], name="quality", value=2)
    mlflow.log_feedback(trace_id=ids["beta"], name="verdict", value="pass")
    mlflow.log_feedback(trace_id=ids["gamma"], name="verdict", value="fail")
    mlflow.log_expectation(trace_id=ids["alpha"], name="expected", value="ALPHA")

    def search(filter_string: str | None = None, order_by: list[str] | None = None) -> Any:
        try:
            found = mlflow.search_traces(
                locations=[experiment.experiment_id], filter_string=filter_string, order_by=order_by, return_type="list"
            )
        except mlflow.exceptions.MlflowException as exc:
            return {"error_code": exc.error_code, "http_status": exc.get_http_status_code()}
        listed = [names.get(t.info.trace_id, "?") for t in found]
        return listed if order_by else sorted(listed)

    out: dict[str, Any] = {
        "filters": {f: search(f.format(t0=t0, t1=t1, t2=t2, alpha_id=ids["alpha"])) for f in filters},
        "orders": {" , ".join(o): search(None, o) for o in orders},
    }
    if with_client_request_id:
        out["client_request_id"] = MlflowClient().get_trace(ids["delta"]).info.client_request_id
        out["client_request_id_in_search"] = [
            t.info.client_request_id
            for t in mlflow.search_traces(
                locations=[experiment.experiment_id], filter_string="trace.name = 'delta'", return_type="list"
            )
        ]
        out["client_request_id_in_frame"] = list(
            mlflow.search_traces(locations=[experiment.experiment_id], order_by=["timestamp_ms ASC"])[
                "client_request_id"
            ].fillna("-")
        )
    return out
