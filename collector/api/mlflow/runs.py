"""MLflow run routes (``/api/2.0/mlflow/runs/*``, ``metrics/get-history``, ``traces/link-to-run``).

What ``mlflow.start_run``, ``MlflowClient`` run methods, ``search_traces(run_id=...)`` and
``mlflow.genai.evaluate`` call. Each handler parses its body or query string as a declared
``TypedDict`` (``models.parse``; fields in the stock server's order of checks, so a body with several
faults gets its first error), then runs one query or one writer job from ``store/queries/runs.py``
(the rules) or ``run_search.py`` (the filter language).
"""

from __future__ import annotations

import time
from functools import partial
from typing import TYPE_CHECKING, Annotated, Any, NotRequired, TypeVar

import orjson
from typing_extensions import TypedDict  # pydantic reads typing's TypedDict only from Python 3.12

from annotrace.collector.api.mlflow.run_json import (
    DatasetInputBody,
    KeyValue,
    MetricBody,
    ModelInputBody,
    ModelOutputBody,
    RunIdBody,
    dataset_inputs,
    metric_json,
    metric_of,
    model_inputs,
    model_outputs,
    run_info_json,
    run_json,
    tag_dict,
    with_run_id,
)
from annotrace.collector.api.mlflow.wire import (
    body_trace_ids,
    invalid,
    json_body,
    ok,
    page_offset,
    page_token,
)
from annotrace.collector.api.models import Integer, Text, TextList, parse
from annotrace.collector.api.query_params import query_data
from annotrace.collector.store.queries import run_search, runs

if TYPE_CHECKING:
    from starlette.requests import Request
    from starlette.responses import Response

    from annotrace.collector.store.access import Access

DEFAULT_MAX_RESULTS = 1000
MAX_RESULTS = 50000
MAX_HISTORY = 25000
_TEXT = Annotated[str, Text()]
_OPTIONAL_TEXT = Annotated[str, Text()] | None
_RUN_VIEW_TYPES = tuple(run_search.VIEW_TYPES)
B = TypeVar("B")


class NewRunBody(TypedDict):
    experiment_id: NotRequired[_OPTIONAL_TEXT]
    start_time: NotRequired[Annotated[int, Integer()] | None]
    run_name: NotRequired[_OPTIONAL_TEXT]
    user_id: NotRequired[_OPTIONAL_TEXT]
    tags: NotRequired[list[KeyValue] | None]


class RunChangeBody(RunIdBody):
    end_time: NotRequired[Annotated[int, Integer()] | None]
    status: NotRequired[Annotated[str, Text(choices=runs.STATUSES)] | None]
    run_name: NotRequired[_OPTIONAL_TEXT]


class RunSearchBody(TypedDict):
    experiment_ids: NotRequired[Annotated[list[str], TextList()] | None]
    filter: NotRequired[_OPTIONAL_TEXT]
    max_results: NotRequired[Annotated[int, Integer(minimum=1, maximum=MAX_RESULTS)] | None]
    order_by: NotRequired[Annotated[list[str], TextList()] | None]
    run_view_type: NotRequired[Annotated[str, Text(choices=_RUN_VIEW_TYPES)] | None]
    page_token: NotRequired[_OPTIONAL_TEXT]


class LogMetricBody(RunIdBody, MetricBody):
    pass


class TagKeyBody(RunIdBody):
    key: _TEXT


class KeyValueBody(TagKeyBody):
    """LogParam and SetTag: ``value`` is required too."""

    value: _TEXT


class LogBatchBody(RunIdBody):
    metrics: NotRequired[list[MetricBody] | None]
    params: NotRequired[list[KeyValue] | None]
    tags: NotRequired[list[KeyValue] | None]


class LogInputsBody(RunIdBody):
    datasets: NotRequired[list[DatasetInputBody] | None]
    models: NotRequired[list[ModelInputBody] | None]


class LogOutputsBody(RunIdBody):
    models: NotRequired[list[ModelOutputBody] | None]


class MetricHistoryQuery(RunIdBody):
    metric_key: _TEXT
    page_token: NotRequired[_OPTIONAL_TEXT]
    max_results: NotRequired[Annotated[int, Integer(minimum=1, maximum=MAX_HISTORY)] | None]


class LinkTracesBody(TypedDict):
    trace_ids: NotRequired[Annotated[list[str], TextList()] | None]
    run_id: Annotated[str, Text(empty_is_missing=True)]


def _now_ms() -> int:
    return int(time.time() * 1000)


async def _body(request: Request, body: type[B]) -> B:
    """The JSON body as ``body``, ``run_uuid`` read as ``run_id``."""
    return parse(body, with_run_id(await json_body(request)))


async def create_run(access: Access, request: Request) -> Response:
    body = parse(NewRunBody, await json_body(request))
    new = runs.NewRun(
        experiment_id=body.get("experiment_id") or "0",
        user_id=body.get("user_id") or "",
        start_time=body.get("start_time") or 0,
        run_name=body.get("run_name"),
        tags=tag_dict(body.get("tags")),
    )
    run = await access.write(partial(runs.create, new=new))
    return ok({"run": run_json(run, with_outputs=False)})


