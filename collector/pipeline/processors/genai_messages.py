"""Chat messages in any of the shapes GenAI producers send, reduced to one row shape, and previews.

Why a module of its own: the same message shapes reach the collector on three paths (span
attributes, span events, and OTLP log records joined later by ``store/genai_join.py``), and all
three must produce identical ``messages`` rows and identical ``inputs``/``outputs`` JSON, so the
conversion lives here once, as pure functions over decoded JSON values (no batch, no store).

Shapes understood (a message is a dict unless noted):

- OTel GenAI (``gen_ai.input.messages``): ``{role, parts: [{type: text, content} |
  {type: tool_call, id, name, arguments} | {type: tool_call_response, id, response} | ...]}``
- OpenAI chat / MLflow ``ChatMessage``: ``{role, content: str | [{type: text, text} | ...],
  tool_calls: [{id, type, function: {name, arguments}}]}``; Anthropic ``tool_use`` content parts
- legacy OTel event bodies: ``{content, role?, tool_calls?, id?}`` and ``gen_ai.choice``
  ``{index, finish_reason, message: {content, role}, tool_calls?}``
- a bare string (a message whose role the caller knows)

A row is ``(role, content text, tool calls JSON, raw JSON)``; tool calls are always normalised to
``[{"id", "name", "arguments"}]`` so SQL reads one shape whatever the producer.
"""

from __future__ import annotations

from typing import Any

import orjson

__all__ = [
    "EVENT_ROLES",
    "INPUT_EVENTS",
    "INVALID",
    "OUTPUT_EVENTS",
    "Message",
    "chat_messages",
    "content_parts",
    "dict_message_row",
    "dumps",
    "event_chat_message",
    "message_row",
    "message_rows",
    "messages_items",
    "messages_json",
    "parse_json",
    "payload_messages",
    "preview",
]

Message = tuple[str | None, str | None, str | None, str | None]
"""(role, content text, tool calls JSON, raw JSON): a ``messages`` row without its keys."""

# Legacy per-message events (span events or log records): event name -> implied role.
EVENT_ROLES = {
    "gen_ai.system.message": "system",
    "gen_ai.user.message": "user",
    "gen_ai.assistant.message": "assistant",
    "gen_ai.tool.message": "tool",
    "gen_ai.developer.message": "developer",
}
INPUT_EVENTS = frozenset(EVENT_ROLES)
OUTPUT_EVENTS = frozenset({"gen_ai.choice"})
_TEXT_PARTS = frozenset({"text", "input_text", "output_text"})
_CONTENT_KEYS = frozenset({"role", "content"})  # the keys of a plain OpenAI-style message
_PARTS_KEYS = frozenset({"role", "parts"})  # ... of a plain OTel GenAI message
_TEXT_PART_KEYS = frozenset({"type", "content"})  # ... of a plain OTel text part
INVALID = object()
"""What ``parse_json`` returns for text that is not JSON (None is a valid JSON value)."""


def parse_json(text: str) -> Any:
    """``orjson.loads`` or ``INVALID``. orjson is at least as strict as DuckDB's JSON type."""
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return INVALID


def dumps(value: Any) -> str | None:
    """JSON text, or None for what orjson cannot write (never raises in the hot loop)."""
    try:
        return orjson.dumps(value).decode()
    except TypeError:  # orjson.JSONEncodeError
        return None


def _maybe_json(value: Any) -> Any:
    """Event attributes carry lists and objects as JSON text (OTel span events hold no maps)."""
    if isinstance(value, str) and value[:1] in ("[", "{"):
        parsed = parse_json(value)
        if parsed is not INVALID:
            return parsed
    return value


def content_parts(value: Any) -> Any:
    """A message's ``content`` as it came, unless it is JSON text of a list of typed parts.

    Producers that can only send strings (OTel span event attributes, OpenLLMetry's indexed
    attributes) write a multi-part content list as JSON text, and its text is in the parts. Any
    other text is the message itself, even when it happens to be valid JSON (a tool's
    ``{"temp_c": 18}``, a user's ``[1, 2]``): decoding it would lose it, as it once did.
    """
    if type(value) is str and value[:1] == "[":
        parsed = parse_json(value)
        if type(parsed) is list and parsed and all(type(p) is dict and "type" in p for p in parsed):
            return parsed
    return value


def _calls(raw: Any) -> list[dict[str, Any]]:
    """OpenAI ``tool_calls`` (``[{id, type, function: {name, arguments}}]``, maybe JSON text).

    OpenAI sends ``arguments`` as JSON text where OTel sends an object; the text is parsed so
    ``messages.tool_calls`` has one shape (text that is not JSON is kept as it came).
    """
    raw = _maybe_json(raw)
    calls = []
    if isinstance(raw, list):
        for call in raw:
            if isinstance(call, dict):
                function = call.get("function")
                source = function if isinstance(function, dict) else call
                calls.append(
                    {
                        "id": call.get("id"),
                        "name": source.get("name"),
                        "arguments": _maybe_json(source.get("arguments")),
                    }
                )
    return calls


