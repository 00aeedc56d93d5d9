"""The spool acknowledges only durable records, replays after a crash, cuts torn tails and pushes back."""

from __future__ import annotations

import resource
import shutil
import threading
import time
from pathlib import Path

import pytest

from annotrace.collector.errors import Overloaded, Unavailable
from annotrace.collector.pipeline.spool import Record, Spool

FIXTURES = Path(__file__).parent / "fixtures"


def take(spool: Spool, max_items: int, timeout: float, *, fill_s: float = 0.0) -> list[Record]:
    """What the runner does: take records (positions in the spool's files), read their payloads."""
    records = spool.take(max_items, timeout, fill_s=fill_s)
    spool.load(records)
    return records


def test_waiting_records_are_read_back_from_their_segments_not_kept_in_memory(tmp_path: Path) -> None:
    spool = Spool(tmp_path, max_backlog_bytes=1 << 24, segment_bytes=100_000)  # a new segment every 2 records
    spool.open()
    payloads = [bytes([i]) * 60_000 for i in range(5)]
    for payload in payloads:
        spool.append("traces", b'{"receiver":"otlp"}', payload, items=1)
    assert len(list(tmp_path.glob("*.seg"))) == 3
    records = spool.take(10, 0)
    assert [r.payload for r in records] == [b""] * 5  # the backlog is on disk only
    assert spool.backlog_bytes == sum(r.size for r in records) > 5 * 60_000
    spool.load(records[1:4])  # across segments, as a decode worker reads a batch
    assert [r.payload for r in records[1:4]] == payloads[1:4]
    spool.load(records)
    assert [r.payload for r in records] == payloads
    spool.close()


def test_records_survive_a_reopen_until_acked(tmp_path: Path) -> None:
    spool = Spool(tmp_path, max_backlog_bytes=1 << 20)
    spool.open()
    for i in range(5):
        spool.append("traces", b'{"receiver":"otlp"}', f"payload-{i}".encode(), items=i + 1)
    taken = take(spool, max_items=6, timeout=0)  # 1 + 2 + 3 items
    assert [r.payload for r in taken] == [b"payload-0", b"payload-1", b"payload-2"]
    spool.ack(taken)
    spool.close()  # as if the process died before the rest was stored

    again = Spool(tmp_path, max_backlog_bytes=1 << 20)
    assert again.open() == 2
    replayed = take(again, max_items=100, timeout=0)
    assert [(r.signal, r.payload, r.items) for r in replayed] == [
        ("traces", b"payload-3", 4),
        ("traces", b"payload-4", 5),
    ]
    assert again.backlog_bytes == sum(r.size for r in replayed)
    again.ack(replayed)
    assert again.backlog_bytes == 0
    again.close()
    last = Spool(tmp_path, max_backlog_bytes=1 << 20)
    assert last.open() == 0
    last.close()


def test_a_torn_tail_is_cut_and_earlier_records_kept(tmp_path: Path) -> None:
    spool = Spool(tmp_path, max_backlog_bytes=1 << 20)
    spool.open()
    spool.append("logs", b"", b"complete", items=1)
    spool.close()
    segment = sorted(tmp_path.glob("*.seg"))[-1]
    with open(segment, "ab") as handle:
        handle.write(b"\x10\x00\x00\x00partial-record")  # a write cut short by a crash
    again = Spool(tmp_path, max_backlog_bytes=1 << 20)
    assert again.open() == 1
    assert [r.payload for r in take(again, 10, 0)] == [b"complete"]
    assert segment.read_bytes().endswith(b"complete")
    again.close()


def _three_records(directory: Path) -> tuple[Path, list[int]]:
    """A closed spool of three records; returns its segment and where each record starts."""
    spool = Spool(directory, max_backlog_bytes=1 << 20)
    spool.open()
    for payload in (b"first", b"second", b"third"):
        spool.append("traces", b'{"receiver":"otlp"}', payload * 10, items=1)
    starts = [0, *[r.end for r in spool.take(10, 0)][:-1]]
    spool.close()
    return sorted(directory.glob("*.seg"))[-1], starts


