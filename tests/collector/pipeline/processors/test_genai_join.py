"""store/genai_join.py against a real DuckDB file: GenAI log events joined to their spans.

Batches go through the real ``Writer`` (one transaction per job), and the join runs in the same
job, as the writer is meant to call it. ``store`` calls the join once more afterwards, so these
tests hold whether or not the writer already calls it: the join is idempotent.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import orjson
import pytest

from annotrace.collector.genai.log_events import ChatEvents, join_log_events
from annotrace.collector.genai.staging import stage
from annotrace.collector.pipeline.processors.genai import GenAIConfig, GenAINormalizeProcessor
from annotrace.collector.store.db import Database
from annotrace.collector.store.migrate import migrate
from annotrace.collector.store.writer import Writer
from annotrace.collector.telemetry import Batch

TRACE = "tr-" + "1f" * 16
ROOT = "a" * 16
CHAT = "b" * 16
_ids = itertools.count()


class Store:
    def __init__(self, path: Path) -> None:
        self.db = Database(path / "annotrace.duckdb")
        self.writer = Writer(self.db, chat=ChatEvents())
        self.writer.start()
        self.processor = GenAINormalizeProcessor(GenAIConfig())

    def store(self, batch: Batch) -> int:
        """Write ``batch`` and join in one transaction; returns how many messages rows appeared."""
        self.processor.process(batch)
        before = self.rows("SELECT count(*) FROM messages")[0][0]

        self.writer.write(stage(batch), group=False).result()
        assert self.writer.submit(lambda conn: join_log_events(conn, batch)).result() == 0  # idempotent
        return int(self.rows("SELECT count(*) FROM messages")[0][0]) - before

    def rows(self, sql: str) -> list[tuple[Any, ...]]:
        return self.db.cursor().execute(sql).fetchall()

    def messages(self, span_id: str = CHAT) -> list[tuple[Any, ...]]:
        return self.rows(
            f"SELECT direction, position, role, content FROM messages WHERE span_id = '{span_id}' "
            "ORDER BY direction, position"
        )

    def close(self) -> None:
        self.writer.shutdown()
        self.db.close()


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    s = Store(tmp_path)
    yield s
    s.close()


def span(batch: Batch, span_id: str, attrs: dict[str, Any], parent: str | None = None, trace: str = TRACE) -> Batch:
    s = batch.spans
    for column, value in (
        ("trace_id", trace),
        ("span_id", span_id),
        ("parent_span_id", parent),
        ("experiment", "name:Default"),
        ("name", "chat gpt-4o"),
        ("kind", "CLIENT"),
        ("start_ns", 1_700_000_000_000_000_000),
        ("end_ns", 1_700_000_001_000_000_000),
        ("status_code", "OK"),
        ("status_message", None),
        ("attributes", attrs),
        ("resource", {}),
        ("scope_name", None),
        ("scope_version", None),
        ("trace_state", None),
        ("flags", 0),
        ("dropped_attributes", 0),
        ("dropped_events", 0),
        ("dropped_links", 0),
    ):
        getattr(s, column).append(value)
    return batch


def log(
    batch: Batch,
    name: str | None,
    body: Any = None,
    attrs: dict[str, Any] | None = None,
    span_id: str | None = CHAT,
    record_id: str | None = None,
    time_ns: int = 0,
) -> Batch:
    logs = batch.logs
    for column, value in (
        ("record_id", record_id or f"rec-{next(_ids)}"),
        ("experiment", "name:Default"),
        ("time_ns", time_ns or 1_700_000_000_100_000_000 + next(_ids)),
        ("observed_ns", None),
        ("trace_id", TRACE if span_id else None),
        ("span_id", span_id),
        ("severity_number", 9),
        ("severity_text", None),
        ("event_name", name),
        ("body", body),
        ("attributes", {"gen_ai.system": "openai", **(attrs or {})}),
        ("resource", {}),
        ("scope_name", "opentelemetry.instrumentation.openai_v2"),
    ):
        getattr(logs, column).append(value)
    return batch


CHAT_ATTRS = {"gen_ai.operation.name": "chat", "gen_ai.system": "openai", "gen_ai.request.model": "gpt-4o"}


def test_legacy_events_before_and_after_the_span(store):
    early = log(
        log(Batch(), "gen_ai.system.message", {"content": "Be brief."}), "gen_ai.user.message", {"content": "Weather?"}
    )
    assert store.store(early) == 0  # no span yet: pending
    assert store.rows("SELECT count(*) FROM genai_log_events_pending") == [(2,)]
    assert store.store(span(Batch(), CHAT, CHAT_ATTRS)) == 2
    late = log(
        Batch(),
        "gen_ai.choice",
        {"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": "Rain."}},
    )
    assert store.store(late) == 1
    assert store.messages() == [
        ("input", 0, "system", "Be brief."),
        ("input", 1, "user", "Weather?"),
        ("output", 0, "assistant", "Rain."),
    ]
    inputs, outputs = store.rows(f"SELECT inputs, outputs FROM spans WHERE span_id = '{CHAT}'")[0]
    assert orjson.loads(inputs) == [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Weather?"}]
    assert orjson.loads(outputs) == [{"role": "assistant", "content": "Rain."}]
    # the chat span is the root here, so the trace gets its request, response and previews
    assert store.rows("SELECT request, response, request_preview, response_preview FROM traces") == [
        (inputs, outputs, "Weather?", "Rain.")
    ]
    assert store.rows("SELECT count(*) FROM genai_log_events_pending") == [(0,)]
    raw, record = store.rows("SELECT raw, log_record_id FROM messages WHERE role = 'user'")[0]
    assert raw is None and record.startswith("rec-")  # a plain text message: the columns say it all
    raw = store.rows("SELECT raw FROM messages WHERE direction = 'output'")[0][0]
    assert orjson.loads(raw) == {
        "index": 0,
        "finish_reason": "stop",
        "message": {"role": "assistant", "content": "Rain."},
    }


def test_legacy_tool_message_log_record_whose_text_is_json_keeps_it(store):
    text = '{"temp_c": 18}'
    store.store(log(span(Batch(), CHAT, CHAT_ATTRS), "gen_ai.tool.message", {"content": text, "id": "call_1"}))
    assert store.rows("SELECT role, content, raw FROM messages") == [
        ("tool", text, orjson.dumps({"content": text, "id": "call_1"}).decode())
    ]
    assert orjson.loads(store.rows("SELECT inputs FROM spans")[0][0]) == [{"role": "tool", "content": text}]


def test_retries_never_duplicate(store):
    batch = log(
        log(Batch(), "gen_ai.user.message", {"content": "hi"}, record_id="r-user"),
        "gen_ai.choice",
        {"index": 0, "message": {"content": "hello"}},
        record_id="r-choice",
    )
    store.store(span(Batch(), CHAT, CHAT_ATTRS))
    store.store(batch)
    store.store(batch)  # a retried log export
    store.store(span(Batch(), CHAT, CHAT_ATTRS))  # a retried span export
    retry = log(Batch(), "gen_ai.user.message", {"content": "hi"}, record_id="r-user")
    store.store(span(retry, CHAT, CHAT_ATTRS))  # both at once
    assert store.messages() == [("input", 0, "user", "hi"), ("output", 0, "assistant", "hello")]
    assert store.rows("SELECT count(*) FROM genai_log_events_seen") == [(2,)]


def test_span_and_events_in_one_batch(store):
    batch = span(Batch(), CHAT, CHAT_ATTRS)
    log(batch, "gen_ai.user.message", {"content": "same batch"})
    assert store.store(batch) == 1
    assert store.messages() == [("input", 0, "user", "same batch")]


def test_join_returns_the_messages_written(tmp_path):
    conn = duckdb.connect(str(tmp_path / "direct.duckdb"))
    try:
        assert "0002_genai" in migrate(conn)
        batch = log(
            log(Batch(), "gen_ai.user.message", {"content": "a"}), "gen_ai.choice", {"message": {"content": "b"}}
        )
        assert join_log_events(conn, batch) == 0  # no span stored: both records wait
        conn.execute(
            "INSERT INTO spans (trace_id, span_id, experiment_id, name, kind, span_type, start_time, end_time, "
            "duration_ms, start_time_unix_nano, end_time_unix_nano, status_code, attributes, resource_attributes) "
            "VALUES (?, ?, '0', 'chat', 'CLIENT', 'CHAT_MODEL', TIMESTAMP '2026-01-01', TIMESTAMP '2026-01-01', 0, 0, 0, "
            "'OK', '{}', '{}')",
            [TRACE, CHAT],
        )
        assert join_log_events(conn, span(Batch(), CHAT, CHAT_ATTRS)) == 2
        assert join_log_events(conn, batch) == 0
        assert conn.execute("SELECT role, content FROM messages ORDER BY direction").fetchall() == [
            ("user", "a"),
            ("assistant", "b"),
        ]
    finally:
        conn.close()


def test_events_split_over_batches_keep_order_and_inputs(store):
    store.store(span(Batch(), CHAT, CHAT_ATTRS))
    store.store(log(Batch(), "gen_ai.system.message", {"content": "one"}, time_ns=10))
    store.store(log(Batch(), "gen_ai.user.message", {"content": "two"}, time_ns=20))
    assert store.messages() == [("input", 0, "system", "one"), ("input", 1, "user", "two")]
    inputs = store.rows(f"SELECT inputs FROM spans WHERE span_id = '{CHAT}'")[0][0]
    assert orjson.loads(inputs) == [{"role": "system", "content": "one"}, {"role": "user", "content": "two"}]


def test_operation_details_log_record(store):
    details = {
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": "openai",
        "gen_ai.system_instructions": [{"type": "text", "content": "Be kind."}],
        "gen_ai.input.messages": [{"role": "user", "parts": [{"type": "text", "content": "Hi"}]}],
        "gen_ai.output.messages": [
            {"role": "assistant", "parts": [{"type": "text", "content": "Hello"}], "finish_reason": "stop"}
        ],
    }
    store.store(log(span(Batch(), CHAT, CHAT_ATTRS), "gen_ai.client.inference.operation.details", attrs=details))
    assert store.messages() == [
        ("input", 0, "system", "Be kind."),
        ("input", 1, "user", "Hi"),
        ("output", 0, "assistant", "Hello"),
    ]


def test_span_with_its_own_messages_gets_no_copies(store):
    own = {**CHAT_ATTRS, "gen_ai.input.messages": '[{"role": "user", "parts": [{"type": "text", "content": "Hi"}]}]'}
    details = {
        "gen_ai.input.messages": [{"role": "user", "parts": [{"type": "text", "content": "Hi"}]}],
        "gen_ai.output.messages": [{"role": "assistant", "parts": [{"type": "text", "content": "Yo"}]}],
    }
    store.store(log(Batch(), "gen_ai.client.inference.operation.details", attrs=details))
    store.store(span(Batch(), CHAT, own))
    assert store.messages() == [("input", 0, "user", "Hi"), ("output", 0, "assistant", "Yo")]
    assert store.rows("SELECT log_record_id IS NULL FROM messages ORDER BY direction") == [(True,), (False,)]
    inputs = store.rows("SELECT inputs FROM spans")[0][0]
    assert inputs == own["gen_ai.input.messages"]  # the span's own inputs are never replaced


def test_child_chat_span_leaves_the_root_request_alone(store):
    batch = span(Batch(), ROOT, {"mlflow.spanType": '"CHAIN"', "mlflow.spanInputs": '{"q": "root"}'})
    span(batch, CHAT, CHAT_ATTRS, parent=ROOT)
    store.store(log(batch, "gen_ai.user.message", {"content": "child"}))
    assert store.rows("SELECT request, request_preview FROM traces") == [('{"q": "root"}', '{"q": "root"}')]
    assert store.messages() == [("input", 0, "user", "child")]


def test_unrelated_records_are_ignored_and_orphans_wait(store):
    batch = log(Batch(), "gen_ai.user.message", {"content": "no span id"}, span_id=None)
    log(batch, "app.log", "plain log line")
    log(batch, None, "no name")
    log(batch, "gen_ai.user.message", {"content": "orphan"}, span_id="c" * 16)
    store.store(batch)
    assert store.rows("SELECT event_name FROM genai_log_events_pending") == [("gen_ai.user.message",)]
    store.store(span(Batch(), "c" * 16, CHAT_ATTRS))
    assert store.messages("c" * 16) == [("input", 0, "user", "orphan")]
    assert store.rows("SELECT count(*) FROM messages") == [(1,)]


def test_string_bodies_and_bad_bodies_do_not_fail_the_batch(store):
    batch = span(Batch(), CHAT, CHAT_ATTRS)
    log(batch, "gen_ai.user.message", "just a string")
    log(batch, "gen_ai.choice", [1, 2, 3])
    log(batch, "gen_ai.assistant.message", {"content": {"weird": True}, "tool_calls": "[{not json"})
    store.store(batch)
    assert ("input", 0, "user", "just a string") in store.messages()


def test_garbage_spans_store_in_duckdb(store):
    """Every JSON text the processor makes must pass DuckDB's JSON column."""
    batch = Batch()
    for n, value in enumerate(["{", "\\ud800", '"\\ud800"', float("nan"), -1, [None, {"a": []}], {"parts": 1}]):
        span(
            batch,
            f"{n:016x}",
            {
                "mlflow.spanType": '"RETRIEVER"',
                "mlflow.spanInputs": value,
                "mlflow.spanOutputs": orjson.dumps([{"metadata": value}]).decode(),
                "gen_ai.input.messages": value,
                "gen_ai.output.messages": [value],
                "gen_ai.tool.call.result": value,
                "mlflow.chat.tokenUsage": value,
            },
        )
    store.store(batch)
    assert store.rows("SELECT count(*) FROM spans") == [(7,)]
    assert store.rows("SELECT count(*) FROM spans WHERE normalization_errors IS NOT NULL") == [(7,)]
