"""MLflow evaluation-dataset routes (reference 12.1, ``/api/3.0/mlflow/datasets/...``) in MLflow's
shapes: ``POST create``, ``GET|DELETE {dataset_id}``, ``POST|GET search``, ``PATCH {id}/tags``,
``DELETE {id}/tags/{key}``, ``POST|GET|DELETE {id}/records`` (``records`` is a JSON *string* both
ways), ``GET {id}/experiment-ids`` and ``POST {id}/add-experiments|remove-experiments``. As in MLflow's
proto, a dataset's ``tags``, ``schema`` and ``profile`` are JSON *text* on the wire. The answers and
errors are a stock MLflow server's (checked by tests/differential); the upsert rules live in
``store/queries/datasets.py``.
"""

from __future__ import annotations

import json
from functools import partial
from typing import TYPE_CHECKING, Annotated, Any, NotRequired

from typing_extensions import TypedDict  # pydantic reads typing's TypedDict only from Python 3.12

from annotrace.collector.api.mlflow.wire import (
    epoch_ms,
    json_body,
    missing,
    ok,
    page_offset,
    page_token,
    parse_json,
)
from annotrace.collector.api.models import Integer, Text, TextList, parse
from annotrace.collector.api.query_params import parse_query
from annotrace.collector.errors import InvalidParameter
from annotrace.collector.store.access import now_ms
from annotrace.collector.store.queries import dataset_records, datasets

if TYPE_CHECKING:
    from starlette.requests import Request
    from starlette.responses import Response

    from annotrace.collector.store.access import Access

DEFAULT_MAX_RESULTS = 1000
MAX_SEARCH_RESULTS = 50_000  # MLflow's SEARCH_MAX_RESULTS_THRESHOLD
MAX_RECORDS_PER_CALL = 10_000
MAX_TAG_BYTES = 64 * 1024
_OPTIONAL_TEXT = Annotated[str, Text()] | None
_TEXT_LIST = Annotated[list[str], TextList()] | None


class NewDatasetBody(TypedDict):
    """CreateDataset; ``tags`` is JSON text of an object, as in MLflow's proto."""

    name: Annotated[str, Text(max_chars=datasets.MAX_NAME_CHARS, name=True, empty_is_missing=True)]
    experiment_ids: NotRequired[_TEXT_LIST]
    tags: NotRequired[_OPTIONAL_TEXT]


class DatasetSearchBody(TypedDict):
    """SearchEvaluationDatasets, a POST body or a GET query string."""

    experiment_ids: NotRequired[_TEXT_LIST]
    filter_string: NotRequired[_OPTIONAL_TEXT]
    max_results: NotRequired[Annotated[int, Integer()] | None]
    order_by: NotRequired[_TEXT_LIST]
    page_token: NotRequired[_OPTIONAL_TEXT]


class TagsBody(TypedDict):
    tags: Annotated[str, Text()]


class RecordsBody(TypedDict):
    """``records``: JSON text of a list of records (MLflow's proto), or the list itself."""

    records: Any  # its shape is checked and worded by upsert_records


class RecordPageBody(TypedDict):
    max_results: NotRequired[Annotated[int, Integer()] | None]
    page_token: NotRequired[_OPTIONAL_TEXT]


class RecordIdsBody(TypedDict):
    dataset_record_ids: NotRequired[_TEXT_LIST]


class ExperimentIdsBody(TypedDict):
    experiment_ids: NotRequired[_TEXT_LIST]


