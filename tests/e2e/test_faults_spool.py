"""A damaged spool costs only the damaged record; kill -9 at random points loses nothing acknowledged.

To have acknowledged records that are not stored yet, the collector's decode workers are stopped
(SIGSTOP) before the exports: the collector keeps acknowledging (the spool has fsynced them) and
nothing reaches the store. Then the collector is killed (-9), a segment is damaged, and a new
collector replays the spool.
"""

from __future__ import annotations

import os
import random
import signal
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import grpc
import pytest
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2_grpc

from annotrace.collector.pipeline import segment
from tests.collector_process import Collector
from tests.e2e.faults import (
    Sender,
    assert_stored_exactly,
    children,
    health,
    trace,
    wait_until_stored,
)
from tests.otlp_builders import request


def _acknowledged_not_stored(collector: Collector, exports: int) -> list[set[str]]:
    """Stop the decode workers, send ``exports`` exports one after another (one spool record each,
    in order), kill the collector; returns each export's trace ids."""
    workers = children(collector.process.pid)
    assert workers, "the collector has no decode workers to stop"
    for pid in workers:
        os.kill(pid, signal.SIGSTOP)
    sent = []
    with grpc.insecure_channel(collector.grpc) as channel:
        stub = trace_service_pb2_grpc.TraceServiceStub(channel)
        for _ in range(exports):
            batch = [trace(3) for _ in range(4)]
            stub.Export(request([s for _, spans in batch for s in spans]), timeout=10)
            sent.append({trace_id for trace_id, _ in batch})
    collector.process.send_signal(signal.SIGKILL)
    collector.process.wait()
    for pid in workers:
        os.kill(pid, signal.SIGKILL)
    return sent


def _segment(collector: Collector) -> tuple[Path, list[tuple[int, int]]]:
    """The spool segment holding the exports, and each record's [start, end)."""
    [path] = [p for p in (collector.directory / "spool").glob("*.seg") if p.stat().st_size]
    found = segment.scan(path.read_bytes(), int(path.stem), 0)
    assert not found.damaged
    return path, [(r.end - r.size, r.end) for r in found.records]


@pytest.fixture
def stopped_with_backlog(
    fresh_collector: Callable[..., Collector],
) -> Iterator[tuple[list[set[str]], Path, list[tuple[int, int]]]]:
    collector = fresh_collector()
    sent = _acknowledged_not_stored(collector, exports=5)
    path, records = _segment(collector)
    assert len(records) == 5
    yield sent, path, records


def test_a_flipped_byte_in_a_spool_segment_costs_only_that_record(
    stopped_with_backlog: tuple[list[set[str]], Path, list[tuple[int, int]]], fresh_collector: Callable[..., Collector]
) -> None:
    sent, path, records = stopped_with_backlog
    start, end = records[2]
    data = bytearray(path.read_bytes())
    data[(start + end) // 2] ^= 0x40  # one bit in the third export's payload
    path.write_bytes(bytes(data))

    collector = fresh_collector()
    wait_until_stored(collector)
    acked = {t: 3 for export in sent for t in export}
    assert_stored_exactly(collector, acked, missing=sent[2])
    assert collector.sql("SELECT count(DISTINCT trace_id) AS n FROM spans") == [{"n": 16}]  # 4 of 5 exports
    body = health(collector)[1]
    assert (body["set_aside_records"], body["set_aside_bytes"]) == (1, end - start)
    [kept] = (path.parent / "dead-letter").glob("*-damaged.bin")
    assert kept.read_bytes() == bytes(data[start:end])
    assert "crc" in kept.with_suffix(".txt").read_text()
    assert f"set aside {end - start} damaged bytes" in collector.log


def test_a_truncated_segment_tail_is_cut_and_every_record_before_it_is_stored(
    stopped_with_backlog: tuple[list[set[str]], Path, list[tuple[int, int]]], fresh_collector: Callable[..., Collector]
) -> None:
    sent, path, records = stopped_with_backlog
    start, end = records[4]
    os.truncate(path, (start + end) // 2)  # the last write, torn (as a crash mid-write leaves it)

    collector = fresh_collector()
    wait_until_stored(collector)
    acked = {t: 3 for export in sent for t in export}
    assert_stored_exactly(collector, acked, missing=sent[4])
    assert collector.sql("SELECT count(DISTINCT trace_id) AS n FROM spans") == [{"n": 16}]
    assert health(collector)[1]["set_aside_bytes"] == 0  # a torn tail was never acknowledged: cut, not kept
    assert "cutting" in collector.log


def test_kill_9_at_random_points_loses_no_acknowledged_span_and_stores_none_twice(
    fresh_collector: Callable[..., Collector],
) -> None:
    seed = random.randrange(1 << 30)
    pick = random.Random(seed)
    acked: dict[str, int] = {}
    for trial in range(4):
        collector = fresh_collector()
        wait_until_stored(collector)  # the replay of what the last crash left
        assert_stored_exactly(collector, acked)  # everything acknowledged before the last crash
        with Sender(collector, threads=3) as sender:
            time.sleep(pick.uniform(0.2, 2.0))  # a random point in the load (the seed is printed)
            collector.process.send_signal(signal.SIGKILL)  # its decode workers notice and exit by themselves
            collector.process.wait()
        acked.update(sender.acked)
        print(f"trial {trial} (seed {seed}): {sender.exports} exports acknowledged before kill -9")
    collector = fresh_collector()
    wait_until_stored(collector)
    assert_stored_exactly(collector, acked)
    # more may be stored: an export stored whose answer the kill cut off (the client would retry it)


def test_a_decode_worker_killed_under_load_is_replaced_and_nothing_acknowledged_is_lost(
    fresh_collector: Callable[..., Collector],
) -> None:
    collector = fresh_collector()
    with Sender(collector) as sender:
        while sender.exports < 20:
            time.sleep(0.05)
        workers = [
            pid for pid in children(collector.process.pid) if b"spawn_main" in Path(f"/proc/{pid}/cmdline").read_bytes()
        ]
        assert workers
        for pid in workers:
            os.kill(pid, signal.SIGKILL)  # as the OOM killer would
        acked = sender.acked_spans()
        while sender.acked_spans() < acked + 3_000:  # new workers take over by themselves
            time.sleep(0.05)
    wait_until_stored(collector)
    assert_stored_exactly(collector, sender.acked)
    status, body = health(collector)
    assert (status, body["dead_letters"]) == (200, 0)  # their batches were retried, not set aside
    assert "a decode worker died; starting new workers" in collector.log
