"""The stock ``mlflow`` client's review-queue functions (``mlflow.genai.review_queues``, 3.14+)
work against annotrace unchanged: create, get, get by name, list with its filters, update,
get-or-create a user queue, attach, list and move items, detach, delete, and the errors its
users see. The queue is then a session of the Review App, and a reviewer's answers land on the
traces themselves. Run in a child process, as a user's script would run.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import uuid

import httpx

from tests.collector.api.rest import ingest_trace
from tests.collector_process import Collector

SCRIPT = textwrap.dedent("""
    import json, sys
    import mlflow
    from mlflow.exceptions import MlflowException
    from mlflow.genai import label_schemas
    from mlflow.genai import review_queues as rq
    from mlflow.tracking._tracking_service.utils import _get_store

    mlflow.set_tracking_uri(sys.argv[1])
    mlflow.set_experiment(sys.argv[2])
    out = {}

    def err(e):  # the client's message starts with the error code
        return [e.error_code, e.message.removeprefix(e.error_code + ": ")]

    @mlflow.trace
    def answer(q):
        return "Paris"

    ids = []
    for q in ("capital of France?", "capital of Spain?"):
        answer(q)
        ids.append(mlflow.get_last_active_trace_id())
    mlflow.flush_trace_async_logging()

    schema = label_schemas.create_label_schema(
        name="correct", type="feedback",
        input=label_schemas.InputCategorical(options=["yes", "no"]))
    queue = rq.create_review_queue("Launch review", queue_type="custom", users=["Alice@x.com", "bob@x.com"],
                                   schema_ids=[schema.schema_id])
    out["queue"] = {"id": queue.queue_id, "name": queue.name, "type": str(queue.queue_type),
                    "users": queue.users, "schema_ids": queue.schema_ids, "created_by": queue.created_by}
    out["schema_id"] = schema.schema_id
    out["got"] = rq.get_review_queue(queue.queue_id).name
    out["by_name"] = rq.get_review_queue(name="launch REVIEW").queue_id
    try:
        rq.create_review_queue("LAUNCH review", queue_type="custom")
    except MlflowException as e:
        out["duplicate"] = err(e)
    try:
        rq.create_review_queue("Default", queue_type="custom")
    except MlflowException as e:
        out["reserved"] = err(e)

    added = rq.add_items_to_review_queue(queue.queue_id, item_ids=ids)
    again = rq.add_items_to_review_queue(queue.queue_id, item_ids=[ids[0]])
    out["added"] = [[i.item_id, str(i.status)] for i in added]
    out["again"] = [i.item_id for i in again]
    try:
        rq.add_items_to_review_queue(queue.queue_id, item_ids=["tr-" + "0" * 32])
    except MlflowException as e:
        out["missing_trace"] = err(e)
    try:
        rq.update_review_queue(queue.queue_id, schema_ids=[])
    except MlflowException as e:
        out["locked"] = err(e)

    done = rq.set_review_queue_item_status(queue.queue_id, item_id=ids[0], status="complete",
                                           completed_by="Alice@x.com")
    out["done"] = [str(done.status), done.completed_by, done.completed_time_ms is not None]
    try:
        rq.set_review_queue_item_status(queue.queue_id, item_id=ids[1], status="declined")
    except MlflowException as e:
        out["needs_by"] = err(e)
    out["pending"] = [i.item_id for i in rq.list_review_queue_items(queue.queue_id, status="pending")]
    out["all"] = sorted(i.item_id for i in rq.list_review_queue_items(queue.queue_id))
    page = rq.list_review_queue_items(queue.queue_id, max_results=1)
    out["paged"] = [len(page), page.token is not None,
                    len(rq.list_review_queue_items(queue.queue_id, max_results=1, page_token=page.token))]

    mine = rq.get_or_create_user_queue("Carol@x.com")
    out["user_queue"] = [mine.name, str(mine.queue_type), mine.users, mine.queue_id == rq.get_or_create_user_queue(
        "carol@x.com").queue_id]
    try:
        rq.update_review_queue(mine.queue_id, name="x")
    except MlflowException as e:
        out["user_fixed"] = err(e)
    renamed = rq.update_review_queue(queue.queue_id, name="Launch review v2", users=["bob@x.com"])
    out["renamed"] = [renamed.name, renamed.users]
    out["for_bob"] = [q.name for q in rq.list_review_queues(user="BOB@x.com")]
    # the item_id filter is on the REST store (the fluent function does not pass it on)
    store = _get_store()
    out["with_item"] = [q.name for q in store.list_review_queues(queue.experiment_id, item_id=ids[1])]
    out["listed"] = [q.name for q in rq.list_review_queues()]

    rq.remove_items_from_review_queue(queue.queue_id, item_ids=[ids[1]])
    out["after_remove"] = [i.item_id for i in rq.list_review_queue_items(queue.queue_id)]
    out["ids"] = ids
    rq.delete_review_queue(mine.queue_id)
    rq.delete_review_queue(mine.queue_id)
    try:
        rq.get_review_queue(mine.queue_id)
    except MlflowException as e:
        out["deleted"] = err(e)
    print(json.dumps(out))
