"""A full disk under load: acknowledged means stored, health says why exports are refused, and the
collector recovers by itself once there is room, without a restart.

The disk is a 64 MiB tmpfs, or RLIMIT_FSIZE where mounting is not permitted (``faults.SmallDisk``).
"""

from __future__ import annotations

import signal
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from tests.collector_process import Collector
from tests.e2e.faults import (
    Sender,
    SmallDisk,
    assert_stored_exactly,
    health,
    trace,
    wait_for_health,
    wait_until_stored,
)
from tests.otlp_builders import request


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[SmallDisk]:
    disk = SmallDisk(tmp_path / "small-disk")
    yield disk
    disk.unmount()


def _fill_recover_and_check(collector: Collector, disk: SmallDisk, reason: str, spool: Path) -> None:
    with Sender(collector) as sender:
        while sender.exports < 20:
            time.sleep(0.05)
        disk.fill(collector)
        unavailable = wait_for_health(collector, "unavailable")
        if disk.mounted:
            assert reason in unavailable["reason"] and "No space left on device" in unavailable["reason"]
        refused = sender.refusals()
        while sender.refusals() < refused + 5:  # exports are refused (UNAVAILABLE), not acknowledged
            time.sleep(0.05)
        if reason == "store cannot write":  # refused as a whole; a full spool refuses the writes that fail
            over_http = httpx.post(
                f"{collector.http}/v1/traces",
                content=request(trace(2)[1]).SerializeToString(),
                headers={"content-type": "application/x-protobuf"},
                timeout=30,
            )
            assert over_http.status_code == 503 and int(over_http.headers["retry-after"]) >= 1
            collector.sql("SELECT count(*) AS n FROM spans")  # reads answer with what is stored,
            assert "read barrier" not in collector.log  # without waiting for a store that cannot write
        acked_while_full = sender.acked_spans()
        disk.free(collector)
        wait_for_health(collector, "ok")  # by itself, no restart
        while sender.acked_spans() < acked_while_full + 2_000:  # and it takes exports again
            time.sleep(0.05)
    wait_until_stored(collector)
    assert_stored_exactly(collector, sender.acked)
    assert not (spool / "dead-letter").exists()
    assert collector.stop(signal.SIGTERM) == 0
    assert collector.log.rstrip().splitlines()[-1].endswith("stopped: everything acknowledged is stored")


def test_a_full_spool_disk_refuses_exports_and_recovers_losing_nothing_acknowledged(
    small_disk: SmallDisk, fresh_collector: Callable[..., Collector]
) -> None:
    collector = fresh_collector(spool=small_disk.path / "spool")
    _fill_recover_and_check(collector, small_disk, "spool: cannot write", small_disk.path / "spool")
    if small_disk.mounted:
        assert "spool: writing again after" in collector.log


def test_a_full_database_disk_refuses_exports_and_recovers_losing_nothing_acknowledged(
    small_disk: SmallDisk, fresh_collector: Callable[..., Collector]
) -> None:
    collector = fresh_collector(db=small_disk.path / "annotrace.duckdb")
    _fill_recover_and_check(collector, small_disk, "store cannot write", collector.directory / "spool")
    if small_disk.mounted:  # RLIMIT_FSIZE also stops the spool, which may then fail first
        assert "pipeline: storing again after" in collector.log


def test_sigterm_on_a_full_disk_says_what_waits_in_the_spool_and_a_restart_stores_it(
    small_disk: SmallDisk, fresh_collector: Callable[..., Collector]
) -> None:
    collector = fresh_collector(db=small_disk.path / "annotrace.duckdb")
    with Sender(collector) as sender:
        while sender.exports < 20:
            time.sleep(0.05)
        small_disk.fill(collector)
        wait_for_health(collector, "unavailable")
    waiting = health(collector)[1]["unstored_records"]
    assert collector.stop(signal.SIGTERM) == 0  # it does not hang on a disk that has no room
    last = collector.log.rstrip().splitlines()[-1]
    if waiting:
        assert "acknowledged records" in last and "are not stored yet" in last and "next start" in last, last
    small_disk.free(collector)
    restarted = fresh_collector(db=small_disk.path / "annotrace.duckdb")
    wait_until_stored(restarted)
    assert_stored_exactly(restarted, sender.acked)


def test_health_recovers_by_itself_after_a_spool_write_failure_with_no_traffic(
    small_disk: SmallDisk, fresh_collector: Callable[..., Collector]
) -> None:
    """One export fails to reach the spool's full disk, and nothing is sent after it: health says
    why at once, and ok again once the disk has room, with no export to find that out."""
    if not small_disk.mounted:
        pytest.skip("needs a tmpfs: RLIMIT_FSIZE limits one file's size, not the room on the disk")
    collector = fresh_collector(spool=small_disk.path / "spool")
    body = request(trace(2)[1]).SerializeToString()
    headers = {"content-type": "application/x-protobuf"}
    small_disk.fill(collector)
    refused = httpx.post(f"{collector.http}/v1/traces", content=body, headers=headers, timeout=30)
    assert refused.status_code == 503, refused.text
    code, body_now = health(collector)
    assert code == 503 and "spool: cannot write" in body_now["reason"], body_now
    small_disk.free(collector)
    wait_for_health(collector, "ok")  # an operator's monitor, and no export in between
    assert httpx.post(f"{collector.http}/v1/traces", content=body, headers=headers, timeout=30).status_code == 200
    assert "spool: writable again after" in collector.log
