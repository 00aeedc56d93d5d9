"""Reader for MLflow's span attributes (the stock MLflow client and annotrace's own SDK).

MLflow writes every attribute value as JSON text (``mlflow.spanType`` is ``"\\"LLM\\""``,
``mlflow.spanInputs`` the JSON of the function's arguments); ``mlflow.traceTag.<key>`` and
``mlflow.traceMetadata.<key>`` carry plain strings (annotrace SDK contract). MLflow attributes are
the most explicit a producer can be, so this reader runs first and wins over OpenInference and OTel
(ARCHITECTURE: "explicit MLflow > OpenInference > OTel"). A RETRIEVER span's outputs are a list of
``Document`` dicts and become ``documents`` rows here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from annotrace.collector.pipeline.processors.genai_documents import document_rows
from annotrace.collector.pipeline.processors.genai_fields import as_count, short
from annotrace.collector.pipeline.processors.genai_messages import INVALID, dumps, parse_json

if TYPE_CHECKING:
    from collections.abc import Set

    from annotrace.collector.pipeline.processors.genai_fields import SpanFields

__all__ = ["KEYS", "SESSION_METADATA", "USER_METADATA", "read_mlflow"]

SPAN_TYPE = "mlflow.spanType"
SPAN_INPUTS = "mlflow.spanInputs"
SPAN_OUTPUTS = "mlflow.spanOutputs"
TOKEN_USAGE = "mlflow.chat.tokenUsage"
LLM_MODEL = "mlflow.llm.model"
LLM_PROVIDER = "mlflow.llm.provider"
TAG_PREFIX = "mlflow.traceTag."
METADATA_PREFIX = "mlflow.traceMetadata."
SESSION_METADATA = "mlflow.trace.session"
USER_METADATA = "mlflow.trace.user"

KEYS = frozenset(
    {
        SPAN_TYPE,
        SPAN_INPUTS,
        SPAN_OUTPUTS,
        TOKEN_USAGE,
        LLM_MODEL,
        LLM_PROVIDER,
        # not read, but they mark an MLflow/annotrace span, whose tags/metadata are then looked for
        "mlflow.traceRequestId",
        "mlflow.experimentId",
        "mlflow.spanFunctionName",
    }
)
"""Exact keys that make a span worth this reader's time (checked with one set intersection)."""

_PREFIXES = (TAG_PREFIX, METADATA_PREFIX)
_SPAN_TYPES = {
    text: name
    for name in (
        "LLM",
        "CHAT_MODEL",
        "RETRIEVER",
        "TOOL",
        "AGENT",
        "CHAIN",
        "EMBEDDING",
        "RERANKER",
        "PARSER",
        "MEMORY",
        "GUARDRAIL",
        "EVALUATOR",
        "UNKNOWN",
    )
    for text in (f'"{name}"', name)
}
"""What ``_string`` makes of MLflow's span types (JSON text or bare), looked up without parsing."""
_USAGE_FIELDS = (("input_tokens", "input"), ("output_tokens", "output"), ("total_tokens", "total"))


def _string(fields: SpanFields, attribute: str, value: Any) -> str | None:
    """An MLflow string attribute: JSON text of a string (``"\\"LLM\\""``), or a bare string."""
    if not isinstance(value, str):
        fields.error(attribute, f"not a string: {short(value)}")
        return None
    if value[:1] == '"':
        decoded = parse_json(value)
        if not isinstance(decoded, str):
            fields.error(attribute, f"invalid JSON string: {short(value)}")
            return None
        value = decoded
    return value or None


def _usage(fields: SpanFields, value: Any) -> None:
    if isinstance(value, str):
        value = parse_json(value)
        if value is INVALID:
            fields.error(TOKEN_USAGE, "invalid JSON")
            return
    if not isinstance(value, dict):
        fields.error(TOKEN_USAGE, f"not an object: {short(value)}")
        return
    for key, kind in _USAGE_FIELDS:
        if key in value:
            count = as_count(fields, f"{TOKEN_USAGE}.{key}", value[key])
            if kind == "input":
                fields.input_tokens = count
            elif kind == "output":
                fields.output_tokens = count
            else:
                fields.total_tokens = count


def _tags_and_metadata(fields: SpanFields, attrs: dict[str, Any]) -> None:
    for key, value in attrs.items():
        if not key.startswith(_PREFIXES):
            continue
        tag = key.startswith(TAG_PREFIX)
        name = key[len(TAG_PREFIX if tag else METADATA_PREFIX) :]
        if not name:
            fields.error(key, "empty key")
            continue
        text = value if isinstance(value, str) else dumps(value)
        if text is None:
            fields.error(key, f"value cannot be written as text: {short(value)}")
            continue
        if tag:
            if fields.tags is None:
                fields.tags = {}
            fields.tags[name] = text
        else:
            if fields.metadata is None:
                fields.metadata = {}
            fields.metadata[name] = text
    metadata = fields.metadata
    if metadata:
        session = metadata.get(SESSION_METADATA)
        if session:
            fields.session_id = session
        user = metadata.get(USER_METADATA)
        if user:
            fields.user_id = user


def read_mlflow(attrs: dict[str, Any], hit: Set[str], fields: SpanFields, max_documents: int) -> None:
    """Fill ``fields`` from MLflow attributes; runs first, so every field is still None here."""
    if SPAN_TYPE in hit:
        value = attrs[SPAN_TYPE]
        span_type = _SPAN_TYPES.get(value) if type(value) is str else None
        if span_type is None:
            span_type = _string(fields, SPAN_TYPE, value)
        if span_type is not None and span_type != "UNKNOWN":  # UNKNOWN lets another convention say more
            fields.span_type = span_type
    if SPAN_INPUTS in hit:
        fields.set_inputs(SPAN_INPUTS, attrs[SPAN_INPUTS])
    if (
        SPAN_OUTPUTS in hit
        and fields.set_outputs(SPAN_OUTPUTS, attrs[SPAN_OUTPUTS])
        and fields.span_type == "RETRIEVER"
        and fields.output_value is not None
    ):
        fields.documents = document_rows(fields, SPAN_OUTPUTS, fields.output_value, max_documents)
    if TOKEN_USAGE in hit:
        _usage(fields, attrs[TOKEN_USAGE])
    if LLM_MODEL in hit:
        fields.model = _string(fields, LLM_MODEL, attrs[LLM_MODEL])
    if LLM_PROVIDER in hit:
        fields.provider = _string(fields, LLM_PROVIDER, attrs[LLM_PROVIDER])
    if len(attrs) > len(hit):  # some key is not a known exact key: it may be a tag or metadata
        _tags_and_metadata(fields, attrs)