""")


def test_stock_client_review_queue_functions(collector: Collector) -> None:
    experiment = f"stock-rq-{uuid.uuid4().hex[:8]}"
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, collector.web, experiment], capture_output=True, text=True, timeout=180
    )
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout.strip().splitlines()[-1])
    ids = out["ids"]
    queue = out["queue"]
    assert queue["id"].startswith("rq-") and len(queue["id"]) == 35
    assert queue == {
        **queue,
        "name": "Launch review",
        "type": "custom",
        "users": ["alice@x.com", "bob@x.com"],
        "schema_ids": [out["schema_id"]],
        "created_by": None,
    }
    assert out["got"] == "Launch review" and out["by_name"] == queue["id"]
    assert out["duplicate"] == [
        "RESOURCE_ALREADY_EXISTS",
        "Review queue with name 'LAUNCH review' already exists (names are case-insensitive).",
    ]
    assert out["reserved"] == [
        "INVALID_PARAMETER_VALUE",
        "`Default` is a reserved queue name and cannot be used for a custom queue.",
    ]
    assert out["added"] == [[ids[0], "pending"], [ids[1], "pending"]]
    assert out["again"] == [ids[0]]
    assert out["missing_trace"] == [
        "RESOURCE_DOES_NOT_EXIST",
        f"Cannot attach trace(s) ['tr-{'0' * 32}'] to review queue '{queue['id']}': they do not exist in "
        f"experiment '{_experiment_of(collector, ids[0])}'.",
    ]
    assert out["locked"][0] == "INVALID_PARAMETER_VALUE" and "locked once items are assigned" in out["locked"][1]
    assert out["done"] == ["complete", "alice@x.com", True]
    assert out["needs_by"] == [
        "INVALID_PARAMETER_VALUE",
        "`completed_by` is required when setting status to `declined`.",
    ]
    assert out["pending"] == [ids[1]]
    assert out["all"] == sorted(ids)
    assert out["paged"] == [1, True, 1]
    assert out["user_queue"] == ["carol@x.com", "user", ["carol@x.com"], True]
    assert out["user_fixed"] == [
        "INVALID_PARAMETER_VALUE",
        "A user queue's name, assigned user, schemas, and owner are fixed and cannot be updated.",
    ]
    assert out["renamed"] == ["Launch review v2", ["bob@x.com"]]
    assert out["for_bob"] == ["Launch review v2"]
    assert out["with_item"] == ["Launch review v2"]
    assert out["listed"] == ["carol@x.com", "Launch review v2"]
    assert out["after_remove"] == [ids[0]]
    assert out["deleted"][0] == "RESOURCE_DOES_NOT_EXIST"
    assert out["deleted"][1].startswith("Review queue with id 'rq-") and out["deleted"][1].endswith("' not found.")


def _experiment_of(collector: Collector, trace_id: str) -> str:
    rows = collector.sql(f"SELECT experiment_id FROM traces WHERE trace_id = '{trace_id}'")
    return str(rows[0]["experiment_id"])


def test_a_queue_is_a_review_app_session_and_answers_land_on_the_trace(collector: Collector) -> None:
    """The queue shows in the Review App's list for an assigned user, and Submit on an item stores the
    answer on the trace itself and completes the item's shared status (MLflow's "Mark complete")."""
    with httpx.Client(base_url=collector.web, timeout=30) as api:
        experiment_id = api.post(
            "/api/2.0/mlflow/experiments/create", json={"name": f"rq-app-{uuid.uuid4().hex}"}
        ).json()["experiment_id"]
        traced = ingest_trace(collector, experiment_id)
        schema = api.post(
            "/api/3.0/mlflow/label-schemas/create",
            json={
                "experiment_id": experiment_id,
                "name": "ok",
                "type": "FEEDBACK",
                "input": {"categorical": {"options": ["yes", "no"]}},
            },
        ).json()["label_schema"]
        queue = api.post(
            "/api/3.0/mlflow/review-queues/create",
            json={
                "experiment_id": experiment_id,
                "name": "Q",
                "queue_type": "CUSTOM",
                "users": ["Dana"],
                "schema_ids": [schema["schema_id"]],
            },
        ).json()["review_queue"]
        added = api.post(
            "/api/3.0/mlflow/review-queues/items/add",
            json={"queue_id": queue["queue_id"], "item_ids": [traced.trace_id]},
        )
        assert added.status_code == 200, added.text
        mine = api.get("/api/v1/labeling/sessions", params={"user": "dana"}).json()["labeling_sessions"]
        assert queue["queue_id"] in [s["labeling_session_id"] for s in mine]
        answer = api.post(
            f"/api/v1/labeling/sessions/{queue['queue_id']}/items/{traced.trace_id}/answers",
            json={"user": "dana", "schema": "ok", "value": "yes"},
        )
        assert answer.status_code == 200, answer.text
        rows = collector.sql(
            f"SELECT trace_id, source_id, value FROM assessments WHERE trace_id = '{traced.trace_id}' "
            "AND assessment_name = 'ok'"
        )
        assert rows == [{"trace_id": traced.trace_id, "source_id": "dana", "value": '"yes"'}]
        items = api.get("/api/3.0/mlflow/review-queues/items/list", params={"queue_id": queue["queue_id"]}).json()
        assert [(i["item_id"], i["status"], i["completed_by"]) for i in items["items"]] == [
            (traced.trace_id, "COMPLETE", "dana")
        ]
