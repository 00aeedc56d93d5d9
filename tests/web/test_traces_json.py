"""The trace table over plain HTTP: the ``.json`` twin holds the rows the page shows, bad input
is a 400 (404) with an inline message and never a 500, and the export form's errors write nothing."""

from __future__ import annotations

import html
import re
import uuid

import httpx
import pytest

from tests.collector_process import Collector
from tests.web.traces_data import Seeded, seed

BAD = [  # (query, form field that gets the message)
    ({"filter": "feedback.quality >="}, "filter"),
    ({"filter": "trace.colour = 'red'"}, "filter"),
    ({"filter": "name RLIKE '('"}, "filter"),  # DuckDB rejects the pattern only when it runs
    ({"filter": "feedback.quality >= 'high'"}, "filter"),
    ({"from": "yesterday"}, "from"),
    ({"to": "2024-13-01T00:00"}, "to"),
    ({"status": "DONE"}, "status"),
    ({"page": "two"}, "page"),
    ({"page_size": "7"}, "page_size"),
    ({"sort": "colour"}, "sort"),
    ({"sort": "feedback."}, "sort"),
    ({"dir": "sideways"}, "dir"),
    ({"assessment": "feedback.quality", "op": ">", "value": "high"}, "value"),
    ({"assessment": "feedback.quality", "op": "=", "value": ""}, "value"),
    ({"assessment": "verdict.quality", "value": "1"}, "assessment"),
    ({"assessment": "feedback.quality", "op": "~", "value": "1"}, "op"),
]


@pytest.fixture(scope="module")
def seeded(collector: Collector) -> Seeded:
    return seed(collector, bulk=5, prefix="web-json")


def html_rows(text: str) -> list[str]:
    return re.findall(r'name="trace_id" value="(tr-[0-9a-f]{32})"', text)


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"page_size": "25", "sort": "duration", "dir": "asc"},
        {"status": "OK", "q": "answer"},
        {"page": "2", "page_size": "25"},
    ],
)
def test_json_twin_has_the_rows_the_page_shows(collector: Collector, seeded: Seeded, params: dict[str, str]) -> None:
    page = httpx.get(collector.web + seeded.url, params=params)
    twin = httpx.get(collector.web + seeded.url + ".json", params=params)
    assert page.status_code == twin.status_code == 200
    assert page.headers["cache-control"] == "no-store"
    body = twin.json()
    assert [r["trace_id"] for r in body["rows"]] == html_rows(page.text)
    assert f'data-total="{body["pager"]["total"]}"' in page.text
    assert body["experiment_name"] == seeded.experiment


def test_json_rows_carry_what_the_columns_show(collector: Collector, seeded: Seeded) -> None:
    body = httpx.get(collector.web + seeded.url + ".json", params={"name": "search"}).json()
    (row,) = body["rows"]
    assert row["trace_id"] == seeded.ids["search"]
    assert (row["name"], row["state"], row["span_count"], row["total_tokens"]) == ("search", "OK", 2, 12)
    assert row["request_time"].startswith(seeded.starts["search"].strftime("%Y-%m-%dT%H:%M:%S"))
    assert row["duration_ms"] == pytest.approx(500, abs=1)
    assert body["pager"] | {"window": None} == {
        "page": 1,
        "page_count": 1,
        "total": 1,
        "first_row": 1,
        "last_row": 1,
        "first": None,
        "previous": None,
        "next": None,
        "last": None,
        "window": None,
    }
    assert body["form"]["name"] == "search"


@pytest.mark.parametrize(("params", "field"), BAD)
def test_bad_input_is_a_400_with_an_inline_message(
    collector: Collector, seeded: Seeded, params: dict[str, str], field: str
) -> None:
    twin = httpx.get(collector.web + seeded.url + ".json", params=params)
    assert twin.status_code == 400, twin.text
    body = twin.json()
    assert set(body["errors"]) == {field}, body["errors"]
    assert body["rows"] == [] and body["pager"] is None
    page = httpx.get(collector.web + seeded.url, params=params)
    assert page.status_code == 400
    assert f'id="{field}-error" class="field-error" role="alert"' in page.text
    assert "Traceback" not in page.text


