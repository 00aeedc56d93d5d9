"""Reader for Traceloop's conventions: SDK decorator spans and OpenLLMetry's indexed attributes.

Traceloop's SDK (``traceloop-sdk``) and its OpenLLMetry instrumentations (``opentelemetry-
instrumentation-openai`` and siblings) name things their own way, and many pinned apps still send
the older shapes:

- decorator spans (``@workflow``, ``@task``, ``@agent``, ``@tool``): ``traceloop.span.kind``, and
  the function's arguments and result as JSON text in ``traceloop.entity.input`` /
  ``traceloop.entity.output``. The input is always wrapped as ``{"args": [...], "kwargs": {...}}``
  (``traceloop/sdk/decorators/base.py`` ``_handle_span_input``), and the SDK cuts JSON longer than
  its limit, so either may be text that is no longer JSON. ``Associations.set`` adds
  ``traceloop.association.properties.session_id`` / ``.user_id``: the span's session and user;
- OpenLLMetry before 0.55: one attribute per message field, ``gen_ai.prompt.<i>.role|content|
  tool_call_id|tool_calls.<j>.id|name|arguments`` and ``gen_ai.completion.<i>.role|content|
  finish_reason|refusal|tool_calls.<j>.*`` (completions API: ``gen_ai.prompt.0.user``; embeddings:
  ``gen_ai.prompt.<i>.content``), ``llm.request.type`` for the kind of call and
  ``llm.usage.total_tokens``. Multi-part content comes as JSON text of the part list
  (``chat_wrappers.py`` ``_set_prompts``). 0.55 moved to ``gen_ai.operation.name`` and
  ``gen_ai.input.messages``, which ``genai_otel`` reads.

Runs after the OTel reader (which already takes ``gen_ai.system``, models and the
``gen_ai.usage.*`` counts these spans carry) and fills only what is still None. The indexed keys
are found by one prefix scan, done only for spans that have ``llm.request.type`` or a message at
index 0.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from annotrace.collector.pipeline.processors.genai_fields import LENIENT, as_count, as_text, json_value, short
from annotrace.collector.pipeline.processors.genai_messages import Message, content_parts, dumps, message_row

if TYPE_CHECKING:
    from collections.abc import Set

    from annotrace.collector.pipeline.processors.genai_fields import SpanFields

__all__ = ["KEYS", "REQUEST_TYPES", "SPAN_KINDS", "read_traceloop"]

SPAN_KIND = "traceloop.span.kind"
ENTITY_INPUT = "traceloop.entity.input"
ENTITY_OUTPUT = "traceloop.entity.output"
SESSION = "traceloop.association.properties.session_id"
USER = "traceloop.association.properties.user_id"
REQUEST_TYPE = "llm.request.type"
TOTAL_TOKENS = ("llm.usage.total_tokens", "gen_ai.usage.total_tokens")  # OpenLLMetry's, then its later name
SPAN_KINDS = {"workflow": "CHAIN", "task": "CHAIN", "agent": "AGENT", "tool": "TOOL"}
"""``traceloop.span.kind`` -> MLflow span type (``unknown`` leaves the type to other readers)."""
REQUEST_TYPES = {"chat": "CHAT_MODEL", "completion": "LLM", "embedding": "EMBEDDING", "rerank": "RERANKER"}
"""``llm.request.type`` -> MLflow span type (chat is CHAT_MODEL, as ``gen_ai.operation.name`` chat)."""
_PROMPT = "gen_ai.prompt."
_COMPLETION = "gen_ai.completion."
_MARKERS = frozenset(
    f"{prefix}0.{field}" for prefix in (_PROMPT, _COMPLETION) for field in ("role", "content", "user", "finish_reason")
)
"""Exact keys of a message at index 0: they mark a span with indexed messages but no request type."""
_MESSAGE_KEYS = frozenset({REQUEST_TYPE, *_MARKERS})
KEYS = frozenset({SPAN_KIND, ENTITY_INPUT, ENTITY_OUTPUT, SESSION, USER, *TOTAL_TOKENS, *_MESSAGE_KEYS})


def _unwrapped(value: Any) -> Any:
    """The decorated function's input without Traceloop's wrapper, when that loses nothing.

    Only keyword arguments: the kwargs object (MLflow's inputs are named arguments too). One
    positional argument and no keywords: that argument. Anything else stays ``{args, kwargs}``,
    since the parameter names are not sent.
    """
    if type(value) is not dict or value.keys() != {"args", "kwargs"}:
        return value
    args, kwargs = value["args"], value["kwargs"]
    if type(args) is not list or type(kwargs) is not dict:
        return value
    if not args:
        return kwargs
    if len(args) == 1 and not kwargs:
        return args[0]
    return value


def _entity(fields: SpanFields, attrs: dict[str, Any], hit: Set[str]) -> None:
    """Decorator spans: the span type, and the function's arguments and result."""
    if fields.span_type is None and SPAN_KIND in hit:
        kind = attrs[SPAN_KIND]
        span_type = SPAN_KINDS.get(kind) if isinstance(kind, str) else None
        if span_type is not None:
            fields.span_type = span_type
        elif kind != "unknown":
            fields.error(SPAN_KIND, f"unknown span kind: {short(kind)}")
    if fields.inputs is None and ENTITY_INPUT in hit:
        got = json_value(fields, ENTITY_INPUT, attrs[ENTITY_INPUT], LENIENT)
        if got is not None:
            value = _unwrapped(got[1])
            text = got[0] if value is got[1] else dumps(value)
            if text is not None:
                fields.inputs, fields.input_value, fields.inputs_attr = text, value, ENTITY_INPUT
    if fields.outputs is None and ENTITY_OUTPUT in hit:
        fields.set_outputs(ENTITY_OUTPUT, attrs[ENTITY_OUTPUT], LENIENT)


def _indexed(attrs: dict[str, Any]) -> tuple[dict[int, dict[str, Any]], dict[int, dict[str, Any]]]:
    """``gen_ai.prompt.<i>.<field>`` / ``gen_ai.completion.<i>.<field>`` -> ``{i: {field: value}}`` each.

    Keys whose index is not a number (``gen_ai.prompt.prompt_filter_results``, ``.error``) are
    OpenLLMetry's own extras, not messages, and are left in the raw attributes.
    """
    prompts: dict[int, dict[str, Any]] = {}
    completions: dict[int, dict[str, Any]] = {}
    for key, value in attrs.items():
        if key.startswith(_PROMPT):
            target, rest = prompts, key[len(_PROMPT) :]
        elif key.startswith(_COMPLETION):
            target, rest = completions, key[len(_COMPLETION) :]
        else:
            continue
        number, _, field = rest.partition(".")
        if number.isdigit() and field:
            target.setdefault(int(number), {})[field] = value
    return prompts, completions


def _message(flat: dict[str, Any], default_role: str) -> dict[str, Any]:
    """One message's fields -> an OpenAI-style message (the shape ``message_row`` reads)."""
    message: dict[str, Any] = {}
    calls: dict[int, dict[str, Any]] = {}
    for field, value in flat.items():
        if field.startswith("tool_calls."):
            number, _, leaf = field[len("tool_calls.") :].partition(".")
            if number.isdigit() and leaf:
                calls.setdefault(int(number), {})[leaf] = value
                continue
        if field == "user":  # the completions API's prompt
            message.setdefault("role", "user")
            field = "content"
        message[field] = content_parts(value) if field == "content" else value
    message.setdefault("role", default_role)
    if calls:
        message["tool_calls"] = [
            {
                "id": call.get("id"),
                "type": "function",
                "function": {"name": call.get("name"), "arguments": call.get("arguments")},
            }
            for call in (calls[j] for j in sorted(calls))
        ]
    return message


def _rows(
    fields: SpanFields, attribute: str, groups: dict[int, dict[str, Any]], default_role: str, limit: int
) -> tuple[list[dict[str, Any]], list[Message]]:
    messages = [_message(groups[i], default_role) for i in sorted(groups)]
    if len(messages) > limit:
        fields.error(attribute, f"{len(messages)} messages, kept the first {limit}")
        messages = messages[:limit]
    rows = [message_row(m, default_role) for m in messages]
    return messages, [row for row in rows if row is not None]


def _messages(fields: SpanFields, attrs: dict[str, Any], limit: int) -> None:
    """Pre-0.55 OpenLLMetry messages -> message rows, and inputs/outputs as OpenAI message lists."""
    prompts, completions = _indexed(attrs)
    if prompts and fields.span_type == "EMBEDDING":  # texts to embed, not a conversation
        if fields.inputs is None:
            texts = [prompts[i].get("content") for i in sorted(prompts)]
            fields.set_inputs("gen_ai.prompt", texts)
        return
    if prompts and fields.in_messages is None:
        messages, rows = _rows(fields, "gen_ai.prompt", prompts, "user", limit)
        fields.in_messages = rows or None
        if fields.inputs is None:
            fields.set_inputs("gen_ai.prompt", messages)
    if completions and fields.out_messages is None:
        messages, rows = _rows(fields, "gen_ai.completion", completions, "assistant", limit)
        fields.out_messages = rows or None
        if fields.outputs is None:
            fields.set_outputs("gen_ai.completion", messages)


def read_traceloop(attrs: dict[str, Any], hit: Set[str], fields: SpanFields, max_messages: int) -> None:
    """Fill what the other readers left None from Traceloop / OpenLLMetry attributes."""
    if SPAN_KIND in hit or ENTITY_INPUT in hit or ENTITY_OUTPUT in hit:
        _entity(fields, attrs, hit)
    if fields.span_type is None and REQUEST_TYPE in hit:
        request_type = attrs[REQUEST_TYPE]
        span_type = REQUEST_TYPES.get(request_type) if isinstance(request_type, str) else None
        if span_type is not None:
            fields.span_type = span_type
        elif request_type != "unknown":
            fields.error(REQUEST_TYPE, f"unknown request type: {short(request_type)}")
    if fields.session_id is None and SESSION in hit:
        fields.session_id = as_text(fields, SESSION, attrs[SESSION])
    if fields.user_id is None and USER in hit:
        fields.user_id = as_text(fields, USER, attrs[USER])
    if fields.total_tokens is None:
        for key in TOTAL_TOKENS:
            if key in hit:
                fields.total_tokens = as_count(fields, key, attrs[key])
                break
    if not hit.isdisjoint(_MESSAGE_KEYS) and (fields.in_messages is None or fields.out_messages is None):
        _messages(fields, attrs, max_messages)
