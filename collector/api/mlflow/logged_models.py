"""MLflow logged-model routes (``/api/2.0/mlflow/logged-models*``): what ``set_active_model``,
``create_external_model``, ``MlflowClient`` logged-model methods and ``search_logged_models`` call.

Shapes follow a stock server: ``{"model": {"info": {...}, "data": {...}}}`` with ``model_type`` and
``source_run_id`` always present ("" when unset), ``status`` as ``LOGGED_MODEL_<STATE>``, tags in
``info`` and params/metrics in ``data``. The rules live in ``store/queries/logged_models.py``.
"""

from __future__ import annotations

import time
from functools import partial
from typing import TYPE_CHECKING, Any

import orjson

from annotrace.collector.api.mlflow.run_json import key_values, metric_json
from annotrace.collector.api.mlflow.wire import invalid, json_body, ok, page_offset, page_token
from annotrace.collector.store.queries import logged_models as store
from annotrace.collector.store.queries.runs import Metric

if TYPE_CHECKING:
    from starlette.requests import Request
    from starlette.responses import Response

    from annotrace.collector.store.access import Access

DEFAULT_MAX_RESULTS = 100
MAX_RESULTS = 1000


def _now_ms() -> int:
    return int(time.time() * 1000)


def model_json(m: store.LoggedModel) -> dict[str, Any]:
    info: dict[str, Any] = {
        "model_id": m.model_id,
        "experiment_id": m.experiment_id,
        "name": m.name,
        "creation_timestamp_ms": m.creation_timestamp_ms,
        "last_updated_timestamp_ms": m.last_updated_timestamp_ms,
        "artifact_uri": f"mlflow-artifacts:/{m.experiment_id}/models/{m.model_id}/artifacts",
        "status": m.status,
        "model_type": m.model_type or "",
        "source_run_id": m.source_run_id or "",
    }
    if m.status_message:
        info["status_message"] = m.status_message
    if m.tags:
        info["tags"] = [{"key": k, "value": v} for k, v in m.tags.items()]
    data: dict[str, Any] = {}
    if m.params:
        data["params"] = [{"key": k, "value": v} for k, v in m.params.items()]
    if m.metrics:
        data["metrics"] = [
            {
                **metric_json(Metric(x.key, x.value, x.timestamp, x.step)),
                "run_id": x.run_id,
                "model_id": m.model_id,
                **({"dataset_name": x.dataset_name} if x.dataset_name else {}),
                **({"dataset_digest": x.dataset_digest} if x.dataset_digest else {}),
            }
            for x in m.metrics
        ]
    return {"info": info, "data": data}


async def create_logged_model(access: Access, request: Request) -> Response:
    body = await json_body(request)
    experiment_id = body.get_str("experiment_id", required=True)
    assert experiment_id is not None
    new = store.NewModel(
        experiment_id=experiment_id,
        name=body.get_name("name") or None,
        model_type=body.get_str("model_type"),
        source_run_id=body.get_str("source_run_id") or None,
        params=key_values(body, "params"),
        tags=key_values(body, "tags"),
    )
    model = await access.write(partial(store.create, new=new, now_ms=_now_ms()))
    return ok({"model": model_json(model)})


async def get_logged_model(access: Access, request: Request) -> Response:
    return ok({"model": model_json(await access.read(store.get, request.path_params["model_id"]))})


async def finalize_logged_model(access: Access, request: Request) -> Response:
    body = await json_body(request)
    status = body.get_str("status", required=True)
    if status not in store.STATUSES:
        raise invalid("status", "one of " + ", ".join(store.STATUSES), status)
    model = await access.write(
        partial(store.finalize, model_id=request.path_params["model_id"], status=status, now_ms=_now_ms())
    )
    return ok({"model": model_json(model)})


async def delete_logged_model(access: Access, request: Request) -> Response:
    await access.write(partial(store.delete, model_id=request.path_params["model_id"], now_ms=_now_ms()))
    return ok({})


async def set_logged_model_tags(access: Access, request: Request) -> Response:
    tags = key_values(await json_body(request), "tags")
    await access.write(partial(store.set_tags, model_id=request.path_params["model_id"], tags=tags))
    return ok({})


async def delete_logged_model_tag(access: Access, request: Request) -> Response:
    await access.write(
        partial(store.delete_tag, model_id=request.path_params["model_id"], key=request.path_params["tag_key"])
    )
    return ok({})


async def log_logged_model_params(access: Access, request: Request) -> Response:
    params = key_values(await json_body(request), "params")
    await access.write(partial(store.log_params, model_id=request.path_params["model_id"], params=params))
    return ok({})


async def search_logged_models(access: Access, request: Request) -> Response:
    body = await json_body(request)
    experiment_ids = body.get_str_list("experiment_ids") or []
    max_results = body.get_int("max_results", minimum=1, maximum=MAX_RESULTS) or DEFAULT_MAX_RESULTS
    filter_string = body.get_str("filter")
    order_by = body.raw("order_by") or []
    if not isinstance(order_by, list) or not all(isinstance(o, dict) for o in order_by):
        raise invalid("order_by", 'a list of {"field_name", "ascending"} objects', order_by)
    scope = orjson.dumps([experiment_ids, filter_string or "", order_by]).decode()
    offset = page_offset(body.get_str("page_token"), scope)
    found = await access.read(store.search, experiment_ids, filter_string, order_by, max_results + 1, offset)
    out: dict[str, Any] = {"models": [model_json(m) for m in found[:max_results]]}
    if len(found) > max_results:
        out["next_page_token"] = page_token(offset + max_results, scope)
    return ok(out)