async def get_run(access: Access, request: Request) -> Response:
    run_id = parse(RunIdBody, with_run_id(query_data(RunIdBody, request.query_params)))["run_id"]
    return ok({"run": run_json(await access.read(runs.get, run_id))})


async def update_run(access: Access, request: Request) -> Response:
    body = await _body(request, RunChangeBody)
    run = await access.write(
        partial(
            runs.update,
            run_id=body["run_id"],
            status=body.get("status"),
            end_time=body.get("end_time"),
            run_name=body.get("run_name"),
        )
    )
    return ok({"run_info": run_info_json(run)})


async def delete_run(access: Access, request: Request) -> Response:
    run_id = (await _body(request, RunIdBody))["run_id"]
    await access.write(partial(runs.set_lifecycle, run_id=run_id, deleted=True, now_ms=_now_ms()))
    return ok({})


async def restore_run(access: Access, request: Request) -> Response:
    run_id = (await _body(request, RunIdBody))["run_id"]
    await access.write(partial(runs.set_lifecycle, run_id=run_id, deleted=False, now_ms=_now_ms()))
    return ok({})


async def search_runs(access: Access, request: Request) -> Response:
    body = parse(RunSearchBody, await json_body(request))
    experiment_ids = body.get("experiment_ids") or []
    max_results = body.get("max_results") or DEFAULT_MAX_RESULTS
    view_type = body.get("run_view_type") or "ACTIVE_ONLY"
    filter_string = body.get("filter")
    order_by = body.get("order_by") or []
    scope = orjson.dumps([experiment_ids, filter_string or "", order_by, view_type]).decode()
    offset = page_offset(body.get("page_token"), scope)
    found = await access.read(
        run_search.search, experiment_ids, filter_string, view_type, order_by, max_results + 1, offset
    )
    out: dict[str, Any] = {"runs": [run_json(r) for r in found[:max_results]]} if found else {}
    if len(found) > max_results:
        out["next_page_token"] = page_token(offset + max_results, scope)
    return ok(out)


async def log_metric(access: Access, request: Request) -> Response:
    body = await _body(request, LogMetricBody)
    metric = metric_of(body)
    await access.write(partial(runs.log_batch, run_id=body["run_id"], metrics=[metric], params={}, tags={}))
    return ok({})


async def log_param(access: Access, request: Request) -> Response:
    body = await _body(request, KeyValueBody)
    params = {body["key"]: body["value"]}
    await access.write(partial(runs.log_batch, run_id=body["run_id"], metrics=[], params=params, tags={}))
    return ok({})


async def set_tag(access: Access, request: Request) -> Response:
    body = await _body(request, KeyValueBody)
    tags = {body["key"]: body["value"]}
    await access.write(partial(runs.log_batch, run_id=body["run_id"], metrics=[], params={}, tags=tags))
    return ok({})


async def delete_tag(access: Access, request: Request) -> Response:
    body = await _body(request, TagKeyBody)
    await access.write(partial(runs.delete_tag, run_id=body["run_id"], key=body["key"]))
    return ok({})


async def log_batch(access: Access, request: Request) -> Response:
    body = await _body(request, LogBatchBody)
    given = body.get("params") or []
    params = tag_dict(given)
    if len(params) != len(given):
        keys = [p["key"] for p in given]
        raise invalid("params", "a list with each key once", [k for k in keys if keys.count(k) > 1][:5])
    await access.write(
        partial(
            runs.log_batch,
            run_id=body["run_id"],
            metrics=[metric_of(m) for m in body.get("metrics") or []],
            params=params,
            tags=tag_dict(body.get("tags")),
        )
    )
    return ok({})


async def log_inputs(access: Access, request: Request) -> Response:
    body = await _body(request, LogInputsBody)
    datasets, models = dataset_inputs(body.get("datasets")), model_inputs(body.get("models"))
    await access.write(partial(runs.log_inputs, run_id=body["run_id"], datasets=datasets, models=models))
    return ok({})


async def log_outputs(access: Access, request: Request) -> Response:
    body = await _body(request, LogOutputsBody)
    await access.write(partial(runs.log_outputs, run_id=body["run_id"], models=model_outputs(body.get("models"))))
    return ok({})


async def get_metric_history(access: Access, request: Request) -> Response:
    params = parse(MetricHistoryQuery, with_run_id(query_data(MetricHistoryQuery, request.query_params)))
    run_id, key = params["run_id"], params["metric_key"]
    max_results = params.get("max_results") or MAX_HISTORY
    scope = orjson.dumps([run_id, key]).decode()
    offset = page_offset(params.get("page_token"), scope)
    history = await access.read(runs.metric_history, run_id, key)
    page = history[offset : offset + max_results]
    out: dict[str, Any] = {"metrics": [metric_json(m) for m in page]} if page else {}
    if len(history) > offset + max_results:
        out["next_page_token"] = page_token(offset + max_results, scope)
    return ok(out)


async def link_traces_to_run(access: Access, request: Request) -> Response:
    body = parse(LinkTracesBody, await json_body(request))
    trace_ids = body_trace_ids(body.get("trace_ids") or [], "trace_ids")
    await access.write(partial(runs.link_traces, trace_ids=trace_ids, run_id=body["run_id"], now_ms=_now_ms()))
    return ok({})
