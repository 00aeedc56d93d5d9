"""Client scripts: MLflow OSS review queues (``mlflow.genai.review_queues``, 3.14+): create, get,
get by name, list and its filters, update, user queues, items (attach, list, status, detach),
delete, and the errors and messages a user sees.

Run by tests/differential/client_runner.py under each client version: mlflow and the standard
library only.
"""

from __future__ import annotations

from typing import Any

import mlflow
from mlflow.exceptions import MlflowException
from mlflow.genai import label_schemas
from mlflow.genai import review_queues as rq
from mlflow.tracking._tracking_service.utils import _get_store


def _queue(q: Any) -> dict[str, Any]:
    return {
        "queue_id": q.queue_id,
        "experiment_id": q.experiment_id,
        "name": q.name,
        "queue_type": str(q.queue_type),
        "created_by": q.created_by,
        "users": q.users,
        "schema_ids": q.schema_ids,
        "creation_time_ms": q.creation_time_ms,
        "last_update_time_ms": q.last_update_time_ms,
    }


def _item(i: Any) -> dict[str, Any]:
    return {
        "queue_id": i.queue_id,
        "item_type": str(i.item_type),
        "item_id": i.item_id,
        "status": str(i.status),
        "completed_by": i.completed_by,
        "completed_time_ms": i.completed_time_ms,
        "creation_time_ms": i.creation_time_ms,
        "last_update_time_ms": i.last_update_time_ms,
    }


def _error(call: Any, *args: Any, **kwargs: Any) -> dict[str, Any]:
    """The error code and the message as the user reads it (the wording is part of the contract;
    the experiment id in it differs between the servers, so it reads <experiment>)."""
    try:
        call(*args, **kwargs)
    except MlflowException as e:
        experiment_id = mlflow.get_experiment_by_name(EXPERIMENT[0]).experiment_id
        message = e.message.removeprefix(f"{e.error_code}: ").replace(f"'{experiment_id}'", "'<experiment>'")
        return {"error_code": e.error_code, "message": message}
    return {"error_code": None, "message": "no error"}


EXPERIMENT = [""]  # the experiment the running case set


def _traces(n: int) -> list[str]:
    @mlflow.trace
    def answer(question: str) -> str:
        return "Paris"

    ids = []
    for i in range(n):
        answer(f"question {i}")
        ids.append(mlflow.get_last_active_trace_id())
    mlflow.flush_trace_async_logging()
    return ids


def queues(client: Any) -> dict[str, Any]:
    """Queues: create (custom and user), get, get by name (case-insensitive), list with filters,
    update (rename, users, locked questions), delete; the errors of each."""
    EXPERIMENT[0] = f"diff-rq-{client.unique}"
    experiment = mlflow.set_experiment(EXPERIMENT[0])
    schema = label_schemas.create_label_schema(
        name="correct", type="feedback", input=label_schemas.InputCategorical(options=["yes", "no"])
    )
    queue = rq.create_review_queue(
        "Launch review", queue_type="custom", users=["Bob@x.com", "alice@x.com"], schema_ids=[schema.schema_id]
    )
    mine = rq.get_or_create_user_queue(" Carol@X.com ")
    trace_ids = _traces(1)
    rq.add_items_to_review_queue(queue.queue_id, item_ids=trace_ids)
    return {
        "experiment_id": experiment.experiment_id,
        "schema_id": schema.schema_id,
        "created": _queue(queue),
        "got": _queue(rq.get_review_queue(queue.queue_id)),
        "by_name": _queue(rq.get_review_queue(name="LAUNCH REVIEW")),
        "user_queue": _queue(mine),
        "user_queue_again": _queue(rq.get_or_create_user_queue("carol@x.com")),
        "listed": [_queue(q) for q in rq.list_review_queues()],
        "for_alice": [q.name for q in rq.list_review_queues(user="ALICE@x.com")],
        "with_item": [q.name for q in _get_store().list_review_queues(experiment.experiment_id, item_id=trace_ids[0])],
        "page": [len(rq.list_review_queues(max_results=1)), rq.list_review_queues(max_results=1).token is not None],
        "duplicate": _error(rq.create_review_queue, "launch REVIEW", queue_type="custom"),
        "reserved": _error(rq.create_review_queue, "DEFAULT", queue_type="custom"),
        "blank_name": _error(rq.create_review_queue, "   ", queue_type="custom"),
        "empty_name": _error(rq.create_review_queue, "", queue_type="custom"),
        "too_many_users": _error(
            rq.create_review_queue, "big", queue_type="custom", users=[f"u{i}" for i in range(11)]
        ),
        "bad_schema": _error(rq.create_review_queue, "s", queue_type="custom", schema_ids=["ls-nope"]),
        "user_with_schemas": _error(rq.create_review_queue, "dan", queue_type="user", schema_ids=[schema.schema_id]),
        "user_other_user": _error(rq.create_review_queue, "dan", queue_type="user", users=["eve"]),
        "missing_name": _error(rq.get_review_queue, name="nope"),
        "missing_id": _error(rq.get_review_queue, "rq-" + "0" * 32),
        "locked": _error(rq.update_review_queue, queue.queue_id, schema_ids=[]),
        "user_fixed": _error(rq.update_review_queue, mine.queue_id, users=["x"]),
        "renamed": _queue(
            rq.update_review_queue(queue.queue_id, name="Launch v2", users=["zed"], new_owner="Owner@x.com")
        ),
        "rename_clash": _error(rq.update_review_queue, queue.queue_id, name="CAROL@x.com"),
        "deleted": [
            rq.delete_review_queue(mine.queue_id),
            rq.delete_review_queue(mine.queue_id),
            _error(rq.get_review_queue, mine.queue_id)["error_code"],
        ],
        "trace_ids": trace_ids,
    }


