"""Routing rules on the writer, against a real DuckDB file: a replayed batch (after a crash between
the span commit and the routing commit, or a plain retry) adds its trace exactly once, a trace
exported in parts is routed when its root arrives with every span copied, and a rule that fails
at run time records why without failing the batch or the other rules."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

import duckdb
import pytest

from annotrace.collector.errors import Unavailable
from annotrace.collector.genai.log_events import ChatEvents
from annotrace.collector.store.db import Database
from annotrace.collector.store.queries import labeling
from annotrace.collector.store.queries import routing_rules as rules
from annotrace.collector.store.routing import sampled
from annotrace.collector.store.writer import Writer
from tests.collector.store.test_writer import store_tables, trace
from tests.otlp_builders import new_span_id, new_trace_id, span


@pytest.fixture
def writer(tmp_path: Path) -> Iterator[Writer]:
    db = Database(tmp_path / "annotrace.duckdb")
    running = Writer(db, chat=ChatEvents())
    running.start()
    yield running
    running.shutdown()
    db.close()


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def _session_with_rules(writer: Writer, *new_rules: dict[str, Any]) -> tuple[str, list[str]]:
    """A session in the experiment the writer files unnamed traces under, with these rules."""
    _, spans = trace(1)
    writer.write(store_tables(spans), group=False).result()
    experiment = writer.db.cursor().execute("SELECT any_value(experiment_id) FROM traces").fetchall()[0][0]
    session = writer.submit(
        partial(
            labeling.create,
            new=labeling.NewSession(experiment_id=experiment, name="routed", assigned_users=[]),
            now=_now(),
        )
    ).result()
    made = []
    for options in new_rules:
        new = rules.NewRule(
            session_id=session.session_id,
            filter_string=options.get("filter"),
            sql_query=options.get("sql"),
            sample_rate=1.0,
            max_traces=None,
        )
        made.append(writer.submit(partial(rules.create, rule=new, now=_now())).result().rule_id)
    return session.session_id, made


def _rows(writer: Writer, sql: str) -> list[tuple[Any, ...]]:
    return writer.db.cursor().execute(sql).fetchall()


def test_a_replay_after_a_crash_between_the_commits_routes_the_trace_once(
    writer: Writer, monkeypatch: pytest.MonkeyPatch
) -> None:
    session_id, (rule_id,) = _session_with_rules(writer, {"filter": "trace.name = 'root'"})
    trace_id, spans = trace(3)
    batch = store_tables(spans)
    real_route = writer._router.route

    def crash(conn: duckdb.DuckDBPyConnection, trace_ids: list[str]) -> None:
        raise duckdb.IOException("the disk went away")

    monkeypatch.setattr(writer._router, "route", crash)
    with pytest.raises(Unavailable, match="the disk went away"):
        writer.write(batch, group=False).result()  # not acknowledged: the spool keeps the record
    assert _rows(writer, f"SELECT count(*) FROM spans WHERE trace_id = 'tr-{trace_id.hex()}'") == [(3,)]
    assert _rows(writer, f"SELECT count(*) FROM labeling_items WHERE session_id = '{session_id}'") == [(0,)]

    monkeypatch.setattr(writer._router, "route", real_route)
    for _ in range(2):  # the spool's replay, then a client's retry of the same export
        writer.write(store_tables(spans), group=False).result()
    assert _rows(writer, f"SELECT source_trace_id FROM labeling_items WHERE session_id = '{session_id}'") == [
        (f"tr-{trace_id.hex()}",)
    ]
    assert _rows(writer, f"SELECT traces_added FROM routing_rules WHERE rule_id = '{rule_id}'") == [(1,)]


def test_a_trace_exported_in_parts_is_routed_when_its_root_arrives_with_every_span(writer: Writer) -> None:
    session_id, _ = _session_with_rules(writer, {"sql": "SELECT trace_id FROM spans WHERE name = 'child-2'"})
    trace_id, spans = trace(3)
    writer.write(store_tables(spans[1:]), group=False).result()  # the children first, as a batch processor sends them
    assert _rows(writer, f"SELECT count(*) FROM labeling_items WHERE session_id = '{session_id}'") == [(0,)]
    writer.write(store_tables(spans[:1]), group=False).result()
    items = _rows(writer, f"SELECT trace_id, source_trace_id FROM labeling_items WHERE session_id = '{session_id}'")
    assert [source for _, source in items] == [f"tr-{trace_id.hex()}"]
    assert _rows(writer, f"SELECT count(*) FROM spans WHERE trace_id = '{items[0][0]}'") == [(3,)]


def test_a_rule_failing_at_run_time_records_why_and_holds_up_nothing(writer: Writer) -> None:
    session_id, (failing, working) = _session_with_rules(
        writer,
        {"sql": "SELECT trace_id FROM traces WHERE CAST(name AS INTEGER) > 0"},  # 'root' is no integer
        {"filter": "trace.name = 'root'"},
    )
    trace_id, root = new_trace_id(), new_span_id()
    stats = writer.write(store_tables([span(trace_id, root, name="root")]), group=False).result()
    assert stats.spans_new == 1
    assert _rows(writer, f"SELECT source_trace_id FROM labeling_items WHERE session_id = '{session_id}'") == [
        (f"tr-{trace_id.hex()}",)
    ]
    found = {
        rule_id: (added, error)
        for rule_id, added, error in _rows(writer, "SELECT rule_id, traces_added, last_error FROM routing_rules")
    }
    assert found[working] == (1, None)
    assert found[failing][0] == 0 and "Conversion Error" in found[failing][1]


def test_sampling_is_opentelemetrys_trace_id_ratio_rule() -> None:
    low = "tr-" + "f" * 16
    assert sampled(low + "7fffffffffffffff", 0.5) and not sampled(low + "8000000000000000", 0.5)
    assert sampled(low + "0000000000000000", 1e-9) and not sampled(low + "ffffffffffffffff", 0.999)
    assert sampled(low + "ffffffffffffffff", 1.0)
