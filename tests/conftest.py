"""Shared fixtures: a real collector process per session, and fresh ones for crash/restart tests."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.collector_process import Collector, start


@pytest.fixture(scope="session")
def collector(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Collector]:
    running = start(tmp_path_factory.mktemp("collector"))
    yield running
    code = running.stop()
    assert code == 0, f"collector exited with {code}:\n{running.log}"


@pytest.fixture
def fresh_collector(tmp_path: Path) -> Iterator[Callable[..., Collector]]:
    """Start (and restart) collectors in this test's own directory; all are stopped at the end."""
    started: list[Collector] = []

    def make(**options: Any) -> Collector:
        running = start(tmp_path / "collector", **options)
        started.append(running)
        return running

    yield make
    for running in started:
        running.stop()


TESTS = Path(__file__).resolve().parent
# tests that take seconds each, outside the directories marked e2e: their own collector processes,
# a PostgreSQL cluster, an OpenAPI fuzzer, or the whole bench at a toy size
SLOW_FILES = {
    TESTS / "collector" / "store" / "test_lake.py",
    TESTS / "collector" / "api" / "test_openapi.py",
    TESTS / "bench" / "test_main.py",
}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark tests by where they live and what they use, so a new test gets its markers without anyone
    remembering to add them (pyproject lists the markers; tests/differential/conftest.py marks its own)."""
    for item in items:
        path = Path(str(item.path)).resolve()
        fixtures = getattr(item, "fixturenames", ())
        if TESTS / "e2e" in path.parents:
            item.add_marker(pytest.mark.e2e)
        if "browser" in fixtures:
            item.add_marker(pytest.mark.browser)
        if "fresh_collector" in fixtures or path in SLOW_FILES:
            item.add_marker(pytest.mark.slow)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    """Attach the collector's log to a failing test."""
    outcome = yield
    report = outcome.get_result()
    if report.failed and call.when == "call":
        for name in ("collector", "fresh_collector"):
            running = getattr(item, "funcargs", {}).get(name)
            if isinstance(running, Collector):
                report.sections.append(("collector log", running.log[-20000:]))
