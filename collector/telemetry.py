"""The unit of work between the spool, the processors, the exporters and the store: column lists,
not objects. It lives beside ``component.py`` (not in ``pipeline/``) because every component reads it.

Spans are kept as parallel lists (one entry per span) because building one Python object per span
and then an Arrow table from those objects costs more than the whole DuckDB insert. Processors
read and fill the lists in place; ``attributes`` holds decoded Python values (a dict per span)
so the GenAI processor reads them without decoding twice.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

Attributes = dict[str, Any]


@dataclass(slots=True)
class SpanBatch:
    # identity and routing
    trace_id: list[str] = field(default_factory=list)  # "tr-" + 32 hex
    span_id: list[str] = field(default_factory=list)
    parent_span_id: list[str | None] = field(default_factory=list)
    experiment: list[str] = field(default_factory=list)  # "id:<id>" or "name:<name>", resolved by the store
    # OTLP fields
    name: list[str] = field(default_factory=list)
    kind: list[str] = field(default_factory=list)
    start_ns: list[int] = field(default_factory=list)
    end_ns: list[int] = field(default_factory=list)
    status_code: list[str] = field(default_factory=list)
    status_message: list[str | None] = field(default_factory=list)
    attributes: list[Attributes] = field(default_factory=list)
    resource: list[Attributes] = field(default_factory=list)  # shared dict per resource
    scope_name: list[str | None] = field(default_factory=list)
    scope_version: list[str | None] = field(default_factory=list)
    trace_state: list[str | None] = field(default_factory=list)
    flags: list[int] = field(default_factory=list)
    dropped_attributes: list[int] = field(default_factory=list)
    dropped_events: list[int] = field(default_factory=list)
    dropped_links: list[int] = field(default_factory=list)
    # events and links, one entry each: (span index, position, time ns, name, attributes)
    events: list[tuple[int, int, int, str, Attributes]] = field(default_factory=list)
    # (span index, position, linked trace id, linked span id, trace state, attributes)
    links: list[tuple[int, int, str, str, str | None, Attributes]] = field(default_factory=list)
    # canonical GenAI columns, filled by the genai processor (None = not derivable)
    span_type: list[str] = field(default_factory=list)
    inputs: list[str | None] = field(default_factory=list)  # JSON text
    outputs: list[str | None] = field(default_factory=list)  # JSON text
    model: list[str | None] = field(default_factory=list)
    provider: list[str | None] = field(default_factory=list)
    input_tokens: list[int | None] = field(default_factory=list)
    output_tokens: list[int | None] = field(default_factory=list)
    total_tokens: list[int | None] = field(default_factory=list)
    session_id: list[str | None] = field(default_factory=list)
    user_id: list[str | None] = field(default_factory=list)
    # trace facts: the store's trace aggregation reads them from root spans only (``span_writes.TRACE_ROWS``),
    # so the genai processor fills them for root spans and leaves None elsewhere
    request_preview: list[str | None] = field(default_factory=list)
    response_preview: list[str | None] = field(default_factory=list)
    trace_tags: list[dict[str, str] | None] = field(default_factory=list)
    trace_metadata: list[dict[str, str] | None] = field(default_factory=list)
    normalization_errors: list[list[str] | None] = field(default_factory=list)
    # derived relations: (span index, position, document id, content, score, doc_uri, metadata JSON)
    documents: list[tuple[int, int, str | None, str | None, float | None, str | None, str | None]] = field(
        default_factory=list
    )
    # (span index, direction, position, role, content, tool_calls JSON, raw JSON)
    messages: list[tuple[int, str, int, str | None, str | None, str | None, str | None]] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.span_id)

    def canonical_defaults(self) -> None:
        """Give every canonical column one entry per span, so a pipeline without genai still stores."""
        n = len(self.span_id)
        for name in _CANONICAL:
            column = getattr(self, name)
            if len(column) < n:
                column.extend(["UNKNOWN" if name == "span_type" else None] * (n - len(column)))


_CANONICAL = (
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


@dataclass(slots=True)
class LogBatch:
    record_id: list[str] = field(default_factory=list)
    experiment: list[str] = field(default_factory=list)
    time_ns: list[int | None] = field(default_factory=list)
    observed_ns: list[int | None] = field(default_factory=list)
    trace_id: list[str | None] = field(default_factory=list)
    span_id: list[str | None] = field(default_factory=list)
    severity_number: list[int] = field(default_factory=list)
    severity_text: list[str | None] = field(default_factory=list)
    event_name: list[str | None] = field(default_factory=list)
    body: list[Any] = field(default_factory=list)
    attributes: list[Attributes] = field(default_factory=list)
    resource: list[Attributes] = field(default_factory=list)
    scope_name: list[str | None] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.record_id)


@dataclass(slots=True)
class Batch:
    """What one runner step hands to processors and exporters."""

    spans: SpanBatch = field(default_factory=SpanBatch)
    logs: LogBatch = field(default_factory=LogBatch)

    def __len__(self) -> int:
        return len(self.spans) + len(self.logs)
