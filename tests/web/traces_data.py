"""Traces for the explorer's list tests: one OTLP/HTTP export into a fresh experiment, waited for.

Four named traces with known times, durations, statuses and texts, plus ``bulk`` plain ones newer
than all of them (so the default newest-first order puts the named ones on the last page):

    old     "chat",   OK,          now - 2 h,   100 ms, request mentions "Refund"
    err     "chat",   ERROR,       now - 1 h,  3000 ms
    search  "search", OK,          now - 30 m,  500 ms, 7 + 5 tokens, a child span "retrieve"
    prog    (no root: IN_PROGRESS) now - 10 m,   50 ms
    bulk    "bulk",   OK,          now - 5 m + i s, 200 ms
"""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime

import httpx

from tests.collector_process import Collector
from tests.otlp_builders import new_span_id, new_trace_id, request, span

STATUS_OK, STATUS_ERROR = 1, 2
MS = 1_000_000


@dataclass
class Seeded:
    experiment_id: str
    experiment: str
    ids: dict[str, str]  # label -> trace id
    starts: dict[str, datetime]  # label -> request time (naive UTC)
    child_span: str = ""  # the "retrieve" span of "search"
    bulk: list[str] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"/experiments/{self.experiment_id}/traces"

    @property
    def total(self) -> int:
        return len(self.ids) + len(self.bulk)


def _io(inputs: object, outputs: object) -> dict[str, str]:
    return {"mlflow.spanInputs": json.dumps(inputs), "mlflow.spanOutputs": json.dumps(outputs)}


def seed(collector: Collector, bulk: int = 30, prefix: str = "web-traces") -> Seeded:
    name = f"{prefix}-{uuid.uuid4().hex[:10]}"
    now = time.time_ns()
    out = Seeded("", name, {}, {})
    spans = []

    def add(
        label: str,
        span_name: str,
        start: int,
        duration_ms: int,
        *,
        status: int = STATUS_OK,
        attributes: dict[str, object] | None = None,
        root: bool = True,
    ) -> bytes:
        trace, span_id = new_trace_id(), new_span_id()
        parent = b"" if root else new_span_id()  # a parent never sent: the trace stays IN_PROGRESS
        spans.append(
            span(
                trace,
                span_id,
                parent=parent,
                name=span_name,
                start=start,
                duration_ns=duration_ms * MS,
                attributes=attributes,
                status=status,
            )
        )
        trace_id = "tr-" + trace.hex()
        if label.startswith("bulk"):
            out.bulk.append(trace_id)
        else:
            out.ids[label] = trace_id
        out.starts[label] = datetime.fromtimestamp(start / 1e9, UTC).replace(tzinfo=None)
        return trace

    add("old", "chat", now - 7200 * 10**9, 100, attributes=_io({"question": "Where is my Refund?"}, "On its way"))
    add("err", "chat", now - 3600 * 10**9, 3000, status=STATUS_ERROR, attributes=_io({"question": "crash"}, None))
    search_start = now - 1800 * 10**9
    trace = add(
        "search",
        "search",
        search_start,
        500,
        attributes={
            **_io({"query": "capital of France"}, "Paris"),
            "gen_ai.usage.input_tokens": 7,
            "gen_ai.usage.output_tokens": 5,
        },
    )
    child = new_span_id()
    root_id = spans[-1].span_id
    spans.append(span(trace, child, parent=root_id, name="retrieve", start=search_start + MS, duration_ns=10 * MS))
    out.child_span = child.hex()
    add("prog", "step", now - 600 * 10**9, 50, root=False)
    for i in range(bulk):
        add(f"bulk{i}", "bulk", now - 300 * 10**9 + i * 10**9, 200, attributes=_io({"n": i}, f"answer {i}"))
    response = httpx.post(
        f"{collector.http}/v1/traces",
        content=request(spans).SerializeToString(),
        headers={"content-type": "application/x-protobuf", "x-annotrace-experiment": name},
        timeout=30,
    )
    assert response.status_code == 200, response.text
    query = (
        f"SELECT e.experiment_id, count(t.trace_id) AS n FROM experiments e JOIN traces t "
        f"ON t.experiment_id = e.experiment_id WHERE e.name = '{name}' GROUP BY ALL"
    )
    deadline = time.monotonic() + 20
    while True:
        rows = collector.sql(query)
        if (
            rows
            and rows[0]["n"] == out.total
            and collector.sql(f"SELECT span_count FROM traces WHERE trace_id = '{out.ids['search']}'")
            == [{"span_count": 2}]
        ):
            break
        assert time.monotonic() < deadline, rows
        time.sleep(0.05)
    out.experiment_id = str(rows[0]["experiment_id"])
    return out
