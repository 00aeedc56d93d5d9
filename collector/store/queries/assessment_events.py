"""Reads the ``assessment_events`` view for exporters: what changed since a watermark.

The view (schema 0003) already has the OTel shape; this module only pages through it in
``time`` order (``assessments.last_update_time``), so an exporter can forward each create and
update once: it passes the last ``time`` it sent and the ids it sent at exactly that time
(several assessments can share a millisecond), and gets the rest.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import Any

import duckdb

CHANGED_SINCE = """
SELECT e.*, x.name AS experiment FROM assessment_events e
LEFT JOIN traces t ON t.trace_id = e.trace_id
LEFT JOIN experiments x ON x.experiment_id = t.experiment_id
WHERE e.time >= ?
ORDER BY e.time, e."annotrace.assessment.id"
LIMIT ?
"""
CHANGED_FROM_START = """
SELECT e.*, x.name AS experiment FROM assessment_events e
LEFT JOIN traces t ON t.trace_id = e.trace_id
LEFT JOIN experiments x ON x.experiment_id = t.experiment_id
ORDER BY e.time, e."annotrace.assessment.id"
LIMIT ?
"""


def changed_since(
    cursor: duckdb.DuckDBPyConnection, watermark: datetime | None, seen: Collection[str], limit: int
) -> list[dict[str, Any]]:
    """Up to ``limit`` events with ``time >= watermark`` (all when None), minus ids in ``seen``
    at exactly ``watermark``; oldest first. Each row also has ``experiment``: the name of its
    trace's experiment (None when the trace is not stored), which exporters send along."""
    if watermark is None:
        result = cursor.execute(CHANGED_FROM_START, [limit + len(seen)])
    else:
        result = cursor.execute(CHANGED_SINCE, [watermark, limit + len(seen)])
    columns = [d[0] for d in result.description or []]
    rows = [dict(zip(columns, row)) for row in result.fetchall()]
    return [row for row in rows if not (row["time"] == watermark and row["annotrace.assessment.id"] in seen)][:limit]
