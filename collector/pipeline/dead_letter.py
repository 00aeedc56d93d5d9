"""The spool's ``dead-letter/`` folder: what could not be stored, kept with the reason.

Two kinds of entries, each a data file and a ``.txt`` beside it that says why:
``<segment>-<end>-<signal>.pb`` is a record the store refused for good (its protobuf payload),
``<segment>-<offset>-damaged.bin`` is bytes of a spool segment that are not a readable record,
found on replay. Nothing is ever dropped silently: a file is written whole or not at all, and
a caller that cannot write one (a full disk) gets the ``OSError`` and must keep the record.
"""

from __future__ import annotations

import logging
from pathlib import Path

from annotrace.collector.pipeline.segment import Damaged, write_file

log = logging.getLogger(__name__)

FOLDER = "dead-letter"


def keep(spool_directory: Path, stem: str, data: bytes, reason: str, *, fsync: bool) -> None:
    """Write ``<stem>.pb`` (``.bin`` for damaged bytes) and ``<stem>.txt``, or neither."""
    folder = spool_directory / FOLDER
    folder.mkdir(exist_ok=True)
    body = folder / f"{stem}.{'bin' if stem.endswith('-damaged') else 'pb'}"
    write_file(body, data, fsync=fsync)
    try:
        write_file(folder / f"{stem}.txt", reason.encode(), fsync=fsync)
    except OSError:
        body.unlink(missing_ok=True)
        raise


def set_aside(
    spool_directory: Path, segment_path: Path, number: int, data: bytes, damaged: Damaged, *, fsync: bool
) -> None:
    """Copy one damaged range of a segment into the folder and log it. If it cannot be copied
    the bytes stay where they are (the segment is deleted once everything after it is stored)."""
    size = damaged.end - damaged.start
    where = f"{segment_path.name} at offset {damaged.start}"
    try:
        keep(
            spool_directory,
            f"{number:08d}-{damaged.start:012d}-damaged",
            data[damaged.start : damaged.end],
            f"{damaged.reason}\nsegment: {where}, {size} bytes\n",
            fsync=fsync,
        )
    except OSError as exc:
        log.error(
            "spool: skipped %d damaged bytes in %s (%s); cannot copy them to %s/: %s",
            size,
            where,
            damaged.reason,
            FOLDER,
            exc.strerror or exc,
        )
        return
    log.error("spool: set aside %d damaged bytes from %s into %s/: %s", size, where, FOLDER, damaged.reason)
