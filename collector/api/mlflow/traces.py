"""MLflow trace routes (reference 6.1, 9.3): trace info, trace with spans, search, tags, deletion.

Handlers parse, make one store call (a read, or one writer job) and serialise.
"""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING, Annotated, Any, NotRequired

import orjson
from typing_extensions import TypedDict  # pydantic reads typing's TypedDict only from Python 3.12

from annotrace.collector.api.mlflow import trace_json
from annotrace.collector.api.mlflow.wire import (
    body_trace_ids,
    invalid,
    json_body,
    missing,
    ok,
    page_offset,
    page_token,
    path_trace_id,
    stored_trace_id,
)
from annotrace.collector.api.model_rules import Check
from annotrace.collector.api.models import Integer, Text, TextList, parse
from annotrace.collector.api.query_params import parse_query
from annotrace.collector.errors import InvalidParameter
from annotrace.collector.store.queries import trace_search, traces

if TYPE_CHECKING:
    from starlette.requests import Request
    from starlette.responses import Response

    from annotrace.collector.store.access import Access

DEFAULT_MAX_RESULTS = 100
MAX_BATCH = 100
_TEXT = Annotated[str, Text()] | None
_TEXTS = Annotated[list[str], TextList()] | None


def _batch(raw: list[str], path: str) -> list[str]:
    """At most ``MAX_BATCH`` trace ids, as stored (``tr-`` + 32 hex)."""
    if not raw:
        raise missing(path)
    if len(raw) > MAX_BATCH:
        raise InvalidParameter(f"Invalid value for parameter '{path}': at most {MAX_BATCH} ids per request.")
    return body_trace_ids(raw, path)


def _location_type(kind: Any, path: str) -> Any:
    if kind != "MLFLOW_EXPERIMENT":
        raise InvalidParameter(
            f"Invalid value for parameter '{path}': only MLFLOW_EXPERIMENT locations are supported, got {kind!r}."
        )
    return kind


def _location_list(raw: Any, path: str) -> Any:
    if raw is None:
        return raw
    if not isinstance(raw, list):
        raise invalid(path, "a list of trace locations", raw)
    for index, location in enumerate(raw):
        if not isinstance(location, dict):
            raise invalid(f"{path}[{index}]", "a trace location object", location)
    return raw


class TraceIdQuery(TypedDict):
    trace_id: Annotated[str, Text(non_empty=True)]


class TraceIdsBody(TypedDict):
    """BatchGetTraces' query and BatchGetTraceInfos' body."""

    trace_ids: Annotated[list[str], TextList(max_items=MAX_BATCH), Check(_batch)]


class ExperimentLocationBody(TypedDict):
    experiment_id: Annotated[str, Text(non_empty=True)]


class LocationBody(TypedDict):
    type: NotRequired[Annotated[Any, Check(_location_type)]]
    mlflow_experiment: ExperimentLocationBody


class SearchBody(TypedDict):
    """SearchTracesV3 (``locations``) and V2 (``experiment_ids``): at least one experiment."""

    locations: NotRequired[Annotated[list[LocationBody], Check(_location_list, before=True)] | None]
    experiment_ids: NotRequired[_TEXTS]
    filter: NotRequired[_TEXT]
    order_by: NotRequired[_TEXTS]
    max_results: NotRequired[Annotated[int, Integer(minimum=1, maximum=trace_search.MAX_RESULTS)] | None]
    page_token: NotRequired[_TEXT]


class TagBody(TypedDict):
    key: Annotated[str, Text(non_empty=True)]
    value: NotRequired[_TEXT]


class TagKeyBody(TypedDict):
    """DeleteTraceTag's body or query string."""

    key: NotRequired[_TEXT]


class DeleteTracesBody(TypedDict):
    """DeleteTraces: by ``request_ids`` (alias ``trace_ids``) or ``max_timestamp_millis`` [+ ``max_traces``]."""

    experiment_id: Annotated[str, Text(non_empty=True)]
    request_ids: NotRequired[_TEXTS]
    trace_ids: NotRequired[_TEXTS]
    max_timestamp_millis: NotRequired[Annotated[int, Integer(minimum=0)] | None]
    max_traces: NotRequired[Annotated[int, Integer(minimum=1)] | None]


async def get_trace_info(access: Access, request: Request) -> Response:
    """GetTraceInfoV3: ``{"trace": {"trace_info": TraceInfoV3}}``."""
    row, assessments = await access.read(traces.get_info, path_trace_id(request))
    return ok({"trace": {"trace_info": trace_json.trace_info(row, assessments)}})


