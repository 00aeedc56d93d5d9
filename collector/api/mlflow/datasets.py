"""MLflow evaluation-dataset routes (reference 12.1, ``/api/3.0/mlflow/datasets/...``) in MLflow's
shapes: ``POST create``, ``GET|DELETE {dataset_id}``, ``POST|GET search``, ``PATCH {id}/tags``,
``DELETE {id}/tags/{key}``, ``POST|GET|DELETE {id}/records`` (``records`` is a JSON *string* both
ways) and ``GET {id}/experiment-ids``. The upsert rules live in ``store/queries/datasets.py``.
"""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING, Any

import orjson

from annotrace.collector.api.mlflow.wire import (
    Fields,
    epoch_ms,
    json_body,
    missing,
    ok,
    page_offset,
    page_token,
    query,
)
from annotrace.collector.errors import InvalidParameter, NotFound
from annotrace.collector.store.access import now_ms
from annotrace.collector.store.queries import datasets as store

if TYPE_CHECKING:
    from starlette.requests import Request
    from starlette.responses import Response

    from annotrace.collector.store.access import Access

DEFAULT_MAX_RESULTS = 1000
MAX_RESULTS = 1000
MAX_RECORDS_PER_CALL = 10_000
MAX_TAG_BYTES = 64 * 1024


def dataset_json(d: store.Dataset) -> dict[str, Any]:
    out: dict[str, Any] = {
        "dataset_id": d.dataset_id, "name": d.name, "tags": d.tags, "experiment_ids": d.experiment_ids,
        "created_time": epoch_ms(d.create_time), "last_update_time": epoch_ms(d.last_update_time),
    }
    for key, value in (("created_by", d.created_by), ("last_updated_by", d.last_updated_by)):
        if value is not None:
            out[key] = value
    return out


def record_json(r: store.Record) -> dict[str, Any]:
    return {
        "dataset_record_id": r.record_id, "dataset_id": r.dataset_id, "inputs": r.inputs, "outputs": r.outputs,
        "expectations": r.expectations, "tags": r.tags, "source": r.source, "source_id": r.source_id,
        "source_type": r.source_type, "created_time": epoch_ms(r.create_time),
        "last_update_time": epoch_ms(r.last_update_time),
    }


def _dataset_id(request: Request) -> str:
    value = str(request.path_params["dataset_id"])
    if not value.startswith(store.PREFIX) or len(value) > 100:
        raise NotFound(f"Dataset '{value}' not found")
    return value


def _tags(body: Fields, name: str = "tags") -> dict[str, str]:
    value = body.raw(name)
    if isinstance(value, str):  # MLflow's proto carries tags as a JSON string
        try:
            value = orjson.loads(value)
        except orjson.JSONDecodeError:
            raise InvalidParameter(f"Invalid value for parameter '{name}': not a JSON object.") from None
        body = Fields({name: value})
    return body.get_str_map(name, max_key_chars=250, max_bytes=MAX_TAG_BYTES) or {}


async def create_dataset(api: Access, request: Request) -> Response:
    body = await json_body(request)
    name = body.get_str("name", required=True, max_chars=store.MAX_NAME_CHARS)
    assert name is not None
    experiment_ids = body.get_str_list("experiment_ids") or []
    stored = await api.write(partial(store.create, name=name, experiment_ids=experiment_ids, tags=_tags(body),
                                     created_by=body.get_str("created_by", max_chars=250), now=now_ms()))
    return ok({"dataset": dataset_json(stored)})


async def get_dataset(api: Access, request: Request) -> Response:
    return ok({"dataset": dataset_json(await api.read(store.get, _dataset_id(request)))})


async def delete_dataset(api: Access, request: Request) -> Response:
    """Idempotent: deleting a dataset that is gone answers ``{}``."""
    await api.write(partial(store.delete, dataset_id=_dataset_id(request)))
    return ok({})


async def search_datasets(api: Access, request: Request) -> Response:
    params = await json_body(request) if request.method == "POST" else query(request)
    experiment_ids = params.get_str_list("experiment_ids")
    filter_string = params.get_str("filter_string")
    limit = params.get_int("max_results", minimum=1, maximum=MAX_RESULTS) or DEFAULT_MAX_RESULTS
    scope = f"{experiment_ids}|{filter_string}"
    offset = page_offset(params.get_str("page_token"), scope)
    found = await api.read(store.search, experiment_ids, filter_string, limit + 1, offset)
    out: dict[str, Any] = {"datasets": [dataset_json(d) for d in found[:limit]]}
    if len(found) > limit:
        out["next_page_token"] = page_token(offset + limit, scope)
    return ok(out)


async def set_tags(api: Access, request: Request) -> Response:
    dataset_id = _dataset_id(request)
    tags = _tags(await json_body(request))
    stored = await api.write(partial(store.set_tags, dataset_id=dataset_id, tags=tags, now=now_ms()))
    return ok({"dataset": dataset_json(stored)})


async def delete_tag(api: Access, request: Request) -> Response:
    dataset_id = _dataset_id(request)
    key = str(request.path_params["key"])
    await api.write(partial(store.set_tags, dataset_id=dataset_id, tags={key: None}, now=now_ms()))
    return ok({})


async def upsert_records(api: Access, request: Request) -> Response:
    """``{"records": "<JSON list>"}`` (a list is accepted too) -> ``{inserted_count, updated_count}``."""
    dataset_id = _dataset_id(request)
    body = await json_body(request)
    raw = body.raw("records")
    if raw is None:
        raise missing("records")
    if isinstance(raw, str):
        try:
            raw = orjson.loads(raw)
        except orjson.JSONDecodeError:
            raise InvalidParameter("Invalid value for parameter 'records': not a JSON list.") from None
    if not isinstance(raw, list):
        raise InvalidParameter("Invalid value for parameter 'records': expected a JSON list of records.")
    if len(raw) > MAX_RECORDS_PER_CALL:
        raise InvalidParameter(f"Invalid value for parameter 'records': more than {MAX_RECORDS_PER_CALL} records.")
    inserted, updated = await api.write(partial(store.merge, dataset_id=dataset_id, new_records=raw, now=now_ms()))
    return ok({"inserted_count": inserted, "updated_count": updated})


async def get_records(api: Access, request: Request) -> Response:
    dataset_id = _dataset_id(request)
    params = query(request)
    limit = params.get_int("max_results", minimum=1, maximum=MAX_RESULTS) or DEFAULT_MAX_RESULTS
    offset = page_offset(params.get_str("page_token"), dataset_id)
    found = await api.read(store.records, dataset_id, limit + 1, offset)
    out: dict[str, Any] = {"records": orjson.dumps([record_json(r) for r in found[:limit]]).decode()}
    if len(found) > limit:
        out["next_page_token"] = page_token(offset + limit, dataset_id)
    return ok(out)


async def delete_records(api: Access, request: Request) -> Response:
    """``{"dataset_record_ids": [...]}`` -> ``{"deleted_count"}``."""
    dataset_id = _dataset_id(request)
    body = await json_body(request, content_type_required=False)
    ids = body.get_str_list("dataset_record_ids")
    if ids is None:
        raise missing("dataset_record_ids")
    deleted = await api.write(partial(store.delete_records, dataset_id=dataset_id, record_ids=ids, now=now_ms()))
    return ok({"deleted_count": deleted})


async def experiment_ids(api: Access, request: Request) -> Response:
    return ok({"experiment_ids": (await api.read(store.get, _dataset_id(request))).experiment_ids})
