"""MLflow run routes (``/api/2.0/mlflow/runs/*``, ``metrics/get-history``, ``traces/link-to-run``).

What ``mlflow.start_run``, ``MlflowClient`` run methods, ``search_traces(run_id=...)`` and
``mlflow.genai.evaluate`` call. Each handler reads its fields, then runs one query or one writer
job from ``store/queries/runs.py`` (the rules) or ``run_search.py`` (the filter language).
"""

from __future__ import annotations

import time
from functools import partial
from typing import TYPE_CHECKING, Any

import orjson

from annotrace.collector.api.mlflow.run_json import (
    dataset_inputs_of,
    key_values,
    metric_json,
    metric_of,
    metrics_of,
    model_refs_of,
    run_id_of,
    run_info_json,
    run_json,
)
from annotrace.collector.api.mlflow.wire import (
    Fields,
    body_trace_ids,
    invalid,
    json_body,
    missing,
    ok,
    page_offset,
    page_token,
    query,
)
from annotrace.collector.store.queries import run_search
from annotrace.collector.store.queries import runs as store

if TYPE_CHECKING:
    from starlette.requests import Request
    from starlette.responses import Response

    from annotrace.collector.store.access import Access

DEFAULT_MAX_RESULTS = 1000
MAX_RESULTS = 50000
MAX_HISTORY = 25000


def _now_ms() -> int:
    return int(time.time() * 1000)


async def create_run(access: Access, request: Request) -> Response:
    body = await json_body(request)
    new = store.NewRun(
        experiment_id=body.get_str("experiment_id") or "0",
        user_id=body.get_str("user_id") or "",
        start_time=body.get_int("start_time") or 0,
        run_name=body.get_str("run_name"),
        tags=key_values(body, "tags"),
    )
    run = await access.write(partial(store.create, new=new))
    return ok({"run": run_json(run, with_outputs=False)})


async def get_run(access: Access, request: Request) -> Response:
    run_id = run_id_of(query(request))
    return ok({"run": run_json(await access.read(store.get, run_id))})


async def update_run(access: Access, request: Request) -> Response:
    body = await json_body(request)
    run_id = run_id_of(body)
    status = body.get_str("status")
    if status is not None and status not in store.STATUSES:
        raise invalid("status", "one of " + ", ".join(store.STATUSES), status)
    run = await access.write(
        partial(
            store.update,
            run_id=run_id,
            status=status,
            end_time=body.get_int("end_time"),
            run_name=body.get_str("run_name"),
        )
    )
    return ok({"run_info": run_info_json(run)})


async def delete_run(access: Access, request: Request) -> Response:
    run_id = run_id_of(await json_body(request))
    await access.write(partial(store.set_lifecycle, run_id=run_id, deleted=True, now_ms=_now_ms()))
    return ok({})


async def restore_run(access: Access, request: Request) -> Response:
    run_id = run_id_of(await json_body(request))
    await access.write(partial(store.set_lifecycle, run_id=run_id, deleted=False, now_ms=_now_ms()))
    return ok({})


async def search_runs(access: Access, request: Request) -> Response:
    body = await json_body(request)
    experiment_ids = body.get_str_list("experiment_ids") or []
    max_results = body.get_int("max_results", minimum=1, maximum=MAX_RESULTS) or DEFAULT_MAX_RESULTS
    view_type = body.get_str("run_view_type") or "ACTIVE_ONLY"
    if view_type not in run_search.VIEW_TYPES:
        raise invalid("run_view_type", "one of " + ", ".join(run_search.VIEW_TYPES), view_type)
    filter_string = body.get_str("filter")
    order_by = body.get_str_list("order_by") or []
    scope = orjson.dumps([experiment_ids, filter_string or "", order_by, view_type]).decode()
    offset = page_offset(body.get_str("page_token"), scope)
    found = await access.read(
        run_search.search, experiment_ids, filter_string, view_type, order_by, max_results + 1, offset
    )
    out: dict[str, Any] = {"runs": [run_json(r) for r in found[:max_results]]} if found else {}
    if len(found) > max_results:
        out["next_page_token"] = page_token(offset + max_results, scope)
    return ok(out)


