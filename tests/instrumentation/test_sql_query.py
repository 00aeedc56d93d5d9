"""``annotrace.sql``: the sandbox's JSON rows decoded into typed pandas columns."""

from __future__ import annotations

import logging

import pandas as pd
import pytest

import annotrace
from annotrace.exceptions import MlflowException
from tests.instrumentation.scripted_server import Reply, ScriptedServer

ANSWER = {
    "columns": [
        "trace_id",
        "n",
        "maybe_n",
        "score",
        "ok",
        "maybe_ok",
        "create_time",
        "tz_time",
        "day",
        "value",
        "took",
        "names",
    ],
    "types": [
        "VARCHAR",
        "BIGINT",
        "INTEGER",
        "DOUBLE",
        "BOOLEAN",
        "BOOLEAN",
        "TIMESTAMP",
        "TIMESTAMP WITH TIME ZONE",
        "DATE",
        "JSON",
        "INTERVAL",
        "VARCHAR[]",
    ],
    "rows": [
        [
            "tr-1",
            1,
            None,
            0.5,
            True,
            None,
            "2026-11-23T13:24:45.779000",
            "2026-11-23T13:24:45+00:00",
            "2026-11-23",
            '{"a":1}',
            1.5,
            ["x", "y"],
        ],
        [
            "tr-2",
            2,
            3,
            None,
            False,
            True,
            "2026-11-23T13:24:46",
            "2026-11-23T14:24:46+01:00",
            "2026-11-24",
            "4.0",
            0.0,
            [],
        ],
    ],
    "truncated": False,
}


def test_types_are_decoded(server: ScriptedServer) -> None:
    server.route("POST", "/api/v1/sql", Reply(200, ANSWER))
    df = annotrace.sql("SELECT * FROM assessments")
    assert server.requests[0].body == {"query": "SELECT * FROM assessments", "max_rows": 10000}
    assert list(df.columns) == ANSWER["columns"]
    assert df["n"].dtype == "int64" and df["maybe_n"].dtype == "Int64"
    assert df["score"].dtype == "float64" and pd.isna(df["score"][1])
    assert df["ok"].dtype == bool and df["maybe_ok"].dtype == "boolean"
    assert pd.api.types.is_datetime64_dtype(df["create_time"])
    assert df["create_time"][0] == pd.Timestamp("2026-11-23 13:24:45.779")
    assert str(df["tz_time"].dt.tz) == "UTC" and df["tz_time"][1] == pd.Timestamp("2026-11-23 13:24:46", tz="UTC")
    assert pd.api.types.is_datetime64_dtype(df["day"])
    assert list(df["value"]) == ['{"a":1}', "4.0"]  # JSON stays text
    assert df["took"][0] == pd.Timedelta(seconds=1.5)
    assert df["names"][0] == ["x", "y"]
    assert df.attrs["truncated"] is False


def test_empty_result_keeps_columns(server: ScriptedServer) -> None:
    server.route("POST", "/api/v1/sql", Reply(200, {**ANSWER, "rows": []}))
    df = annotrace.sql("SELECT * FROM assessments WHERE false")
    assert list(df.columns) == ANSWER["columns"] and len(df) == 0


def test_truncation_is_reported(server: ScriptedServer, caplog: pytest.LogCaptureFixture) -> None:
    server.route("POST", "/api/v1/sql", Reply(200, {**ANSWER, "truncated": True}))
    with caplog.at_level(logging.WARNING):
        df = annotrace.sql("SELECT 1", max_rows=2)
    assert server.requests[0].body["max_rows"] == 2
    assert df.attrs["truncated"] is True
    assert "cut at 2 rows" in caplog.text


def test_errors(server: ScriptedServer) -> None:
    server.route(
        "POST",
        "/api/v1/sql",
        Reply(400, {"error_code": "INVALID_PARAMETER_VALUE", "message": "Invalid SQL: Parser Error"}),
    )
    with pytest.raises(MlflowException, match="Invalid SQL: Parser Error"):
        annotrace.sql("SELEC 1")
    with pytest.raises(MlflowException, match="non-empty SQL string"):
        annotrace.sql("  ")
