"""MLflow logged-model routes (``/api/2.0/mlflow/logged-models*``): what ``set_active_model``,
``create_external_model``, ``MlflowClient`` logged-model methods and ``search_logged_models`` call.

Shapes follow a stock server: ``{"model": {"info": {...}, "data": {...}}}`` with ``model_type`` and
``source_run_id`` always present ("" when unset), ``status`` as ``LOGGED_MODEL_<STATE>``, tags in
``info`` and params/metrics in ``data``. The rules live in ``store/queries/logged_models.py``.
"""

from __future__ import annotations

import time
from functools import partial
from typing import TYPE_CHECKING, Annotated, Any, NotRequired

import orjson
from typing_extensions import TypedDict  # pydantic reads typing's TypedDict only from Python 3.12

from annotrace.collector.api.mlflow.run_json import KeyValue, metric_json, tag_dict
from annotrace.collector.api.mlflow.wire import json_body, ok, page_offset, page_token
from annotrace.collector.api.models import Boolean, Integer, Text, TextList, parse
from annotrace.collector.store.queries import logged_models
from annotrace.collector.store.queries.runs import Metric

if TYPE_CHECKING:
    from starlette.requests import Request
    from starlette.responses import Response

    from annotrace.collector.store.access import Access

DEFAULT_MAX_RESULTS = 100
MAX_RESULTS = 1000
_OPTIONAL_TEXT = Annotated[str, Text()] | None


class NewModelBody(TypedDict):
    """CreateLoggedModel, fields in the stock server's order of checks."""

    experiment_id: Annotated[str, Text(non_empty=True)]
    name: NotRequired[Annotated[str, Text(name=True)] | None]
    model_type: NotRequired[_OPTIONAL_TEXT]
    source_run_id: NotRequired[_OPTIONAL_TEXT]
    params: NotRequired[list[KeyValue] | None]
    tags: NotRequired[list[KeyValue] | None]


class FinalizeBody(TypedDict):
    status: Annotated[str, Text(non_empty=True, choices=logged_models.STATUSES)]


class TagsBody(TypedDict):
    tags: NotRequired[list[KeyValue] | None]


class ParamsBody(TypedDict):
    params: NotRequired[list[KeyValue] | None]


class OrderByBody(TypedDict):
    """``{"field_name", "ascending"}``; the store checks the name (an attribute or ``metrics.<key>``)."""

    field_name: Annotated[str, Text()]
    ascending: NotRequired[Annotated[bool, Boolean()] | None]
    dataset_name: NotRequired[_OPTIONAL_TEXT]
    dataset_digest: NotRequired[_OPTIONAL_TEXT]


class ModelSearchBody(TypedDict):
    experiment_ids: NotRequired[Annotated[list[str], TextList()] | None]
    filter: NotRequired[_OPTIONAL_TEXT]
    max_results: NotRequired[Annotated[int, Integer(minimum=1, maximum=MAX_RESULTS)] | None]
    order_by: NotRequired[list[OrderByBody] | None]
    page_token: NotRequired[_OPTIONAL_TEXT]


def _now_ms() -> int:
    return int(time.time() * 1000)


def model_json(m: logged_models.LoggedModel) -> dict[str, Any]:
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
    body = parse(NewModelBody, await json_body(request))
    new = logged_models.NewModel(
        experiment_id=body["experiment_id"],
        name=body.get("name") or None,
        model_type=body.get("model_type"),
        source_run_id=body.get("source_run_id") or None,
        params=tag_dict(body.get("params")),
        tags=tag_dict(body.get("tags")),
    )
    model = await access.write(partial(logged_models.create, new=new, now_ms=_now_ms()))
    return ok({"model": model_json(model)})


async def get_logged_model(access: Access, request: Request) -> Response:
    return ok({"model": model_json(await access.read(logged_models.get, request.path_params["model_id"]))})


async def finalize_logged_model(access: Access, request: Request) -> Response:
    status = parse(FinalizeBody, await json_body(request))["status"]
    model = await access.write(
        partial(logged_models.finalize, model_id=request.path_params["model_id"], status=status, now_ms=_now_ms())
    )
    return ok({"model": model_json(model)})


async def delete_logged_model(access: Access, request: Request) -> Response:
    await access.write(partial(logged_models.delete, model_id=request.path_params["model_id"], now_ms=_now_ms()))
    return ok({})


async def set_logged_model_tags(access: Access, request: Request) -> Response:
    tags = tag_dict(parse(TagsBody, await json_body(request)).get("tags"))
    await access.write(partial(logged_models.set_tags, model_id=request.path_params["model_id"], tags=tags))
    return ok({})


async def delete_logged_model_tag(access: Access, request: Request) -> Response:
    await access.write(
        partial(logged_models.delete_tag, model_id=request.path_params["model_id"], key=request.path_params["tag_key"])
    )
    return ok({})


async def log_logged_model_params(access: Access, request: Request) -> Response:
    params = tag_dict(parse(ParamsBody, await json_body(request)).get("params"))
    await access.write(partial(logged_models.log_params, model_id=request.path_params["model_id"], params=params))
    return ok({})


async def search_logged_models(access: Access, request: Request) -> Response:
    body = parse(ModelSearchBody, await json_body(request))
    experiment_ids = body.get("experiment_ids") or []
    max_results = body.get("max_results") or DEFAULT_MAX_RESULTS
    filter_string = body.get("filter")
    order_by: list[dict[str, Any]] = [dict(o) for o in body.get("order_by") or []]
    scope = orjson.dumps([experiment_ids, filter_string or "", order_by]).decode()
    offset = page_offset(body.get("page_token"), scope)
    found = await access.read(logged_models.search, experiment_ids, filter_string, order_by, max_results + 1, offset)
    out: dict[str, Any] = {"models": [model_json(m) for m in found[:max_results]]}
    if len(found) > max_results:
        out["next_page_token"] = page_token(offset + max_results, scope)
    return ok(out)