def items(client: Any) -> dict[str, Any]:
    """Items: attach (idempotent, status kept), list (newest first, by status, paged), set status
    (complete, declined, reopen, same-status no-op), detach; the errors of each."""
    EXPERIMENT[0] = f"diff-rq-items-{client.unique}"
    mlflow.set_experiment(EXPERIMENT[0])
    trace_ids = _traces(3)
    queue = rq.create_review_queue("Items", queue_type="custom")
    # one new item per call: items attached in one call share a creation time and are then listed
    # by id, which differs between the servers
    first = rq.add_items_to_review_queue(queue.queue_id, item_ids=[trace_ids[0], trace_ids[0]])
    second = rq.add_items_to_review_queue(queue.queue_id, item_ids=[trace_ids[1]])
    completed = rq.set_review_queue_item_status(
        queue.queue_id, item_id=trace_ids[0], status="complete", completed_by="Ann"
    )
    again = rq.add_items_to_review_queue(queue.queue_id, item_ids=[trace_ids[0], trace_ids[2]])
    page = rq.list_review_queue_items(queue.queue_id, max_results=2)
    return {
        "first": [_item(i) for i in first + second],
        "completed": _item(completed),
        "same_status": _item(
            rq.set_review_queue_item_status(
                queue.queue_id, item_id=trace_ids[0], status="complete", completed_by="other"
            )
        ),
        "again": [_item(i) for i in again],
        "all": [_item(i) for i in rq.list_review_queue_items(queue.queue_id)],
        "pending": [i.item_id for i in rq.list_review_queue_items(queue.queue_id, status="pending")],
        "page": [
            [i.item_id for i in page],
            page.token is not None,
            [i.item_id for i in rq.list_review_queue_items(queue.queue_id, max_results=2, page_token=page.token)],
        ],
        "declined": _item(
            rq.set_review_queue_item_status(queue.queue_id, item_id=trace_ids[1], status="declined", completed_by="Bo")
        ),
        "reopened": _item(rq.set_review_queue_item_status(queue.queue_id, item_id=trace_ids[1], status="pending")),
        "needs_by": _error(rq.set_review_queue_item_status, queue.queue_id, item_id=trace_ids[1], status="declined"),
        "by_on_reopen": _error(
            rq.set_review_queue_item_status, queue.queue_id, item_id=trace_ids[1], status="pending", completed_by="x"
        ),
        "not_attached": _error(
            rq.set_review_queue_item_status,
            queue.queue_id,
            item_id="tr-" + "0" * 32,
            status="complete",
            completed_by="x",
        ),
        "unknown_trace": _error(rq.add_items_to_review_queue, queue.queue_id, item_ids=["tr-" + "0" * 32]),
        "no_items": _error(rq.add_items_to_review_queue, queue.queue_id, item_ids=[]),
        "removed": [
            rq.remove_items_from_review_queue(queue.queue_id, item_ids=[trace_ids[1], "tr-" + "0" * 32]),
            [i.item_id for i in rq.list_review_queue_items(queue.queue_id)],
        ],
        "missing_queue": _error(rq.list_review_queue_items, "rq-" + "0" * 32),
        "trace_ids": trace_ids,
    }
