"""``genai`` processor: one canonical set of GenAI columns from whichever convention a span used.

Apps reach the collector through MLflow's client, OpenInference, the OTel GenAI instrumentations
(old and new conventions) or annotrace's SDK, and each names the same facts differently. This
processor fills the canonical columns of ``SpanBatch`` (span type, inputs/outputs JSON, model,
provider, tokens, session, user, previews, trace tags/metadata) and the derived ``documents`` and
``messages`` relations, so the store, the API and SQL users see one shape. Raw attributes are never
changed. Precedence per field: explicit MLflow > OpenInference > OTel attributes > Traceloop /
OpenLLMetry > Logfire > OTel span events (each reader fills only what is still None, see
``genai_fields``).

Invariants:
- bad input never fails ingestion: a malformed value leaves its column None and adds
  ``"<attribute>: <problem>"`` to ``normalization_errors``; any JSON placed in ``inputs``/
  ``outputs``/``tool_calls``/``raw``/``metadata`` was produced or validated by orjson;
- the batch is re-derived from raw attributes on every call, so running it twice is harmless.

Cost: this runs on every span. A span is looked at only if one set intersection of its keys with
the known keys (or the GenAI span-event index) is non-empty; the hot path for plain spans is that
intersection alone. On the bench traffic (every span a GenAI span: MLflow chain and retriever, OTel
chat and tool) it costs ~12 µs per span, down from ~15.5; a quarter or more of it is ``orjson.loads``
of the payloads, which ``inputs``/``outputs`` need validated and messages/documents need decoded.
Previews are trace facts (the store reads them from the root span only), so they are made for root
spans only: made for every span they were ~13% of the whole spans -> rows path (cProfile).
"""

from __future__ import annotations

from dataclasses import dataclass
from operator import attrgetter
from typing import TYPE_CHECKING, Any

from annotrace.collector.component import Factory
from annotrace.collector.pipeline.processors.genai_documents import document_rows
from annotrace.collector.pipeline.processors.genai_fields import SpanFields
from annotrace.collector.pipeline.processors.genai_logfire import KEYS as LOGFIRE_KEYS
from annotrace.collector.pipeline.processors.genai_logfire import read_logfire
from annotrace.collector.pipeline.processors.genai_messages import Message, payload_messages, preview
from annotrace.collector.pipeline.processors.genai_mlflow import KEYS as MLFLOW_KEYS
from annotrace.collector.pipeline.processors.genai_mlflow import SESSION_METADATA, USER_METADATA, read_mlflow
from annotrace.collector.pipeline.processors.genai_openinference import KEYS as OPENINFERENCE_KEYS
from annotrace.collector.pipeline.processors.genai_openinference import read_openinference
from annotrace.collector.pipeline.processors.genai_otel import EVENT_NAMES, read_events, read_otel
from annotrace.collector.pipeline.processors.genai_otel import KEYS as OTEL_KEYS
from annotrace.collector.pipeline.processors.genai_traceloop import KEYS as TRACELOOP_KEYS
from annotrace.collector.pipeline.processors.genai_traceloop import read_traceloop

if TYPE_CHECKING:
    from collections.abc import Set

    from annotrace.collector.telemetry import Batch

__all__ = ["FACTORY", "GenAIConfig", "GenAINormalizeProcessor"]

DEFAULT_PREVIEW_MAX_CHARS = 1000
"""MLflow's OSS preview length (TRACE_REQUEST_RESPONSE_PREVIEW_MAX_LENGTH_OSS)."""
DEFAULT_MAX_DOCUMENTS = 1000
DEFAULT_MAX_MESSAGES = 1000
_MIN_PREVIEW_CHARS = 4  # room for one character and "..."

