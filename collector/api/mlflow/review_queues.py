"""MLflow OSS review queue routes (``/api/3.0/mlflow/review-queues/...``, MLflow 3.14+): create,
get-or-create-user, get, get-by-name, list, update, delete, items/add, items/remove, items/list,
items/set-status, in the JSON that MLflow's ``message_to_json`` writes for ``review_queues.proto``.

Mapping only: the rules live in ``store/queries/review_queues.py`` and ``review_queue_items.py``.
Each request (body or query string) is a declared model checked by ``api.models.parse``, as
MLflow's protobuf parser checks its message before the handler's own rules run. Wire details copied
from MLflow's handlers because the stock client relies on them: enums travel as names
(``"CUSTOM"``, ``"PENDING"``; numbers are accepted too), times as epoch milliseconds, empty lists
and unset optional fields are left out, list answers always carry ``next_page_token`` (``""`` on
the last page), and ``created_by`` is never taken from the client (MLflow stamps the authenticated
user; with no authentication it stays unset).
"""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING, Annotated, Any, NotRequired

from typing_extensions import TypedDict  # pydantic reads typing's TypedDict only from Python 3.12

from annotrace.collector.api.mlflow.wire import epoch_ms, json_body, ok, page_offset, page_token
from annotrace.collector.api.models import Boolean, Integer, ProtoEnum, Text, TextList, parse
from annotrace.collector.api.query_params import parse_query
from annotrace.collector.errors import InvalidParameter
from annotrace.collector.store.access import now_ms
from annotrace.collector.store.queries import review_queue_items, review_queues

if TYPE_CHECKING:
    from starlette.requests import Request
    from starlette.responses import Response

    from annotrace.collector.store.access import Access
    from annotrace.collector.store.queries.labeling import Session

DEFAULT_MAX_RESULTS = 1000  # MLflow's SEARCH_MAX_RESULTS_DEFAULT
MAX_RESULTS = 50000  # MLflow's SEARCH_MAX_RESULTS_THRESHOLD
MORE = " See the API docs for more information about request parameters."
_REQUIRED = Text(empty_is_missing=True)
"""MLflow's ``_assert_required``: absent, null or ``""`` is missing; a blank value passes on to the
rules (``"   "`` as a name is "`name` must be a non-empty string")."""
_QUEUE_TYPE = ProtoEnum(("REVIEW_QUEUE_TYPE_UNSPECIFIED", "USER", "CUSTOM"))
_STATUS = ProtoEnum(("REVIEW_STATUS_UNSPECIFIED", "PENDING", "COMPLETE", "DECLINED"))
_ITEM_TYPE = ProtoEnum(("REVIEW_ITEM_TYPE_UNSPECIFIED", "TRACE"))


class NewQueueBody(TypedDict):
    """``POST .../create`` (keys in the order they are checked)."""

    experiment_id: Annotated[str, _REQUIRED]
    name: Annotated[str, Text(empty_is_missing=True, name=True)]
    queue_type: NotRequired[Annotated[int, _QUEUE_TYPE] | None]
    users: NotRequired[Annotated[list[str], TextList()] | None]
    schema_ids: NotRequired[Annotated[list[str], TextList()] | None]


class UserQueueBody(TypedDict):
    experiment_id: Annotated[str, _REQUIRED]
    user: Annotated[str, _REQUIRED]


class QueueIdParams(TypedDict):
    """``GET .../get`` and ``POST .../delete``."""

    queue_id: Annotated[str, _REQUIRED]


class QueueNameParams(TypedDict):
    experiment_id: Annotated[str, _REQUIRED]
    name: Annotated[str, _REQUIRED]


class PageParams(TypedDict):
    max_results: NotRequired[Annotated[int, Integer()] | None]
    page_token: NotRequired[Annotated[str, Text()] | None]


class QueueListParams(PageParams):
    experiment_id: Annotated[str, _REQUIRED]
    user: NotRequired[Annotated[str, Text()] | None]
    item_id: NotRequired[Annotated[str, Text()] | None]


class QueueChangeBody(TypedDict):
    """``users``/``schema_ids`` apply only with ``update_users``/``update_schema_ids`` true (proto
    repeated fields cannot say "unset"); ``name``/``new_owner`` apply when present."""

    queue_id: Annotated[str, _REQUIRED]
    name: NotRequired[Annotated[str, Text(name=True)] | None]
    new_owner: NotRequired[Annotated[str, Text()] | None]
    users: NotRequired[Annotated[list[str], TextList()] | None]
    update_users: NotRequired[Annotated[bool, Boolean()] | None]
    schema_ids: NotRequired[Annotated[list[str], TextList()] | None]
    update_schema_ids: NotRequired[Annotated[bool, Boolean()] | None]


class ItemsBody(TypedDict):
    """``POST .../items/add`` and ``.../items/remove``."""

    queue_id: Annotated[str, _REQUIRED]
    item_type: NotRequired[Annotated[int, _ITEM_TYPE] | None]
    item_ids: NotRequired[Annotated[list[str], TextList()] | None]


class ItemListParams(PageParams):
    queue_id: Annotated[str, _REQUIRED]
    status: NotRequired[Annotated[int, _STATUS] | None]


class ItemStatusBody(TypedDict):
    queue_id: Annotated[str, _REQUIRED]
    item_id: Annotated[str, _REQUIRED]
    status: NotRequired[Annotated[int, _STATUS] | None]
    completed_by: NotRequired[Annotated[str, Text()] | None]


