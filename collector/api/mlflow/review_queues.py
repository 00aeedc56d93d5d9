"""MLflow OSS review queue routes (``/api/3.0/mlflow/review-queues/...``, MLflow 3.14+): create,
get-or-create-user, get, get-by-name, list, update, delete, items/add, items/remove, items/list,
items/set-status, in the JSON that MLflow's ``message_to_json`` writes for ``review_queues.proto``.

Mapping only: the rules live in ``store/queries/review_queues.py`` and ``review_queue_items.py``.
Wire details copied from MLflow's handlers because the stock client relies on them: enums travel
as names (``"CUSTOM"``, ``"PENDING"``; numbers are accepted too), times as epoch milliseconds,
empty lists and unset optional fields are left out, list answers always carry
``next_page_token`` (``""`` on the last page), and ``created_by`` is never taken from the client
(MLflow stamps the authenticated user; with no authentication it stays unset).
"""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING, Any

from annotrace.collector.api.mlflow.wire import (
    Fields,
    epoch_ms,
    invalid,
    json_body,
    missing,
    ok,
    page_offset,
    page_token,
    query,
)
from annotrace.collector.errors import InvalidParameter
from annotrace.collector.store.access import now_ms
from annotrace.collector.store.queries import review_queue_items as items_store
from annotrace.collector.store.queries import review_queues as store

if TYPE_CHECKING:
    from starlette.requests import Request
    from starlette.responses import Response

    from annotrace.collector.store.access import Access
    from annotrace.collector.store.queries.labeling import Session

DEFAULT_MAX_RESULTS = 1000  # MLflow's SEARCH_MAX_RESULTS_DEFAULT
MAX_RESULTS = 50000  # MLflow's SEARCH_MAX_RESULTS_THRESHOLD
QUEUE_TYPES = {"REVIEW_QUEUE_TYPE_UNSPECIFIED": 0, "USER": 1, "CUSTOM": 2}
STATUSES = {"REVIEW_STATUS_UNSPECIFIED": 0, "PENDING": 1, "COMPLETE": 2, "DECLINED": 3}
ITEM_TYPES = {"REVIEW_ITEM_TYPE_UNSPECIFIED": 0, "TRACE": 1}
MORE = " See the API docs for more information about request parameters."


