"""``/review``: the signed-in labeler's sessions with their own progress, and the ways into a
session's queue that do not work (not signed in, unknown session, unknown item)."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.collector_process import Collector
from tests.web.conftest import sign_in
from tests.web.review_sessions import Review, make_review, sdk


@pytest.fixture(scope="module")
def review(collector: Collector) -> Iterator[Review]:
    with sdk(collector):
        yield make_review(collector, traces=2)


def _as(collector: Collector, user: str) -> httpx.Client:
    return httpx.Client(base_url=collector.web, cookies={"annotrace_user": user}, timeout=30)


def test_not_signed_in_goes_to_login_and_back(collector: Collector, review: Review) -> None:
    response = httpx.get(f"{collector.web}/review")
    assert response.status_code == 303 and response.headers["location"] == "/login?next=/review"
    item = httpx.get(f"{collector.web}{review.path}?item=2")
    assert item.status_code == 303
    assert item.headers["location"] == f"/login?next={review.path}%3Fitem%3D2"


def test_my_sessions_with_my_progress(page: Page, collector: Collector, review: Review) -> None:
    sid = review.session.mlflow_run_id
    answers = f"{collector.web}/api/v1/labeling/sessions/{sid}/items/{review.items[0]}/answers"
    for schema, value in (("quality", "Good"), ("score", 2), ("better", "fine")):
        assert httpx.post(answers, json={"user": "carol", "schema": schema, "value": value}).status_code == 200
    with _as(collector, "carol") as carol:
        mine = {s["session_id"]: s for s in carol.get("/review.json").json()["sessions"]}
    assert mine[sid]["progress"] == {"total": 2, "completed": 1, "skipped": 0, "done": 1, "percent": 50}
    assert mine[sid]["url"] == review.path and mine[sid]["assigned_users"] == []

    sign_in(page, "carol")
    row = page.get_by_role("row").filter(has=page.get_by_role("link", name=review.session.name))
    bar = row.get_by_role("progressbar", name=f"My progress in {review.session.name}")
    expect(bar).to_have_attribute("aria-valuenow", "1")
    expect(bar).to_have_attribute("aria-valuemax", "2")
    expect(row).to_contain_text("1 of 2 done")
    row.get_by_role("link", name=review.session.name).click()
    expect(page.locator("#item-title")).to_contain_text("Item 2 of 2")  # carol's first open item
    page.keyboard.press("p")
    expect(page.locator("#item-title")).to_contain_text("Item 1 of 2")
    expect(page.get_by_role("group", name="How helpful is it?").get_by_role("spinbutton")).to_have_value("2")
    page.keyboard.press("s")  # skip: the item is skipped for carol, the summary follows (nothing open)
    expect(page.locator("#item-title")).to_contain_text("Item 2 of 2")
    page.keyboard.press("s")
    expect(page.get_by_role("heading", name="All done")).to_be_visible()
    expect(page.locator(".review-done")).to_contain_text("You completed 0 and skipped 2 of 2 items")


def test_someone_elses_session_is_not_listed(collector: Collector) -> None:
    with sdk(collector):
        theirs = make_review(collector, traces=1, assigned_users=["dave"])
    with _as(collector, "erin") as erin:
        listed = [s["session_id"] for s in erin.get("/review.json").json()["sessions"]]
        html = erin.get("/review").text
    assert theirs.session.mlflow_run_id not in listed and theirs.session.name not in html
    with _as(collector, "dave") as dave:
        assert theirs.session.mlflow_run_id in [s["session_id"] for s in dave.get("/review.json").json()["sessions"]]


def test_unknown_session_and_item_are_html_404s(collector: Collector, review: Review) -> None:
    with _as(collector, "carol") as carol:
        for path in (
            f"/review/{'f' * 32}",
            "/review/not-a-session",
            f"{review.path}?item=3",
            f"{review.path}?item=0",
            f"{review.path}?item=tr-{'0' * 32}",
            f"{review.path}?item=nonsense",
        ):
            response = carol.get(path)
            assert response.status_code == 404, path
            assert response.headers["content-type"].startswith("text/html")
            assert "Not found" in response.text and "Traceback" not in response.text
        by_trace = carol.get(f"{review.path}.json", params={"item": review.items[1]}).json()
        assert by_trace["item"]["number"] == 2 and by_trace["item"]["trace_id"] == review.items[1]
        assert [q["name"] for q in by_trace["questions"]] == ["quality", "score", "better"]
