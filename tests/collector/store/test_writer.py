"""The writer against a real DuckDB file: grouped commits, retries that meet a pending commit, traces.

Under load full batches share one transaction until it holds ``commit_rows`` spans, so a retried
export (or a spool replay) can arrive while the first copy is still uncommitted; it must add
nothing then, nor after the commit, and the ``traces`` row must count each span once.
"""

from __future__ import annotations

import os
import resource
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from annotrace.collector.errors import Unavailable
from annotrace.collector.genai.log_events import ChatEvents
from annotrace.collector.genai.staging import stage
from annotrace.collector.pipeline.decode import decode
from annotrace.collector.pipeline.processors.genai import GenAIConfig, GenAINormalizeProcessor
from annotrace.collector.pipeline.spool import Record
from annotrace.collector.store.db import ROW_GROUP_ROWS, Database
from annotrace.collector.store.rows import StoreTables
from annotrace.collector.store.writer import Writer
from tests.otlp_builders import new_span_id, new_trace_id, request, span

T0 = (time.time_ns() - 10_000_000_000) // 1000 * 1000  # stored at microsecond precision


def store_tables(spans: list[Any]) -> StoreTables:
    record = Record("traces", b'{"receiver":"otlp"}', request(spans).SerializeToString(), len(spans), 0, 0)
    return stage(GenAINormalizeProcessor(GenAIConfig()).process(decode([record])))


def trace(n_spans: int, start: int = T0) -> tuple[bytes, list[Any]]:
    trace_id, root = new_trace_id(), new_span_id()
    spans = [span(trace_id, root, name="root", start=start, duration_ns=50_000_000, attributes={"i": 0})]
    spans += [
        span(
            trace_id,
            new_span_id(),
            parent=root,
            name=f"child-{i}",
            start=start + i * 1000,
            attributes={"i": i, "gen_ai.usage.input_tokens": 2},
        )
        for i in range(1, n_spans)
    ]
    return trace_id, spans


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    database = Database(tmp_path / "annotrace.duckdb")
    yield database
    database.close()


def rows(db: Database, sql: str) -> list[tuple[Any, ...]]:
    return db.cursor().execute(sql).fetchall()


def test_a_retry_that_meets_its_pending_commit_adds_nothing(db: Database) -> None:
    # grouped batches wait for a flush
    writer = Writer(db, chat=ChatEvents(), commit_rows=1_000_000, commit_interval_s=600)
    writer.start()
    try:
        trace_id, spans = trace(5)
        first = writer.write(store_tables(spans), group=True)
        retry = writer.write(store_tables(spans), group=True)  # the client resent the export
        other = writer.write(store_tables(trace(3)[1]), group=True)
        time.sleep(0.2)
        assert not first.done() and not retry.done()  # still in the open transaction
        assert rows(db, "SELECT count(*) FROM spans") == [(0,)]  # readers see nothing uncommitted
        writer.flush()
        assert (first.result(timeout=30).spans_new, first.result().spans_duplicate) == (5, 0)
        assert (retry.result(timeout=30).spans_new, retry.result().spans_duplicate) == (0, 5)
        assert other.result(timeout=30).spans_new == 3
        again = writer.write(store_tables(spans), group=False).result(timeout=30)  # and once committed
        assert (again.spans_new, again.spans_duplicate) == (0, 5)
    finally:
        writer.shutdown()
    tid = "tr-" + trace_id.hex()
    assert rows(db, "SELECT count(*), count(DISTINCT (trace_id, span_id)) FROM spans") == [(8, 8)]
    assert rows(db, f"SELECT span_count, input_tokens, name, state FROM traces WHERE trace_id = '{tid}'") == [
        (5, 8, "root", "OK")
    ]
    assert rows(
        db, f"SELECT json_extract(attributes, '$.i')::INT FROM spans WHERE trace_id = '{tid}' AND name = 'child-2'"
    ) == [(2,)]


