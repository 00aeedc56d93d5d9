"""The allocators of the collector and its decode workers: glibc's with two arenas, and Arrow on it.

Every thread that allocates while another holds the lock of its arena gets an arena of its own, up
to 8 per core. The gRPC threads, the runner, the writer and DuckDB's threads each left megabytes of
freed request buffers and strings in theirs, which glibc keeps for reuse by that arena only. Under
overload with 2.6 KB spans (2026-12-07, 2 cores) the collector process's anonymous memory at peak
was ~400-440 MiB with the default and ~335-345 MiB with two arenas, at the same CPU per span.

Arrow's buffers come from the system allocator instead of pyarrow's default (mimalloc), which
kept the pages of freed tables for reuse: with it, peak RSS under the same overload was 763 and
772 MiB against 843-868 MiB, at the same CPU per span (2026-12-08, load ~15).

``MALLOC_ARENA_MAX`` and ``ARROW_DEFAULT_MEMORY_POOL`` in the environment win, as the libraries' own
settings. Elsewhere than on glibc ``limit_arenas`` does nothing.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import os

import pyarrow as pa

log = logging.getLogger(__name__)

ARENAS = 2
"""Arenas per process: the main thread's and one that the other threads share."""
_M_ARENA_MAX = -8  # mallopt's parameter number, from glibc's malloc.h


def limit_arenas(arenas: int = ARENAS) -> None:
    """At most ``arenas`` malloc arenas in this process; call it before any thread starts."""
    if os.environ.get("MALLOC_ARENA_MAX"):
        return
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
    except OSError:
        return
    mallopt = getattr(libc, "mallopt", None)
    if mallopt is None or not mallopt(_M_ARENA_MAX, arenas):
        log.debug("malloc arenas not limited: no glibc mallopt, or it refused M_ARENA_MAX")


def use_system_allocator_for_arrow() -> None:
    """Arrow tables built or read in this process are allocated with malloc (see the module docstring)."""
    if not os.environ.get("ARROW_DEFAULT_MEMORY_POOL"):
        pa.set_memory_pool(pa.system_memory_pool())
