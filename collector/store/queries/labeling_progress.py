"""Progress of a labeling session or review queue: per labeler and per item.

Why apart from ``labeling.py``: it is a read that only counts, over ``labeling.items``. Per item it
says how many labelers answered and, with ``reviewers_per_item``, how many reviews the item still
needs, so a team lead sees where a session with N reviewers per item stands.
"""

from __future__ import annotations

from typing import Any

import duckdb

from annotrace.collector.store.queries import labeling


def progress(cursor: duckdb.DuckDBPyConnection, session_id: str) -> dict[str, Any]:
    """Counts per status: per labeler (assigned users, plus anyone who answered), in total, and per item."""
    session = labeling.get(cursor, session_id)
    found = labeling.items(cursor, session_id)
    users = list(dict.fromkeys([*session.assigned_users, *(u for item in found for u in item.statuses)]))
    per_user = []
    totals = dict.fromkeys(labeling.STATUSES, 0)
    for user in users:
        counts = dict.fromkeys(labeling.STATUSES, 0)
        for item in found:
            counts[item.status_for(user)] += 1
        per_user.append({"user": user, **counts})
        for status, n in counts.items():
            totals[status] += n
    completed = sum(1 for item in found if "completed" in item.statuses.values())
    wanted = session.reviewers_per_item
    per_item = [
        {
            "trace_id": item.trace_id,
            "completed": sum(1 for s in item.statuses.values() if s == "completed"),
            "in_progress": sum(1 for s in item.statuses.values() if s == "in_progress"),
            "skipped": sum(1 for s in item.statuses.values() if s == "skipped"),
            "reviews_needed": None
            if wanted is None
            else max(0, wanted - sum(1 for s in item.statuses.values() if s == "completed")),
        }
        for item in found
    ]
    return {
        "session_id": session_id,
        "item_count": len(found),
        "completed_items": completed,
        "reviewers_per_item": wanted,
        "totals": totals,
        "users": per_user,
        "items": per_item,
    }
