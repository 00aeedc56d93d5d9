"""How a Review App item reads: the request, the response as a chat, the retrieved documents.

Why apart from the route handlers: turning stored JSON into something an expert reads (a chat
instead of ``{"messages": [...]}``, the assistant's answer instead of a whole ChatCompletion, a
link only for http(s) document URIs) is presentation logic with its own rules, and keeping it in
plain functions over the store's dataclasses keeps ``review.py`` to routing.

The request: the chat messages of the trace's request in whatever shape the producer sent them
(OpenAI/MLflow ``content``, OTel GenAI ``parts``, ``{"messages": ...}``...), read by the same
functions that make the ``messages`` rows the trace page shows (``genai_messages``), so the two
pages cannot disagree; with no request at all, the input messages of the first span that has any.

The response: the output messages of the last span that produced chat output (the model call
whose answer the user got), with that call's prompt available under it; without chat messages,
the trace's response (its assistant text when it is an OpenAI-style completion, else the value).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from annotrace.collector.pipeline.processors import genai_messages

if TYPE_CHECKING:
    from annotrace.collector.store.queries.labeling_review import ChatMessage, Document, ItemContent

DOCUMENT_FIELD = "doc:"  # form fields of the per-document relevance answers
CHAT_KEYS = frozenset({"messages", "input", "request"})  # keys whose value a request's chat came from
MAX_FIELD_CHARS = 20_000  # a very long value is cut for display (the trace page shows all of it)


@dataclass(frozen=True, slots=True)
class Bubble:
    role: str
    content: str
    tool_calls: list[str]


@dataclass(frozen=True, slots=True)
class Field:
    key: str
    value: str
    block: bool  # JSON or multi-line: shown in a <pre>


@dataclass(frozen=True, slots=True)
class DocumentView:
    document_id: str | None
    content: str
    doc_uri: str | None
    link: bool  # only http(s) URIs become links
    score: float | None
    field: str  # the form field of my relevant / not relevant answer: "doc:<span id>:<position>"
    relevant: bool | None  # my earlier answer, if any


@dataclass(frozen=True, slots=True)
class Content:
    """An item's content as the page shows it (also its JSON twin)."""

    trace_name: str | None
    request_chat: list[Bubble]
    request_fields: list[Field]
    response_chat: list[Bubble]
    prompt_chat: list[Bubble]
    response_fields: list[Field]
    documents: list[DocumentView]


def _cut(text: str) -> str:
    return text if len(text) <= MAX_FIELD_CHARS else text[:MAX_FIELD_CHARS] + " …"


def _pretty(value: Any) -> str:
    return _cut(json.dumps(value, indent=2, ensure_ascii=False, default=str))


def _tool_call_text(call: Any) -> str:
    if isinstance(call, dict):
        inner = call.get("function")
        function: dict[str, Any] = inner if isinstance(inner, dict) else call
        name, arguments = function.get("name"), function.get("arguments")
        if isinstance(arguments, (dict, list)):
            arguments = json.dumps(arguments, ensure_ascii=False)
        return f"{name}({arguments or ''})"
    return str(call)


def _bubbles_of(messages: Any) -> list[Bubble] | None:
    """A JSON list of messages (any shape ``genai_messages`` reads) as bubbles, or None when it is not one."""
    if not isinstance(messages, list) or not messages or not all(isinstance(m, dict) and "role" in m for m in messages):
        return None
    return _row_bubbles(genai_messages.message_rows(messages))


def _row_bubbles(rows: list[genai_messages.Message | None]) -> list[Bubble]:
    out = []
    for row in rows:
        if row is None:
            continue
        role, text, calls, _raw = row
        parsed = genai_messages.parse_json(calls) if calls else []
        out.append(
            Bubble(
                role or "message",
                _cut(text or ""),
                [_tool_call_text(c) for c in parsed] if isinstance(parsed, list) else [],
            )
        )
    return out


def _request_chat(request: Any) -> list[Bubble] | None:
    """The request's chat: ``{"messages": [...]}``, a message list, one message, and the other
    shapes ``genai_messages.chat_messages`` knows."""
    found = genai_messages.chat_messages(request)
    return _row_bubbles(genai_messages.message_rows(found)) if found else None


def _fields(value: Any) -> list[Field]:
    if value is None:
        return []
    if isinstance(value, dict):
        out = []
        for key, item in value.items():
            text = item if isinstance(item, str) else _pretty(item)
            out.append(Field(str(key), _cut(text), not isinstance(item, str) or "\n" in item))
        return out
    if isinstance(value, str):
        return [Field("", _cut(value), True)]
    return [Field("", _pretty(value), True)]


def _completion_text(value: Any) -> list[Bubble] | None:
    """The assistant message(s) of an OpenAI-style completion (``choices[].message``)."""
    if isinstance(value, dict) and isinstance(value.get("choices"), list):
        found = [c.get("message") for c in value["choices"] if isinstance(c, dict)]
        return _bubbles_of([m for m in found if isinstance(m, dict)])
    return None


def _stored_bubbles(messages: list[ChatMessage]) -> list[Bubble]:
    return [
        Bubble(
            m.role or "message",
            _cut(m.content or ""),
            [_tool_call_text(c) for c in m.tool_calls] if isinstance(m.tool_calls, list) else [],
        )
        for m in messages
    ]


def _document(doc: Document, relevance: dict[tuple[str, int], bool]) -> DocumentView:
    uri = doc.doc_uri
    return DocumentView(
        doc.document_id,
        _cut(doc.content or ""),
        uri,
        uri is not None and uri.lower().startswith(("http://", "https://")),
        doc.score,
        f"{DOCUMENT_FIELD}{doc.span_id}:{doc.position}",
        relevance.get((doc.span_id, doc.position)),
    )


def document_marks(form: Any) -> list[tuple[str, int, bool]]:
    """The posted relevant / not relevant answers: ``doc:<span id>:<position>`` = true | false
    (a document left unanswered posts nothing)."""
    out = []
    for key in form:
        if not str(key).startswith(DOCUMENT_FIELD):
            continue
        span_id, _, position = str(key)[len(DOCUMENT_FIELD) :].partition(":")
        value = str(form.get(key))
        if position.isdigit() and value in ("true", "false"):
            out.append((span_id, int(position), value == "true"))
    return out


def content(item: ItemContent) -> Content:
    request = item.request
    request_chat = _request_chat(request)
    request_fields = [] if request_chat else _fields(request)
    if request_chat and isinstance(request, dict) and len(request) > 1 and "role" not in request:
        request_fields = _fields({k: v for k, v in request.items() if k not in CHAT_KEYS})
    if request is None and not request_chat:
        inputs = [m for m in item.messages if m.direction == "input"]
        request_chat = _stored_bubbles([m for m in inputs if m.span_id == inputs[0].span_id]) if inputs else []
    outputs = [m for m in item.messages if m.direction == "output"]
    response_chat: list[Bubble] = []
    prompt_chat: list[Bubble] = []
    response_fields: list[Field] = []
    if outputs:
        last_span = outputs[-1].span_id
        response_chat = _stored_bubbles([m for m in outputs if m.span_id == last_span])
        prompt_chat = _stored_bubbles([m for m in item.messages if m.span_id == last_span and m.direction == "input"])
    else:
        response_chat = _completion_text(item.response) or []
        if not response_chat:
            response_fields = _fields(item.response)
    return Content(
        item.name,
        request_chat or [],
        request_fields,
        response_chat,
        prompt_chat,
        response_fields,
        [_document(d, item.relevance) for d in item.documents],
    )