def dataset_json(d: datasets.Dataset, experiment_ids: list[str] | None = None) -> dict[str, Any]:
    """MLflow's ``Dataset`` proto as JSON: ``tags``, ``schema`` and ``profile`` are JSON *text*,
    unset fields are left out, and ``experiment_ids`` is only in the answer to ``create`` (the
    client loads them on demand from ``experiment-ids``)."""
    out: dict[str, Any] = {"dataset_id": d.dataset_id, "name": d.name, "tags": json.dumps(d.tags)}
    for key, value in (("schema", d.record_schema), ("profile", d.profile), ("digest", d.digest)):
        if value is not None:
            out[key] = value
    out["created_time"], out["last_update_time"] = d.created_time_ms, d.last_update_time_ms
    for key, value in (("created_by", d.created_by), ("last_updated_by", d.last_updated_by)):
        if value is not None:
            out[key] = value
    if experiment_ids:
        out["experiment_ids"] = experiment_ids
    return out


def record_json(r: dataset_records.Record) -> dict[str, Any]:
    """MLflow's ``DatasetRecord.to_dict()``: unset fields left out, keys in the proto's field order."""
    out: dict[str, Any] = {"dataset_record_id": r.record_id, "dataset_id": r.dataset_id, "inputs": r.inputs}
    for key, value in (
        ("expectations", r.expectations),
        ("tags", r.tags),
        ("source", r.source),
        ("source_id", r.source_id),
        ("source_type", r.source_type),
    ):
        if value is not None:
            out[key] = value
    out["created_time"], out["last_update_time"] = epoch_ms(r.create_time), epoch_ms(r.last_update_time)
    for key, value in (("created_by", r.created_by), ("last_updated_by", r.last_updated_by), ("outputs", r.outputs)):
        if value is not None:
            out[key] = value
    return out


def _dataset_id(request: Request) -> str:
    return str(request.path_params["dataset_id"])


def _tags(text: str) -> dict[str, Any]:
    """MLflow's proto carries tags as JSON *text* (an object is refused, as MLflow does)."""
    parsed = parse_json(text, "tags", "JSON text of an object")
    if not isinstance(parsed, dict):
        raise InvalidParameter("Invalid value for parameter 'tags': expected JSON text of an object.")
    if len(text) > MAX_TAG_BYTES:
        raise InvalidParameter(f"Invalid value for parameter 'tags': more than {MAX_TAG_BYTES} bytes.")
    return parsed


async def create_dataset(access: Access, request: Request) -> Response:
    body = parse(NewDatasetBody, await json_body(request))
    name, experiment_ids = body["name"], body.get("experiment_ids") or []
    text = body.get("tags")
    tags = {} if text is None else {str(k): str(v) for k, v in _tags(text).items()}
    stored = await access.write(
        partial(datasets.create, name=name, experiment_ids=experiment_ids, tags=tags, now=now_ms())
    )
    return ok({"dataset": dataset_json(stored, experiment_ids)})


async def get_dataset(access: Access, request: Request) -> Response:
    return ok({"dataset": dataset_json(await access.read(datasets.get, _dataset_id(request)))})


async def delete_dataset(access: Access, request: Request) -> Response:
    """Idempotent: deleting a dataset that is gone answers ``{}``."""
    await access.write(partial(datasets.delete, dataset_id=_dataset_id(request)))
    return ok({})


def _max_results(value: int | None, default: int, maximum: int) -> int:
    """MLflow reads 0 as unset and refuses it; the message is MLflow's."""
    if value is None:
        return default
    if value < 1:
        raise InvalidParameter(
            f"Invalid value {value or None} for parameter 'max_results' supplied. It must be a positive integer"
        )
    if value > maximum:
        raise InvalidParameter(
            f"Invalid value {value} for parameter 'max_results' supplied. It must be at most {maximum}"
        )
    return value


async def search_datasets(access: Access, request: Request) -> Response:
    if request.method == "POST":
        params = parse(DatasetSearchBody, await json_body(request))
    else:
        params = parse_query(DatasetSearchBody, request.query_params)
    experiment_ids, filter_string = params.get("experiment_ids"), params.get("filter_string")
    order_by = params.get("order_by")
    limit = _max_results(params.get("max_results"), DEFAULT_MAX_RESULTS, MAX_SEARCH_RESULTS)
    scope = f"{experiment_ids}|{filter_string}|{order_by}"
    offset = page_offset(params.get("page_token"), scope)
    found = await access.read(datasets.search, experiment_ids, filter_string, order_by, limit + 1, offset)
    out: dict[str, Any] = {"datasets": [dataset_json(d) for d in found[:limit]]}
    if len(found) > limit:
        out["next_page_token"] = page_token(offset + limit, scope)
    return ok(out)


