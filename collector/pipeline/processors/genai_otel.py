"""Reader for the OpenTelemetry GenAI semantic conventions, current and deprecated.

Runs after MLflow and OpenInference and fills only what they left None. It understands both eras,
because instrumentations keep the old shape unless the user opts in
(``OTEL_SEMCONV_STABILITY_OPT_IN=gen_ai_latest_experimental``):

- current: ``gen_ai.provider.name``, ``gen_ai.input.messages`` / ``gen_ai.output.messages`` /
  ``gen_ai.system_instructions`` (JSON text on spans from Python, structured values elsewhere),
  tool call arguments/result, ``gen_ai.retrieval.documents``;
- deprecated: ``gen_ai.system``, ``gen_ai.usage.prompt_tokens`` / ``completion_tokens``, and the
  per-message events ``gen_ai.{system,user,assistant,tool}.message`` / ``gen_ai.choice`` when a
  producer records them as span events (OTLP log records of the same names are joined later by
  ``store/genai_join.py``), plus ``gen_ai.client.inference.operation.details`` span events and
  the older ``gen_ai.content.prompt`` / ``gen_ai.content.completion`` events.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

import orjson

from annotrace.collector.pipeline.processors.genai_documents import document_rows
from annotrace.collector.pipeline.processors.genai_fields import (
    LENIENT,
    TEXT,
    as_count,
    as_text,
    first_text,
    json_value,
    short,
)
from annotrace.collector.pipeline.processors.genai_messages import (
    INPUT_EVENTS,
    OUTPUT_EVENTS,
    Message,
    event_chat_message,
    message_row,
    message_rows,
    messages_json,
)

if TYPE_CHECKING:
    from collections.abc import Set

    from annotrace.collector.pipeline.processors.genai_fields import SpanFields

__all__ = ["DETAILS_EVENT", "EVENT_NAMES", "KEYS", "OPERATIONS", "read_events", "read_otel"]

OPERATION = "gen_ai.operation.name"
INPUT_MESSAGES = "gen_ai.input.messages"
OUTPUT_MESSAGES = "gen_ai.output.messages"
SYSTEM_INSTRUCTIONS = "gen_ai.system_instructions"
DOCUMENTS = "gen_ai.retrieval.documents"
DETAILS_EVENT = "gen_ai.client.inference.operation.details"
_CONTENT_EVENTS = {
    "gen_ai.content.prompt": ("gen_ai.prompt", "input"),
    "gen_ai.content.completion": ("gen_ai.completion", "output"),
}
EVENT_NAMES = INPUT_EVENTS | OUTPUT_EVENTS | {DETAILS_EVENT, *_CONTENT_EVENTS}
"""Span event names this reader turns into messages."""

OPERATIONS = {
    "chat": "CHAT_MODEL",
    "text_completion": "LLM",
    "generate_content": "LLM",
    "response": "LLM",
    "embeddings": "EMBEDDING",
    "execute_tool": "TOOL",
    "invoke_agent": "AGENT",
    "create_agent": "AGENT",
    "plan": "AGENT",
    "retrieval": "RETRIEVER",
    "invoke_workflow": "CHAIN",
    **dict.fromkeys(
        (
            "create_memory",
            "create_memory_store",
            "delete_memory",
            "delete_memory_store",
            "search_memory",
            "update_memory",
            "upsert_memory",
        ),
        "MEMORY",
    ),
}
"""``gen_ai.operation.name`` -> MLflow span type (MLflow's own table, plus the newer operations)."""

_MODEL_KEYS = ("gen_ai.response.model", "gen_ai.request.model")
_PROVIDER_KEYS = ("gen_ai.provider.name", "gen_ai.system")
_INPUT_TOKENS = ("gen_ai.usage.input_tokens", "gen_ai.usage.prompt_tokens")
_OUTPUT_TOKENS = ("gen_ai.usage.output_tokens", "gen_ai.usage.completion_tokens")
_TOKEN_KEYS = frozenset({*_INPUT_TOKENS, *_OUTPUT_TOKENS})
_OTHER_KEYS = frozenset(
    {
        "gen_ai.tool.call.arguments",
        "gen_ai.tool.call.result",
        DOCUMENTS,
        "gen_ai.retrieval.query.text",
        "gen_ai.conversation.id",
        "enduser.id",
    }
)
"""What ``_other`` reads: each span reads at most a few of these groups, so groups are tested first."""
KEYS = frozenset(
    {
        OPERATION,
        INPUT_MESSAGES,
        OUTPUT_MESSAGES,
        SYSTEM_INSTRUCTIONS,
        *_MODEL_KEYS,
        *_PROVIDER_KEYS,
        *_TOKEN_KEYS,
        *_OTHER_KEYS,
    }
)


def _message_rows(fields: SpanFields, attribute: str, value: Any, limit: int) -> list[Message] | None:
    """Rows for a decoded message list; None (with an error) if it is not one."""
    if not isinstance(value, list):
        fields.error(attribute, f"not a list of messages: {short(value)}")
        return None
    if len(value) > limit:
        fields.error(attribute, f"{len(value)} messages, kept the first {limit}")
        value = value[:limit]
    rows = message_rows(value)
    if None not in rows:
        return cast("list[Message]", rows)
    for index, (item, row) in enumerate(zip(value, rows)):
        if row is None:
            fields.error(attribute, f"message {index} is not an object: {short(item)}")
    return [row for row in rows if row is not None]


def _messages(fields: SpanFields, attrs: dict[str, Any], hit: Set[str], output: bool, limit: int) -> None:
    """``gen_ai.{input,output}.messages`` -> inputs/outputs (if still None) and message rows."""
    key = OUTPUT_MESSAGES if output else INPUT_MESSAGES
    have_json = fields.outputs is not None if output else fields.inputs is not None
    have_rows = (fields.out_messages if output else fields.in_messages) is not None
    if have_json and have_rows:
        return
    rows: list[Message] | None = None
    system = None
    if key in hit:
        got = json_value(fields, key, attrs[key])
        if got is not None:
            if not have_json:
                if output:
                    fields.outputs, fields.output_value, fields.outputs_attr = got[0], got[1], key
                else:
                    fields.inputs, fields.input_value, fields.inputs_attr = got[0], got[1], key
            rows = _message_rows(fields, key, got[1], limit)
    if not output and SYSTEM_INSTRUCTIONS in hit:
        got = json_value(fields, SYSTEM_INSTRUCTIONS, attrs[SYSTEM_INSTRUCTIONS], LENIENT)
        if got is not None:
            parts = got[1]
            system = message_row(parts if isinstance(parts, str) else {"role": "system", "parts": parts}, "system")
    if system is not None and not _repeated(system, rows):
        rows = [system, *(rows or ())]
    if rows and not have_rows:
        if output:
            fields.out_messages = rows
        else:
            fields.in_messages = rows


def _repeated(system: Message, rows: list[Message] | None) -> bool:
    """Whether the input messages already hold the system instructions as system messages.

    OpenLIT sends the system message twice: in ``gen_ai.input.messages`` as sent, and again as
    ``gen_ai.system_instructions`` (one text part per system message). It is stored once.
    """
    if not rows or system[1] is None:
        return False
    said = [row[1] for row in rows if row[0] == "system" and row[1] is not None]
    return bool(said) and "\n".join(said) == system[1]


def read_otel(attrs: dict[str, Any], hit: Set[str], fields: SpanFields, max_messages: int, max_documents: int) -> None:
    """Fill what MLflow and OpenInference left None from ``gen_ai.*`` attributes."""
    if fields.span_type is None and OPERATION in hit:
        operation = attrs[OPERATION]
        span_type = OPERATIONS.get(operation) if isinstance(operation, str) else None
        if span_type is None:
            fields.error(OPERATION, f"unknown operation: {short(operation)}")
        else:
            fields.span_type = span_type
    if fields.model is None:
        fields.model = first_text(fields, attrs, hit, _MODEL_KEYS)
    if fields.provider is None:
        fields.provider = first_text(fields, attrs, hit, _PROVIDER_KEYS)
    if not hit.isdisjoint(_TOKEN_KEYS):
        if fields.input_tokens is None:
            for key in _INPUT_TOKENS:
                if key in hit:
                    fields.input_tokens = as_count(fields, key, attrs[key])
                    break
        if fields.output_tokens is None:
            for key in _OUTPUT_TOKENS:
                if key in hit:
                    fields.output_tokens = as_count(fields, key, attrs[key])
                    break
    if INPUT_MESSAGES in hit or SYSTEM_INSTRUCTIONS in hit:
        _messages(fields, attrs, hit, False, max_messages)
    if OUTPUT_MESSAGES in hit:
        _messages(fields, attrs, hit, True, max_messages)
    if not hit.isdisjoint(_OTHER_KEYS):  # one test skips the rest on chat spans
        _other(attrs, hit, fields, max_documents)


def _other(attrs: dict[str, Any], hit: Set[str], fields: SpanFields, max_documents: int) -> None:
    """Tool call arguments/result, retrieval documents/query, conversation and user ids."""
    if fields.inputs is None and "gen_ai.tool.call.arguments" in hit:
        fields.set_inputs("gen_ai.tool.call.arguments", attrs["gen_ai.tool.call.arguments"], LENIENT)
    if fields.outputs is None and "gen_ai.tool.call.result" in hit:
        fields.set_outputs("gen_ai.tool.call.result", attrs["gen_ai.tool.call.result"], LENIENT)
    if DOCUMENTS in hit and (fields.documents is None or fields.outputs is None):
        got = json_value(fields, DOCUMENTS, attrs[DOCUMENTS])
        if got is not None:
            if fields.documents is None:
                fields.documents = document_rows(fields, DOCUMENTS, got[1], max_documents)
            if fields.outputs is None:
                fields.outputs, fields.output_value, fields.outputs_attr = got[0], got[1], DOCUMENTS
    if fields.inputs is None and "gen_ai.retrieval.query.text" in hit:
        fields.set_inputs("gen_ai.retrieval.query.text", attrs["gen_ai.retrieval.query.text"], TEXT)
    if fields.session_id is None and "gen_ai.conversation.id" in hit:
        fields.session_id = as_text(fields, "gen_ai.conversation.id", attrs["gen_ai.conversation.id"])
    if fields.user_id is None and "enduser.id" in hit:
        fields.user_id = as_text(fields, "enduser.id", attrs["enduser.id"])


def read_events(
    events: list[tuple[int, int, int, str, dict[str, Any]]], fields: SpanFields, max_messages: int, max_documents: int
) -> None:
    """Messages from GenAI span events (in span order), for what the attributes left None."""
    inputs: list[Message] = []
    outputs: list[tuple[int, Message]] = []
    for _span, position, _time, name, attrs in events:
        if name == DETAILS_EVENT:
            read_otel(attrs, attrs.keys() & KEYS, fields, max_messages, max_documents)
            continue
        content = _CONTENT_EVENTS.get(name)
        if content is not None:
            key, direction = content
            got = json_value(fields, key, attrs[key]) if key in attrs else None
            rows = None if got is None else _message_rows(fields, key, got[1], max_messages)
            if rows and direction == "input":
                inputs.extend(rows)
            elif rows:
                outputs.extend((position, row) for row in rows)
            continue
        got_event = event_chat_message(name, attrs)
        if got_event is None:
            continue
        direction, row = got_event
        if direction == "input":
            inputs.append(row)
        else:
            index = attrs.get("index")
            outputs.append((index if type(index) is int else position, row))
    if inputs and fields.in_messages is None:
        fields.in_messages = _capped(fields, inputs, "input", max_messages)
        if fields.inputs is None:
            fields.inputs = messages_json(fields.in_messages)
            fields.input_value = orjson.loads(fields.inputs)
            fields.inputs_attr = "gen_ai events"
    if outputs and fields.out_messages is None:
        outputs.sort(key=lambda item: item[0])
        fields.out_messages = _capped(fields, [row for _, row in outputs], "output", max_messages)
        if fields.outputs is None:
            fields.outputs = messages_json(fields.out_messages)
            fields.output_value = orjson.loads(fields.outputs)
            fields.outputs_attr = "gen_ai.choice"


def _capped(fields: SpanFields, rows: list[Message], direction: str, limit: int) -> list[Message]:
    if len(rows) > limit:
        fields.error(f"gen_ai events ({direction})", f"{len(rows)} messages, kept the first {limit}")
        return rows[:limit]
    return rows
