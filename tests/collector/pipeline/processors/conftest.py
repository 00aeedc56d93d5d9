"""Fixtures for the genai processor tests: build a ``SpanBatch`` span by span, run, read back.

``GenAIBatch.run`` also checks the invariants every test relies on, so no test can forget them:
one entry per span in every canonical column, and valid JSON wherever the store has a JSON
column (DuckDB would reject the whole batch otherwise).
"""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from annotrace.collector.pipeline.processors.genai import GenAIConfig, GenAINormalizeProcessor
from annotrace.collector.telemetry import Batch, SpanBatch

CANONICAL = (
    "span_type",
    "inputs",
    "outputs",
    "model",
    "provider",
    "input_tokens",
    "output_tokens",
    "total_tokens",
    "session_id",
    "user_id",
    "request_preview",
    "response_preview",
    "trace_tags",
    "trace_metadata",
    "normalization_errors",
)
TRACE = "tr-" + "ab" * 16


class GenAIBatch:
    """One batch under construction; ``add`` returns the span's index."""

    def __init__(self) -> None:
        self.batch = Batch()

    def add(
        self,
        attributes: dict[str, Any] | None = None,
        events: list[tuple[str, dict[str, Any]]] | None = None,
        *,
        name: str = "span",
        parent: str | None = None,
        kind: str = "INTERNAL",
    ) -> int:
        spans = self.batch.spans
        index = len(spans.span_id)
        spans.trace_id.append(TRACE)
        spans.span_id.append(f"{index + 1:016x}")
        spans.parent_span_id.append(parent)
        spans.experiment.append("name:Default")
        spans.name.append(name)
        spans.kind.append(kind)
        spans.start_ns.append(1_700_000_000_000_000_000 + index)
        spans.end_ns.append(1_700_000_001_000_000_000 + index)
        spans.status_code.append("OK")
        spans.status_message.append(None)
        spans.attributes.append(dict(attributes or {}))
        spans.resource.append({"service.name": "test"})
        spans.scope_name.append(None)
        spans.scope_version.append(None)
        spans.trace_state.append(None)
        spans.flags.append(0)
        spans.dropped_attributes.append(0)
        spans.dropped_events.append(0)
        spans.dropped_links.append(0)
        for position, (event_name, event_attrs) in enumerate(events or ()):
            spans.events.append((index, position, 1_700_000_000_500_000_000 + position, event_name, event_attrs))
        return index

    def run(self, **config: Any) -> SpanBatch:
        processor = GenAINormalizeProcessor(GenAIConfig(**config))
        processor.start()
        out = processor.process(self.batch)
        processor.shutdown()
        assert out is self.batch
        spans = out.spans
        for column in CANONICAL:
            assert len(getattr(spans, column)) == len(spans.span_id), column
        for text in [*spans.inputs, *spans.outputs]:
            if text is not None:
                orjson.loads(text)
        for _, _, _, _, _, calls, raw in spans.messages:
            for text in (calls, raw):
                if text is not None:
                    orjson.loads(text)
        for *_, metadata in spans.documents:
            if metadata is not None:
                orjson.loads(metadata)
        for preview in [*spans.request_preview, *spans.response_preview]:
            assert preview is None or len(preview) <= config.get("preview_max_chars", 1000)
        return spans

    def row(self, index: int) -> dict[str, Any]:
        """Every canonical column of span ``index``."""
        spans = self.batch.spans
        return {column: getattr(spans, column)[index] for column in CANONICAL}

    def messages(self, index: int) -> list[tuple[str, int, str | None, str | None, Any, Any]]:
        """(direction, position, role, content, tool calls, raw) with the JSON decoded."""
        return [
            (
                m[1],
                m[2],
                m[3],
                m[4],
                None if m[5] is None else orjson.loads(m[5]),
                None if m[6] is None else orjson.loads(m[6]),
            )
            for m in self.batch.spans.messages
            if m[0] == index
        ]

    def documents(self, index: int) -> list[tuple[int, str | None, str | None, float | None, str | None, Any]]:
        """(position, id, content, score, doc_uri, metadata) with the metadata decoded."""
        return [
            (d[1], d[2], d[3], d[4], d[5], None if d[6] is None else orjson.loads(d[6]))
            for d in self.batch.spans.documents
            if d[0] == index
        ]


@pytest.fixture
def genai() -> GenAIBatch:
    return GenAIBatch()
