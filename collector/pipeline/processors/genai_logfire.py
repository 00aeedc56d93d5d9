"""Reader for Pydantic Logfire's first LLM span format (``instrument_openai(version=1)`` and the like).

Logfire's OpenAI integration can record a call in two ways. The current one (``version=2``, the
default) sends ``gen_ai.input.messages`` / ``gen_ai.output.messages``, which ``genai_otel`` reads.
The first (``version=1``, and every Logfire before the switch) sends the request body as sent to
OpenAI in ``request_data`` and the answer in ``response_data``, both as JSON text (Logfire writes
objects that way, described by ``logfire.json_schema``):

- chat: ``request_data`` ``{"model", "messages": [...], ...}``; ``response_data`` ``{"message":
  {role, content, tool_calls, ...}, "usage": {...}}`` (streams: the rebuilt message, or
  ``{"combined_chunk_content", "chunk_count"}``);
- completions: ``{"model", "prompt"}``; ``{"finish_reason", "text", "usage"}``;
- embeddings: ``{"model", "input"}``; ``{"usage"}``;
- Anthropic (``instrument_anthropic(version=1)``): Anthropic's request body, whose system prompt is
  the ``system`` parameter; the answer rebuilt in OpenAI's message shape, usage in Anthropic's names.

(``logfire/_internal/integrations/llm_providers/openai.py``: ``get_endpoint_config``,
``on_response``, the ``*StreamState.get_response_data`` methods; ``anthropic.py``.) The
Responses API's first format keeps its messages in an ``events`` attribute instead, where inputs
and outputs cannot be told apart: not read here. Current Logfire also sets
``gen_ai.operation.name``, ``gen_ai.request.model`` and ``gen_ai.usage.*``, which the OTel reader
takes first; older releases only had the JSON, so model, span type and tokens are read from it
too. ``request_data`` is a common name, so a span counts as Logfire's only when it also has
``logfire.msg``, which Logfire sets on every span.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from annotrace.collector.pipeline.processors.genai_fields import as_count, as_text, json_value
from annotrace.collector.pipeline.processors.genai_messages import Message, message_row, message_rows

if TYPE_CHECKING:
    from collections.abc import Set

    from annotrace.collector.pipeline.processors.genai_fields import SpanFields

__all__ = ["KEYS", "read_logfire"]

REQUEST = "request_data"
RESPONSE = "response_data"
MARK = "logfire.msg"
KEYS = frozenset({REQUEST, RESPONSE})
_USAGE = (
    ("prompt_tokens", "input_tokens", "input"),
    ("completion_tokens", "output_tokens", "output"),
    ("total_tokens", "total_tokens", "total"),
)
"""(chat/completions name, Responses API name, field) of the counts in ``response_data.usage``."""


def _request(fields: SpanFields, request: dict[str, Any], limit: int) -> None:
    if fields.model is None and "model" in request:
        fields.model = as_text(fields, f"{REQUEST}.model", request["model"])
    messages = request.get("messages")
    if fields.span_type is None:
        fields.span_type = "CHAT_MODEL" if messages is not None else "LLM" if "prompt" in request else None
    if fields.in_messages is not None:
        return
    if isinstance(messages, list):
        if len(messages) > limit:
            fields.error(f"{REQUEST}.messages", f"{len(messages)} messages, kept the first {limit}")
            messages = messages[:limit]
        rows = [row for row in message_rows(messages) if row is not None]
        system = request.get("system")  # Anthropic: the system prompt is a parameter, text or text blocks
        if isinstance(system, str | list) and system:
            row = message_row({"role": "system", "content": system})
            if row is not None:
                rows.insert(0, row)
        fields.in_messages = rows or None
    elif isinstance(request.get("prompt"), str):
        fields.in_messages = [("user", request["prompt"], None, None)]


def _response(fields: SpanFields, response: dict[str, Any]) -> None:
    if fields.out_messages is None:
        row: Message | None = None
        message = response.get("message")
        if isinstance(message, dict):
            row = message_row(message, "assistant")
        elif isinstance(response.get("text"), str):  # completions
            row = ("assistant", response["text"], None, None)
        elif isinstance(response.get("combined_chunk_content"), str) and response["combined_chunk_content"]:
            row = ("assistant", response["combined_chunk_content"], None, None)
        if row is not None:
            fields.out_messages = [row]
    usage = response.get("usage")
    if isinstance(usage, dict):
        for chat_name, responses_name, field in _USAGE:
            name = chat_name if chat_name in usage else responses_name
            if name in usage and usage[name] is not None and getattr(fields, f"{field}_tokens") is None:
                setattr(fields, f"{field}_tokens", as_count(fields, f"{RESPONSE}.usage.{name}", usage[name]))


def read_logfire(attrs: dict[str, Any], hit: Set[str], fields: SpanFields, max_messages: int) -> None:
    """Fill what the other readers left None from Logfire's ``request_data`` / ``response_data``."""
    if MARK not in attrs:
        return
    if REQUEST in hit:
        got = json_value(fields, REQUEST, attrs[REQUEST])
        if got is not None:
            if fields.inputs is None:
                fields.inputs, fields.input_value, fields.inputs_attr = got[0], got[1], REQUEST
            if isinstance(got[1], dict):
                _request(fields, got[1], max_messages)
    if RESPONSE in hit:
        got = json_value(fields, RESPONSE, attrs[RESPONSE])
        if got is not None:
            if fields.outputs is None:
                fields.outputs, fields.output_value, fields.outputs_attr = got[0], got[1], RESPONSE
            if isinstance(got[1], dict):
                _response(fields, got[1])
