"""The store on DuckLake: two collectors on one catalog (a PostgreSQL cluster this test starts) and
one data directory, fed by the stock OpenTelemetry SDK, read through SQL, REST and the pages.

The lake collectors run in ``.venv-lake`` (duckdb 1.5 and the DuckLake extension wheels, the
``lake`` extra; ``make install`` creates it), as a deployment of the lake would.
"""

from __future__ import annotations

import signal
import threading
import time
import uuid
from collections.abc import Callable

import duckdb
import httpx
import pytest
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExportResult
from opentelemetry.trace import Status, StatusCode, set_span_in_context

from annotrace.collector.store.migrate import migrate
from annotrace.collector.store.visible_rows import LAKE_ONLY
from tests.collector.store.lake_support import Lake, agent_traces, needs_lake, span_provider
from tests.collector_process import Collector
from tests.postgres import Cluster

pytestmark = needs_lake
TRACES = "/api/3.0/mlflow/traces"


def test_one_trace_split_across_two_collectors_is_one_traces_row(
    lake: Lake, lake_collector: Callable[..., Collector]
) -> None:
    a, b = lake_collector("a", lake), lake_collector("b", lake)
    service = f"svc-{uuid.uuid4().hex[:6]}"
    to_a, to_b = span_provider(a, service), span_provider(b, service)
    # the client's connections go to different collectors: the root span to a, its child to b
    with to_a.get_tracer("t").start_as_current_span("agent", attributes={"gen_ai.usage.input_tokens": 5}) as root:
        child = to_b.get_tracer("t").start_span(
            "llm", context=set_span_in_context(root), attributes={"gen_ai.usage.input_tokens": 7}
        )
        child.set_status(Status(StatusCode.ERROR, "boom"))
        child.end()
    to_a.shutdown()
    to_b.shutdown()
    trace_id = f"tr-{root.get_span_context().trace_id:032x}"

    expected = [
        {
            "name": "agent",
            "state": "OK",
            "span_count": 2,
            "error_span_count": 1,
            "input_tokens": 12,
            "experiment": service,
            "root_span_id": f"{root.get_span_context().span_id:016x}",
        }
    ]
    query = (
        "SELECT t.name, t.state, t.span_count, t.error_span_count, t.input_tokens, e.name AS experiment, "
        f"t.root_span_id FROM traces t JOIN experiments e USING (experiment_id) WHERE trace_id = '{trace_id}'"
    )
    for collector in (a, b):  # each sees what the other stored
        assert collector.wait_for(query, expected) == expected
    duration = a.sql(
        f"SELECT execution_duration_ms, epoch_us(end_time) - epoch_us(request_time) AS us "
        f"FROM traces WHERE trace_id = '{trace_id}'"
    )[0]
    assert duration["execution_duration_ms"] == pytest.approx(duration["us"] / 1e3, abs=0.001)
    assert not (a.directory / "annotrace.duckdb").exists()
    assert a.sql(f"SELECT count(*) AS n FROM experiments WHERE name = '{service}'") == [{"n": 1}]

    # review writes from either collector, read from the other
    with httpx.Client(base_url=b.web, timeout=30) as api:
        response = api.post(
            f"{TRACES}/{trace_id}/assessments",
            json={
                "assessment": {
                    "assessment_name": "quality",
                    "feedback": {"value": 4},
                    "source": {"source_type": "HUMAN", "source_id": "reviewer"},
                }
            },
        )
        assert response.status_code == 200, response.text
        assert api.patch(f"{TRACES}/{trace_id}/tags", json={"key": "reviewed", "value": "yes"}).status_code == 200
        info_experiment = api.get(f"{TRACES}/{trace_id}").json()["trace"]["trace_info"]["trace_location"][
            "mlflow_experiment"
        ]["experiment_id"]
        session = api.post("/api/v1/labeling/sessions", json={"experiment_id": info_experiment, "name": "review"})
        run_id = session.json()["labeling_session"]["mlflow_run_id"]
        added = api.post(f"/api/v1/labeling/sessions/{run_id}/traces", json={"trace_ids": [trace_id]})
        assert added.status_code == 200, added.text
    with httpx.Client(base_url=a.web, timeout=30) as api:
        items = api.get(f"/api/v1/labeling/sessions/{run_id}/items").json()["items"]
        assert len(items) == 1, items
        copy = api.get(f"{TRACES}/{items[0]['trace_id']}").json()["trace"]["trace_info"]
        assert (copy["tags"]["mlflow.traceName"], copy["trace_location"]["mlflow_experiment"]["experiment_id"]) == (
            "agent",
            info_experiment,
        )
        info = api.get(f"{TRACES}/{trace_id}").json()["trace"]["trace_info"]
        assert [(x["assessment_name"], x["feedback"]["value"]) for x in info["assessments"]] == [("quality", 4)]
        assert info["tags"]["reviewed"] == "yes"
        assert info["tags"]["mlflow.traceName"] == "agent"
        assert info["state"] == "OK"
    _assert_the_files_relations_and_columns(a)