async def set_tags(access: Access, request: Request) -> Response:
    dataset_id = _dataset_id(request)
    tags = _tags(parse(TagsBody, await json_body(request))["tags"])
    await access.write(partial(datasets.set_tags, dataset_id=dataset_id, tags=tags))
    return ok({})


async def delete_tag(access: Access, request: Request) -> Response:
    dataset_id = _dataset_id(request)
    await access.write(partial(datasets.delete_tag, dataset_id=dataset_id, key=str(request.path_params["key"])))
    return ok({})


async def upsert_records(access: Access, request: Request) -> Response:
    """``{"records": "<JSON list>"}`` (a list is accepted too) -> ``{inserted_count, updated_count}``."""
    dataset_id = _dataset_id(request)
    raw = parse(RecordsBody, await json_body(request))["records"]
    if raw is None:
        raise missing("records")
    if isinstance(raw, str):
        raw = parse_json(raw, "records", "JSON text of a list")
    if not isinstance(raw, list):
        raise InvalidParameter("Invalid value for parameter 'records': expected a JSON list of records.")
    if len(raw) > MAX_RECORDS_PER_CALL:
        raise InvalidParameter(f"Invalid value for parameter 'records': more than {MAX_RECORDS_PER_CALL} records.")
    inserted, updated = await access.write(
        partial(dataset_records.merge, dataset_id=dataset_id, new_records=raw, now=now_ms())
    )
    return ok({"inserted_count": inserted, "updated_count": updated})


async def get_records(access: Access, request: Request) -> Response:
    dataset_id = _dataset_id(request)
    if request.method == "POST":
        params = parse(RecordPageBody, await json_body(request, content_type_required=False))
    else:
        params = parse_query(RecordPageBody, request.query_params)
    limit = _max_results(params.get("max_results"), DEFAULT_MAX_RESULTS, MAX_SEARCH_RESULTS)
    offset = page_offset(params.get("page_token"), dataset_id)
    found = await access.read(dataset_records.records, dataset_id, limit + 1, offset)
    out: dict[str, Any] = {"records": json.dumps([record_json(r) for r in found[:limit]])}  # MLflow: json.dumps
    if len(found) > limit:
        out["next_page_token"] = page_token(offset + limit, dataset_id)
    return ok(out)


async def delete_records(access: Access, request: Request) -> Response:
    """``{"dataset_record_ids": [...]}`` -> ``{"deleted_count"}``."""
    dataset_id = _dataset_id(request)
    body = parse(RecordIdsBody, await json_body(request, content_type_required=False))
    ids = body.get("dataset_record_ids") or []
    deleted = await access.write(partial(dataset_records.delete_records, dataset_id=dataset_id, record_ids=ids))
    return ok({"deleted_count": deleted})


async def experiment_ids(access: Access, request: Request) -> Response:
    found = await access.read(datasets.experiment_ids, _dataset_id(request))
    return ok({"experiment_ids": found} if found else {})


async def add_experiments(access: Access, request: Request) -> Response:
    return await _link(access, request, add=True)


async def remove_experiments(access: Access, request: Request) -> Response:
    return await _link(access, request, add=False)


async def _link(access: Access, request: Request, *, add: bool) -> Response:
    dataset_id = _dataset_id(request)
    ids = parse(ExperimentIdsBody, await json_body(request)).get("experiment_ids") or []
    stored = await access.write(
        partial(datasets.link_experiments, dataset_id=dataset_id, experiment_ids=ids, add=add, now=now_ms())
    )
    return ok({"dataset": dataset_json(stored)})