async def get_trace(access: Access, request: Request) -> Response:
    """GetTrace: ``GET /traces/get?trace_id=`` -> trace info and spans."""
    raw = parse_query(TraceIdQuery, request.query_params)["trace_id"]
    row, assessments, spans = await access.read(traces.get_with_spans, stored_trace_id(raw))
    return ok({"trace": trace_json.trace(row, assessments, spans)})


async def batch_get_traces(access: Access, request: Request) -> Response:
    """BatchGetTraces: ``GET /traces/batchGet?trace_ids=..`` (unknown ids are left out)."""
    ids = parse_query(TraceIdsBody, request.query_params)["trace_ids"]
    found = await access.read(traces.get_many_with_spans, ids)
    return ok({"traces": [trace_json.trace(row, assessments, spans) for row, assessments, spans in found]})


async def batch_get_trace_infos(access: Access, request: Request) -> Response:
    """BatchGetTraceInfos: ``POST /traces/batchGetInfos {"trace_ids": [...]}``."""
    ids = parse(TraceIdsBody, await json_body(request))["trace_ids"]
    found = await access.read(traces.get_many_info, ids)
    return ok({"trace_infos": [trace_json.trace_info(row, assessments) for row, assessments in found]})


async def search_traces(access: Access, request: Request) -> Response:
    """SearchTracesV3: filter grammar of reference 9.3, ``max_results`` <= 500, opaque page tokens."""
    body = parse(SearchBody, await json_body(request))
    experiment_ids = [location["mlflow_experiment"]["experiment_id"] for location in body.get("locations") or []]
    experiment_ids.extend(body.get("experiment_ids") or [])
    if not experiment_ids:
        raise missing("locations")
    filter_string = body.get("filter")
    order_by = body.get("order_by") or []
    max_results = body.get("max_results") or DEFAULT_MAX_RESULTS
    compiled = trace_search.compile_filter(filter_string)
    order = trace_search.compile_order(order_by)
    scope = orjson.dumps([sorted(experiment_ids), filter_string or "", order_by]).decode()
    offset = page_offset(body.get("page_token"), scope)
    page, more = await access.read(trace_search.search_page, experiment_ids, compiled, order, max_results, offset)
    out: dict[str, object] = {"traces": [trace_json.trace_info(row, assessments) for row, assessments in page]}
    if more:
        out["next_page_token"] = page_token(offset + max_results, scope)
    return ok(out)


async def set_trace_tag(access: Access, request: Request) -> Response:
    """SetTraceTag: ``PATCH /traces/{trace_id}/tags {"key", "value"}``."""
    trace_id = path_trace_id(request)
    body = parse(TagBody, await json_body(request, content_type_required=False))
    await access.write(partial(traces.set_tag, trace_id=trace_id, key=body["key"], value=body.get("value") or ""))
    return ok({})


async def delete_trace_tag(access: Access, request: Request) -> Response:
    """DeleteTraceTag: ``DELETE /traces/{trace_id}/tags {"key"}`` (``?key=`` also accepted)."""
    trace_id = path_trace_id(request)
    body = await json_body(request, content_type_required=False)
    key = parse(TagKeyBody, body).get("key") or parse_query(TagKeyBody, request.query_params).get("key")
    if key is None:
        raise missing("key")
    await access.write(partial(traces.delete_tag, trace_id=trace_id, key=key))
    return ok({})


async def delete_traces(access: Access, request: Request) -> Response:
    """DeleteTraces: by ``request_ids`` (alias ``trace_ids``) or ``max_timestamp_millis`` [+ ``max_traces``]."""
    body = parse(DeleteTracesBody, await json_body(request))
    raw_ids = body.get("request_ids")
    if raw_ids is None:
        raw_ids = body.get("trace_ids")
    max_timestamp, max_traces = body.get("max_timestamp_millis"), body.get("max_traces")
    if (raw_ids is None) == (max_timestamp is None):
        raise InvalidParameter(
            "Exactly one of 'max_timestamp_millis' and 'request_ids' (or 'trace_ids') must be specified."
        )
    if raw_ids is not None and max_traces is not None:
        raise InvalidParameter("'max_traces' can't be specified if 'request_ids' (or 'trace_ids') is specified.")
    trace_ids = body_trace_ids(raw_ids, "request_ids") if raw_ids is not None else None
    deleted = await access.write(
        partial(
            traces.delete_traces,
            experiment_id=body["experiment_id"],
            trace_ids=trace_ids,
            max_timestamp_ms=max_timestamp,
            max_traces=max_traces,
        )
    )
    return ok({"traces_deleted": deleted})