def _content(message: dict[str, Any], outer: dict[str, Any] | None = None) -> tuple[str | None, list[dict[str, Any]]]:
    """(text, tool calls) of a message in one pass over its parts (this runs per message per span).

    Text parts are joined by newlines; a tool response stands in when there is no text. Tool calls
    come back as ``[{"id", "name", "arguments"}]`` whichever shape sent them.
    """
    texts: list[str] = []
    calls: list[dict[str, Any]] = []
    response: Any = None
    parts = message.get("parts")
    if parts is not None:  # OTel GenAI
        if type(parts) is list:
            for part in parts:
                if type(part) is dict:
                    kind = part.get("type")
                    if kind == "text":
                        text = part.get("content")
                        if type(text) is str:
                            texts.append(text)
                    elif kind == "tool_call":
                        calls.append(
                            {"id": part.get("id"), "name": part.get("name"), "arguments": part.get("arguments")}
                        )
                    elif kind == "tool_call_response" and response is None:
                        response = part.get("response", part.get("result"))
    else:  # OpenAI / MLflow / Anthropic / legacy event bodies
        content = message.get("content")
        if type(content) is str:
            texts.append(content)
        elif type(content) is list:
            for part in content:
                if type(part) is str:
                    texts.append(part)
                elif type(part) is dict:
                    kind = part.get("type")
                    if kind in _TEXT_PARTS:
                        text = part.get("text", part.get("content"))
                        if type(text) is str:
                            texts.append(text)
                    elif kind == "tool_use":
                        calls.append({"id": part.get("id"), "name": part.get("name"), "arguments": part.get("input")})
    raw_calls = message.get("tool_calls")
    if raw_calls is None and outer is not None:
        raw_calls = outer.get("tool_calls")
    if raw_calls is not None:
        calls.extend(_calls(raw_calls))
    if texts:
        return (texts[0] if len(texts) == 1 else "\n".join(texts)), calls
    if response is not None:
        return (response if type(response) is str else dumps(response)), calls
    return None, calls


def said_by_columns(message: dict[str, Any]) -> bool:
    """Whether role and text say all of ``message``, so ``raw`` can stay NULL. Repeating every
    plain message as JSON was half of what ``messages`` wrote (the text is already in the row, in
    ``spans.attributes`` and in ``inputs``/``outputs``), and ``messages`` goes through DuckDB's WAL."""
    keys = message.keys()
    if keys <= _CONTENT_KEYS:
        return type(message.get("content")) is str
    if keys <= _PARTS_KEYS:
        parts = message.get("parts")
        if type(parts) is not list:
            return False
        for p in parts:
            if not (
                type(p) is dict
                and p.keys() <= _TEXT_PART_KEYS
                and p.get("type") == "text"
                and type(p.get("content")) is str
            ):
                return False
        return True
    return False


def _plain_row(value: dict[str, Any], default_role: str | None) -> Message | None:
    """The row of a message that ``said_by_columns`` (role and text only), in one pass; None for
    any other message. Most messages are plain, and this is the same row ``message_row`` builds
    through ``_content`` and ``said_by_columns``, in about a fifth of the time. The key checks count keys
    instead of comparing key sets: with the keys it needs present, "no other key" is a length."""
    size = len(value)
    if size != 1 and (size != 2 or "role" not in value):
        return None  # more than (role +) content or parts
    parts = value.get("parts")
    if parts is None:
        text = value.get("content")
        if type(text) is not str:
            return None
    elif type(parts) is not list:
        return None
    elif len(parts) == 1:  # the usual OTel GenAI message: one text part
        part = parts[0]
        if type(part) is not dict or len(part) != 2 or part.get("type") != "text":
            return None
        text = part.get("content")
        if type(text) is not str:
            return None
    else:
        texts: list[str] = []
        for part in parts:
            if type(part) is not dict or len(part) != 2 or part.get("type") != "text":
                return None
            content = part.get("content")
            if type(content) is not str:
                return None
            texts.append(content)
        text = "\n".join(texts) if texts else None
    role = value.get("role")
    return (role if isinstance(role, str) else default_role, text, None, None)


def message_row(value: Any, default_role: str | None = None) -> Message | None:
    """One message in any known shape -> a row; None when ``value`` is not a message."""
    if isinstance(value, str):
        return (default_role, value, None, None)
    if not isinstance(value, dict):
        return None
    return _plain_row(value, default_role) or dict_message_row(value, default_role)