_KNOWN_KEYS = MLFLOW_KEYS | OPENINFERENCE_KEYS | OTEL_KEYS | TRACELOOP_KEYS | LOGFIRE_KEYS
_CHAT_TYPES = frozenset({"LLM", "CHAT_MODEL"})
_COLUMN_VALUES = attrgetter(
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
    "tags",
    "metadata",
    "errors",
)
"""The ``SpanFields`` values ``process`` stores per span, in the order of its unpacking into the
columns: one C call instead of 13 attribute reads in the per-span loop."""


@dataclass(frozen=True, kw_only=True, slots=True)
class GenAIConfig:
    """``processors: genai:`` in the collector YAML."""

    preview_max_chars: int = DEFAULT_PREVIEW_MAX_CHARS
    """Longest request/response preview, "..." included (longer text is cut, as MLflow does)."""
    max_documents: int = DEFAULT_MAX_DOCUMENTS
    """Documents kept per span; more are dropped with a normalization error."""
    max_messages: int = DEFAULT_MAX_MESSAGES
    """Messages kept per span and direction; more are dropped with a normalization error."""

    def validate(self) -> None:
        if self.preview_max_chars < _MIN_PREVIEW_CHARS:
            raise ValueError(f"preview_max_chars: must be at least {_MIN_PREVIEW_CHARS}, got {self.preview_max_chars}")
        if self.max_documents < 0:
            raise ValueError(f"max_documents: must be >= 0, got {self.max_documents}")
        if self.max_messages < 0:
            raise ValueError(f"max_messages: must be >= 0, got {self.max_messages}")


