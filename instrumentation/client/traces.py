"""MLflow's trace and experiment RPCs (reference 6.1) over ``rest.call``: get, search, batch get.

``search_trace_infos`` returns one page (the server caps pages at ``MAX_PAGE_SIZE``); paging and
the DataFrame live in ``annotrace.traces``. Spans come from ``GET /traces/batchGet`` in batches of
``MAX_BATCH`` ids instead of one request per trace.
"""

from __future__ import annotations

from typing import Any

from annotrace.client import rest
from annotrace.entities.trace import Trace
from annotrace.entities.trace_info import TraceInfo

__all__ = [
    "MAX_BATCH",
    "MAX_PAGE_SIZE",
    "batch_get_traces",
    "get_experiment_id_by_name",
    "get_trace",
    "search_trace_infos",
]

MAX_PAGE_SIZE = 500  # SearchTracesV3 rejects more
MAX_BATCH = 100  # BatchGetTraces ids per request
_V3 = "/api/3.0/mlflow"


def get_experiment_id_by_name(name: str) -> str:
    """``GET /api/2.0/mlflow/experiments/get-by-name``; RESOURCE_DOES_NOT_EXIST if there is none."""
    answer = rest.call("GET", "/api/2.0/mlflow/experiments/get-by-name", params={"experiment_name": name})
    return str(answer["experiment"]["experiment_id"])


def get_trace(trace_id: str) -> Trace:
    """``GET /api/3.0/mlflow/traces/get?trace_id=``: info, assessments and spans in one answer."""
    answer = rest.call("GET", f"{_V3}/traces/get", params={"trace_id": trace_id})
    return Trace.from_rest(answer["trace"])


def search_trace_infos(
    experiment_ids: list[str],
    filter_string: str | None = None,
    max_results: int = 100,
    order_by: list[str] | None = None,
    page_token: str | None = None,
) -> tuple[list[TraceInfo], str | None]:
    """One page of ``POST /api/3.0/mlflow/traces/search``: trace infos and the next page token."""
    body: dict[str, Any] = {
        "locations": [
            {"type": "MLFLOW_EXPERIMENT", "mlflow_experiment": {"experiment_id": str(experiment_id)}}
            for experiment_id in experiment_ids
        ],
        "max_results": min(max_results, MAX_PAGE_SIZE),
    }
    if filter_string:
        body["filter"] = filter_string
    if order_by:
        body["order_by"] = list(order_by)
    if page_token:
        body["page_token"] = page_token
    answer = rest.call("POST", f"{_V3}/traces/search", json=body)
    infos = [TraceInfo.from_dict(info) for info in answer.get("traces") or []]
    return infos, answer.get("next_page_token") or None


def batch_get_traces(trace_ids: list[str]) -> dict[str, Trace]:
    """Full traces by id (``GET /traces/batchGet``); ids the server does not know are absent."""
    found: dict[str, Trace] = {}
    for start in range(0, len(trace_ids), MAX_BATCH):
        chunk = trace_ids[start : start + MAX_BATCH]
        answer = rest.call("GET", f"{_V3}/traces/batchGet", params={"trace_ids": chunk})
        for raw in answer.get("traces") or []:
            trace = Trace.from_rest(raw)
            found[trace.info.trace_id] = trace
    return found