def test_full_batches_commit_together_once_they_hold_commit_rows(db: Database) -> None:
    writer = Writer(db, chat=ChatEvents(), commit_rows=8, commit_interval_s=600)
    writer.start()
    try:
        first = writer.write(store_tables(trace(4)[1]), group=True)
        time.sleep(0.2)
        assert not first.done()  # 4 of 8 spans: waits for company
        second = writer.write(store_tables(trace(4)[1]), group=True)
        assert second.result(timeout=30).spans_new == 4
        assert first.done()  # committed in the same transaction
    finally:
        writer.shutdown()
    assert rows(db, "SELECT count(*) FROM spans") == [(8,)]


def test_a_batch_mixing_new_and_stored_traces_merges_only_the_stored(db: Database) -> None:
    writer = Writer(db, chat=ChatEvents())
    writer.start()
    try:
        trace_id, root = new_trace_id(), new_span_id()
        child = span(
            trace_id,
            new_span_id(),
            parent=root,
            name="llm",
            start=T0 + 10_000,
            duration_ns=10_000,
            attributes={"gen_ai.usage.input_tokens": 7},
        )
        writer.write(store_tables([child]), group=False).result(timeout=30)
        late_root = span(trace_id, root, name="agent", start=T0, duration_ns=50_000_000, status=2)
        fresh_id, fresh = trace(2)
        writer.write(store_tables([late_root, *fresh]), group=False).result(timeout=30)
    finally:
        writer.shutdown()
    got = rows(
        db,
        "SELECT trace_id, name, state, span_count, input_tokens, execution_duration_ms FROM traces "
        "ORDER BY span_count, trace_id",
    )
    assert sorted(got) == sorted(
        [("tr-" + trace_id.hex(), "agent", "ERROR", 2, 7, 50.0), ("tr-" + fresh_id.hex(), "root", "OK", 2, 2, 50.0)]
    )


def test_the_file_is_written_in_small_row_groups_under_its_usual_name(tmp_path: Path) -> None:
    database = Database(tmp_path / "store.duckdb")
    try:
        assert rows(database, "SHOW DATABASES") == [("store",)]  # as duckdb.connect(path) names it
        database.conn.execute(f"CREATE TABLE numbers AS SELECT range AS n FROM range({ROW_GROUP_ROWS * 2 + 5})")
        groups = rows(database, "SELECT count(DISTINCT row_group_id) FROM pragma_storage_info('numbers')")
        assert groups == [(3,)]
    finally:
        database.close()
    reader = Database(tmp_path / "store.duckdb", read_only=True)
    try:
        assert rows(reader, "SELECT count(*) FROM numbers") == [(ROW_GROUP_ROWS * 2 + 5,)]
    finally:
        reader.close()


def test_traces_past_the_working_memory_neither_stop_inserts_nor_grow_the_memory_limit(tmp_path: Path) -> None:
    """``traces`` had a key index, which DuckDB keeps in memory and cannot evict: inside a fixed
    32 MB limit, inserts failed ("could not allocate block") before 400,000 traces were stored, and
    then the limit had to grow with it (~96 B per trace). Since schema 0080 there is no such index."""
    database = Database(tmp_path / "store.duckdb", memory_limit="32MB")
    writer = Writer(database, chat=ChatEvents())
    writer.start()
    one = store_tables([span(new_trace_id(), new_span_id(), name="s", start=T0)]).spans
    assert one is not None
    per_batch = 10_000
    try:
        for _ in range(40):  # 400,000 traces of one span
            batch = pa.concat_tables([one] * per_batch).combine_chunks()
            ids = os.urandom(24 * per_batch).hex()
            trace_ids = pa.array(["tr-" + ids[48 * i : 48 * i + 32] for i in range(per_batch)])
            span_ids = pa.array([ids[48 * i + 32 : 48 * i + 48] for i in range(per_batch)])
            batch = batch.set_column(batch.schema.get_field_index("trace_id"), "trace_id", trace_ids)
            batch = batch.set_column(batch.schema.get_field_index("span_id"), "span_id", span_ids)
            writer.write(StoreTables(spans=batch), group=False).result(timeout=60)
    finally:
        writer.shutdown()
    assert rows(database, "SELECT count(*) FROM traces") == [(40 * per_batch,)]
    limit = rows(database, "SELECT current_setting('memory_limit')")[0][0]
    assert limit.endswith("MiB") and float(limit.split()[0]) < 60, limit  # 400,000 keys would be ~37 MiB more
    database.close()
    reopened = Database(tmp_path / "store.duckdb", memory_limit="32MB")  # sized for the index at once
    try:
        writer = Writer(reopened, chat=ChatEvents())
        writer.start()
        writer.write(store_tables([span(new_trace_id(), new_span_id(), start=T0)]), group=False).result(timeout=60)
        writer.shutdown()
        assert rows(reopened, "SELECT count(*) FROM traces") == [(40 * per_batch + 1,)]
    finally:
        reopened.close()


