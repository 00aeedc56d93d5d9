"""``/``: every experiment with its trace count, latest trace and sessions, linking to its traces;
and the empty states (no traces anywhere, none in an experiment) on a collector of its own."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from tests.collector_process import Collector
from tests.web.traces_data import seed


@pytest.fixture
def empty_page(browser: Browser, fresh_collector: Callable[..., Collector]) -> Iterator[Page]:
    running = fresh_collector()
    context = browser.new_context(base_url=running.web)
    context.set_default_timeout(10_000)
    yield context.new_page()
    context.close()


def test_experiment_listed_with_its_counts_and_linked_to_its_traces(page: Page, collector: Collector) -> None:
    seeded = seed(collector, bulk=1, prefix="web-experiments")
    body = httpx.get(f"{collector.web}/index.json").json()
    (mine,) = [e for e in body["experiments"] if e["experiment_id"] == seeded.experiment_id]
    assert mine["name"] == seeded.experiment
    assert (mine["trace_count"], mine["session_count"]) == (seeded.total, 0)
    assert mine["last_trace_time"].startswith(seeded.starts["bulk0"].strftime("%Y-%m-%dT%H:%M:%S"))
    assert body["total_traces"] >= seeded.total

    page.goto("/")
    expect(page.get_by_role("heading", name="Experiments")).to_be_visible()
    row = page.locator("table.experiments tbody tr").filter(has=page.get_by_role("link", name=seeded.experiment))
    expect(row.locator("td").nth(2)).to_have_text(str(seeded.total))
    expect(row.locator("td").nth(3)).to_have_text(seeded.starts["bulk0"].strftime("%Y-%m-%d %H:%M:%S"))
    row.get_by_role("link", name=seeded.experiment).click()
    page.wait_for_url(f"**{seeded.url}")
    expect(page.get_by_role("heading", level=1)).to_contain_text(seeded.experiment)


def test_empty_states(empty_page: Page) -> None:
    page = empty_page
    page.goto("/")
    expect(page.locator("#no-traces-anywhere")).to_contain_text("No traces yet.")
    page.get_by_role("link", name="Default").click()
    expect(page.locator("#empty-table")).to_contain_text("No traces in this experiment yet.")
    expect(page.locator("#traces-table")).to_have_count(0)
    page.goto("/experiments/0/traces?status=ERROR")
    expect(page.locator("#empty-table")).to_contain_text("No traces match these filters.")
    page.get_by_role("link", name="Clear the filters").click()
    expect(page.locator("#empty-table")).to_contain_text("No traces in this experiment yet.")
    response = page.goto("/experiments/42/traces")
    assert response is not None and response.status == 404
    expect(page.get_by_role("alert")).to_contain_text("No Experiment with id=42 exists")
