"""An outage: a time when the pipeline cannot store, and what it does meanwhile.

The runner's failures that are not a record's fault (a full disk, an I/O error, a database DuckDB
invalidated, a decode worker that died) begin an outage: the spool refuses new exports (gRPC
UNAVAILABLE / HTTP 503 with Retry-After), ``RunnerStats.failing`` gives health its reason, and
the runner pauses between attempts. The first batch stored again ends it, by itself.
"""

from __future__ import annotations

import errno
import logging
import time
from concurrent.futures.process import BrokenProcessPool
from typing import TYPE_CHECKING

from annotrace.collector.errors import Unavailable

if TYPE_CHECKING:
    from annotrace.collector.pipeline.runner import RunnerStats
    from annotrace.collector.pipeline.spool import Spool

log = logging.getLogger(__name__)

RETRY_FIRST_S, RETRY_MAX_S = 0.25, 2.0
"""Pauses between attempts while the store cannot write, doubling from the first to the last: a
full disk costs a few attempts a second at most, and storing resumes within 2 s of room."""
_ENVIRONMENT_ERRNOS = {
    errno.ENOSPC,
    errno.EDQUOT,
    errno.EFBIG,
    errno.EIO,
    errno.ENOMEM,
    errno.EROFS,
    errno.EMFILE,
    errno.ENFILE,
    errno.EAGAIN,
    errno.EBUSY,
}


def is_store_failure(error: BaseException) -> bool:
    """Whether ``error`` is the store's or the machine's (retry the same records later), not a
    record's (set it aside). A missing file is a record's: its segment is gone for good."""
    if isinstance(error, OSError):
        return error.errno in _ENVIRONMENT_ERRNOS
    return isinstance(error, (Unavailable, MemoryError, BrokenProcessPool))


class Outage:
    def __init__(self, spool: Spool, stats: RunnerStats) -> None:
        self.spool = spool
        self.stats = stats
        self._attempts = 0  # failed attempts in a row

    def begin(self, reason: str) -> None:
        """The pipeline cannot store (still, or again): refuse new exports and say why."""
        if self.stats.failing is None:
            log.error("pipeline: cannot store (%s); refusing new exports and retrying until it can", reason)
            self.stats.failing_since = time.time()
        elif reason != self.stats.failing:
            log.error("pipeline: still cannot store: %s", reason)
        self.stats.failing = reason
        self.spool.refuse(reason)

    def end(self) -> bool:
        """Something was stored: take exports again. Returns False (no outage now)."""
        if self.stats.failing is not None:
            log.warning(
                "pipeline: storing again after %.0f s of: %s",
                time.time() - (self.stats.failing_since or 0),
                self.stats.failing,
            )
            self.stats.failing = self.stats.failing_since = None
            self.spool.refuse(None)
        self._attempts = 0
        return False

    def pause(self) -> float:
        """Seconds to wait before the next attempt."""
        self._attempts += 1
        return min(RETRY_MAX_S, RETRY_FIRST_S * 2.0 ** (self._attempts - 1))