def test_a_database_invalidated_by_a_failed_write_is_opened_again_once_there_is_room(db: Database) -> None:
    """A checkpoint that cannot write (here past RLIMIT_FSIZE, as on a full disk) makes DuckDB
    refuse all work "until restarted"; the writer reports it, opens the file again by itself,
    and loses nothing committed."""
    writer = Writer(db, chat=ChatEvents())
    writer.start()
    try:
        assert writer.write(store_tables(trace(5)[1]), group=False).result(timeout=30).spans_new == 5
        writer.submit(lambda conn: conn.execute("SET checkpoint_threshold = '1KB'")).result(timeout=30)
        path = db.path
        soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
        resource.setrlimit(resource.RLIMIT_FSIZE, (path.stat().st_size, hard))
        try:
            failed = writer.write(store_tables(trace(200)[1]), group=False)  # its commit checkpoints, and fails
            with pytest.raises(Unavailable) as info:
                failed.result(timeout=30)
            assert "The store cannot write" in info.value.message
        finally:
            resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
        assert writer.write(store_tables(trace(3)[1]), group=False).result(timeout=30).spans_new == 3
        assert writer.broken is None
    finally:
        writer.shutdown()
    assert rows(db, "SELECT count(*) >= 8 FROM spans") == [(True,)]  # the failed batch may be in the WAL


def test_a_trace_split_over_batches_of_one_commit_has_one_row_counting_every_span(db: Database) -> None:
    """``traces`` has no key (schema 0080): the writer finds the row an earlier batch of the same,
    still open, transaction inserted, and merges into it instead of adding a second one."""
    writer = Writer(db, chat=ChatEvents(), commit_rows=100, commit_interval_s=600)
    writer.start()
    try:
        trace_id, spans = trace(6)
        first = writer.write(store_tables(spans[3:]), group=True)
        second = writer.write(store_tables(spans[1:3]), group=True)
        last = writer.write(store_tables(spans[:1]), group=False)  # the root: commits all three
        assert [f.result(timeout=30).spans_new for f in (first, second, last)] == [3, 2, 1]
    finally:
        writer.shutdown()
    got = rows(db, "SELECT trace_id, name, state, span_count, input_tokens, trace_key FROM traces")
    assert got == [("tr-" + trace_id.hex(), "root", "OK", 6, 10, int(trace_id.hex()[-16:], 16))]


def test_a_log_record_sent_twice_in_an_export_and_again_later_is_stored_once(tmp_path: Path) -> None:
    """log_records has no primary key (schema 0082): the writer finds copies by record_key."""
    from annotrace.collector.telemetry import Batch
    from tests.collector.pipeline.processors.test_genai_join import Store, log

    store = Store(tmp_path)
    try:
        twice = log(
            log(Batch(), None, "a line", span_id=None, record_id="r-1"), None, "a line", span_id=None, record_id="r-1"
        )
        store.store(twice)
        store.store(log(log(Batch(), None, "a line", span_id=None, record_id="r-1"), None, "b", span_id=None))
        rows = store.rows("SELECT count(*), count(*) FILTER (WHERE record_id = 'r-1') FROM log_records")
        assert rows == [(2, 1)]
    finally:
        store.close()
