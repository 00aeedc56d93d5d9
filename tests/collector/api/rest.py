"""What the REST tests share: ingesting a trace over OTLP/HTTP (waiting until every span is
stored), the handle it returns, the error envelope check, and creating and reading back an
assessment (the seed 001 tests in ``test_assessments.py`` and ``test_assessment_lifecycle.py``)."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import httpx
import orjson

from tests.collector_process import Collector
from tests.otlp_builders import new_span_id, new_trace_id, request, span

STATUS_OK, STATUS_ERROR = 1, 2


@dataclass
class Traced:
    """A trace sent over OTLP: its API id (``tr-``...), root span and child span ids (hex)."""

    trace_id: str
    root_span_id: str
    child_span_ids: list[str] = field(default_factory=list)
    start_ns: int = 0

    @property
    def hex(self) -> str:
        return self.trace_id.removeprefix("tr-")


MakeTrace = Callable[..., Traced]


def ingest_trace(
    collector: Collector,
    experiment_id: str,
    *,
    name: str = "root",
    status: int = STATUS_OK,
    start_ns: int | None = None,
    duration_ms: float = 250.0,
    attributes: dict[str, Any] | None = None,
    children: list[tuple[str, dict[str, Any]]] | None = None,
) -> Traced:
    """Export one trace (a root span and its children) to the collector and wait until it is stored."""
    trace = new_trace_id()
    root = new_span_id()
    start = start_ns if start_ns is not None else time.time_ns()
    duration_ns = int(duration_ms * 1_000_000)
    spans = [span(trace, root, name=name, start=start, duration_ns=duration_ns, attributes=attributes, status=status)]
    child_ids = []
    for index, (child_name, child_attributes) in enumerate(children or []):
        child = new_span_id()
        child_ids.append(child.hex())
        spans.append(
            span(
                trace,
                child,
                parent=root,
                name=child_name,
                start=start + 1000 * (index + 1),
                duration_ns=1_000_000,
                attributes=child_attributes,
            )
        )
    response = httpx.post(
        f"{collector.http}/v1/traces",
        content=request(spans).SerializeToString(),
        headers={"content-type": "application/x-protobuf", "x-mlflow-experiment-id": experiment_id},
        timeout=30,
    )
    assert response.status_code == 200, response.text
    trace_id = "tr-" + trace.hex()
    # one read, no polling: a read after an acknowledged export sees it (the web port's read barrier)
    rows = collector.sql(f"SELECT span_count FROM traces WHERE trace_id = '{trace_id}'")
    assert rows == [{"span_count": len(spans)}], rows
    return Traced(trace_id, root.hex(), child_ids, start)


def assert_error(response: httpx.Response, status: int, code: str, *words: str) -> None:
    """The MLflow envelope with this status and code, its message naming every word given."""
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) >= {"error_code", "message"}, body
    assert body["error_code"] == code, body
    for word in words:
        assert word in body["message"], (word, body["message"])


# -- assessments ---------------------------------------------------------------------------------
ASSESSMENTS = "/api/3.0/mlflow/traces/{}/assessments"


def parse_time(text: str) -> datetime:
    return datetime.fromisoformat(text)


def source(kind: str, who: str) -> dict[str, str]:
    return {"source_type": kind, "source_id": who}


def create(api: httpx.Client, trace: Traced, name: str, body: dict[str, Any]) -> dict[str, Any]:
    response = api.post(
        ASSESSMENTS.format(trace.trace_id),
        json={"assessment": {"assessment_name": name, "trace_id": trace.trace_id, **body}},
    )
    assert response.status_code == 200, response.text
    created: dict[str, Any] = response.json()["assessment"]
    return created


def stored_row(collector: Collector, assessment_id: str) -> dict[str, Any]:
    rows = collector.sql(
        "SELECT trace_id, span_id, assessment_name, kind, value, value_label, value_number, rationale, source_type, "
        "source_id, error_code, error_message, metadata, overrides, valid, create_time, last_update_time "
        f"FROM assessments WHERE assessment_id = '{assessment_id}'"
    )
    assert len(rows) == 1
    row = rows[0]
    row["value"] = None if row["value"] is None else orjson.loads(row["value"])
    row["metadata"] = orjson.loads(row["metadata"])
    return row