def _assert_the_files_relations_and_columns(collector: Collector) -> None:
    """Every relation and column of the embedded file, in the same order, plus the lake's own two."""
    columns = (
        "SELECT table_name, list(column_name ORDER BY column_index) AS columns FROM duckdb_columns() "
        "WHERE database_name = current_database() AND schema_name = 'main' GROUP BY table_name ORDER BY table_name"
    )
    embedded = duckdb.connect()
    migrate(embedded)
    file_relations = dict(embedded.execute(columns).fetchall())
    lake_relations = {row["table_name"]: row["columns"] for row in collector.sql(columns)}
    assert set(lake_relations) - set(file_relations) == LAKE_ONLY
    assert {name: lake_relations.get(name) for name in file_relations} == file_relations


def test_two_collectors_store_every_acknowledged_span_when_one_is_killed(
    lake: Lake, lake_collector: Callable[..., Collector]
) -> None:
    """Clients split every trace across both collectors (root and one child to a, two children to
    b); b is killed with SIGKILL while exports are in flight and started again on its spool."""
    a, b = lake_collector("a", lake), lake_collector("b", lake)
    service = f"svc-{uuid.uuid4().hex[:6]}"
    traces = agent_traces(200, service)
    acknowledged: list[ReadableSpan] = []
    lock = threading.Lock()

    def send(collector: Collector, spans: list[ReadableSpan]) -> None:
        exporter = OTLPSpanExporter(endpoint=collector.grpc, insecure=True, timeout=5)
        for first in range(0, len(spans), 100):
            batch = spans[first : first + 100]
            if exporter.export(batch) is SpanExportResult.SUCCESS:
                with lock:
                    acknowledged.extend(batch)
        exporter.shutdown()

    def to_a(span: ReadableSpan) -> bool:
        return span.name != "llm" or (span.attributes or {}).get("gen_ai.usage.input_tokens") == 1

    def load(first: int, last: int, to_b: Collector) -> list[threading.Thread]:
        part = [span for trace in traces[first:last] for span in trace]
        clients = [
            threading.Thread(target=send, args=(a, [s for s in part if to_a(s)])),
            threading.Thread(target=send, args=(to_b, [s for s in part if not to_a(s)])),
        ]
        for client in clients:
            client.start()
        return clients

    clients = load(0, 120, b)
    clients[1].join()  # b acknowledged its half: kill it before it can have stored all of it
    b.stop(signal.SIGKILL)
    clients[0].join()
    b = lake_collector("b", lake)  # same directory: replays its spool into the lake
    for client in load(120, 200, b):
        client.join()

    assert len(acknowledged) == 200 * 4, "every export was acknowledged"
    expected = [{"traces": 200, "spans": 800, "span_count": 4, "input_tokens": 6, "state": "OK"}]
    query = (
        "SELECT count(*) AS traces, (SELECT count(*) FROM spans) AS spans, min(span_count) AS span_count, "
        "max(input_tokens) AS input_tokens, min(state) AS state FROM traces "
        "GROUP BY ALL HAVING max(span_count) = 4 AND min(input_tokens) = 6 AND max(state) = 'OK'"
    )
    for collector in (a, b):
        assert collector.wait_for(query, expected, timeout=60) == expected
    names = a.sql("SELECT count(*) AS n FROM traces WHERE name LIKE 'agent-%'")
    assert names == [{"n": 200}]
    experiment = b.sql(f"SELECT experiment_id FROM experiments WHERE name = '{service}'")[0]["experiment_id"]
    one = f"{traces[150][0].get_span_context().trace_id:032x}"
    for collector in (a, b):  # the pages too
        page = httpx.get(f"{collector.web}/experiments/{experiment}/traces", timeout=30)
        assert page.status_code == 200 and "agent-" in page.text
        trace_page = httpx.get(f"{collector.web}/traces/tr-{one}", timeout=30)
        assert trace_page.status_code == 200 and "agent-150" in trace_page.text