def test_a_flipped_byte_in_a_payload_costs_only_that_record(tmp_path: Path) -> None:
    segment_file, starts = _three_records(tmp_path)
    data = bytearray(segment_file.read_bytes())
    data[starts[2] - 3] ^= 0x01  # inside the second record's payload
    segment_file.write_bytes(bytes(data))
    again = Spool(tmp_path, max_backlog_bytes=1 << 20)
    assert again.open() == 2
    assert [r.payload for r in take(again, 10, 0)] == [b"first" * 10, b"third" * 10]
    assert (again.set_aside_records, again.set_aside_bytes) == (1, starts[2] - starts[1])
    [kept] = (tmp_path / "dead-letter").glob("*-damaged.bin")
    assert kept.read_bytes() == bytes(data[starts[1] : starts[2]])
    assert "crc" in kept.with_suffix(".txt").read_text()
    again.close()


def test_a_damaged_record_header_is_stepped_over_to_the_next_record(tmp_path: Path) -> None:
    segment_file, starts = _three_records(tmp_path)
    data = bytearray(segment_file.read_bytes())
    data[starts[1] + 5] ^= 0xFF  # the second record's length: only the header crc can tell
    segment_file.write_bytes(bytes(data))
    again = Spool(tmp_path, max_backlog_bytes=1 << 20)
    assert again.open() == 2
    assert [r.payload for r in take(again, 10, 0)] == [b"first" * 10, b"third" * 10]
    assert again.set_aside_bytes == starts[2] - starts[1]
    again.close()


def test_an_unreadable_last_record_is_set_aside_and_cut(tmp_path: Path) -> None:
    segment_file, starts = _three_records(tmp_path)
    data = bytearray(segment_file.read_bytes())
    data[starts[2]] ^= 0xFF  # the last record's sync marker: it may have been acknowledged
    segment_file.write_bytes(bytes(data))
    again = Spool(tmp_path, max_backlog_bytes=1 << 20)
    assert again.open() == 2
    assert again.set_aside_bytes == len(data) - starts[2]
    assert segment_file.stat().st_size == starts[2]
    [kept] = (tmp_path / "dead-letter").glob("*-damaged.bin")
    assert kept.read_bytes() == bytes(data[starts[2] :])
    again.close()


def test_a_segment_written_by_the_previous_release_replays(tmp_path: Path) -> None:
    """``fixtures/spool_v1`` was written by the release before the version 2 layout."""
    shutil.copy(FIXTURES / "spool_v1" / "00000001.seg", tmp_path)
    spool = Spool(tmp_path, max_backlog_bytes=1 << 20)
    assert spool.open() == 4
    records = take(spool, 100, 0)
    assert [(r.signal, r.meta, r.payload, r.items) for r in records] == [
        *(("traces", b'{"receiver":"otlp"}', f"v1-payload-{i}".encode() * 3, i + 1) for i in range(3)),
        ("logs", b'{"receiver":"web"}', b"v1-log", 2),
    ]
    spool.ack(records[:2])
    spool.append("traces", b"", b"new", items=1)  # a new segment in the new layout, beside the old one
    spool.close()
    again = Spool(tmp_path, max_backlog_bytes=1 << 20)
    assert again.open() == 3
    assert [r.payload for r in take(again, 100, 0)] == [b"v1-payload-2" * 3, b"v1-log", b"new"]
    again.close()


def test_a_flipped_byte_in_a_previous_release_segment_costs_only_that_record(tmp_path: Path) -> None:
    data = bytearray((FIXTURES / "spool_v1" / "00000001.seg").read_bytes())
    data[40] ^= 0x01  # the first record's payload
    (tmp_path / "00000001.seg").write_bytes(bytes(data))
    spool = Spool(tmp_path, max_backlog_bytes=1 << 20)
    assert spool.open() == 3
    assert [r.payload for r in take(spool, 100, 0)] == [b"v1-payload-1" * 3, b"v1-payload-2" * 3, b"v1-log"]
    assert spool.set_aside_records == 1
    spool.close()


def test_a_write_cut_short_by_a_full_disk_is_refused_and_undone(tmp_path: Path) -> None:
    """A real short write: past RLIMIT_FSIZE the kernel writes what fits and then refuses (with
    EFBIG; Python ignores SIGXFSZ), as a full disk does with ENOSPC."""
    spool = Spool(tmp_path, max_backlog_bytes=1 << 24)
    spool.open()
    spool.append("traces", b"", b"before", items=1)
    [segment_file] = tmp_path.glob("*.seg")
    size = segment_file.stat().st_size
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    resource.setrlimit(resource.RLIMIT_FSIZE, (size + 1000, hard))
    try:
        with pytest.raises(Unavailable) as info:
            spool.append("traces", b"", b"x" * 100_000, items=1)  # 1,000 bytes fit, then the limit
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
    assert "durable" in info.value.message
    assert segment_file.stat().st_size == size  # the partial record is cut off again
    assert spool.write_error is not None
    spool.append("traces", b"", b"after", items=1)  # room again: appends work, in the same segment
    assert spool.write_error is None
    assert [r.payload for r in take(spool, 10, 0)] == [b"before", b"after"]
    spool.close()
    again = Spool(tmp_path, max_backlog_bytes=1 << 24)
    assert again.open() == 2
    assert not (tmp_path / "dead-letter").exists()
    again.close()


