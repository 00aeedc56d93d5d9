"""SQL with the caller's permissions on a store bigger than one query may hold: a viewer's query
that would copy every span into its own instance fails with a 413 naming the limit, while admins'
and narrow queries still answer and the collector keeps acknowledging exports."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.collector.auth.team import Team, start_team
from tests.otlp_builders import new_span_id, new_trace_id, request, span

SPANS_PER_EXPORT = 1000
EXPORTS = 10  # 10,000 spans of 4 KB of attributes each: ~40 MB, past the 32 MiB configured below


@pytest.fixture(scope="module")
def team(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Team]:
    started = start_team(
        Path(tmp_path_factory.mktemp("sql-limits")), web=", sql: {memory_limit_mib: 32, max_result_mib: 1}"
    )
    yield started
    started.collector.stop()


def _export(team: Team, count: int) -> httpx.Response:
    trace = new_trace_id()
    spans = [span(trace, new_span_id(), attributes={"payload": os.urandom(2048).hex()}) for _ in range(count)]
    return httpx.post(
        f"{team.collector.http}/v1/traces",
        content=request(spans).SerializeToString(),
        headers={"content-type": "application/x-protobuf", **team.bearer("editor")},
        timeout=60,
    )


def _sql(team: Team, user: str, query: str, **body: object) -> httpx.Response:
    return httpx.post(
        f"{team.collector.web}/api/v1/sql", json={"query": query, **body}, headers=team.bearer(user), timeout=120
    )


def _stored_spans(team: Team) -> int:
    """The admin's span count: a read after an acknowledged export sees it (read-your-writes)."""
    return int(_sql(team, "admin", "SELECT count(*) FROM spans").json()["rows"][0][0])


def test_a_viewer_query_past_the_memory_limit_fails_cleanly_and_ingest_goes_on(team: Team) -> None:
    for _ in range(EXPORTS):
        assert _export(team, SPANS_PER_EXPORT).status_code == 200
    assert _stored_spans(team) == EXPORTS * SPANS_PER_EXPORT

    for fmt in ("json", "arrow"):
        refused = _sql(team, "viewer", "SELECT * FROM spans ORDER BY span_id", format=fmt)
        assert refused.status_code == 413, refused.text
        assert refused.json()["error_code"] == "PAYLOAD_TOO_LARGE"
        assert "sql.memory_limit_mib = 32" in refused.json()["message"] and "WHERE" in refused.json()["message"]

    narrow = _sql(team, "viewer", "SELECT count(*) FROM spans")
    assert narrow.status_code == 200 and narrow.json()["rows"] == [[EXPORTS * SPANS_PER_EXPORT]], narrow.text
    admin = _sql(team, "admin", "SELECT count(*), sum(length(attributes::VARCHAR)) > 32 * 1024 * 1024 FROM spans")
    assert admin.status_code == 200 and admin.json()["rows"] == [[EXPORTS * SPANS_PER_EXPORT, True]], admin.text
    assert _export(team, 10).status_code == 200
    assert _stored_spans(team) == EXPORTS * SPANS_PER_EXPORT + 10


@pytest.mark.parametrize("user", ["admin", "viewer"])
@pytest.mark.parametrize("fmt", ["json", "arrow"])
def test_an_answer_past_the_size_limit_is_refused_for_everyone(team: Team, user: str, fmt: str) -> None:
    """An admin's query runs on the store, where memory is the writer's: its answer is bounded."""
    refused = _sql(team, user, "SELECT repeat('x', 4096) FROM range(1000)", format=fmt)
    assert refused.status_code == 413, refused.text
    assert refused.json()["error_code"] == "PAYLOAD_TOO_LARGE" and "sql.max_result_mib = 1" in refused.json()["message"]
    assert _sql(team, user, "SELECT repeat('x', 4096) FROM range(100)", format=fmt).status_code == 200


def test_a_viewer_query_building_a_huge_value_fails_cleanly(team: Team) -> None:
    refused = _sql(team, "viewer", "SELECT list(i) FROM range(20000000) t(i)")
    assert refused.status_code == 413 and refused.json()["error_code"] == "PAYLOAD_TOO_LARGE", refused.text