def _queue_type(number: int | None) -> str:
    if number not in (1, 2):
        raise InvalidParameter(f"`queue_type` must be one of USER or CUSTOM; got proto enum value {number or 0}.")
    return "user" if number == 1 else "custom"


def _status(number: int | None) -> str:
    if number not in (1, 2, 3):
        raise InvalidParameter(
            f"`status` must be one of PENDING, COMPLETE, or DECLINED; got proto enum value {number or 0}."
        )
    return store_status(number)


def store_status(number: int) -> str:
    return ("pending", "complete", "declined")[number - 1]


def _max_results(params: PageParams) -> int:
    number = params.get("max_results")
    if number is None:
        return DEFAULT_MAX_RESULTS
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


def item_json(item: review_queue_items.QueueItem) -> dict[str, Any]:
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
    return ok({"review_queue": queue_json(queue, await access.read(review_queues.schema_ids, queue))})


async def create_review_queue(access: Access, request: Request) -> Response:
    body = parse(NewQueueBody, await json_body(request))
    new = review_queues.NewQueue(
        experiment_id=body["experiment_id"],
        name=body["name"],
        queue_type=_queue_type(body.get("queue_type")),
        users=body.get("users") or [],
        schema_ids=body.get("schema_ids") or [],
    )
    return await _queue_answer(access, await access.write(partial(review_queues.create, new=new, now=now_ms())))


async def get_or_create_user_queue(access: Access, request: Request) -> Response:
    body = parse(UserQueueBody, await json_body(request))
    queue = await access.write(
        partial(
            review_queues.get_or_create_user_queue,
            experiment_id=body["experiment_id"],
            user=body["user"],
            now=now_ms(),
        )
    )
    return await _queue_answer(access, queue)


async def get_review_queue(access: Access, request: Request) -> Response:
    queue_id = parse_query(QueueIdParams, request.query_params)["queue_id"]
    return await _queue_answer(access, await access.read(review_queues.get, queue_id))


async def get_review_queue_by_name(access: Access, request: Request) -> Response:
    params = parse_query(QueueNameParams, request.query_params)
    return await _queue_answer(
        access, await access.read(review_queues.get_by_name, params["experiment_id"], params["name"])
    )


async def list_review_queues(access: Access, request: Request) -> Response:
    params = parse_query(QueueListParams, request.query_params)
    experiment_id, user, item_id = params["experiment_id"], params.get("user"), params.get("item_id")
    limit = _max_results(params)
    scope = f"review-queues:{experiment_id}:{user}:{item_id}"
    offset = page_offset(params.get("page_token"), scope)
    found = await access.read(
        review_queues.list_queues, experiment_id, user=user, item_id=item_id, limit=limit, offset=offset
    )
    queues = [queue_json(q, await access.read(review_queues.schema_ids, q)) for q in found[:limit]]
    token = page_token(offset + limit, scope) if len(found) > limit else ""
    return ok({"review_queues": queues, "next_page_token": token})


async def update_review_queue(access: Access, request: Request) -> Response:
    body = parse(QueueChangeBody, await json_body(request))
    patch = review_queues.QueuePatch(
        name=body.get("name"),
        new_owner=body.get("new_owner"),
        users=(body.get("users") or []) if body.get("update_users") else None,
        schema_ids=(body.get("schema_ids") or []) if body.get("update_schema_ids") else None,
    )
    return await _queue_answer(
        access, await access.write(partial(review_queues.update, queue_id=body["queue_id"], patch=patch, now=now_ms()))
    )


async def delete_review_queue(access: Access, request: Request) -> Response:
    queue_id = parse(QueueIdParams, await json_body(request))["queue_id"]
    await access.write(partial(review_queues.delete, queue_id=queue_id))
    return ok({})


async def add_items(access: Access, request: Request) -> Response:
    body = parse(ItemsBody, await json_body(request))
    item_type = body.get("item_type")
    if item_type not in (None, 0, 1):
        raise InvalidParameter(f"`item_type` must be TRACE; got proto enum value {item_type}.")
    added = await access.write(
        partial(review_queue_items.add, queue_id=body["queue_id"], ids=body.get("item_ids") or [], now=now_ms())
    )
    return ok({"items": [item_json(i) for i in added]})


async def remove_items(access: Access, request: Request) -> Response:
    body = parse(ItemsBody, await json_body(request))
    await access.write(partial(review_queue_items.remove, queue_id=body["queue_id"], ids=body.get("item_ids") or []))
    return ok({})


async def list_items(access: Access, request: Request) -> Response:
    params = parse_query(ItemListParams, request.query_params)
    queue_id = params["queue_id"]
    limit = _max_results(params)
    number = params.get("status")
    status = _status(number) if number else None
    scope = f"review-queue-items:{queue_id}:{status}"
    offset = page_offset(params.get("page_token"), scope)
    found = await access.read(review_queue_items.list_items, queue_id, status, limit, offset)
    token = page_token(offset + limit, scope) if len(found) > limit else ""
    return ok({"items": [item_json(i) for i in found[:limit]], "next_page_token": token})


async def set_item_status(access: Access, request: Request) -> Response:
    body = parse(ItemStatusBody, await json_body(request))
    item = await access.write(
        partial(
            review_queue_items.set_status,
            queue_id=body["queue_id"],
            item_id=body["item_id"],
            status=_status(body.get("status")),
            completed_by=body.get("completed_by"),
            now=now_ms(),
        )
    )
    return ok({"item": item_json(item)})
