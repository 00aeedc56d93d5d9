"""A GenAI trace for the trace page tests, exported over OTLP/HTTP with exact ids and times.

    agent (AGENT, MLflow attributes)                  0 - 900 ms
    ├── retrieve (RETRIEVER, 3 MLflow Documents)     10 - 110 ms
    ├── chat (CHAT_MODEL, OTel gen_ai.* messages)   120 - 620 ms  (assistant asks for a tool call)
    └── lookup_order (TOOL, status ERROR, exception event)  630 - 700 ms

Built by hand (``tests/otlp_builders.py``) rather than with the SDK so that the test knows every
span id, time and attribute the page must show.
"""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass
from typing import Any

import httpx
from opentelemetry.proto.common.v1.common_pb2 import KeyValue

from tests.collector_process import Collector
from tests.otlp_builders import any_value, new_span_id, new_trace_id, request, span

MS = 1_000_000
DOCS = [
    {
        "id": "kb-1",
        "page_content": "Refunds take 5 business days.",
        "metadata": {"doc_uri": "https://kb.example.com/refunds", "score": 0.91},
    },
    {
        "id": "kb-2",
        "page_content": "Annual plans are prorated.",
        "metadata": {"doc_uri": "/static/app.css", "score": 0.52},
    },
    {"id": "kb-3", "page_content": "Do not click me.", "metadata": {"doc_uri": "javascript:alert(1)", "score": 0.1}},
]
INPUT_MESSAGES = [
    {"role": "system", "parts": [{"type": "text", "content": "You are a support agent."}]},
    {"role": "user", "parts": [{"type": "text", "content": "Where is my refund for order 42?"}]},
]
OUTPUT_MESSAGES = [
    {
        "role": "assistant",
        "parts": [
            {"type": "text", "content": "Let me check order 42."},
            {"type": "tool_call", "id": "call_7", "name": "lookup_order", "arguments": {"order_id": 42}},
        ],
        "finish_reason": "tool_call",
    },
]


@dataclass(frozen=True)
class GenAITrace:
    trace_id: str
    experiment_id: str
    experiment: str
    root: str
    retriever: str
    chat: str
    tool: str


def j(value: Any) -> str:
    return json.dumps(value)


def export(collector: Collector, spans: list[Any], experiment: str) -> None:
    response = httpx.post(
        f"{collector.http}/v1/traces",
        content=request(spans).SerializeToString(),
        headers={"content-type": "application/x-protobuf", "x-annotrace-experiment": experiment},
        timeout=30,
    )
    assert response.status_code == 200, response.text


def genai_trace(collector: Collector, experiment: str | None = None) -> GenAITrace:
    """Export the trace above into ``experiment`` (a new one by default) and wait until it is stored."""
    experiment = experiment or f"trace-page-{uuid.uuid4().hex[:8]}"
    trace, root, retriever, chat, tool = new_trace_id(), new_span_id(), new_span_id(), new_span_id(), new_span_id()
    t0 = time.time_ns()
    spans = [
        span(
            trace,
            root,
            name="agent",
            start=t0,
            duration_ns=900 * MS,
            attributes={
                "mlflow.spanType": j("AGENT"),
                "mlflow.spanInputs": j({"question": "Where is my refund for order 42?"}),
                "mlflow.spanOutputs": j({"answer": "Your refund is on its way."}),
                "mlflow.traceTag.team": "support",
            },
        ),
        span(
            trace,
            retriever,
            parent=root,
            name="retrieve",
            start=t0 + 10 * MS,
            duration_ns=100 * MS,
            attributes={
                "mlflow.spanType": j("RETRIEVER"),
                "mlflow.spanInputs": j({"query": "refund order 42"}),
                "mlflow.spanOutputs": j(DOCS),
            },
        ),
        span(
            trace,
            chat,
            parent=root,
            name="chat",
            start=t0 + 120 * MS,
            duration_ns=500 * MS,
            kind=3,
            attributes={
                "gen_ai.operation.name": "chat",
                "gen_ai.provider.name": "openai",
                "gen_ai.request.model": "gpt-4o-mini",
                "gen_ai.response.model": "gpt-4o-mini-2024",
                "gen_ai.usage.input_tokens": 31,
                "gen_ai.usage.output_tokens": 12,
                "gen_ai.input.messages": j(INPUT_MESSAGES),
                "gen_ai.output.messages": j(OUTPUT_MESSAGES),
            },
        ),
        span(
            trace,
            tool,
            parent=root,
            name="lookup_order",
            start=t0 + 630 * MS,
            duration_ns=70 * MS,
            status=2,
            attributes={
                "gen_ai.operation.name": "execute_tool",
                "gen_ai.tool.name": "lookup_order",
                "gen_ai.tool.call.id": "call_7",
                "gen_ai.tool.call.arguments": j({"order_id": 42}),
            },
        ),
    ]
    spans[3].status.message = "order service timed out"
    event = spans[3].events.add()
    event.time_unix_nano = t0 + 690 * MS
    event.name = "exception"
    for key, value in {
        "exception.type": "TimeoutError",
        "exception.message": "order service timed out",
        "exception.stacktrace": "Traceback (most recent call last):\n  ...\nTimeoutError",
    }.items():
        event.attributes.append(KeyValue(key=key, value=any_value(value)))
    export(collector, spans, experiment)
    trace_id = "tr-" + trace.hex()
    counts = (
        f"SELECT (SELECT span_count FROM traces WHERE trace_id = '{trace_id}') AS spans, "
        f"(SELECT count(*) FROM documents WHERE trace_id = '{trace_id}') AS docs"
    )
    assert collector.wait_for(counts, [{"spans": 4, "docs": 3}]) == [{"spans": 4, "docs": 3}]
    rows = collector.sql(f"SELECT experiment_id FROM traces WHERE trace_id = '{trace_id}'")
    return GenAITrace(
        trace_id, rows[0]["experiment_id"], experiment, root.hex(), retriever.hex(), chat.hex(), tool.hex()
    )
