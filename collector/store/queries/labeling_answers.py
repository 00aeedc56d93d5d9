"""A labeler's answers in a labeling session or review queue: storing them as assessments on the
item and moving the labeler's status on (``labeling.py`` holds the sessions and their items).

An answer is an ordinary assessment on the copy (``assessments.create`` or ``update``, so history
and override rules hold); the session only tracks each labeler's status:

    (no row) pending --answer--> in_progress --all schemas answered--> completed
          \\--skip--> skipped   (answering a skipped item moves it on again)

Why apart from ``labeling.py``: the answer rules (who may answer, reviewers_per_item, the status
machine) are read and changed together, and the session CRUD is not part of them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import duckdb

from annotrace.collector.errors import InvalidParameter, NotFound, PermissionDenied
from annotrace.collector.ids import new_assessment_id
from annotrace.collector.store.queries import assessments as assessments_queries
from annotrace.collector.store.queries import audit, label_schemas
from annotrace.collector.store.queries.labeling import ITEM, Session, get, may_label

# labelers other than $user who have answered the item (their status moved past pending)
REVIEWERS = (
    "SELECT count(DISTINCT user_id) FROM labeling_item_status WHERE session_id = ? AND trace_id = ? "
    "AND status IN ('in_progress', 'completed') AND user_id <> ?"
)
END_LEASE = "DELETE FROM labeling_leases WHERE session_id = ? AND user_id = ?"
COMPLETED_BY = (
    "SELECT count(*) FROM labeling_item_status WHERE session_id = ? AND trace_id = ? AND status = 'completed'"
)
STATUS_OF = "SELECT status FROM labeling_item_status WHERE session_id = ? AND trace_id = ? AND user_id = ?"
INSERT_STATUS = "INSERT INTO labeling_item_status VALUES (?, ?, ?, ?, ?)"
SET_STATUS = (
    "UPDATE labeling_item_status SET status = ?, update_time = ? WHERE session_id = ? AND trace_id = ? AND user_id = ?"
)
ANSWERED = (
    "SELECT DISTINCT assessment_name FROM assessments WHERE trace_id = ? AND source_type = 'HUMAN' "
    "AND source_id = ? AND valid"
)
MY_ANSWER = (
    "SELECT assessment_id FROM assessments WHERE trace_id = ? AND assessment_name = ? "
    "AND source_type = 'HUMAN' AND source_id = ? AND valid ORDER BY create_time DESC LIMIT 1"
)
MY_ANSWERS = (
    "SELECT assessment_name, assessment_id FROM assessments WHERE trace_id = ? AND source_type = 'HUMAN' "
    "AND source_id = ? AND valid ORDER BY create_time"
)
# A queue item's shared status (schema 0040): the first labeler to finish it completes it (MLflow's "Mark complete")
ITEM_STATUS = "SELECT status, completed_by, completed_time FROM labeling_items WHERE session_id = ? AND trace_id = ?"
COMPLETE_ITEM = (
    "UPDATE labeling_items SET status = 'complete', completed_by = ?, completed_time = ?, "
    "last_update_time = ? WHERE session_id = ? AND trace_id = ? AND status = 'pending'"
)


@dataclass(frozen=True, slots=True)
class Answer:
    """One labeler's answer to one schema on one item (validated against the schema in the job).

    ``comment`` None keeps an earlier answer's comment; ``""`` clears it (a new answer stores no
    rationale for ``""``)."""

    session_id: str
    trace_id: str
    user: str
    schema: str
    value: Any
    comment: str | None = None


def answer(conn: duckdb.DuckDBPyConnection, a: Answer, now: datetime) -> tuple[assessments_queries.Assessment, str]:
    """Store ``a`` as an assessment on the item (a labeler's second answer to a schema updates the
    first) and move the labeler's status on; returns the assessment and the new status."""
    session = _session_item(conn, a.session_id, a.trace_id, a.user)
    _check_room(conn, session, a.trace_id, a.user)
    previous = conn.execute(MY_ANSWER, [a.trace_id, a.schema, a.user]).fetchall()
    stored = _store_answer(conn, session, a, previous[0][0] if previous else None, now)
    answered = {row[0] for row in conn.execute(ANSWERED, [a.trace_id, a.user]).fetchall()}
    return stored, _set_progress(conn, session, a.trace_id, a.user, answered, now)


def answer_all(conn: duckdb.DuckDBPyConnection, answers: list[Answer], now: datetime) -> str | None:
    """One labeler's answers to several schemas of one item, as one writer job (the Review App's
    Submit): every one is stored, or, when one fails its schema, none. The session, the item, my
    earlier answers and the status are read and moved once (17 statements for 3 answers instead of
    34 through ``answer``: a Submit is on the path of the Review App's 200 ms target). Returns the
    new status (None for no answers)."""
    if not answers:
        return None
    first = answers[0]
    if any((a.session_id, a.trace_id, a.user) != (first.session_id, first.trace_id, first.user) for a in answers):
        raise InvalidParameter("answer_all takes the answers of one labeler on one item of one session.")
    session = _session_item(conn, first.session_id, first.trace_id, first.user)
    _check_room(conn, session, first.trace_id, first.user)
    mine = dict(conn.execute(MY_ANSWERS, [first.trace_id, first.user]).fetchall())  # newest wins
    for a in answers:
        _store_answer(conn, session, a, mine.get(a.schema), now)
    return _set_progress(conn, session, first.trace_id, first.user, {*mine, *(a.schema for a in answers)}, now)


