"""Routing rules on DuckLake: a collector on a lake routes a trace that the stock OpenTelemetry SDK
exports span by span (child first, root last) into a labeling session, copying every span into
the session's ``trace_parts``, before the export counts as stored."""

from __future__ import annotations

import uuid
from collections.abc import Callable

import httpx
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor

from tests.collector.store.lake_support import Lake, needs_lake
from tests.collector_process import Collector

pytestmark = needs_lake


def test_a_rule_routes_a_trace_exported_span_by_span_into_a_session_on_a_lake(
    lake: Lake,
    lake_collector: Callable[..., Collector],
) -> None:
    collector = lake_collector("a", lake)
    service = f"svc-{uuid.uuid4().hex[:6]}"
    with httpx.Client(base_url=collector.web, timeout=30) as api:
        experiment_id = api.post("/api/2.0/mlflow/experiments/create", json={"name": service}).json()["experiment_id"]
        session = api.post("/api/v1/labeling/sessions", json={"experiment_id": experiment_id, "name": "triage"})
        session_id = session.json()["labeling_session"]["mlflow_run_id"]
        rules = f"/api/v1/labeling/sessions/{session_id}/routing-rules"
        made = api.post(rules, json={"filter": "span.name = 'llm'"})
        assert made.status_code == 200, made.text

        provider = TracerProvider(resource=Resource.create({"service.name": service}))
        provider.add_span_processor(SimpleSpanProcessor(OTLPSpanExporter(endpoint=collector.grpc, insecure=True)))
        tracer = provider.get_tracer("t")
        with tracer.start_as_current_span("agent") as root, tracer.start_as_current_span("llm"):
            pass
        with tracer.start_as_current_span("other"):
            pass
        provider.shutdown()

        items = api.get(f"/api/v1/labeling/sessions/{session_id}/items").json()["items"]
        assert [item["source_trace_id"] for item in items] == [f"tr-{root.get_span_context().trace_id:032x}"]
        spans = collector.sql(f"SELECT name FROM spans WHERE trace_id = '{items[0]['trace_id']}' ORDER BY name")
        assert spans == [{"name": "agent"}, {"name": "llm"}]
        assert [r["traces_added"] for r in api.get(rules).json()["routing_rules"]] == [1]