class GenAINormalizeProcessor:
    """Fills the canonical GenAI columns and relations of every span batch (YAML type ``genai``)."""

    def __init__(self, config: GenAIConfig) -> None:
        config.validate()
        self.config = config
        self._limits = (config.max_messages, config.max_documents)

    def start(self) -> None:
        """Nothing to start: the processor holds no resources."""

    def shutdown(self) -> None:
        """Nothing to flush; safe without ``start`` and safe twice."""

    def process(self, batch: Batch) -> Batch:
        spans = batch.spans
        n = len(spans)
        span_type: list[str] = ["UNKNOWN"] * n
        inputs: list[str | None] = [None] * n
        outputs: list[str | None] = [None] * n
        model: list[str | None] = [None] * n
        provider: list[str | None] = [None] * n
        input_tokens: list[int | None] = [None] * n
        output_tokens: list[int | None] = [None] * n
        total_tokens: list[int | None] = [None] * n
        session_id: list[str | None] = [None] * n
        user_id: list[str | None] = [None] * n
        request_preview: list[str | None] = [None] * n
        response_preview: list[str | None] = [None] * n
        trace_tags: list[dict[str, str] | None] = [None] * n
        trace_metadata: list[dict[str, str] | None] = [None] * n
        errors: list[list[str] | None] = [None] * n
        documents: list[tuple[int, int, str | None, str | None, float | None, str | None, str | None]] = []
        messages: list[tuple[int, str, int, str | None, str | None, str | None, str | None]] = []

        events: dict[int, list[tuple[int, int, int, str, dict[str, Any]]]] = {}
        for event in spans.events:
            if event[3] in EVENT_NAMES:
                events.setdefault(event[0], []).append(event)

        intersection = _KNOWN_KEYS.intersection
        normalize = self._normalize
        parents = spans.parent_span_id
        max_chars = self.config.preview_max_chars
        for i, attrs in enumerate(spans.attributes):
            hit = intersection(attrs)
            span_events = events.get(i) if events else None
            if not hit and span_events is None:
                continue
            f = normalize(attrs, hit, span_events)
            (
                span_type[i],
                inputs[i],
                outputs[i],
                model[i],
                provider[i],
                input_tokens[i],
                output_tokens[i],
                total_tokens[i],
                session_id[i],
                user_id[i],
                trace_tags[i],
                trace_metadata[i],
                errors[i],
            ) = _COLUMN_VALUES(f)
            if parents[i] is None:  # previews are trace facts, read from the root span only
                if f.inputs is not None:
                    request_preview[i] = preview(f.input_value, f.inputs, "user", max_chars)
                if f.outputs is not None:
                    response_preview[i] = preview(f.output_value, f.outputs, "assistant", max_chars)
            if f.documents:
                documents += [(i, p, d[0], d[1], d[2], d[3], d[4]) for p, d in enumerate(f.documents)]
            if f.in_messages:
                messages += [(i, "input", p, m[0], m[1], m[2], m[3]) for p, m in enumerate(f.in_messages)]
            if f.out_messages:
                messages += [(i, "output", p, m[0], m[1], m[2], m[3]) for p, m in enumerate(f.out_messages)]

        spans.span_type, spans.inputs, spans.outputs = span_type, inputs, outputs
        spans.model, spans.provider = model, provider
        spans.input_tokens, spans.output_tokens, spans.total_tokens = input_tokens, output_tokens, total_tokens
        spans.session_id, spans.user_id = session_id, user_id
        spans.request_preview, spans.response_preview = request_preview, response_preview
        spans.trace_tags, spans.trace_metadata = trace_tags, trace_metadata
        spans.normalization_errors = errors
        spans.documents, spans.messages = documents, messages
        return batch

    def _normalize(
        self, attrs: dict[str, Any], hit: Set[str], events: list[tuple[int, int, int, str, dict[str, Any]]] | None
    ) -> SpanFields:
        max_messages, max_documents = self._limits
        f = SpanFields()
        if not hit.isdisjoint(MLFLOW_KEYS):
            read_mlflow(attrs, hit, f, max_documents)
        if not hit.isdisjoint(OPENINFERENCE_KEYS):
            read_openinference(attrs, hit, f, max_messages, max_documents)
        if not hit.isdisjoint(OTEL_KEYS):
            read_otel(attrs, hit, f, max_messages, max_documents)
        if not hit.isdisjoint(TRACELOOP_KEYS):
            read_traceloop(attrs, hit, f, max_messages)
        if not hit.isdisjoint(LOGFIRE_KEYS):
            read_logfire(attrs, hit, f, max_messages)
        if events is not None:
            read_events(events, f, max_messages, max_documents)
        span_type = f.span_type
        if span_type is None:
            f.span_type = "UNKNOWN"
        elif span_type in _CHAT_TYPES:  # MLflow autolog / OpenInference: chat payloads as inputs/outputs
            if f.in_messages is None and f.input_value is not None:
                rows = payload_messages(f.input_value, output=False)
                f.in_messages = _capped(f, f.inputs_attr or "inputs", rows, max_messages)
            if f.out_messages is None and f.output_value is not None:
                rows = payload_messages(f.output_value, output=True)
                f.out_messages = _capped(f, f.outputs_attr or "outputs", rows, max_messages)
        elif span_type == "RETRIEVER" and f.documents is None and isinstance(f.output_value, list):
            f.documents = document_rows(f, f.outputs_attr or "outputs", f.output_value, max_documents)
        input_tokens, output_tokens = f.input_tokens, f.output_tokens
        if (input_tokens is not None or output_tokens is not None) and f.total_tokens is None and not f.token_error:
            f.total_tokens = (input_tokens or 0) + (output_tokens or 0)
        if f.session_id is not None or f.user_id is not None:
            metadata = f.metadata = {} if f.metadata is None else f.metadata
            if f.session_id is not None:
                metadata.setdefault(SESSION_METADATA, f.session_id)
            if f.user_id is not None:
                metadata.setdefault(USER_METADATA, f.user_id)
        return f


def _capped(fields: SpanFields, attribute: str, rows: list[Message] | None, limit: int) -> list[Message] | None:
    if rows is not None and len(rows) > limit:
        fields.error(attribute, f"{len(rows)} messages, kept the first {limit}")
        return rows[:limit]
    return rows


FACTORY = Factory(type="genai", config=GenAIConfig, create=GenAINormalizeProcessor)
"""What ``registry.PROCESSORS`` lists for the ``genai`` processor type."""
