"""The durable spool: the collector's acknowledgement point.

A receiver calls ``append`` and answers its client only after ``append`` returns, which is after
the record is written and fsynced. Concurrent appends share one fsync (group commit: the first
waiter flushes everything pending, the others wait for it). The runner then takes records in
order, stores them, and calls ``ack``; acknowledged segments are deleted. After a crash,
``open`` replays every record after the checkpoint: replay is idempotent because the store keys
spans on (trace_id, span_id), so the checkpoint need not be fsynced.

    segment files  00000001.seg  00000002.seg  00000003.seg (being appended)
                   [deleted....][ rec rec rec | rec rec rec rec ]
                                  ^ checkpoint (first record not yet stored)
    backlog = bytes appended and not yet acked; past ``max_backlog_bytes`` append raises Overloaded.

The backlog lives in the segment files only: a waiting record is its position, and its payload is
read back (``read_payloads``, from the page cache as a rule) by whoever decodes it, in a decode
worker as a rule. So the collector's memory does not grow with the backlog: with payloads kept in
memory, a full 256 MiB backlog alone put the collector over 1 GiB under sustained overload.

Read-your-writes (``when_stored``): each record gets a sequence number as it becomes durable (or
is replayed), in spool order. ``acknowledged()`` is the last number handed out, so it covers every
export a client has been answered for; the runner acks in order, so ``stored()`` (the last acked
number) says that everything up to it is in the store. A read captures ``acknowledged()`` when it
arrives and waits until ``stored()`` reaches it. While a reader waits (``hurried``), ``take`` does
not hold records back to fill a batch, and the runner has the store commit what it was handed.

    acknowledged ->  seq 1 .. 7 (ready, in flight) .. 12
    stored       ->  seq 1 .. 7 ; a read that arrived now waits for 12

Record layout: ``<IIBBHI`` = payload length, crc32 of meta+payload, signal, version, meta length,
item count; then meta (JSON), then payload (serialized protobuf request).
"""

from __future__ import annotations

import logging
import os
import struct
import threading
import time
import heapq
import itertools
import zlib
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from annotrace.collector.errors import Overloaded, Unavailable

log = logging.getLogger(__name__)

_HEADER = struct.Struct("<IIBBHI")
SIGNALS = ("traces", "logs", "metrics")
DEFAULT_SEGMENT_BYTES = 64 * 1024 * 1024


@dataclass(slots=True)
class Record:
    """One acknowledged export: ``meta`` holds routing facts, ``payload`` the protobuf request;
    records from the spool come with an empty payload, which ``read_payloads`` fills in."""

    signal: str
    meta: bytes
    payload: bytes
    items: int
    segment: int
    end: int  # offset just past this record in its segment
    ready_at: float = 0.0  # monotonic time it became durable (or was replayed), for batching
    size: int = 0  # bytes in the segment: header, meta and payload
    seq: int = 0  # read-your-writes order: numbered as it became durable (or was replayed)

    def __post_init__(self) -> None:
        if not self.size:
            self.size = _HEADER.size + len(self.meta) + len(self.payload)


def read_payloads(directory: str | os.PathLike[str], records: list[Record]) -> None:
    """Fill in the payloads of spool records (left empty while they wait) from their segments."""
    fds: dict[int, int] = {}
    try:
        for record in records:
            if record.payload:
                continue
            fd = fds.get(record.segment)
            if fd is None:
                fd = fds[record.segment] = os.open(Path(directory) / f"{record.segment:08d}.seg", os.O_RDONLY)
            length = record.size - _HEADER.size - len(record.meta)
            record.payload = os.pread(fd, length, record.end - length)
            if len(record.payload) != length:
                raise OSError(f"spool segment {record.segment:08d} ends before its record at {record.end}")
    finally:
        for fd in fds.values():
            os.close(fd)


