"""What the Review App reads for one screen, and the one writer job that saves an item's answers.

Why apart from ``labeling.py``: a Review App screen shows a whole item (the request, the chat,
the retrieved documents, the session's questions, my earlier answers, my place in the queue), and
moving to the next item must stay well under 200 ms in the browser, so ``screen`` gathers it in a
fixed handful of queries on one cursor (7 for an item, whatever the queue length or the number
of questions), shaped for the page. The rules stay where they are: answers go through
``labeling_answers.answer_all`` and ``label_schemas.check_answer`` (the one place an answer is judged).

A form carries the ``fingerprint`` of the questions it showed (a hash of the session's schema
definitions, in order). ``submit`` recomputes it inside its writer job, so a post made against
questions that changed since the page was rendered saves nothing (``StaleForm``), and the
answers it does save are all saved or none (``labeling_answers.answer_all``).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import duckdb
import orjson

from annotrace.collector.errors import InvalidParameter, NotFound, PermissionDenied
from annotrace.collector.ids import trace_hex
from annotrace.collector.ids import trace_id as public_trace_id
from annotrace.collector.store.queries import label_schemas as label_schemas_queries
from annotrace.collector.store.queries import labeling, labeling_answers, review_documents

DONE = ("completed", "skipped")
MAX_EXPERIMENT_SCHEMAS = 10_000

# My status on an item; with none of my own, a queue item someone completed or declined (the shared status,
# schema 0040; always pending in a labeling session) counts as completed or skipped for me too (MLflow's pool).
MINE = (
    "coalesce(s.status, CASE i.status WHEN 'complete' THEN 'completed' WHEN 'declined' THEN 'skipped' "
    "ELSE 'pending' END)"
)
MY_QUEUE = (
    f"SELECT i.trace_id, i.source_trace_id, {MINE} FROM labeling_items i "
    "LEFT JOIN labeling_item_status s "
    "ON s.session_id = i.session_id AND s.trace_id = i.trace_id AND s.user_id = ? "
    "WHERE i.session_id = ? ORDER BY i.position"
)
MY_COUNTS = (
    f"SELECT i.session_id, count(*), count(*) FILTER (WHERE {MINE} = 'completed'), "
    f"count(*) FILTER (WHERE {MINE} = 'skipped') FROM labeling_items i "
    "LEFT JOIN labeling_item_status s "
    "ON s.session_id = i.session_id AND s.trace_id = i.trace_id AND s.user_id = ? "
    "WHERE list_contains(?::VARCHAR[], i.session_id) GROUP BY i.session_id"
)
TRACE = "SELECT name, request, response, request_time, execution_duration_ms FROM traces WHERE trace_id = ?"
MESSAGES = (
    "SELECT m.span_id, m.direction, m.role, m.content, m.tool_calls FROM messages m "
    "JOIN spans s ON s.trace_id = m.trace_id AND s.span_id = m.span_id "
    "WHERE m.trace_key = coalesce(try_cast('0x' || right($1, 16) AS UBIGINT), 0) AND m.trace_id = $1 "
    "ORDER BY s.start_time, m.span_id, m.direction, m.position"
)
DOCUMENTS = (
    "SELECT d.span_id, d.position, d.document_id, d.content, d.score, d.doc_uri FROM documents d "
    "JOIN spans s ON s.trace_id = d.trace_id AND s.span_id = d.span_id "
    "WHERE d.trace_key = coalesce(try_cast('0x' || right($1, 16) AS UBIGINT), 0) AND d.trace_id = $1 "
    "ORDER BY s.start_time, d.span_id, d.position"
)
PREVIEWS = "SELECT trace_id, request_preview FROM traces WHERE list_contains(?::VARCHAR[], trace_id)"
MY_ANSWERS = (
    "SELECT trace_id, assessment_name, value, rationale FROM assessments "
    "WHERE list_contains(?::VARCHAR[], trace_id) AND source_type = 'HUMAN' AND source_id = ? AND valid "
    "ORDER BY create_time"
)


class StaleForm(InvalidParameter):
    """The questions changed between showing a form and posting it; nothing was saved."""


@dataclass(frozen=True, slots=True)
class QueueEntry:
    trace_id: str
    source_trace_id: str
    status: str  # this labeler's: pending, in_progress, completed or skipped


@dataclass(frozen=True, slots=True)
class ChatMessage:
    span_id: str
    direction: str  # input | output
    role: str | None
    content: str | None
    tool_calls: Any


@dataclass(frozen=True, slots=True)
class Document:
    span_id: str
    position: int
    document_id: str | None
    content: str | None
    score: float | None
    doc_uri: str | None


@dataclass(frozen=True, slots=True)
class ItemContent:
    trace_id: str
    name: str | None
    request: Any  # decoded JSON
    response: Any
    request_time: datetime | None
    duration_ms: float | None
    messages: list[ChatMessage]
    documents: list[Document]
    relevance: dict[tuple[str, int], bool] = field(default_factory=dict)  # (span, position) -> my answer


@dataclass(frozen=True, slots=True)
class MyAnswer:
    value: Any
    comment: str | None


@dataclass(frozen=True, slots=True)
class Screen:
    """One Review App screen: an item (``index`` set) or, when nothing is left, the summary."""

    session: labeling.Session
    schemas: list[label_schemas_queries.LabelSchema]  # the session's order; deleted ones are left out
    missing_schemas: list[str]
    fingerprint: str
    queue: list[QueueEntry]
    index: int | None
    content: ItemContent | None  # None for the summary, or when read ``with_content=False``
    answers: dict[str, dict[str, MyAnswer]]  # trace id -> schema -> my answer (the item's, or all for the summary)
    previews: dict[str, str | None]  # trace id -> request preview (for the summary only)


@dataclass(frozen=True, slots=True)
class SessionProgress:
    session: labeling.Session
    total: int
    completed: int
    skipped: int


def _decode(text: Any) -> Any:
    if text is None:
        return None
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return text


def fingerprint(names: list[str], schemas: list[label_schemas_queries.LabelSchema]) -> str:
    """A hash of the questions as shown: each schema's definition (not its timestamps, so a script
    that re-creates an identical schema with ``overwrite=True`` does not invalidate open pages)."""
    by_name = {s.name: s for s in schemas}
    shape = [
        [
            name,
            *(
                (s.type, s.title, s.instruction, s.enable_comment, s.input_type, s.input)
                if (s := by_name.get(name)) is not None
                else ()
            ),
        ]
        for name in names
    ]
    return hashlib.sha256(orjson.dumps(shape, option=orjson.OPT_SORT_KEYS)).hexdigest()[:16]


def _labelable(cursor: duckdb.DuckDBPyConnection, session_id: str, user: str) -> labeling.Session:
    session = labeling.get(cursor, session_id)
    if not labeling.may_label(session, user):
        raise PermissionDenied(
            f"User '{user}' is not assigned to labeling session '{session.name}'; it is assigned to "
            f"{', '.join(session.assigned_users)}."
        )
    return session


def _schemas(
    cursor: duckdb.DuckDBPyConnection, session: labeling.Session
) -> tuple[list[label_schemas_queries.LabelSchema], list[str], str]:
    # one query: an experiment has a few schemas (MAX_EXPERIMENT_SCHEMAS is far above any real count)
    found = {
        s.name: s for s in label_schemas_queries.list_schemas(cursor, session.experiment_id, MAX_EXPERIMENT_SCHEMAS, 0)
    }
    ordered = [found[name] for name in session.label_schemas if name in found]
    missing = [name for name in session.label_schemas if name not in found]
    return ordered, missing, fingerprint(session.label_schemas, ordered)


def _my_answers(cursor: duckdb.DuckDBPyConnection, trace_ids: list[str], user: str) -> dict[str, dict[str, MyAnswer]]:
    out: dict[str, dict[str, MyAnswer]] = {trace_id: {} for trace_id in trace_ids}
    if trace_ids:
        for trace_id, name, value, rationale in cursor.execute(MY_ANSWERS, [trace_ids, user]).fetchall():
            out[trace_id][name] = MyAnswer(_decode(value), rationale)  # newest wins
    return out


def _content(cursor: duckdb.DuckDBPyConnection, trace_id: str, user: str) -> ItemContent:
    rows = cursor.execute(TRACE, [trace_id]).fetchall()
    name, request, response, request_time, duration = rows[0] if rows else (None, None, None, None, None)
    messages = [
        ChatMessage(span, direction, role, content, _decode(calls))
        for span, direction, role, content, calls in cursor.execute(MESSAGES, [trace_id]).fetchall()
    ]
    documents = [Document(*row) for row in cursor.execute(DOCUMENTS, [trace_id]).fetchall()]
    return ItemContent(
        trace_id,
        name,
        _decode(request),
        _decode(response),
        request_time,
        duration,
        messages,
        documents,
        review_documents.mine(cursor, trace_id, user) if documents else {},
    )


def _pick(queue: list[QueueEntry], item: int | str | None) -> int | None:
    """``item``: an index, a trace id (with or without ``tr-``), or None for my first open item."""
    if item is None:
        return next((i for i, entry in enumerate(queue) if entry.status not in DONE), None)
    if isinstance(item, int):
        if 0 <= item < len(queue):
            return item
        raise NotFound(f"This session has no item {item + 1}; it has {len(queue)}.")
    try:
        wanted = public_trace_id(trace_hex(item, "item"))
    except InvalidParameter:
        raise NotFound(f"'{item}' is not an item of this session.") from None
    for i, entry in enumerate(queue):
        if wanted in (entry.trace_id, entry.source_trace_id):
            return i
    raise NotFound(f"Trace '{item}' is not an item of this session.")


def screen(
    cursor: duckdb.DuckDBPyConnection,
    session_id: str,
    user: str,
    item: int | str | None,
    *,
    with_content: bool = True,
    summary: bool = False,
) -> Screen:
    """The screen ``user`` sees; NotFound (no session / no such item) or PermissionDenied.

    ``with_content=False`` leaves the item's request/response/documents out (``content`` None): what
    a Submit needs to judge and save answers and to find the next item, three queries fewer.
    ``summary`` shows the summary whatever is open (nothing left for me in a leased session)."""
    session = _labelable(cursor, session_id, user)
    schemas, missing, printed = _schemas(cursor, session)
    queue = [QueueEntry(*row) for row in cursor.execute(MY_QUEUE, [user, session_id]).fetchall()]
    index = None if summary else _pick(queue, item)
    if index is None:
        ids = [entry.trace_id for entry in queue]
        previews = dict(cursor.execute(PREVIEWS, [ids]).fetchall()) if ids else {}
        return Screen(session, schemas, missing, printed, queue, None, None, _my_answers(cursor, ids, user), previews)
    trace_id = queue[index].trace_id
    return Screen(
        session,
        schemas,
        missing,
        printed,
        queue,
        index,
        _content(cursor, trace_id, user) if with_content else None,
        _my_answers(cursor, [trace_id], user),
        {},
    )


def my_sessions(cursor: duckdb.DuckDBPyConnection, user: str) -> list[SessionProgress]:
    """The sessions ``user`` may label (newest first) with their own progress in each."""
    sessions = labeling.list_sessions(cursor, None, user)
    counts = {row[0]: row[1:] for row in cursor.execute(MY_COUNTS, [user, [s.session_id for s in sessions]]).fetchall()}
    return [SessionProgress(s, *counts.get(s.session_id, (0, 0, 0))) for s in sessions]


# -- writer job ----------------------------------------------------------------------------------
def submit(
    conn: duckdb.DuckDBPyConnection,
    session_id: str,
    trace_id: str,
    user: str,
    shown: str,
    answers: list[tuple[str, Any, str | None]],
    now: datetime,
    documents: list[tuple[str, int, bool]] | None = None,
) -> str | None:
    """Save ``(schema, value, comment)`` answers of one item, and ``(span, position, relevant)``
    answers on its retrieved documents, in this one transaction, unless the questions changed
    since the form was shown (``StaleForm``); returns the labeler's new status."""
    session = _labelable(conn, session_id, user)
    if _schemas(conn, session)[2] != shown:
        raise StaleForm("The questions of this session changed after this page was shown; nothing was saved.")
    status = labeling_answers.answer_all(
        conn,
        [labeling_answers.Answer(session_id, trace_id, user, name, value, comment) for name, value, comment in answers],
        now,
    )
    review_documents.save(conn, session_id, trace_id, user, documents or [], now)
    return status
