"""What the GenAI instrumentation tests share: a plain OTel SDK pipeline to the collector (``OTel``;
the ``otel`` and ``client`` fixtures are in ``conftest.py``), the SQL check every producer's
workload must pass, and the wait for GenAI log records to be joined to their spans."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk.trace import TracerProvider

from tests.collector_process import Collector
from tests.e2e.genai_workload import Call

CONTENT_ENV, SEMCONV_ENV = "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT", "OTEL_SEMCONV_STABILITY_OPT_IN"


def _arguments(calls: str | None) -> list[dict[str, Any]] | None:
    """Stored tool calls: one shape whatever the producer (OTel objects, OpenAI JSON text)."""
    return None if calls is None else json.loads(calls)  # type: ignore[no-any-return]


def check(
    collector: Collector, calls: dict[str, Call], chat_type: str, embedding_io: bool, from_logs: bool = False
) -> None:
    for case, call in calls.items():
        where = f"trace_id = '{call.trace_id}'"
        expected_messages = len(call.inputs) + len(call.outputs)
        counts = collector.sql(
            f"SELECT (SELECT count(*) FROM spans WHERE {where}) AS spans, "
            f"(SELECT count(*) FROM messages WHERE {where}) AS messages"
        )
        assert counts == [{"spans": 2, "messages": expected_messages}], case
        (span,) = collector.sql(
            "SELECT span_id, span_type, model, provider, input_tokens, output_tokens, total_tokens, "
            "inputs IS NOT NULL AS has_inputs, outputs IS NOT NULL AS has_outputs, normalization_errors "
            f"FROM spans WHERE {where} AND parent_span_id IS NOT NULL"
        )
        embedding = case == "embeddings"
        has_io = embedding_io if embedding else True
        total = call.input_tokens + (call.output_tokens or 0)
        assert span == {
            **span,
            "span_type": "EMBEDDING" if embedding else chat_type,
            "model": call.model,
            "provider": "openai",
            "input_tokens": call.input_tokens,
            "output_tokens": call.output_tokens,
            "total_tokens": total,
            "has_inputs": has_io,
            "has_outputs": has_io,
            "normalization_errors": None,
        }, case
        rows = collector.sql(
            f"SELECT span_id, direction, role, content, tool_calls, log_record_id IS NOT NULL "
            f"AS from_log FROM messages WHERE {where} ORDER BY direction, position"
        )
        got = [(r["direction"], r["role"], r["content"], _arguments(r["tool_calls"])) for r in rows]
        assert got == [("input", *m) for m in call.inputs] + [("output", *m) for m in call.outputs], case
        assert {(r["span_id"], r["from_log"]) for r in rows} <= {(span["span_id"], from_logs)}, case


@dataclass
class OTel:
    """A plain OTel SDK pipeline to the collector's OTLP/HTTP port, under a service of its own."""

    tracer_provider: TracerProvider
    logger_provider: LoggerProvider
    late_logger_provider: LoggerProvider
    """Exports only on ``force_flush``: its log records reach the collector after their spans."""

    @contextlib.contextmanager
    def root(self, name: str) -> Iterator[str]:
        with self.tracer_provider.get_tracer("tests.e2e.genai").start_as_current_span(name) as span:
            yield f"tr-{span.get_span_context().trace_id:032x}"


def calls_filter(calls: dict[str, Call]) -> str:
    return "trace_id IN (" + ", ".join(f"'{call.trace_id}'" for call in calls.values()) + ")"


def wait_for_log_join(collector: Collector, calls: dict[str, Call], records: int) -> None:
    """The GenAI log records of ``calls`` are stored and none waits for its span any more (a read
    sees every export acknowledged before it: no polling)."""
    expected = [{"records": records, "pending": 0}]
    got = collector.sql(
        f"SELECT (SELECT count(*) FROM log_records WHERE {calls_filter(calls)}) AS records, "
        f"(SELECT count(*) FROM genai_log_events_pending WHERE {calls_filter(calls)}) AS pending"
    )
    assert got == expected