class Spool:
    def __init__(self, directory: str | os.PathLike[str], max_backlog_bytes: int,
                 segment_bytes: int = DEFAULT_SEGMENT_BYTES, fsync: bool = True) -> None:
        self.directory = Path(directory).absolute()  # decode workers open its segments too
        self.max_backlog_bytes = max_backlog_bytes
        self.segment_bytes = segment_bytes
        self.fsync = fsync
        self._cond = threading.Condition()
        self._pending: list[tuple[Record, bytes]] = []
        self._ready: deque[Record] = deque()
        self._ready_items = 0
        self._next_ticket = 1
        self._durable_ticket = 0
        self._failed: list[tuple[int, int, str]] = []
        self._flushing = False
        self._closed = True
        self._backlog = 0
        self._segment = 0
        self._file: object = None
        self._offset = 0
        self._last_seq = 0  # numbered so far: every acknowledged record has a number <= this
        self._stored_seq = 0  # every record numbered <= this is stored (acked by the runner)
        self._wanted = 0  # the highest number a reader waits for
        self._waiters: list[tuple[int, int, Callable[[], None]]] = []  # heap of (seq, arrival, callback)
        self._arrivals = itertools.count()

    # -- lifecycle -------------------------------------------------------------------------
    def open(self) -> int:
        """Replay records after the checkpoint into the ready queue; returns how many."""
        self.directory.mkdir(parents=True, exist_ok=True)
        start_segment, start_offset = self._read_checkpoint()
        replayed = 0
        segments = sorted(int(p.stem) for p in self.directory.glob("*.seg"))
        for number in segments:
            if number < start_segment:
                (self.directory / f"{number:08d}.seg").unlink(missing_ok=True)
                continue
            offset = start_offset if number == start_segment else 0
            for record in self._read_segment(number, offset):
                record.ready_at = time.monotonic()
                self._last_seq += 1
                record.seq = self._last_seq
                self._ready.append(record)
                self._ready_items += record.items
                self._backlog += record.size
                replayed += 1
        self._segment = (segments[-1] if segments else 0) + 1
        self._open_segment()
        self._closed = False
        if replayed:
            log.info("spool: replaying %d records not yet stored", replayed)
        return replayed

    def close(self) -> None:
        with self._cond:
            self._closed = True
            while self._flushing:
                self._cond.wait()
            if self._file is not None:
                self._file.close()  # type: ignore[attr-defined]
                self._file = None
            self._cond.notify_all()

    # -- producer side (receivers) -----------------------------------------------------------
    def admit(self, size: int) -> None:
        """Refuse early, before decoding, when the backlog is over its limit."""
        if self._closed:
            raise Unavailable("The collector is shutting down")
        if self._backlog + size > self.max_backlog_bytes:
            raise Overloaded(
                f"Backlog of {self._backlog} bytes is at its limit of {self.max_backlog_bytes} bytes; retry later",
                retry_after_s=1.0,
            )

    def append(self, signal: str, meta: bytes, payload: bytes, items: int) -> None:
        """Write and fsync one record; returns only once it is durable (the ack point)."""
        encoded = _HEADER.pack(len(payload), zlib.crc32(payload, zlib.crc32(meta)), SIGNALS.index(signal), 1,
                               len(meta), items) + meta + payload
        record = Record(signal, meta, b"", items, 0, 0, size=len(encoded))
        with self._cond:
            self.admit(len(encoded))
            self._backlog += len(encoded)
            self._pending.append((record, encoded))
            ticket = self._next_ticket
            self._next_ticket += 1
            while self._durable_ticket < ticket:
                if self._flushing:
                    self._cond.wait()
                    continue
                self._flush_pending()
            for first, last, error in self._failed:
                if first <= ticket <= last:
                    self._backlog -= len(encoded)
                    raise Unavailable(f"Could not make the data durable: {error}")

    def _flush_pending(self) -> None:
        """Called with the lock held; releases it while writing so others can queue up."""
        batch, self._pending = self._pending, []
        last = self._next_ticket - 1
        first = last - len(batch) + 1
        self._flushing = True
        self._cond.release()
        error = None
        try:
            error = self._write(batch)
        finally:
            self._cond.acquire()
            self._flushing = False
        if error is None:
            now = time.monotonic()
            for record, _ in batch:
                record.ready_at = now
                self._last_seq += 1
                record.seq = self._last_seq
                self._ready_items += record.items
            self._ready.extend(record for record, _ in batch)
        else:
            self._failed = [*self._failed[-100:], (first, last, error)]
        self._durable_ticket = last
        self._cond.notify_all()

    def _write(self, batch: list[tuple[Record, bytes]]) -> str | None:
        try:
            if self._file is None:
                return "spool is closed"
            if self._offset >= self.segment_bytes:
                self._file.close()  # type: ignore[attr-defined]
                self._segment += 1
                self._open_segment()
            for record, encoded in batch:
                self._offset += len(encoded)
                record.segment, record.end = self._segment, self._offset
            self._file.write(b"".join(encoded for _, encoded in batch))  # type: ignore[attr-defined]
            self._file.flush()  # type: ignore[attr-defined]
            if self.fsync:
                os.fsync(self._file.fileno())  # type: ignore[attr-defined]
            return None
        except OSError as exc:
            log.error("spool: write failed: %s", exc)
            return str(exc)

    # -- consumer side (runner) --------------------------------------------------------------
    def take(self, max_items: int, timeout: float, *, fill_s: float = 0.0) -> list[Record]:
        """Up to ``max_items`` items' worth of records (at least one record), waiting up to
        ``timeout`` for one. With ``fill_s`` (the batch processor's timeout), fewer than
        ``max_items`` are handed out only once the oldest has been ready that long, or when the
        backlog has no room for the rest (senders are refused, so nothing more comes); until then
        this waits for more, and returns nothing when ``timeout`` passes first."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                now = time.monotonic()
                wake = deadline
                if self._ready:
                    fill_by = self._ready[0].ready_at + fill_s
                    if (self._ready_items >= max_items or now >= fill_by or not self._room_for(max_items)
                            or self._ready[0].seq <= self._wanted):  # a reader waits for it
                        break
                    wake = min(deadline, fill_by)
                if wake <= now:
                    return []
                self._cond.wait(wake - now)
            out: list[Record] = []
            items = 0
            while self._ready and (not out or items + self._ready[0].items <= max_items):
                record = self._ready.popleft()
                out.append(record)
                items += record.items
            self._ready_items -= items
            return out

    def ready_items(self) -> int:
        return self._ready_items

    @property
    def backlog_bytes(self) -> int:
        return self._backlog

    def _room_for(self, max_items: int) -> bool:
        """Whether the backlog can take the records a batch of ``max_items`` still lacks (sized
        like the oldest ready record), i.e. whether waiting for them can fill it."""
        oldest = self._ready[0]
        missing = max_items - self._ready_items
        return self._backlog + missing * oldest.size / max(1, oldest.items) <= self.max_backlog_bytes

    def load(self, records: list[Record]) -> None:
        """Read the payloads of records taken from this spool."""
        read_payloads(self.directory, records)

    def ack(self, records: list[Record]) -> None:
        """Everything in ``records`` is stored: release backlog, drop finished segments."""
        if not records:
            return
        last = records[-1]
        with self._cond:
            self._backlog -= sum(r.size for r in records)
            self._stored_seq = max(self._stored_seq, last.seq)
            woken = []
            while self._waiters and self._waiters[0][0] <= self._stored_seq:
                woken.append(heapq.heappop(self._waiters)[2])
        for callback in woken:
            callback()
        tmp = self.directory / "checkpoint.tmp"
        tmp.write_text(f"{last.segment} {last.end}\n")
        tmp.replace(self.directory / "checkpoint")
        for path in self.directory.glob("*.seg"):
            if int(path.stem) < last.segment:
                path.unlink(missing_ok=True)

    # -- read-your-writes -----------------------------------------------------------------------
    def acknowledged(self) -> int:
        """The number of the last record made durable: covers every export answered so far."""
        return self._last_seq

    def stored(self) -> int:
        """Every record numbered up to this is stored."""
        return self._stored_seq

    def hurried(self) -> bool:
        """Whether a reader waits for records not stored yet (commit now rather than batch)."""
        return self._wanted > self._stored_seq

    def when_stored(self, seq: int, callback: Callable[[], None]) -> bool:
        """Call ``callback()`` (on the runner's thread) once record ``seq`` is stored, and hurry
        the pipeline until then. Returns False, without calling it, if it already is."""
        with self._cond:
            if self._stored_seq >= seq:
                return False
            heapq.heappush(self._waiters, (seq, next(self._arrivals), callback))
            if seq > self._wanted:
                self._wanted = seq
                self._cond.notify_all()  # take() stops waiting for a full batch
            return True

    # -- files ---------------------------------------------------------------------------------
    def _open_segment(self) -> None:
        path = self.directory / f"{self._segment:08d}.seg"
        self._file = open(path, "ab", buffering=0)  # noqa: SIM115 - owned by the spool
        self._offset = path.stat().st_size
        if self.fsync:
            dir_fd = os.open(self.directory, os.O_RDONLY)
            try:
                os.fsync(dir_fd)
            finally:
                os.close(dir_fd)

    def _read_checkpoint(self) -> tuple[int, int]:
        try:
            segment, offset = (self.directory / "checkpoint").read_text().split()
            return int(segment), int(offset)
        except (OSError, ValueError):
            return 0, 0

    def _read_segment(self, number: int, offset: int) -> list[Record]:
        """Records from ``offset`` on; a torn tail (never acknowledged) is cut off."""
        path = self.directory / f"{number:08d}.seg"
        data = path.read_bytes()
        records = []
        pos = offset
        while pos + _HEADER.size <= len(data):
            length, crc, signal, _version, meta_len, items = _HEADER.unpack_from(data, pos)
            body_start = pos + _HEADER.size
            end = body_start + meta_len + length
            if end > len(data) or signal >= len(SIGNALS):
                break
            meta = data[body_start : body_start + meta_len]
            if zlib.crc32(memoryview(data)[body_start + meta_len : end], zlib.crc32(meta)) != crc:
                break
            records.append(Record(SIGNALS[signal], meta, b"", items, number, end, size=end - pos))
            pos = end
        if pos < len(data):
            log.warning("spool: cutting a torn tail of %d bytes from %s", len(data) - pos, path.name)
            with open(path, "r+b") as handle:
                handle.truncate(pos)
        return records

    def dead_letter(self, record: Record, reason: str) -> None:
        """Keep a record the store refused, with the reason, instead of dropping it."""
        try:
            self.load([record])
        except OSError as exc:  # its segment is damaged or gone: keep the reason at least
            reason = f"{reason}\npayload unreadable: {exc}"
        folder = self.directory / "dead-letter"
        folder.mkdir(exist_ok=True)
        stem = f"{record.segment:08d}-{record.end:012d}-{record.signal}"
        (folder / f"{stem}.pb").write_bytes(record.payload)
        (folder / f"{stem}.txt").write_text(f"{reason}\nmeta: {record.meta.decode(errors='replace')}\n")