def _enum(fields: Fields, name: str, names: dict[str, int]) -> int | None:
    """A proto enum field given by name or number (protobuf's JSON mapping accepts both)."""
    value = fields.raw(name)
    if value is None:
        return None
    if isinstance(value, str) and value in names:
        return names[value]
    if isinstance(value, str) and value.isdigit():
        return int(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    raise invalid(fields.path(name), f"one of {', '.join(names)}", value)


def _queue_type(fields: Fields) -> str:
    number = _enum(fields, "queue_type", QUEUE_TYPES) or 0
    if number not in (1, 2):
        raise InvalidParameter(f"`queue_type` must be one of USER or CUSTOM; got proto enum value {number}.")
    return "user" if number == 1 else "custom"


def _status(number: int | None) -> str:
    if number not in (1, 2, 3):
        raise InvalidParameter(
            f"`status` must be one of PENDING, COMPLETE, or DECLINED; got proto enum value {number or 0}."
        )
    return store_status(number)


def store_status(number: int) -> str:
    return ("pending", "complete", "declined")[number - 1]


def _required(fields: Fields, name: str) -> str:
    """MLflow's ``_assert_required``: absent or ``""`` is missing; blanks pass on to the rules
    (``"   "`` as a name is "`name` must be a non-empty string")."""
    value = fields.get_str(name)
    if not value:
        raise missing(fields.path(name))
    return value


def _max_results(fields: Fields) -> int:
    value = fields.raw("max_results")
    if value is None:
        return DEFAULT_MAX_RESULTS
    number = fields.get_int("max_results")
    assert number is not None
    if not 1 <= number <= MAX_RESULTS:
        raise InvalidParameter(f"max_results must be between 1 and {MAX_RESULTS}.{MORE}")
    return number


def queue_json(queue: Session, schema_ids: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = {
        "queue_id": queue.session_id,
        "experiment_id": queue.experiment_id,
        "name": queue.name,
        "queue_type": (queue.queue_type or "custom").upper(),
        "creation_time_ms": epoch_ms(queue.create_time),
        "last_update_time_ms": epoch_ms(queue.last_update_time),
    }
    if queue.created_by is not None:
        out["created_by"] = queue.created_by
    if queue.assigned_users:
        out["users"] = sorted(queue.assigned_users)  # MLflow lists them ordered by user id
    if schema_ids:
        out["schema_ids"] = schema_ids
    return out


def item_json(item: items_store.QueueItem) -> dict[str, Any]:
    out: dict[str, Any] = {
        "queue_id": item.queue_id,
        "item_type": "TRACE",
        "item_id": item.item_id,
        "status": item.status.upper(),
        "creation_time_ms": epoch_ms(item.create_time),
        "last_update_time_ms": epoch_ms(item.last_update_time),
    }
    if item.completed_by is not None:
        out["completed_by"] = item.completed_by
    if item.completed_time is not None:
        out["completed_time_ms"] = epoch_ms(item.completed_time)
    return out


async def _queue_answer(access: Access, queue: Session) -> Response:
    return ok({"review_queue": queue_json(queue, await access.read(store.schema_ids, queue))})


async def create_review_queue(access: Access, request: Request) -> Response:
    body = await json_body(request)
    experiment_id, name = _required(body, "experiment_id"), _required(body, "name")
    body.get_name("name")  # no control characters or U+FFFD
    new = store.NewQueue(
        experiment_id=experiment_id,
        name=name,
        queue_type=_queue_type(body),
        users=body.get_str_list("users") or [],
        schema_ids=body.get_str_list("schema_ids") or [],
    )
    return await _queue_answer(access, await access.write(partial(store.create, new=new, now=now_ms())))


async def get_or_create_user_queue(access: Access, request: Request) -> Response:
    body = await json_body(request)
    experiment_id, user = _required(body, "experiment_id"), _required(body, "user")
    queue = await access.write(
        partial(store.get_or_create_user_queue, experiment_id=experiment_id, user=user, now=now_ms())
    )
    return await _queue_answer(access, queue)


async def get_review_queue(access: Access, request: Request) -> Response:
    queue_id = _required(query(request), "queue_id")
    return await _queue_answer(access, await access.read(store.get, queue_id))


async def get_review_queue_by_name(access: Access, request: Request) -> Response:
    params = query(request)
    experiment_id, name = _required(params, "experiment_id"), _required(params, "name")
    return await _queue_answer(access, await access.read(store.get_by_name, experiment_id, name))


async def list_review_queues(access: Access, request: Request) -> Response:
    params = query(request)
    experiment_id = _required(params, "experiment_id")
    limit = _max_results(params)
    scope = f"review-queues:{experiment_id}:{params.get_str('user')}:{params.get_str('item_id')}"
    offset = page_offset(params.get_str("page_token"), scope)
    found = await access.read(
        store.list_queues,
        experiment_id,
        user=params.get_str("user"),
        item_id=params.get_str("item_id"),
        limit=limit,
        offset=offset,
    )
    queues = [queue_json(q, await access.read(store.schema_ids, q)) for q in found[:limit]]
    token = page_token(offset + limit, scope) if len(found) > limit else ""
    return ok({"review_queues": queues, "next_page_token": token})


async def update_review_queue(access: Access, request: Request) -> Response:
    """``users``/``schema_ids`` apply only with ``update_users``/``update_schema_ids`` true (proto
    repeated fields cannot say "unset"); ``name``/``new_owner`` apply when present."""
    body = await json_body(request)
    queue_id = _required(body, "queue_id")
    patch = store.QueuePatch(
        name=body.get_name("name"),
        new_owner=body.get_str("new_owner"),
        users=(body.get_str_list("users") or []) if _flag(body, "update_users") else None,
        schema_ids=(body.get_str_list("schema_ids") or []) if _flag(body, "update_schema_ids") else None,
    )
    return await _queue_answer(
        access, await access.write(partial(store.update, queue_id=queue_id, patch=patch, now=now_ms()))
    )


def _flag(body: Fields, name: str) -> bool:
    value = body.raw(name)
    if value is not None and not isinstance(value, bool):
        raise invalid(body.path(name), "a boolean", value)
    return bool(value)


async def delete_review_queue(access: Access, request: Request) -> Response:
    queue_id = _required(await json_body(request), "queue_id")
    await access.write(partial(store.delete, queue_id=queue_id))
    return ok({})


def _item_ids(body: Fields) -> list[str]:
    return body.get_str_list("item_ids") or []


async def add_items(access: Access, request: Request) -> Response:
    body = await json_body(request)
    queue_id = _required(body, "queue_id")
    item_type = _enum(body, "item_type", ITEM_TYPES)
    if item_type not in (None, 0, 1):
        raise InvalidParameter(f"`item_type` must be TRACE; got proto enum value {item_type}.")
    added = await access.write(partial(items_store.add, queue_id=queue_id, ids=_item_ids(body), now=now_ms()))
    return ok({"items": [item_json(i) for i in added]})


async def remove_items(access: Access, request: Request) -> Response:
    body = await json_body(request)
    queue_id = _required(body, "queue_id")
    await access.write(partial(items_store.remove, queue_id=queue_id, ids=_item_ids(body)))
    return ok({})


async def list_items(access: Access, request: Request) -> Response:
    params = query(request)
    queue_id = _required(params, "queue_id")
    limit = _max_results(params)
    number = _enum(params, "status", STATUSES)
    status = _status(number) if number else None
    scope = f"review-queue-items:{queue_id}:{status}"
    offset = page_offset(params.get_str("page_token"), scope)
    found = await access.read(items_store.list_items, queue_id, status, limit, offset)
    token = page_token(offset + limit, scope) if len(found) > limit else ""
    return ok({"items": [item_json(i) for i in found[:limit]], "next_page_token": token})


async def set_item_status(access: Access, request: Request) -> Response:
    body = await json_body(request)
    queue_id, item_id = _required(body, "queue_id"), _required(body, "item_id")
    status = _status(_enum(body, "status", STATUSES))
    item = await access.write(
        partial(
            items_store.set_status,
            queue_id=queue_id,
            item_id=item_id,
            status=status,
            completed_by=body.get_str("completed_by"),
            now=now_ms(),
        )
    )
    return ok({"item": item_json(item)})
