"""Spool segment files: their byte layout, appending to them (``SegmentWriter``), and reading one
back so that damage costs only itself.

Separate from ``spool.py`` because it is pure (bytes in, records out) and because two layouts
must be readable: segments written by the release before this one (version 1) replay after an
upgrade. A segment is written by one release only (the spool starts a new segment at every
start), so its first record tells which reader to use: both layouts keep the version byte at
offset 9, and a version 2 record starts with the sync marker.

Version 2 (written now), 24-byte header then meta (JSON) then payload (protobuf request):

    offset 0    4        8       9        10         12      16         20          24
           | sync | payload | signal | version | meta len | items | body crc | header crc | meta | payload |
                     len                 = 2                       (meta +     (bytes 0-19)
                                                                   payload)

The header has its own CRC, so a damaged byte anywhere is found and bounded: a bad body leaves
the (checked) length intact and the reader steps over exactly that record; a bad header makes the
reader search forward for the next sync marker whose header checks out (a false match needs a
32-bit CRC to agree by chance). Either way every intact record after the damage is replayed, and
the damaged bytes are handed to the caller to set aside (``Scan.damaged``).

A torn tail is the end of a write that never completed, so it was never acknowledged: a header
that checks out but whose record runs past the end of the file, or fewer bytes than a header.
It is cut (``Scan.end``). Unreadable bytes at the end that are neither (e.g. a last record whose
header was damaged) are set aside as well as cut, since they may have been acknowledged.

Version 1 (``<IIBBHI``: payload len, crc of meta + payload, signal, version = 1, meta len, items)
has no header CRC. Its reader steps over a record whose body fails the CRC only when the next
record checks out (then the length was right); otherwise it sets aside the rest of the segment.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import struct
import zlib
from dataclasses import dataclass, field
from pathlib import Path

SIGNALS = ("traces", "logs", "metrics")
SYNC = b"\xa7\x5ePL"  # chosen to be rare in protobuf and JSON; a match must also pass the header crc
HEADER = struct.Struct("<4sIBBHIII")
_HEADER_CHECKED = HEADER.size - 4  # the header crc covers everything before it
HEADER_V1 = struct.Struct("<IIBBHI")
VERSION = 2
STORED_SEGMENT_BYTES = 4 * 1024 * 1024
"""A segment whose records are all stored is replaced (and deleted) once it holds this much:
otherwise it kept up to ``segment_bytes`` (64 MiB) of stored records on disk until it was full,
which on a small disk was the whole disk, and a full disk then refused every append."""

log = logging.getLogger(__name__)


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
    header_size: int = HEADER.size  # 16 for records written by version 1
    seq: int = 0  # read-your-writes order: numbered as it became durable (or was replayed)

    def __post_init__(self) -> None:
        if not self.size:
            self.size = self.header_size + len(self.meta) + len(self.payload)

    @property
    def payload_size(self) -> int:
        return self.size - self.header_size - len(self.meta)


@dataclass(slots=True)
class Damaged:
    """Bytes ``[start, end)`` of a segment that are not a readable record, and why."""

    start: int
    end: int
    reason: str


@dataclass(slots=True)
class Scan:
    """What a segment holds from some offset on: its intact records, the damaged ranges to set
    aside, and ``end``, where the readable part stops (the file is cut there)."""

    records: list[Record] = field(default_factory=list)
    damaged: list[Damaged] = field(default_factory=list)
    end: int = 0


def encode(signal: str, meta: bytes, payload: bytes, items: int) -> bytes:
    """One version 2 record, ready to append."""
    body_crc = zlib.crc32(payload, zlib.crc32(meta))
    head = HEADER.pack(SYNC, len(payload), SIGNALS.index(signal), VERSION, len(meta), items, body_crc, 0)
    head = head[:_HEADER_CHECKED] + struct.pack("<I", zlib.crc32(head[:_HEADER_CHECKED]))
    return b"".join((head, meta, payload))


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
            length = record.payload_size
            record.payload = os.pread(fd, length, record.end - length)
            if len(record.payload) != length:
                raise OSError(f"spool segment {record.segment:08d} ends before its record at {record.end}")
    finally:
        for fd in fds.values():
            os.close(fd)


def write_whole(fd: int, data: bytes) -> None:
    """Write all of ``data`` or raise: ``os.write`` may write less than asked without an error
    (a full disk first takes what fits, then refuses), and a short write is a failed write."""
    view = memoryview(data)
    done = 0
    while done < len(view):
        written = os.write(fd, view[done:])
        if written <= 0:
            raise OSError(errno.ENOSPC, f"wrote {done} of {len(view)} bytes")
        done += written


def write_file(path: Path, data: bytes, *, fsync: bool) -> None:
    """Write ``path`` whole (through a temporary name, so it is never seen half-written), or
    raise and leave nothing behind."""
    tmp = path.with_name(path.name + ".tmp")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        try:
            write_whole(fd, data)
            if fsync:
                os.fsync(fd)
        finally:
            os.close(fd)
        tmp.replace(path)
    except OSError:
        tmp.unlink(missing_ok=True)  # frees what it took of a full disk
        raise


def fsync_directory(path: Path) -> None:
    """Make a new file's directory entry durable (its own fsync does not cover that)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class SegmentWriter:
    """Appends to the newest segment: a write is whole and fsynced, or undone and raised.

    The offset moves only after a whole write is durable, and a failed write is cut off again, so
    the segment never holds a partial record in front of later ones. A new segment starts when
    the current one reaches ``segment_bytes``, or when it holds ``STORED_SEGMENT_BYTES`` and all of
    it is stored (``stored_to``, set by the spool's ack): that one is deleted at once."""

    def __init__(self, directory: Path, segment_bytes: int, *, fsync: bool) -> None:
        self.directory = directory
        self.segment_bytes = segment_bytes
        self.fsync = fsync
        self.number = 0  # the segment being appended
        self.stored_to = (0, 0)  # (segment, offset) up to which every record is stored
        self._fd: int | None = None  # opened by the first write, and again after a failure
        self._offset = segment_bytes  # its size: where the next record starts

    def append(self, data: bytes) -> tuple[int, int]:
        """Write ``data`` whole and fsync it; returns (segment number, offset it starts at)."""
        if (
            self._fd is None
            or self._offset >= self.segment_bytes
            or (self._offset >= STORED_SEGMENT_BYTES and self.stored_to == (self.number, self._offset))
        ):
            self._next()
        assert self._fd is not None
        start = self._offset
        try:
            write_whole(self._fd, data)
            if self.fsync:
                os.fsync(self._fd)
        except OSError:
            self._undo(start)
            raise
        self._offset = start + len(data)
        return self.number, start

    def close(self) -> None:
        if self._fd is not None:
            with contextlib.suppress(OSError):
                os.close(self._fd)
            self._fd = None
            self._offset = self.segment_bytes  # the next write starts a new segment

    def _undo(self, start: int) -> None:
        """Cut what a failed write left after ``start``. If even that fails, this segment is
        closed and the next write starts a new one; the reader cuts such a tail on replay."""
        assert self._fd is not None
        try:
            os.ftruncate(self._fd, start)
            if self.fsync:
                os.fsync(self._fd)
        except OSError as exc:
            log.error("spool: cannot cut a failed write from %08d.seg (%s); starting a new one", self.number, exc)
            self.close()

    def _next(self) -> None:
        """Start the next segment (its directory entry fsynced); delete the last if all stored."""
        stored = self.stored_to == (self.number, self._offset)
        self.close()
        number = self.number + 1
        fd = os.open(self.directory / f"{number:08d}.seg", os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            size = os.fstat(fd).st_size
            if self.fsync:
                fsync_directory(self.directory)
        except OSError:
            os.close(fd)
            raise
        if stored:
            (self.directory / f"{self.number:08d}.seg").unlink(missing_ok=True)
        self._fd, self.number, self._offset = fd, number, size


def scan(data: bytes, number: int, offset: int) -> Scan:
    """The records of segment ``number`` (its bytes ``data``) from ``offset`` on."""
    if offset < len(data) and _is_version_1(data):
        return _scan_version_1(data, number, offset)
    out = Scan(end=offset)
    pos = offset
    view = memoryview(data)
    while pos < len(data):
        header = _header_at(data, pos)
        if header is None:
            following = _next_header(data, pos + 1)
            if following is None:
                _tail(out, data, pos, "no record header checks out from here to the end of the segment")
                return out
            out.damaged.append(Damaged(pos, following, "damaged record header (sync marker or header crc)"))
            pos = following
            continue
        length, signal, meta_len, items, body_crc = header
        body = pos + HEADER.size
        end = body + meta_len + length
        if end > len(data):  # the header checks out, so this is a write cut short: never acknowledged
            _tail(out, data, pos, "")
            return out
        meta = data[body : body + meta_len]
        if zlib.crc32(view[body + meta_len : end], zlib.crc32(meta)) != body_crc:
            out.damaged.append(Damaged(pos, end, "record body fails its crc (meta or payload damaged)"))
        else:
            out.records.append(Record(SIGNALS[signal], meta, b"", items, number, end, size=end - pos))
        pos = out.end = end
    return out


def _is_version_1(data: bytes) -> bool:
    return not data.startswith(SYNC) and len(data) >= HEADER_V1.size and data[9] == 1


def _header_at(data: bytes, pos: int) -> tuple[int, int, int, int, int] | None:
    """The header fields at ``pos`` if a version 2 header is there and checks out."""
    if pos + HEADER.size > len(data) or data[pos : pos + 4] != SYNC:
        return None
    _, length, signal, version, meta_len, items, body_crc, header_crc = HEADER.unpack_from(data, pos)
    if zlib.crc32(memoryview(data)[pos : pos + _HEADER_CHECKED]) != header_crc:
        return None
    if version != VERSION or signal >= len(SIGNALS):
        return None
    return length, signal, meta_len, items, body_crc


def _next_header(data: bytes, start: int) -> int | None:
    pos = data.find(SYNC, start)
    while pos != -1:
        if _header_at(data, pos) is not None:
            return pos
        pos = data.find(SYNC, pos + 1)
    return None


def _tail(out: Scan, data: bytes, pos: int, reason: str) -> None:
    """Stop at ``pos``; a clean torn tail is only cut, anything else is also set aside."""
    out.end = pos
    torn = len(data) - pos < HEADER.size or (data[pos : pos + 4] == SYNC and _header_at(data, pos) is not None)
    if not torn and reason:
        out.damaged.append(Damaged(pos, len(data), reason))


def _scan_version_1(data: bytes, number: int, offset: int) -> Scan:
    out = Scan(end=offset)
    pos = offset
    while pos + HEADER_V1.size <= len(data):
        status, end, record = _record_version_1(data, number, pos)
        if status == "torn":
            break
        if status == "ok":
            assert record is not None
            out.records.append(record)
        elif _record_version_1(data, number, end)[0] == "ok" or end == len(data):
            out.damaged.append(Damaged(pos, end, "record body fails its crc (version 1 record)"))
        else:  # without a header crc the length itself may be wrong: nothing after it is certain
            out.damaged.append(
                Damaged(pos, len(data), "damaged version 1 record; the rest of the segment is unreadable")
            )
            out.end = pos
            return out
        pos = out.end = end
    if pos < len(data) and len(data) - pos >= HEADER_V1.size:
        out.damaged.append(Damaged(pos, len(data), "damaged version 1 record at the end of the segment"))
    return out


def _record_version_1(data: bytes, number: int, pos: int) -> tuple[str, int, Record | None]:
    """("ok" | "bad" | "torn", end, record) for the version 1 record at ``pos``."""
    if pos + HEADER_V1.size > len(data):
        return "torn", len(data), None
    length, crc, signal, version, meta_len, items = HEADER_V1.unpack_from(data, pos)
    body = pos + HEADER_V1.size
    end = body + meta_len + length
    if end > len(data):
        return "torn", end, None
    meta = data[body : body + meta_len]
    if (
        version != 1
        or signal >= len(SIGNALS)
        or zlib.crc32(memoryview(data)[body + meta_len : end], zlib.crc32(meta)) != crc
    ):
        return "bad", end, None
    return "ok", end, Record(SIGNALS[signal], meta, b"", items, number, end, size=end - pos, header_size=HEADER_V1.size)
