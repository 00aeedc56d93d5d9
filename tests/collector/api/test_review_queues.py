"""Review queue REST routes (MLflow 3.14+ ``/api/3.0/mlflow/review-queues/*``, also under
``/ajax-api``) on a real collector: the JSON ``message_to_json`` writes, and each rule answering
4xx with MLflow's error code and a message that names the field. The stock client's view of the
same routes is tests/e2e/test_stock_mlflow_review_queues.py."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx

from tests.collector.api.rest import Traced

BASE = "/api/3.0/mlflow/review-queues"


def create(api: httpx.Client, experiment_id: str, name: str, **fields: Any) -> httpx.Response:
    return api.post(
        f"{BASE}/create", json={"experiment_id": experiment_id, "name": name, "queue_type": "CUSTOM", **fields}
    )


def error(response: httpx.Response) -> tuple[int, str, str]:
    body = response.json()
    return response.status_code, body["error_code"], body["message"]


def test_a_queue_in_mlflow_json_leaves_out_empty_lists_and_unset_fields(api: httpx.Client, experiment_id: str) -> None:
    made = create(api, experiment_id, "  Triage  ")
    assert made.status_code == 200, made.text
    queue = made.json()["review_queue"]
    assert set(queue) == {"queue_id", "experiment_id", "name", "queue_type", "creation_time_ms", "last_update_time_ms"}
    assert queue["name"] == "Triage" and queue["queue_type"] == "CUSTOM" and queue["experiment_id"] == experiment_id
    assert isinstance(queue["creation_time_ms"], int)
    assert api.get("/ajax-api/3.0/mlflow/review-queues/get", params={"queue_id": queue["queue_id"]}).json() == {
        "review_queue": queue
    }
    listed = api.get(f"{BASE}/list", params={"experiment_id": experiment_id}).json()
    assert listed == {"review_queues": [queue], "next_page_token": ""}
    items = api.get(f"{BASE}/items/list", params={"queue_id": queue["queue_id"]}).json()
    assert items == {"items": [], "next_page_token": ""}


def test_items_keep_their_status_when_attached_again_and_accept_ids_without_tr(
    api: httpx.Client, experiment_id: str, make_trace: Callable[..., Traced]
) -> None:
    traced = make_trace()
    queue_id = create(api, experiment_id, "q").json()["review_queue"]["queue_id"]
    first = api.post(
        f"{BASE}/items/add", json={"queue_id": queue_id, "item_ids": [traced.trace_id], "item_type": "TRACE"}
    )
    assert first.status_code == 200, first.text
    item = first.json()["items"][0]
    assert set(item) == {"queue_id", "item_type", "item_id", "status", "creation_time_ms", "last_update_time_ms"}
    assert (item["item_type"], item["item_id"], item["status"]) == ("TRACE", traced.trace_id, "PENDING")
    done = api.post(
        f"{BASE}/items/set-status",
        json={"queue_id": queue_id, "item_id": traced.trace_id, "status": "DECLINED", "completed_by": "Eve"},
    )
    assert done.json()["item"]["status"] == "DECLINED" and done.json()["item"]["completed_by"] == "eve"
    again = api.post(
        f"{BASE}/items/add", json={"queue_id": queue_id, "item_ids": [traced.trace_id.removeprefix("tr-")]}
    )
    assert [(i["item_id"], i["status"]) for i in again.json()["items"]] == [(traced.trace_id, "DECLINED")]
    same = api.post(
        f"{BASE}/items/set-status",
        json={"queue_id": queue_id, "item_id": traced.trace_id, "status": 3, "completed_by": "someone-else"},
    )
    assert same.json()["item"]["completed_by"] == "eve"  # the same status again changes nothing
    reopened = api.post(
        f"{BASE}/items/set-status", json={"queue_id": queue_id, "item_id": traced.trace_id, "status": "PENDING"}
    ).json()["item"]
    assert reopened["status"] == "PENDING" and "completed_by" not in reopened and "completed_time_ms" not in reopened
    assert api.get(f"{BASE}/items/list", params={"queue_id": queue_id, "status": "DECLINED"}).json()["items"] == []


def test_bad_input_gets_mlflow_codes_and_names_the_field(api: httpx.Client, experiment_id: str) -> None:
    assert error(api.post(f"{BASE}/create", json={"experiment_id": experiment_id, "name": "x"})) == (
        400,
        "INVALID_PARAMETER_VALUE",
        "`queue_type` must be one of USER or CUSTOM; got proto enum value 0.",
    )
    status, code, message = error(create(api, experiment_id, "x", queue_type="TEAM"))
    assert (status, code) == (400, "INVALID_PARAMETER_VALUE") and "'queue_type'" in message
    assert error(create(api, experiment_id, "x", users=[f"u{i}" for i in range(11)])) == (
        400,
        "INVALID_PARAMETER_VALUE",
        "A review queue can have at most 10 assigned users; got 11.",
    )
    assert error(create(api, experiment_id, "x", schema_ids=["ls-nope"])) == (
        400,
        "INVALID_PARAMETER_VALUE",
        f"Label schema id(s) ['ls-nope'] not found for experiment '{experiment_id}'.",
    )
    assert error(create(api, "no-such-experiment", "x")) == (
        404,
        "RESOURCE_DOES_NOT_EXIST",
        "No Experiment with id=no-such-experiment exists",
    )
    assert error(create(api, experiment_id, "bob", queue_type="USER", users=["alice"])) == (
        400,
        "INVALID_PARAMETER_VALUE",
        "A user queue must have exactly one assigned user equal to its name; got name='bob' and users=['alice'].",
    )
    status, code, message = error(api.get(f"{BASE}/get"))
    assert (status, code) == (400, "INVALID_PARAMETER_VALUE") and "'queue_id'" in message
    assert error(api.get(f"{BASE}/get", params={"queue_id": "rq-x"})) == (
        404,
        "RESOURCE_DOES_NOT_EXIST",
        "Review queue with id 'rq-x' not found.",
    )
    assert error(api.get(f"{BASE}/get-by-name", params={"experiment_id": experiment_id, "name": "nope"})) == (
        404,
        "RESOURCE_DOES_NOT_EXIST",
        f"Review queue with name 'nope' not found for experiment '{experiment_id}'.",
    )
    assert error(api.get(f"{BASE}/list", params={"experiment_id": experiment_id, "max_results": 0})) == (
        400,
        "INVALID_PARAMETER_VALUE",
        "max_results must be between 1 and 50000. See the API docs for more information about request parameters.",
    )
    queue_id = create(api, experiment_id, "x").json()["review_queue"]["queue_id"]
    assert error(api.post(f"{BASE}/items/add", json={"queue_id": queue_id, "item_ids": []})) == (
        400,
        "INVALID_PARAMETER_VALUE",
        "`item_ids` must be a non-empty list; got [].",
    )
    assert error(api.post(f"{BASE}/items/add", json={"queue_id": queue_id, "item_ids": ["x"], "item_type": 2})) == (
        400,
        "INVALID_PARAMETER_VALUE",
        "`item_type` must be TRACE; got proto enum value 2.",
    )
    assert error(api.post(f"{BASE}/items/set-status", json={"queue_id": queue_id, "item_id": "tr-" + "a" * 32})) == (
        400,
        "INVALID_PARAMETER_VALUE",
        "`status` must be one of PENDING, COMPLETE, or DECLINED; got proto enum value 0.",
    )
    assert error(
        api.post(
            f"{BASE}/items/set-status",
            json={"queue_id": queue_id, "item_id": "tr-" + "a" * 32, "status": "COMPLETE", "completed_by": "me"},
        )
    ) == (404, "RESOURCE_DOES_NOT_EXIST", f"Item 'tr-{'a' * 32}' is not attached to review queue '{queue_id}'.")
    assert error(api.post(f"{BASE}/update", json={"queue_id": queue_id, "update_users": "yes"}))[2].startswith(
        "Invalid value \"yes\" for parameter 'update_users'"
    )
    assert api.post(f"{BASE}/delete", json={"queue_id": "rq-gone"}).json() == {}


def test_a_user_queue_asks_every_schema_of_its_experiment(
    api: httpx.Client, experiment_id: str, make_trace: Callable[..., Traced]
) -> None:
    """schema_ids stay empty on the wire (MLflow), while the Review App asks every schema, resolved
    when read: one created after the queue is asked too."""
    queue = api.post(f"{BASE}/get-or-create-user", json={"experiment_id": experiment_id, "user": " Zoe "}).json()
    queue = queue["review_queue"]
    assert (queue["name"], queue["queue_type"], queue["users"], queue["created_by"]) == ("zoe", "USER", ["zoe"], "zoe")
    assert "schema_ids" not in queue
    for name in ("tone", "facts"):
        api.post(
            "/api/3.0/mlflow/label-schemas/create",
            json={"experiment_id": experiment_id, "name": name, "type": "FEEDBACK", "input": {"text": {}}},
        )
    traced = make_trace()
    api.post(f"{BASE}/items/add", json={"queue_id": queue["queue_id"], "item_ids": [traced.trace_id]})
    session = api.get(f"/api/v1/labeling/sessions/{queue['queue_id']}").json()["labeling_session"]
    assert session["label_schemas"] == ["tone", "facts"]
    assert api.get(f"{BASE}/get", params={"queue_id": queue["queue_id"]}).json()["review_queue"] == queue
