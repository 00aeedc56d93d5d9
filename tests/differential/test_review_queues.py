"""Review queues through the stock mlflow client: the same results from annotrace as from mlflow server."""

from __future__ import annotations

from tests.differential.harness import Differential


def test_review_queues(differential: Differential) -> None:
    stock = differential.assert_same("review_queues.py", "queues")
    assert stock["created"]["users"] == ["alice@x.com", "bob@x.com"]
    assert stock["user_queue"]["name"] == "carol@x.com" and stock["user_queue"]["queue_type"] == "user"
    assert stock["duplicate"]["error_code"] == "RESOURCE_ALREADY_EXISTS"
    assert stock["with_item"] == ["Launch review"]


def test_review_queue_items(differential: Differential) -> None:
    stock = differential.assert_same("review_queues.py", "items")
    assert [i["status"] for i in stock["first"]] == ["pending", "pending"]
    assert stock["completed"]["completed_by"] == "ann" and stock["same_status"]["completed_by"] == "ann"
    assert stock["unknown_trace"]["error_code"] == "RESOURCE_DOES_NOT_EXIST"