def test_while_the_catalog_is_down_exports_wait_in_the_spool_then_are_refused_and_all_are_stored_after(
    cluster: Cluster, lake: Lake, lake_collector: Callable[..., Collector]
) -> None:
    collector = lake_collector("a", lake, backlog_mib=1)
    spans = [span for trace in agent_traces(500, "outage", payload_bytes=4096) for span in trace]
    exporter = OTLPSpanExporter(endpoint=collector.grpc, insecure=True, timeout=3)
    acknowledged = 0
    cluster.stop_server()
    try:
        for start_at in range(0, len(spans), 100):
            if exporter.export(spans[start_at : start_at + 100]) is not SpanExportResult.SUCCESS:
                break  # back-pressure: the spool is full, nothing more is acknowledged
            acknowledged += 100
        else:
            pytest.fail("every export was acknowledged although nothing could be stored")
        assert acknowledged > 0, "exports are acknowledged into the spool while the catalog is down"
    finally:
        cluster.start()
    # the collector recovers by itself: what it acknowledged is stored, and it takes exports again
    expected = [{"n": acknowledged}]
    assert collector.wait_for("SELECT count(*) AS n FROM spans", expected, timeout=60) == expected
    assert exporter.export(spans[-100:]) is SpanExportResult.SUCCESS
    exporter.shutdown()


def test_housekeeping_drops_old_traces_keeps_assessed_ones_and_merges_parts(
    lake: Lake, lake_collector: Callable[..., Collector]
) -> None:
    first = lake_collector("a", lake)
    provider = span_provider(first, "retention")
    tracer = provider.get_tracer("t")
    ten_days_ago = time.time_ns() - 10 * 86400 * 10**9
    ids = {}
    for name, start_ns in (("old-assessed", ten_days_ago), ("old", ten_days_ago), ("new", time.time_ns())):
        # two exports per trace (SimpleSpanProcessor): two parts to merge
        root = tracer.start_span(name, start_time=start_ns)
        root.end(end_time=start_ns + 10**6)
        child = tracer.start_span("child", start_time=start_ns, context=set_span_in_context(root))
        child.end(end_time=start_ns + 10**6)
        ids[name] = f"tr-{root.get_span_context().trace_id:032x}"
    provider.shutdown()
    assert first.wait_for("SELECT count(*) AS n FROM spans", [{"n": 6}]) == [{"n": 6}]
    with httpx.Client(base_url=first.web, timeout=30) as api:
        response = api.post(
            f"{TRACES}/{ids['old-assessed']}/assessments",
            json={
                "assessment": {
                    "assessment_name": "quality",
                    "feedback": {"value": 4},
                    "source": {"source_type": "HUMAN", "source_id": "reviewer"},
                }
            },
        )
        assert response.status_code == 200, response.text
    first.stop()

    second = lake_collector("a", lake, lake_options=", retention_days: 7, housekeeping_interval: 1s")
    expected = sorted(
        [
            {"trace_id": ids["new"], "spans": 2, "span_count": 2},
            {"trace_id": ids["old-assessed"], "spans": 0, "span_count": 2},
        ],
        key=lambda r: r["trace_id"],
    )
    query = (
        "SELECT t.trace_id, (SELECT count(*) FROM spans s WHERE s.trace_id = t.trace_id) AS spans, t.span_count "
        "FROM traces t ORDER BY t.trace_id"
    )
    assert second.wait_for(query, expected, timeout=60) == expected
    assert second.sql("SELECT assessment_name, trace_id FROM assessments") == [
        {"assessment_name": "quality", "trace_id": ids["old-assessed"]}
    ]
    merged = [{"n": 2}]
    assert second.wait_for("SELECT count(*) AS n FROM trace_parts", merged, timeout=30) == merged