async def log_metric(access: Access, request: Request) -> Response:
    body = await json_body(request)
    run_id = run_id_of(body)
    metric = metric_of(body)
    await access.write(partial(store.log_batch, run_id=run_id, metrics=[metric], params={}, tags={}))
    return ok({})


async def log_param(access: Access, request: Request) -> Response:
    body = await json_body(request)
    run_id = run_id_of(body)
    key, value = _key_value(body)
    await access.write(partial(store.log_batch, run_id=run_id, metrics=[], params={key: value}, tags={}))
    return ok({})


async def set_tag(access: Access, request: Request) -> Response:
    body = await json_body(request)
    run_id = run_id_of(body)
    key, value = _key_value(body)
    await access.write(partial(store.log_batch, run_id=run_id, metrics=[], params={}, tags={key: value}))
    return ok({})


def _key_value(body: Fields) -> tuple[str, str]:
    """The ``key`` and ``value`` of a LogParam or SetTag body (both required, MLflow's 400 naming the missing one)."""
    key = body.get_str("key")
    if key is None:
        raise missing("key")
    value = body.get_str("value")
    if value is None:
        raise missing("value")
    return key, value


async def delete_tag(access: Access, request: Request) -> Response:
    body = await json_body(request)
    run_id = run_id_of(body)
    key = body.get_str("key")
    if key is None:
        raise missing("key")
    await access.write(partial(store.delete_tag, run_id=run_id, key=key))
    return ok({})


async def log_batch(access: Access, request: Request) -> Response:
    body = await json_body(request)
    run_id = run_id_of(body)
    params = key_values(body, "params")
    if len(params) != len(body.raw("params") or []):
        keys = [p.get("key") for p in body.raw("params")]
        raise invalid("params", "a list with each key once", [k for k in keys if keys.count(k) > 1][:5])
    await access.write(
        partial(
            store.log_batch,
            run_id=run_id,
            metrics=metrics_of(body, "metrics"),
            params=params,
            tags=key_values(body, "tags"),
        )
    )
    return ok({})


async def log_inputs(access: Access, request: Request) -> Response:
    body = await json_body(request)
    run_id = run_id_of(body)
    await access.write(
        partial(store.log_inputs, run_id=run_id, datasets=dataset_inputs_of(body), models=model_refs_of(body, "models"))
    )
    return ok({})


async def log_outputs(access: Access, request: Request) -> Response:
    body = await json_body(request)
    run_id = run_id_of(body)
    await access.write(partial(store.log_outputs, run_id=run_id, models=model_refs_of(body, "models", with_step=True)))
    return ok({})


async def get_metric_history(access: Access, request: Request) -> Response:
    fields = query(request)
    run_id = run_id_of(fields)
    key = fields.get_str("metric_key")
    if key is None:
        raise missing("metric_key")
    max_results = fields.get_int("max_results", minimum=1, maximum=MAX_HISTORY) or MAX_HISTORY
    scope = orjson.dumps([run_id, key]).decode()
    offset = page_offset(fields.get_str("page_token"), scope)
    history = await access.read(store.metric_history, run_id, key)
    page = history[offset : offset + max_results]
    out: dict[str, Any] = {"metrics": [metric_json(m) for m in page]} if page else {}
    if len(history) > offset + max_results:
        out["next_page_token"] = page_token(offset + max_results, scope)
    return ok(out)


async def link_traces_to_run(access: Access, request: Request) -> Response:
    body = await json_body(request)
    run_id = body.get_str("run_id")
    if not run_id:
        raise missing("run_id")
    trace_ids = body_trace_ids(body.get_str_list("trace_ids") or [], "trace_ids")
    await access.write(partial(store.link_traces, trace_ids=trace_ids, run_id=run_id, now_ms=_now_ms()))
    return ok({})
