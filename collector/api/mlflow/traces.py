"""MLflow trace routes (reference 6.1, 9.3): trace info, trace with spans, search, tags, deletion.

Handlers parse, make one store call (a read, or one writer job) and serialise.
"""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING

import orjson

from annotrace.collector.api.mlflow import trace_json
from annotrace.collector.api.mlflow.wire import (
    Fields,
    body_trace_ids,
    invalid,
    json_body,
    missing,
    ok,
    page_offset,
    page_token,
    path_trace_id,
    query,
    stored_trace_id,
)
from annotrace.collector.errors import InvalidParameter
from annotrace.collector.store.queries import trace_search
from annotrace.collector.store.queries import traces as store

if TYPE_CHECKING:
    from starlette.requests import Request
    from starlette.responses import Response

    from annotrace.collector.store.access import Access

DEFAULT_MAX_RESULTS = 100
MAX_BATCH = 100


async def get_trace_info(access: Access, request: Request) -> Response:
    """GetTraceInfoV3: ``{"trace": {"trace_info": TraceInfoV3}}``."""
    row, assessments = await access.read(store.get_info, path_trace_id(request))
    return ok({"trace": {"trace_info": trace_json.trace_info(row, assessments)}})


async def get_trace(access: Access, request: Request) -> Response:
    """GetTrace: ``GET /traces/get?trace_id=`` -> trace info and spans."""
    params = query(request)
    raw = params.get_str("trace_id", required=True)
    assert raw is not None
    row, assessments, spans = await access.read(store.get_with_spans, stored_trace_id(raw))
    return ok({"trace": trace_json.trace(row, assessments, spans)})


async def batch_get_traces(access: Access, request: Request) -> Response:
    """BatchGetTraces: ``GET /traces/batchGet?trace_ids=..`` (unknown ids are left out)."""
    ids = _batch_ids(query(request))
    found = await access.read(store.get_many_with_spans, ids)
    return ok({"traces": [trace_json.trace(row, assessments, spans) for row, assessments, spans in found]})


async def batch_get_trace_infos(access: Access, request: Request) -> Response:
    """BatchGetTraceInfos: ``POST /traces/batchGetInfos {"trace_ids": [...]}``."""
    ids = _batch_ids(await json_body(request))
    found = await access.read(store.get_many_info, ids)
    return ok({"trace_infos": [trace_json.trace_info(row, assessments) for row, assessments in found]})


async def search_traces(access: Access, request: Request) -> Response:
    """SearchTracesV3: filter grammar of reference 9.3, ``max_results`` <= 500, opaque page tokens."""
    body = await json_body(request)
    experiment_ids = _locations(body)
    filter_string = body.get_str("filter")
    order_by = body.get_str_list("order_by") or []
    max_results = body.get_int("max_results", minimum=1, maximum=trace_search.MAX_RESULTS) or DEFAULT_MAX_RESULTS
    compiled = trace_search.compile_filter(filter_string)
    order = trace_search.compile_order(order_by)
    scope = orjson.dumps([sorted(experiment_ids), filter_string or "", order_by]).decode()
    offset = page_offset(body.get_str("page_token"), scope)
    page, more = await access.read(trace_search.search_page, experiment_ids, compiled, order, max_results, offset)
    out: dict[str, object] = {"traces": [trace_json.trace_info(row, assessments) for row, assessments in page]}
    if more:
        out["next_page_token"] = page_token(offset + max_results, scope)
    return ok(out)


async def set_trace_tag(access: Access, request: Request) -> Response:
    """SetTraceTag: ``PATCH /traces/{trace_id}/tags {"key", "value"}``."""
    trace_id = path_trace_id(request)
    body = await json_body(request, content_type_required=False)
    key = body.get_str("key", required=True)
    value = body.get_str("value") or ""
    assert key is not None
    await access.write(partial(store.set_tag, trace_id=trace_id, key=key, value=value))
    return ok({})


async def delete_trace_tag(access: Access, request: Request) -> Response:
    """DeleteTraceTag: ``DELETE /traces/{trace_id}/tags {"key"}`` (``?key=`` also accepted)."""
    trace_id = path_trace_id(request)
    body = await json_body(request, content_type_required=False)
    key = body.get_str("key") or query(request).get_str("key")
    if key is None:
        raise missing("key")
    await access.write(partial(store.delete_tag, trace_id=trace_id, key=key))
    return ok({})


async def delete_traces(access: Access, request: Request) -> Response:
    """DeleteTraces: by ``request_ids`` (alias ``trace_ids``) or ``max_timestamp_millis`` [+ ``max_traces``]."""
    body = await json_body(request)
    experiment_id = body.get_str("experiment_id", required=True)
    assert experiment_id is not None
    raw_ids = body.get_str_list("request_ids")
    if raw_ids is None:
        raw_ids = body.get_str_list("trace_ids")
    max_timestamp = body.get_int("max_timestamp_millis", minimum=0)
    max_traces = body.get_int("max_traces", minimum=1)
    if (raw_ids is None) == (max_timestamp is None):
        raise InvalidParameter(
            "Exactly one of 'max_timestamp_millis' and 'request_ids' (or 'trace_ids') must be specified."
        )
    if raw_ids is not None and max_traces is not None:
        raise InvalidParameter("'max_traces' can't be specified if 'request_ids' (or 'trace_ids') is specified.")
    trace_ids = body_trace_ids(raw_ids, "request_ids") if raw_ids is not None else None
    deleted = await access.write(
        partial(
            store.delete_traces,
            experiment_id=experiment_id,
            trace_ids=trace_ids,
            max_timestamp_ms=max_timestamp,
            max_traces=max_traces,
        )
    )
    return ok({"traces_deleted": deleted})


def _locations(body: Fields) -> list[str]:
    """Experiment ids from ``locations`` (MLflow 3) or ``experiment_ids``; at least one."""
    ids: list[str] = []
    locations = body.raw("locations")
    if locations is not None:
        if not isinstance(locations, list):
            raise invalid("locations", "a list of trace locations", locations)
        for index, location in enumerate(locations):
            path = f"locations[{index}]"
            if not isinstance(location, dict):
                raise invalid(path, "a trace location object", location)
            kind = location.get("type", "MLFLOW_EXPERIMENT")
            if kind != "MLFLOW_EXPERIMENT":
                raise InvalidParameter(
                    f"Invalid value for parameter '{path}.type': only MLFLOW_EXPERIMENT "
                    f"locations are supported, got {kind!r}."
                )
            experiment = Fields(location, f"{path}.").get_obj("mlflow_experiment", required=True)
            assert experiment is not None
            experiment_id = experiment.get_str("experiment_id", required=True)
            assert experiment_id is not None
            ids.append(experiment_id)
    ids.extend(body.get_str_list("experiment_ids") or [])
    if not ids:
        raise missing("locations")
    return ids


def _batch_ids(fields: Fields) -> list[str]:
    raw = fields.get_str_list("trace_ids")
    if not raw:
        raise missing("trace_ids")
    if len(raw) > MAX_BATCH:
        raise InvalidParameter(f"Invalid value for parameter 'trace_ids': at most {MAX_BATCH} ids per request.")
    return body_trace_ids(raw, "trace_ids")