def test_refused_appends_say_why_and_when_to_retry(tmp_path: Path) -> None:
    spool = Spool(tmp_path, max_backlog_bytes=1 << 20)
    spool.open()
    spool.refuse("store: No space left on device")
    with pytest.raises(Unavailable) as info:
        spool.append("traces", b"", b"x", items=1)
    assert "No space left on device" in info.value.message and info.value.retry_after_s
    spool.refuse(None)
    spool.append("traces", b"", b"x", items=1)
    spool.close()


def test_a_dead_letter_that_cannot_be_written_raises_and_leaves_nothing_half_written(tmp_path: Path) -> None:
    spool = Spool(tmp_path, max_backlog_bytes=1 << 24)
    spool.open()
    spool.append("traces", b"", b"z" * 100_000, items=1)
    [record] = spool.take(10, 0)
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    resource.setrlimit(resource.RLIMIT_FSIZE, (10_000, hard))
    try:
        with pytest.raises(OSError):
            spool.dead_letter(record, "refused by the store")
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
    assert list((tmp_path / "dead-letter").iterdir()) == []
    spool.dead_letter(record, "refused by the store")
    assert sorted(p.suffix for p in (tmp_path / "dead-letter").iterdir()) == [".pb", ".txt"]
    spool.close()


def test_backlog_limit_refuses_with_retry_after(tmp_path: Path) -> None:
    spool = Spool(tmp_path, max_backlog_bytes=10_000)
    spool.open()
    spool.append("traces", b"", b"x" * 6_000, items=1)
    with pytest.raises(Overloaded) as info:
        spool.append("traces", b"", b"y" * 6_000, items=1)
    assert info.value.retry_after_s is not None
    assert "Backlog" in info.value.message
    spool.ack(take(spool, 10, 0))
    spool.append("traces", b"", b"y" * 6_000, items=1)  # room again once stored
    spool.close()


