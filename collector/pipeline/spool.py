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
arrives and waits until ``stored()`` reaches it. While a reader waits, ``take`` does not hold its
records back to fill a batch, and once they are all taken (``hurried``) the runner has the store
commit what it was handed.

    acknowledged ->  seq 1 .. 7 (ready, in flight) .. 12
    stored       ->  seq 1 .. 7 ; a read that arrived now waits for 12

The record layout, and reading a damaged segment, are in ``segment.py``. Every write is checked:
a short write is an error, a failed write is cut off again (the segment stays well-formed), and
the records of a failed write are refused, never acknowledged. Damaged records found on replay
are set aside in ``dead-letter/`` with the reason, and every intact record after them replays.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import os
import threading
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path

from annotrace.collector.errors import Overloaded, Unavailable
from annotrace.collector.pipeline import dead_letter, segment
from annotrace.collector.pipeline.segment import SIGNALS, Record, read_payloads, write_file

__all__ = ["SIGNALS", "Record", "Spool", "read_payloads"]

log = logging.getLogger(__name__)

DEFAULT_SEGMENT_BYTES = 64 * 1024 * 1024
REFUSED_RETRY_AFTER_S = 5.0
PROBE_EVERY_S, PROBE_BYTES = 1.0, 64 * 1024


class Spool:
    def __init__(
        self,
        directory: str | os.PathLike[str],
        max_backlog_bytes: int,
        segment_bytes: int = DEFAULT_SEGMENT_BYTES,
        fsync: bool = True,
    ) -> None:
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
        self._segments = segment.SegmentWriter(self.directory, segment_bytes, fsync=fsync)
        self.set_aside_bytes = 0  # damaged bytes moved to dead-letter/ (or left in place) on replay
        self.set_aside_records = 0
        self.write_error: str | None = None  # the last append that failed, until one succeeds (or ``recheck``)
        self._probed = 0.0
        self.refusing: str | None = None  # why appends are refused (``refuse``)
        self._last_seq = 0  # numbered so far: every acknowledged record has a number <= this
        self._stored_seq = 0  # every record numbered <= this is stored (acked by the runner)
        self._wanted = 0  # the highest number a reader waits for
        self._waiters: list[tuple[int, int, Callable[[], None]]] = []  # heap of (seq, arrival, callback)
        self._arrivals = itertools.count()
        self._nudged = False  # see nudge()

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
        self._segments.number = max(segments[-1] if segments else 0, start_segment)  # appends start a new one
        self._closed = False
        if replayed:
            log.info("spool: replaying %d records not yet stored", replayed)
        return replayed

    def close(self) -> None:
        with self._cond:
            self._closed = True
            while self._flushing:
                self._cond.wait()
            self._segments.close()
            self._cond.notify_all()

    # -- producer side (receivers) -----------------------------------------------------------
    def admit(self, size: int) -> None:
        """Refuse early, before decoding, when the backlog is over its limit or the pipeline
        behind the spool cannot store (``refuse``)."""
        if self._closed:
            raise Unavailable("The collector is shutting down")
        if self.refusing is not None:
            raise Unavailable(
                f"The collector cannot store data now ({self.refusing}); retry later",
                retry_after_s=REFUSED_RETRY_AFTER_S,
            )
        if self._backlog + size > self.max_backlog_bytes:
            raise Overloaded(
                f"Backlog of {self._backlog} bytes is at its limit of {self.max_backlog_bytes} bytes; retry later",
                retry_after_s=1.0,
            )

    def refuse(self, reason: str | None) -> None:
        """While ``reason`` is set, appends are refused (Unavailable with a Retry-After): what is
        behind the spool cannot store, so whatever more were acknowledged would only wait on a
        failing disk. ``None`` accepts again."""
        self.refusing = reason

    def append(self, signal: str, meta: bytes, payload: bytes, items: int) -> None:
        """Write and fsync one record; returns only once it is durable (the ack point)."""
        encoded = segment.encode(signal, meta, payload, items)
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
        """Append ``batch`` whole and fsync it (``SegmentWriter``), or return why not."""
        if self._closed:
            return "spool is closed"
        try:
            number, position = self._segments.append(b"".join(encoded for _, encoded in batch))
        except OSError as exc:
            error = f"spool: cannot write to {self.directory}: {exc.strerror or exc}"
            if error != self.write_error:
                log.error("%s", error)
            self.write_error = error
            return error
        if self.write_error is not None:
            log.warning("spool: writing again after: %s", self.write_error)
        self.write_error = None
        for record, encoded in batch:
            position += len(encoded)
            record.segment, record.end = number, position
        return None

    def recheck(self) -> str | None:
        """``write_error``, after trying (at most once a second) to write and fsync 64 KiB beside the
        segments while it is set: with no traffic no append clears it, and health said unavailable
        long after the disk had room again."""
        error, now = self.write_error, time.monotonic()
        if error is None or now - self._probed < PROBE_EVERY_S:
            return error
        self._probed = now
        try:
            write_file(self.directory / "probe", b"\0" * PROBE_BYTES, fsync=True)
            (self.directory / "probe").unlink()
        except OSError:
            return error
        log.warning("spool: writable again after: %s", error)
        self.write_error = None
        return None

    # -- consumer side (runner) --------------------------------------------------------------
    def take(self, max_items: int, timeout: float, *, fill_s: float = 0.0) -> list[Record]:
        """Up to ``max_items`` items' worth of records (at least one record), waiting up to
        ``timeout`` for one. With ``fill_s`` (the batch processor's timeout), fewer than
        ``max_items`` are handed out only once the oldest has been ready that long, or when the
        backlog has no room for the rest (senders are refused, so nothing more comes); until then
        this waits for more, and returns nothing when ``timeout`` passes first or ``nudge`` is
        called (a batch in flight is done: the runner acks it now, not after ``timeout``)."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                now = time.monotonic()
                wake = deadline
                if self._ready:
                    fill_by = self._ready[0].ready_at + fill_s
                    if (
                        self._ready_items >= max_items
                        or now >= fill_by
                        or not self._room_for(max_items)
                        or self._ready[0].seq <= self._wanted
                    ):  # a reader waits for it
                        break
                    wake = min(deadline, fill_by)
                if wake <= now or self._nudged:
                    self._nudged = False
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
            self._segments.stored_to = (last.segment, last.end)
            woken = []
            while self._waiters and self._waiters[0][0] <= self._stored_seq:
                woken.append(heapq.heappop(self._waiters)[2])
        for callback in woken:
            callback()
        try:  # not fsynced: a stale checkpoint only replays stored records again (idempotent)
            write_file(self.directory / "checkpoint", f"{last.segment} {last.end}\n".encode(), fsync=False)
        except OSError as exc:
            log.warning("spool: cannot update the checkpoint (%s); a restart replays more", exc.strerror or exc)
        for path in self.directory.glob("*.seg"):  # even so: it frees space on a full disk
            if int(path.stem) < last.segment:
                try:
                    path.unlink(missing_ok=True)
                except OSError as exc:  # deleted at the next ack or start
                    log.warning("spool: cannot delete %s: %s", path.name, exc.strerror or exc)

    # -- read-your-writes -----------------------------------------------------------------------
    def acknowledged(self) -> int:
        """The number of the last record made durable: covers every export answered so far."""
        return self._last_seq

    def stored(self) -> int:
        """Every record numbered up to this is stored."""
        return self._stored_seq

    @property
    def unstored_records(self) -> int:
        """Acknowledged (durable) records not stored yet: the runner acks in order."""
        return self._last_seq - self._stored_seq

    def nudge(self) -> None:
        """End a ``take`` that is waiting without result now (a batch in flight completed)."""
        with self._cond:
            self._nudged = True
            self._cond.notify_all()

    def hurried(self) -> bool:
        """Whether a reader waits for records that have all been taken but are not stored yet:
        then committing what is in flight now serves it. While some of them still wait in the
        spool (a backlog), full batches and row-group commits reach them sooner than small ones,
        so the pipeline is not hurried yet."""
        with self._cond:
            return self._wanted > self._stored_seq and not (self._ready and self._ready[0].seq <= self._wanted)

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
    def _read_checkpoint(self) -> tuple[int, int]:
        try:
            segment_number, offset = (self.directory / "checkpoint").read_text().split()
            return int(segment_number), int(offset)
        except (OSError, ValueError):
            return 0, 0

    def _read_segment(self, number: int, offset: int) -> list[Record]:
        """Records from ``offset`` on. Damaged records are set aside (``dead-letter/``) and the
        records after them kept; a torn tail (never acknowledged) is cut off."""
        path = self.directory / f"{number:08d}.seg"
        data = path.read_bytes()
        found = segment.scan(data, number, offset)
        for damaged in found.damaged:
            self.set_aside_bytes += damaged.end - damaged.start
            self.set_aside_records += 1
            dead_letter.set_aside(self.directory, path, number, data, damaged, fsync=self.fsync)
        if found.end < len(data):
            log.warning(
                "spool: cutting %d bytes after the last readable record from %s", len(data) - found.end, path.name
            )
            try:
                os.truncate(path, found.end)
            except OSError as exc:  # appends go to a new segment anyway; the next replay cuts it
                log.error("spool: cannot cut %s: %s", path.name, exc.strerror or exc)
        return found.records

    def dead_letter(self, record: Record, reason: str) -> None:
        """Keep a record the store refused, with the reason, instead of dropping it. Raises
        ``OSError`` if it cannot be kept (a full disk): the caller must not ack it then."""
        try:
            self.load([record])
        except OSError as exc:  # its segment is damaged or gone: keep the reason at least
            reason = f"{reason}\npayload unreadable: {exc}"
        dead_letter.keep(
            self.directory,
            f"{record.segment:08d}-{record.end:012d}-{record.signal}",
            record.payload,
            f"{reason}\nmeta: {record.meta.decode(errors='replace')}\n",
            fsync=self.fsync,
        )