def _store_answer(
    conn: duckdb.DuckDBPyConnection, session: Session, a: Answer, previous: str | None, now: datetime
) -> assessments_queries.Assessment:
    """Create my assessment for ``a.schema``, or update ``previous`` (my earlier one)."""
    schema = schema_of(conn, session, a.schema)
    label_schemas.check_answer(schema, a.value)
    if a.comment is not None and not schema.enable_comment:
        raise InvalidParameter(
            f"Invalid answer for label schema '{schema.name}': comments are not enabled (enable_comment is false)."
        )
    if previous is not None:
        patch = assessments_queries.AssessmentPatch(
            kind=schema.type,
            value=a.value,
            rationale=a.comment,
            metadata={"annotrace.labeling_session_id": session.session_id},
        )
        return assessments_queries.update(conn, a.trace_id, previous, patch, now)
    new = assessments_queries.NewAssessment(
        trace_id=a.trace_id,
        name=schema.name,
        kind=schema.type,
        value=a.value,
        rationale=a.comment or None,
        source_type="HUMAN",
        source_id=a.user,
        metadata={"annotrace.labeling_session_id": session.session_id, "annotrace.label_schema_id": schema.schema_id},
    )
    return assessments_queries.create(conn, new, new_assessment_id(), now)


def _set_progress(
    conn: duckdb.DuckDBPyConnection, session: Session, trace_id: str, user: str, answered: set[str], now: datetime
) -> str:
    """completed once every schema of the session has an answer of mine, else in_progress; in a
    review queue my completing an item also completes its shared status, if still pending."""
    status = "completed" if set(session.label_schemas) <= answered else "in_progress"
    _set_status(conn, session.session_id, trace_id, user, status, now)
    if status == "completed":
        conn.execute(END_LEASE, [session.session_id, user])
        done = conn.execute(COMPLETED_BY, [session.session_id, trace_id]).fetchall()[0][0]
        if session.is_queue and done >= (session.reviewers_per_item or 1):
            before = audit.row_as_dict(conn, ITEM_STATUS, [session.session_id, trace_id])
            conn.execute(COMPLETE_ITEM, [user.strip().lower(), now, now, session.session_id, trace_id])
            if before is not None and before["status"] == "pending":
                after = audit.row_as_dict(conn, ITEM_STATUS, [session.session_id, trace_id])
                item = f"{session.session_id}/{trace_id}"
                audit.record(
                    conn,
                    action="set-status",
                    object_type="review_queue_item",
                    object_id=item,
                    previous=before,
                    new=after,
                    time=now,
                )
    return status


def skip(conn: duckdb.DuckDBPyConnection, session_id: str, trace_id: str, user: str, now: datetime) -> str:
    _session_item(conn, session_id, trace_id, user)
    _set_status(conn, session_id, trace_id, user, "skipped", now)
    conn.execute(END_LEASE, [session_id, user])
    return "skipped"


def _session_item(conn: duckdb.DuckDBPyConnection, session_id: str, trace_id: str, user: str) -> Session:
    """The session, once ``user`` may label in it and ``trace_id`` is one of its items."""
    session = get(conn, session_id)
    if not may_label(session, user):
        raise PermissionDenied(
            f"User '{user}' is not assigned to labeling session '{session.name}' ({session_id}); assigned users: "
            f"{session.assigned_users}."
        )
    if not conn.execute(ITEM, [session_id, trace_id]).fetchall():
        raise NotFound(f"Trace '{trace_id}' is not an item of labeling session '{session.name}' ({session_id}).")
    return session


def _check_room(conn: duckdb.DuckDBPyConnection, session: Session, trace_id: str, user: str) -> None:
    """With reviewers_per_item N, a labeler who has not answered the item yet may only once fewer
    than N others have: this check, inside the answer's writer job, is what makes N exact."""
    n = session.reviewers_per_item
    if n is None or conn.execute(STATUS_OF, [session.session_id, trace_id, user]).fetchall():
        return
    if conn.execute(REVIEWERS, [session.session_id, trace_id, user]).fetchall()[0][0] >= n:
        raise PermissionDenied(
            f"Item '{trace_id}' already has the {n} review{'s' if n != 1 else ''} it needs (reviewers_per_item={n}) "
            "in labeling session '" + session.name + "'; nothing was saved. Take the next item."
        )


def schema_of(conn: duckdb.DuckDBPyConnection, session: Session, schema_name: str) -> label_schemas.LabelSchema:
    """The label schema an answer (or an adjudicator's gold label) names, if the session asks it."""
    if schema_name not in session.label_schemas:
        raise InvalidParameter(
            f"Label schema '{schema_name}' is not part of labeling session '{session.name}'; its schemas are "
            f"{session.label_schemas}."
        )
    schema = label_schemas.find(conn, session.experiment_id, schema_name)
    if schema is None:
        raise InvalidParameter(f"Label schema '{schema_name}' of labeling session '{session.name}' was deleted.")
    return schema


def _set_status(
    conn: duckdb.DuckDBPyConnection, session_id: str, trace_id: str, user: str, status: str, now: datetime
) -> None:
    old = conn.execute(STATUS_OF, [session_id, trace_id, user]).fetchall()
    if old:
        conn.execute(SET_STATUS, [status, now, session_id, trace_id, user])
    else:
        conn.execute(INSERT_STATUS, [session_id, trace_id, user, status, now])
    if old and old[0][0] == status:
        return  # the same status again: no change to audit
    audit.record(
        conn,
        action="set-status",
        object_type="labeling_item_status",
        object_id=f"{session_id}/{trace_id}/{user}",
        previous={"status": old[0][0]} if old else None,
        new={"status": status},
        time=now,
    )