def test_a_page_past_the_end_shows_the_last_page(collector: Collector, seeded: Seeded) -> None:
    body = httpx.get(collector.web + seeded.url + ".json", params={"page": "999", "page_size": "25"}).json()
    assert body["form"]["page"] == 1 and len(body["rows"]) == seeded.total


def test_unknown_experiment_is_a_404(collector: Collector) -> None:
    for path in ("/experiments/no-such-id/traces", "/experiments/no-such-id/traces.json"):
        response = httpx.get(collector.web + path)
        assert response.status_code == 404
        assert "No Experiment with id=no-such-id exists" in response.text


def _export(collector: Collector, seeded: Seeded, data: dict[str, str | list[str]]) -> httpx.Response:
    return httpx.post(f"{collector.web}/experiments/{seeded.experiment_id}/export", data=data)


def _items(collector: Collector, seeded: Seeded) -> int:
    query = (
        "SELECT count(*) AS n FROM labeling_items i JOIN labeling_sessions s USING (session_id) "
        f"WHERE s.experiment_id = '{seeded.experiment_id}'"
    )
    return int(collector.sql(query)[0]["n"])


def test_export_errors_write_nothing(collector: Collector) -> None:
    seeded = seed(collector, bulk=0, prefix="web-json-export")
    other = seed(collector, bulk=0, prefix="web-json-other")
    name = f"taken-{uuid.uuid4().hex[:6]}"
    first = _export(collector, seeded, {"trace_id": [seeded.ids["old"]], "new_name": name, "back": "page_size=25"})
    assert first.status_code == 303
    assert first.headers["location"].startswith(f"/experiments/{seeded.experiment_id}/traces?page_size=25&exported=")
    assert first.headers["location"].endswith("&added=1&already=0")
    session_id = re.search(r"exported=([0-9a-f]{32})", first.headers["location"]).group(1)  # type: ignore[union-attr]
    before = _items(collector, seeded)
    one = [seeded.ids["err"]]
    cases = [
        ({"new_name": "nothing selected"}, 400, "Select at least one trace to export."),
        ({"trace_id": one, "new_name": "   "}, 400, "Name the new labeling session, or choose an existing one."),
        ({"trace_id": one, "new_name": name}, 400, f"A labeling session named '{name}' already exists"),
        ({"trace_id": one, "session_id": "0" * 32}, 404, "Labeling session with run_id"),
        ({"trace_id": one, "session_id": session_id, "new_name": "x"}, 400, "not both"),
        ({"trace_id": [*one, other.ids["old"]], "new_name": "y"}, 404, "is not a trace of experiment"),
        ({"trace_id": ["tr-nothex"], "new_name": "z"}, 400, "trace_id"),
        ({"trace_id": one, "new_name": "s", "schema": ["no_such_schema"]}, 400, "Label schema 'no_such_schema'"),
    ]
    for data, status, message in cases:
        response = _export(collector, seeded, {**data, "back": "status=OK"})
        assert response.status_code == status, (data, response.text[:300])
        assert 'id="export-error" class="field-error" role="alert"' in response.text
        assert message in html.unescape(response.text), (message, data)
        assert 'name="status" value="OK" checked' in response.text  # the view the export came from
    assert _items(collector, seeded) == before
    names = collector.sql(f"SELECT name FROM labeling_sessions WHERE experiment_id = '{seeded.experiment_id}'")
    assert sorted(r["name"] for r in names) == [name]


def test_select_all_on_page_works_without_javascript(collector: Collector) -> None:
    seeded = seed(collector, bulk=5, prefix="web-json-all")
    page = httpx.get(collector.web + seeded.url, params={"page_size": "25", "status": "OK"})
    on_page = re.findall(r'name="page_trace_id" value="(tr-[0-9a-f]{32})"', page.text)
    assert len(on_page) == 7  # 5 bulk + old + search
    name = f"all-{uuid.uuid4().hex[:6]}"
    response = _export(
        collector, seeded, {"all_on_page": "1", "page_trace_id": on_page, "trace_id": [on_page[0]], "new_name": name}
    )
    assert response.status_code == 303
    assert response.headers["location"].endswith("&added=7&already=0")
    shown = httpx.get(collector.web + response.headers["location"])
    assert f"Added 7 traces to session <strong>{name}</strong> (0 already there)" in shown.text