def dict_message_row(value: dict[str, Any], default_role: str | None = None) -> Message:
    """``message_row`` of a dict that ``_plain_row`` did not take (tool calls, choices, extra keys)."""
    message = value
    outer = None
    inner = value.get("message")
    if "role" not in value and isinstance(inner, dict):  # gen_ai.choice body
        message, outer = inner, value
    role = message.get("role")
    text, calls = _content(message, outer)
    raw = None if outer is None and said_by_columns(value) else dumps(value)
    return (role if isinstance(role, str) else default_role, text, dumps(calls) if calls else None, raw)


def message_rows(items: list[Any]) -> list[Message | None]:
    """``message_row`` of each item: one call per message list instead of one per message."""
    plain, rich = _plain_row, dict_message_row
    return [(plain(m, None) or rich(m, None)) if type(m) is dict else message_row(m) for m in items]


def event_chat_message(name: str, body: Any) -> tuple[str, Message] | None:
    """A legacy per-message event (span event attributes or log record body) -> (direction, row)."""
    if not isinstance(body, dict):
        body = {"content": body} if isinstance(body, str) else {}
    role = EVENT_ROLES.get(name)
    if role is not None:
        direction = "input"
    elif name in OUTPUT_EVENTS:
        direction, role = "output", "assistant"
    else:
        return None
    view = {
        k: content_parts(v) if k == "content" else _maybe_json(v) if k in ("tool_calls", "message") else v
        for k, v in body.items()
    }
    row = message_row(view, role)
    if row is None:
        return None
    return direction, (row[0], row[1], row[2], None if said_by_columns(view) else dumps(body))


def messages_items(rows: list[Message]) -> list[dict[str, Any]]:
    """``[{role, content, tool_calls?}]``: the ``inputs``/``outputs`` of messages that came as events.

    Span events and log records both produce this shape, so a chat span looks the same whichever
    transport its content took; the store's join rebuilds it from ``messages`` columns.
    """
    items: list[dict[str, Any]] = []
    for role, content, calls, _raw in rows:
        item: dict[str, Any] = {"role": role, "content": content}
        if calls is not None:
            item["tool_calls"] = orjson.Fragment(calls)  # already JSON text
        items.append(item)
    return items


def messages_json(rows: list[Message]) -> str:
    """``messages_items`` as JSON text."""
    return orjson.dumps(messages_items(rows)).decode()


def _is_message(item: Any) -> bool:
    """A chat message: a role and something said (OpenAI omits ``content`` when it sends tool calls)."""
    return isinstance(item, dict) and "role" in item and ("content" in item or "parts" in item or "tool_calls" in item)


def chat_messages(value: Any, output: bool = False) -> list[dict[str, Any]] | None:
    """The chat messages a payload holds (MLflow's preview rules, plus OTel message lists).

    ``{"messages": [...]}``, ``{"choices": [{"message": ...}]}`` (every choice when ``output``, the
    first otherwise, as MLflow), Responses API ``{"input"|"output": [...]}``, ``{"request": ...}``,
    a list of messages, or one message.
    """
    if isinstance(value, list):  # a message list, or something else (documents...): decided by item 0
        if not value or not _is_message(value[0]):
            return None
        return [m for m in value if _is_message(m)]
    if not isinstance(value, dict):
        return None
    if _is_message(value):
        return [value]
    messages = value.get("messages")
    if isinstance(messages, list) and messages:
        return [m for m in messages if _is_message(m)] or None
    choices = value.get("choices")
    if isinstance(choices, list) and choices:
        found: list[Any] = [c.get("message") for c in (choices if output else choices[:1]) if isinstance(c, dict)]
        return [m for m in found if _is_message(m)] or None
    for key in ("input", "output"):
        items = value.get(key)
        if isinstance(items, list) and items:
            return [m for m in items if _is_message(m)] or None
    if "request" in value:
        return chat_messages(value["request"], output)
    return None


def payload_messages(value: Any, output: bool) -> list[Message] | None:
    """Rows for the chat payload of an LLM span's inputs/outputs (MLflow autolog, OpenInference)."""
    found = chat_messages(value, output)
    if not found:
        return None
    rows = [message_row(m) for m in found]
    return [r for r in rows if r is not None] or None


def preview(value: Any, text: str | None, role: str, max_chars: int) -> str | None:
    """MLflow's preview: the last ``role`` message's text for chat payloads, else the JSON text."""
    if text is None:
        return None
    content = None
    messages = chat_messages(value) if isinstance(value, dict | list) else None
    if messages:
        chosen = messages[-1]
        for message in reversed(messages):
            if message.get("role") == role:
                chosen = message
                break
        content = _content(chosen)[0]
    content = content or text
    if len(content) <= max_chars:
        return content
    return content[: max_chars - 3] + "..."
