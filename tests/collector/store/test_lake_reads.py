"""Reads on a DuckLake store (``store.lake_reads``): after a collector starts, every table of the lake
has statistics in the catalog although most never held a row (DuckLake asks PostgreSQL again on
every query for a table without them), and no row is left behind; a request's reads run in one
read-only transaction, which a read that opens its own (a routing rule's SQL being checked) joins;
housekeeping writes the rows DuckLake inlined in the catalog (small commits) out to Parquet, as
every scan of a table copied all of them from PostgreSQL.

Like ``test_lake.py``: a PostgreSQL cluster this test starts, collectors run from ``.venv-lake``."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable

import httpx

from tests.collector.store.lake_support import Lake, needs_lake, span_provider
from tests.collector_process import Collector
from tests.postgres import Cluster

pytestmark = needs_lake

WITHOUT_STATISTICS = (
    "SELECT count(*) FROM ducklake_table WHERE end_snapshot IS NULL "
    "AND table_id NOT IN (SELECT table_id FROM ducklake_table_stats)"
)

INLINED_ROWS = (
    "SELECT coalesce(sum((xpath('/row/n/text()', query_to_xml('SELECT count(*) AS n FROM ' || "
    "quote_ident(table_name), false, true, '')))[1]::text::int), 0) FROM ducklake_inlined_data_tables"
)
"""Rows DuckLake keeps in the catalog's inlined-data tables, all of them."""


def _database(store: Lake) -> str:
    return next(part.split("=", 1)[1] for part in store[0].split() if part.startswith("dbname="))


def test_every_lake_table_has_statistics_after_start_and_stays_empty(
    cluster: Cluster, lake: Lake, lake_collector: Callable[..., Collector]
) -> None:
    collector = lake_collector("a", lake)
    assert cluster.query(_database(lake), WITHOUT_STATISTICS) == "0"
    empty = ("span_events", "span_links", "documents", "assessments", "users", "audit_log", "runs")
    counts = collector.sql(" UNION ALL ".join(f"SELECT '{t}' AS t, count(*) AS n FROM {t}" for t in empty))
    assert {row["t"]: row["n"] for row in counts} == dict.fromkeys(empty, 0)


def test_a_sql_routing_rule_is_checked_inside_the_requests_read_transaction(
    lake: Lake, lake_collector: Callable[..., Collector]
) -> None:
    collector = lake_collector("a", lake)
    with httpx.Client(base_url=collector.web, timeout=30) as api:
        name = f"svc-{uuid.uuid4().hex[:6]}"
        experiment_id = api.post("/api/2.0/mlflow/experiments/create", json={"name": name}).json()["experiment_id"]
        session = api.post("/api/v1/labeling/sessions", json={"experiment_id": experiment_id, "name": "triage"})
        rules = f"/api/v1/labeling/sessions/{session.json()['labeling_session']['mlflow_run_id']}/routing-rules"
        made = api.post(rules, json={"sql": "SELECT trace_id FROM traces WHERE span_count > 3"})
        assert made.status_code == 200, made.text
        bad = api.post(rules, json={"sql": "SELECT name FROM spans"})
        assert bad.status_code == 400, bad.text
        assert "trace_id" in bad.json()["message"]
        assert [rule["sql"] for rule in api.get(rules).json()["routing_rules"]] == [
            "SELECT trace_id FROM traces WHERE span_count > 3"
        ]


def test_housekeeping_writes_the_rows_inlined_in_the_catalog_out_to_parquet(
    cluster: Cluster, lake: Lake, lake_collector: Callable[..., Collector]
) -> None:
    collector = lake_collector("a", lake, lake_options=", housekeeping_interval: 1s")
    provider = span_provider(collector, f"svc-{uuid.uuid4().hex[:6]}")
    with provider.get_tracer("t").start_as_current_span("agent"), provider.get_tracer("t").start_as_current_span("llm"):
        pass
    provider.shutdown()
    assert collector.sql("SELECT name FROM spans ORDER BY name") == [{"name": "agent"}, {"name": "llm"}]
    deadline = time.monotonic() + 60  # housekeeping runs in the background, every second here
    while (inlined := cluster.query(_database(lake), INLINED_ROWS)) != "0" and time.monotonic() < deadline:
        time.sleep(0.5)
    assert inlined == "0"
    assert collector.sql("SELECT name FROM spans ORDER BY name") == [{"name": "agent"}, {"name": "llm"}]
