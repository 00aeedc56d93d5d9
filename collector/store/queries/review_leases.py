"""Leases: which item the Review App hands a labeler in a session with ``reviewers_per_item``.

``claim`` is one writer job, so claims are serialised: two labelers asking at once can never both
take an item's last place. An item is handed to me while I have not finished it and fewer than N
*other* labelers have answered it or hold an unexpired lease on it; I keep my lease (one per
session) until I answer or skip the item, or it expires (``LEASE``), when the item goes back to
the pool. ``labeling_answers.answer_all`` refuses an answer that would make N + 1, so even a labeler whose
lease ran out cannot add one too many.

    (pool) --claim--> leased to me --answer all--> completed (lease ended)
       ^                   |--skip--> skipped (lease ended)
       \\-----expired------/
"""

from __future__ import annotations

from datetime import datetime, timedelta

import duckdb

from annotrace.collector.store.queries import audit, labeling

LEASE = timedelta(minutes=15)

MY_LEASE = (
    "SELECT l.trace_id FROM labeling_leases l LEFT JOIN labeling_item_status s "
    "ON s.session_id = l.session_id AND s.trace_id = l.trace_id AND s.user_id = l.user_id "
    "WHERE l.session_id = $session AND l.user_id = $user AND l.expire_time > $now "
    "AND coalesce(s.status, 'pending') NOT IN ('completed', 'skipped')"
)
NEXT = """
WITH taken AS (
    SELECT trace_id, user_id FROM labeling_item_status
    WHERE session_id = $session AND status IN ('in_progress', 'completed') AND user_id <> $user
    UNION
    SELECT trace_id, user_id FROM labeling_leases
    WHERE session_id = $session AND expire_time > $now AND user_id <> $user
), counts AS (SELECT trace_id, count(DISTINCT user_id) AS n FROM taken GROUP BY trace_id)
SELECT i.trace_id FROM labeling_items i
LEFT JOIN labeling_item_status me ON me.session_id = i.session_id AND me.trace_id = i.trace_id AND me.user_id = $user
LEFT JOIN counts c ON c.trace_id = i.trace_id
WHERE i.session_id = $session AND i.status = 'pending'
    AND coalesce(me.status, 'pending') NOT IN ('completed', 'skipped')
    AND (me.status = 'in_progress' OR coalesce(c.n, 0) < $reviewers)
ORDER BY i.position
LIMIT 1
"""
END = "DELETE FROM labeling_leases WHERE session_id = ? AND user_id = ?"
TAKE = "INSERT INTO labeling_leases VALUES (?, ?, ?, ?, ?)"


def claim(conn: duckdb.DuckDBPyConnection, session_id: str, user: str, now: datetime) -> tuple[bool, str | None]:
    """(whether the session hands out items by lease, the item ``user`` labels next or None when
    nothing is left for them). Sessions without ``reviewers_per_item`` answer (False, None): there
    every labeler sees every item, in order."""
    session = labeling.get(conn, session_id)
    if session.reviewers_per_item is None or not labeling.may_label(session, user):
        return False, None
    params = {"session": session_id, "user": user, "now": now}
    held = conn.execute(MY_LEASE, params).fetchall()
    if held:
        return True, str(held[0][0])
    found = conn.execute(NEXT, {**params, "reviewers": session.reviewers_per_item}).fetchall()
    conn.execute(END, [session_id, user])
    if not found:
        return True, None
    trace_id = str(found[0][0])
    conn.execute(TAKE, [session_id, trace_id, user, now, now + LEASE])
    lease = {"session_id": session_id, "trace_id": trace_id, "user_id": user, "expire_time": now + LEASE}
    audit.record(
        conn, actor=user, action="claim", object_type="labeling_lease", object_id=session_id, new=lease, time=now
    )
    return True, trace_id
