"""Reader for OpenInference attributes (Arize Phoenix instrumentations).

OpenInference flattens lists and objects into indexed keys because OTLP span attributes cannot
nest: ``llm.input_messages.0.message.role``, ``llm.output_messages.0.message.tool_calls.0.tool_call
.function.name``, ``retrieval.documents.2.document.content``. This reader folds them back into
message and document objects, then hands them to the shared converters, so a message looks the
same in ``messages`` whichever convention sent it. The flattened keys are found by one prefix scan,
done only for spans that carry an OpenInference key (``openinference.span.kind`` is required on
every OpenInference span), which keeps the hot loop cheap for everything else.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from annotrace.collector.pipeline.processors.genai_documents import document_rows
from annotrace.collector.pipeline.processors.genai_fields import (
    LENIENT,
    STRICT,
    TEXT,
    as_count,
    as_text,
    first_text,
    short,
)
from annotrace.collector.pipeline.processors.genai_messages import Message, message_row

if TYPE_CHECKING:
    from collections.abc import Set

    from annotrace.collector.pipeline.processors.genai_fields import SpanFields

__all__ = ["KEYS", "SCAN_KEYS", "SPAN_KINDS", "read_openinference"]

SPAN_KIND = "openinference.span.kind"
SPAN_KINDS = {
    "LLM": "LLM",
    "CHAIN": "CHAIN",
    "TOOL": "TOOL",
    "RETRIEVER": "RETRIEVER",
    "EMBEDDING": "EMBEDDING",
    "AGENT": "AGENT",
    "RERANKER": "RERANKER",
    "GUARDRAIL": "GUARDRAIL",
    "EVALUATOR": "EVALUATOR",
    "UNKNOWN": "UNKNOWN",
    "PROMPT": "UNKNOWN",  # MLflow has no prompt-template type either
}
_MODEL_KEYS = (
    "llm.response.model_name",
    "llm.model_name",
    "llm.request.model_name",
    "embedding.model_name",
    "reranker.model_name",
)
_PROVIDER_KEYS = ("llm.provider", "llm.system")
_TOKEN_KEYS = (
    ("llm.token_count.prompt", "input"),
    ("llm.token_count.completion", "output"),
    ("llm.token_count.total", "total"),
)
_INPUT_MESSAGES = "llm.input_messages."
_OUTPUT_MESSAGES = "llm.output_messages."
_DOCUMENTS = "retrieval.documents."
_RERANKED = "reranker.output_documents."
_PREFIXES = (_INPUT_MESSAGES, _OUTPUT_MESSAGES, _DOCUMENTS, _RERANKED)

SCAN_KEYS = frozenset(
    {
        SPAN_KIND,
        "input.value",
        "output.value",
        *_MODEL_KEYS,
        *_PROVIDER_KEYS,
        *(k for k, _ in _TOKEN_KEYS),
        "llm.invocation_parameters",
        "tool.name",
        "tool.parameters",
        "embedding.invocation_parameters",
    }
)
"""Keys that mark an OpenInference span: only these spans get the flattened-key scan."""
KEYS = SCAN_KEYS | {"session.id", "user.id"}
"""Everything this reader looks at (``session.id``/``user.id`` are shared with MLflow)."""


def _value(fields: SpanFields, attrs: dict[str, Any], which: str) -> bool:
    """``input.value``/``output.value``, decoded according to ``<which>.mime_type``."""
    attribute = f"{which}.value"
    value = attrs[attribute]
    setter = fields.set_inputs if which == "input" else fields.set_outputs
    mime = attrs.get(f"{which}.mime_type")
    if not isinstance(value, str) or mime == "application/json":
        return setter(attribute, value, STRICT)
    if mime is None and value[:1] in ("{", "["):  # producers often omit the mime type of JSON
        return setter(attribute, value, LENIENT)
    return setter(attribute, value, TEXT)  # text/plain, the default: stored as a JSON string


def _index(fields: SpanFields, key: str, rest: str) -> tuple[int, str] | None:
    number, _, suffix = rest.partition(".")
    if not number.isdigit():
        fields.error(key, "index is not a number")
        return None
    return int(number), suffix


def _group(fields: SpanFields, found: list[tuple[str, str, Any]]) -> dict[int, dict[str, Any]]:
    """``[(key, "<i>.<suffix>", value)]`` -> ``{i: {suffix: value}}``."""
    groups: dict[int, dict[str, Any]] = {}
    for key, rest, value in found:
        got = _index(fields, key, rest)
        if got is not None:
            groups.setdefault(got[0], {})[got[1]] = value
    return groups


def _ordered(groups: dict[int, dict[str, Any]]) -> list[dict[str, Any]]:
    return [groups[i] for i in sorted(groups)]


def _message(flat: dict[str, Any]) -> dict[str, Any]:
    """``{"message.role": ..., "message.tool_calls.0.tool_call.id": ...}`` -> an OpenAI-style message."""
    message: dict[str, Any] = {}
    contents: dict[int, dict[str, Any]] = {}
    calls: dict[int, dict[str, Any]] = {}
    for suffix, value in flat.items():
        name = suffix.removeprefix("message.")
        head, _, rest = name.partition(".")
        if head in ("contents", "tool_calls") and rest:
            number, _, leaf = rest.partition(".")
            if number.isdigit():
                target = contents if head == "contents" else calls
                leaf = leaf.removeprefix("message_content.").removeprefix("tool_call.")
                target.setdefault(int(number), {})[leaf] = value
                continue
        message[name] = value
    if contents and "content" not in message:
        message["content"] = [dict(part, type=part.get("type", "text")) for part in _ordered(contents)]
    if calls:
        message["tool_calls"] = [
            {
                "id": c.get("id"),
                "type": "function",
                "function": {"name": c.get("function.name"), "arguments": c.get("function.arguments")},
            }
            for c in _ordered(calls)
        ]
    return message


def _messages(fields: SpanFields, key: str, found: list[tuple[str, str, Any]], limit: int) -> list[Message]:
    items = _ordered(_group(fields, found))
    if len(items) > limit:
        fields.error(key, f"{len(items)} messages, kept the first {limit}")
        items = items[:limit]
    rows = [message_row(_message(flat)) for flat in items]
    return [row for row in rows if row is not None]


def _documents(flat: dict[str, Any]) -> dict[str, Any]:
    return {suffix.removeprefix("document."): value for suffix, value in flat.items()}


def _flattened(fields: SpanFields, attrs: dict[str, Any], max_messages: int, max_documents: int) -> None:
    found: dict[str, list[tuple[str, str, Any]]] = {}
    for key, value in attrs.items():
        if key.startswith(_PREFIXES):
            prefix = next(p for p in _PREFIXES if key.startswith(p))
            found.setdefault(prefix, []).append((key, key[len(prefix) :], value))
    if not found:
        return
    if _INPUT_MESSAGES in found and fields.in_messages is None:
        fields.in_messages = _messages(fields, "llm.input_messages", found[_INPUT_MESSAGES], max_messages) or None
    if _OUTPUT_MESSAGES in found and fields.out_messages is None:
        fields.out_messages = _messages(fields, "llm.output_messages", found[_OUTPUT_MESSAGES], max_messages) or None
    for prefix in (_DOCUMENTS, _RERANKED):
        if prefix in found and fields.documents is None:
            docs = [_documents(flat) for flat in _ordered(_group(fields, found[prefix]))]
            fields.documents = document_rows(fields, prefix.rstrip("."), docs, max_documents)


def read_openinference(
    attrs: dict[str, Any], hit: Set[str], fields: SpanFields, max_messages: int, max_documents: int
) -> None:
    """Fill what MLflow left None from OpenInference attributes."""
    if fields.span_type is None and SPAN_KIND in hit:
        kind = attrs[SPAN_KIND]
        span_type = SPAN_KINDS.get(kind.upper()) if isinstance(kind, str) else None
        if span_type is None:
            fields.error(SPAN_KIND, f"unknown span kind: {short(kind)}")
        elif span_type != "UNKNOWN":
            fields.span_type = span_type
    if fields.inputs is None and "input.value" in hit:
        _value(fields, attrs, "input")
    if fields.outputs is None and "output.value" in hit:
        _value(fields, attrs, "output")
    if fields.model is None:
        fields.model = first_text(fields, attrs, hit, _MODEL_KEYS)
    if fields.provider is None:
        fields.provider = first_text(fields, attrs, hit, _PROVIDER_KEYS)
    for key, kind in _TOKEN_KEYS:
        if key in hit:
            if kind == "input" and fields.input_tokens is None:
                fields.input_tokens = as_count(fields, key, attrs[key])
            elif kind == "output" and fields.output_tokens is None:
                fields.output_tokens = as_count(fields, key, attrs[key])
            elif kind == "total" and fields.total_tokens is None:
                fields.total_tokens = as_count(fields, key, attrs[key])
    if fields.session_id is None and "session.id" in hit:
        fields.session_id = as_text(fields, "session.id", attrs["session.id"])
    if fields.user_id is None and "user.id" in hit:
        fields.user_id = as_text(fields, "user.id", attrs["user.id"])
    if len(attrs) > len(hit) and not hit.isdisjoint(SCAN_KEYS):  # flattened keys are never exact keys
        _flattened(fields, attrs, max_messages, max_documents)