def test_concurrent_appends_share_fsyncs_and_all_arrive_in_order_per_thread(tmp_path: Path) -> None:
    spool = Spool(tmp_path, max_backlog_bytes=1 << 26)
    spool.open()

    def produce(n: int) -> None:
        for i in range(200):
            spool.append("traces", b"", f"{n}:{i}".encode(), items=1)

    threads = [threading.Thread(target=produce, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    records = take(spool, 10_000, 0)
    assert len(records) == 1600
    for n in range(8):
        mine = [int(r.payload.split(b":")[1]) for r in records if r.payload.startswith(f"{n}:".encode())]
        assert mine == list(range(200))
    spool.close()
    again = Spool(tmp_path, max_backlog_bytes=1 << 26)
    assert again.open() == 1600
    again.close()


def test_a_batch_waits_to_fill_only_until_its_oldest_record_is_fill_s_old(tmp_path: Path) -> None:
    spool = Spool(tmp_path, max_backlog_bytes=1 << 20)
    spool.open()
    for i in range(3):
        spool.append("traces", b"", f"r{i}".encode(), items=2)
    assert spool.ready_items() == 6
    assert take(spool, 10, 0, fill_s=60) == []  # 6 of 10 items, and just arrived: wait for more
    assert [r.payload for r in take(spool, 4, 0, fill_s=60)] == [b"r0", b"r1"]  # a full batch goes at once
    assert spool.ready_items() == 2
    time.sleep(0.05)
    assert [r.payload for r in take(spool, 10, 0, fill_s=0.01)] == [b"r2"]  # old enough: goes as it is
    assert take(spool, 10, 0) == [] and spool.ready_items() == 0
    spool.close()


def test_a_batch_waits_to_fill_only_while_the_backlog_has_room_for_the_rest(tmp_path: Path) -> None:
    spool = Spool(tmp_path, max_backlog_bytes=10_000)
    spool.open()
    spool.append("traces", b"", b"x" * 1_000, items=1)
    assert take(spool, 5, 0, fill_s=60) == []  # 4 more records of ~1 kB fit: wait for them
    spool.append("traces", b"", b"y" * 3_000, items=1)
    spool.append("traces", b"", b"z" * 4_000, items=1)
    # 2 more ~1 kB records would pass the 10 kB limit: senders are refused, so go now
    assert [len(r.payload) for r in take(spool, 5, 0, fill_s=60)] == [1_000, 3_000, 4_000]
    spool.close()


def test_a_dead_letter_whose_segment_is_gone_keeps_the_reason(tmp_path: Path) -> None:
    spool = Spool(tmp_path, max_backlog_bytes=1 << 20)
    spool.open()
    spool.append("traces", b'{"receiver":"otlp"}', b"payload", items=1)
    [record] = spool.take(10, 0)
    for segment in tmp_path.glob("*.seg"):
        segment.unlink()  # e.g. removed by hand
    spool.dead_letter(record, "refused by the store")
    [reason] = (tmp_path / "dead-letter").glob("*.txt")
    assert reason.read_text().startswith("refused by the store\npayload unreadable: ")
    spool.close()


def test_a_reader_is_called_back_once_everything_acknowledged_before_it_is_stored(tmp_path: Path) -> None:
    spool = Spool(tmp_path, max_backlog_bytes=1 << 20)
    spool.open()
    for i in range(3):
        spool.append("traces", b"", f"r{i}".encode(), items=1)
    target = spool.acknowledged()
    assert target == 3 and spool.stored() == 0 and not spool.hurried()
    woken: list[str] = []
    assert spool.when_stored(target, lambda: woken.append("reader"))
    first, second = spool.take(1, 0), spool.take(1, 0)
    assert not spool.hurried()  # one of its records still waits to be taken: batching reaches it soonest
    third = spool.take(1, 0)
    assert spool.hurried()  # all taken, not all stored: commit what is in flight
    spool.ack(first + second)
    assert woken == [] and spool.stored() == 2  # the reader's export is not stored yet
    spool.ack(third)
    assert woken == ["reader"] and spool.stored() == 3 and not spool.hurried()
    assert not spool.when_stored(target, lambda: woken.append("late"))  # already stored: no wait
    assert woken == ["reader"]
    spool.close()


def test_records_replayed_after_a_crash_are_numbered_so_readers_wait_for_them(tmp_path: Path) -> None:
    spool = Spool(tmp_path, max_backlog_bytes=1 << 20)
    spool.open()
    spool.append("traces", b"", b"before the crash", items=1)
    spool.close()
    again = Spool(tmp_path, max_backlog_bytes=1 << 20)
    again.open()
    assert again.acknowledged() == 1 and again.stored() == 0
    again.append("traces", b"", b"after", items=1)
    assert [r.seq for r in again.take(10, 0)] == [1, 2]
    again.close()


def test_a_waiting_reader_makes_take_hand_out_a_batch_without_waiting_to_fill_it(tmp_path: Path) -> None:
    spool = Spool(tmp_path, max_backlog_bytes=1 << 20)
    spool.open()
    spool.append("traces", b"", b"lone", items=1)
    assert spool.take(10, 0, fill_s=60) == []  # 1 of 10 items, just arrived: it waits for company
    spool.when_stored(spool.acknowledged(), lambda: None)
    assert [r.seq for r in spool.take(10, 0, fill_s=60)] == [1]
    spool.close()


def test_a_segment_whose_records_are_all_stored_is_deleted_once_it_is_large(tmp_path: Path) -> None:
    """Stored records must not keep a 64 MiB segment on a small disk until the segment is full."""
    spool = Spool(tmp_path, max_backlog_bytes=1 << 26)
    spool.open()
    for _ in range(3):
        spool.append("traces", b"", b"x" * 2_000_000, items=1)
    spool.ack(spool.take(10, 0))
    assert len(list(tmp_path.glob("*.seg"))) == 1  # 6 MB, all stored: the next append starts anew
    spool.append("traces", b"", b"after", items=1)
    assert [p.name for p in tmp_path.glob("*.seg")] == ["00000002.seg"]
    spool.close()
    again = Spool(tmp_path, max_backlog_bytes=1 << 26)
    assert again.open() == 1
    again.close()
