"""What the seed 001 tests (``test_seed_001.py``, ``test_seed_001_lifecycle.py``) read back: the
``assessments`` column of ``search_traces`` and the ``assessments`` table through ``annotrace.sql``."""

from __future__ import annotations

from typing import Any

import annotrace
import annotrace as mlflow


def rest_assessments(trace_id: str) -> dict[str, list[dict[str, Any]]]:
    """The ``assessments`` column of ``search_traces()`` for ``trace_id``, by assessment name."""
    df = mlflow.search_traces()
    rows = df[df["trace_id"] == trace_id]
    assert len(rows) == 1, df
    by_name: dict[str, list[dict[str, Any]]] = {}
    for assessment in rows.iloc[0]["assessments"]:
        by_name.setdefault(assessment["assessment_name"], []).append(assessment)
    return by_name


def sql_assessments(trace_id: str) -> dict[str, dict[str, Any]]:
    df = annotrace.sql(
        "SELECT assessment_id, assessment_name, kind, value, rationale, source_type, source_id, error_code, "
        f"error_message, metadata, overrides, valid, create_time, last_update_time FROM assessments "
        f"WHERE trace_id = '{trace_id}' ORDER BY create_time"
    )
    return {row["assessment_id"]: row for row in df.to_dict("records")}
