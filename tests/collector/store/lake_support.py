"""What the DuckLake store's tests (``test_lake*.py``) share besides their fixtures (``conftest.py``):
lake collectors run from ``.venv-lake`` (duckdb 1.5 and the DuckLake extension wheels, the ``lake``
extra; ``make install`` creates it), as a deployment of the lake would."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from tests.collector_process import Collector
from tests.postgres import binaries

REPO = Path(__file__).resolve().parents[3]
LAKE_PYTHON = REPO / ".venv-lake" / "bin" / "python"

needs_lake = [
    pytest.mark.skipif(
        binaries() is None,
        reason="PostgreSQL is not installed (Debian: apt-get install postgresql; `make install` does it as root)",
    ),
    pytest.mark.skipif(not LAKE_PYTHON.exists(), reason=".venv-lake is missing: run `make install`"),
]
"""``pytestmark`` of a lake test module."""

Lake = tuple[str, Path]


def span_provider(collector: Collector, service: str) -> TracerProvider:
    """The stock SDK exporting each span to ``collector`` over OTLP/gRPC as it ends."""
    provider = TracerProvider(resource=Resource.create({"service.name": service}))
    provider.add_span_processor(SimpleSpanProcessor(OTLPSpanExporter(endpoint=collector.grpc, insecure=True)))
    return provider


def agent_traces(count: int, service: str, payload_bytes: int = 0) -> list[list[ReadableSpan]]:
    """``count`` traces of an agent span with three LLM children (1 + 2 + 3 input tokens), the agent
    with an incompressible attribute of ``payload_bytes``."""
    memory = InMemorySpanExporter()
    provider = TracerProvider(resource=Resource.create({"service.name": service}))
    provider.add_span_processor(SimpleSpanProcessor(memory))
    tracer = provider.get_tracer("t")
    for i in range(count):
        with tracer.start_as_current_span(f"agent-{i}", attributes={"payload": os.urandom(payload_bytes // 2).hex()}):
            for tokens in (1, 2, 3):
                with tracer.start_as_current_span("llm", attributes={"gen_ai.usage.input_tokens": tokens}):
                    pass
    by_trace: dict[int, list[ReadableSpan]] = {}
    for span in memory.get_finished_spans():
        assert span.context is not None
        by_trace.setdefault(span.context.trace_id, []).append(span)
    return list(by_trace.values())
