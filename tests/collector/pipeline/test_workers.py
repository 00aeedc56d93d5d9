"""Decode workers: their shared-memory tables do not outlive them, and Ctrl-C does not make them print."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from annotrace.collector.pipeline.workers import remove_stale_tables
from tests.collector_process import Collector, write_config
from tests.otlp_builders import new_span_id, new_trace_id, request, span


def test_tables_of_dead_workers_are_removed_and_live_ones_kept(tmp_path: Path) -> None:
    gone = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True, check=True
    )
    dead_pid = int(gone.stdout)
    left = tmp_path / f"annotrace-{dead_pid}-7.arrow"  # a collector was killed before mapping it
    live = tmp_path / f"annotrace-{os.getpid()}-1.arrow"
    other = tmp_path / "somebody-else.arrow"
    for path in (left, live, other):
        path.write_bytes(b"x")
    assert remove_stale_tables(str(tmp_path)) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([live.name, other.name])


def test_ctrl_c_stops_the_collector_cleanly_without_a_worker_traceback(tmp_path: Path) -> None:
    """Ctrl-C in a terminal sends SIGINT to the whole process group: the collector and its decode
    workers. The collector stops them in order; the workers ignore the signal themselves."""
    config = write_config(tmp_path)
    ready = tmp_path / "ready.json"
    with open(tmp_path / "collector.log", "wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "annotrace.collector", "serve", "--config", str(config), "--ready-file", str(ready)],
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=tmp_path,
            start_new_session=True,
        )  # its own group, as a shell's job
    try:
        while not ready.exists():
            assert process.poll() is None, (tmp_path / "collector.log").read_text()
            time.sleep(0.05)
        collector = Collector(
            tmp_path, process, **{k: v for k, v in json.loads(ready.read_text()).items() if k != "pid"}
        )
        trace_id = new_trace_id()
        httpx.post(
            f"{collector.http}/v1/traces",
            content=request([span(trace_id, new_span_id())]).SerializeToString(),
            headers={"content-type": "application/x-protobuf"},
        ).raise_for_status()
        stored = f"SELECT count(*) AS n FROM spans WHERE trace_id = 'tr-{trace_id.hex()}'"
        assert collector.wait_for(stored, [{"n": 1}]) == [{"n": 1}]  # a decode worker has run
        os.killpg(process.pid, signal.SIGINT)
        assert process.wait(60) == 0
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    log_text = (tmp_path / "collector.log").read_text()
    assert "stopped: everything acknowledged is stored" in log_text
    assert "Traceback" not in log_text and "KeyboardInterrupt" not in log_text, log_text


def _spawned_children(pid: int) -> list[int]:
    """The collector's decode workers (and multiprocessing's helpers), from /proc."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) == pid and b"multiprocessing" in cmdline:
            found.append(int(entry.name))
    return found


def test_ctrl_c_while_the_decode_workers_start_exits_cleanly(tmp_path: Path) -> None:
    """Ctrl-C pressed while the collector is still starting (its workers are importing, which takes
    seconds): the collector stops with status 0, and no process prints a traceback."""
    config = write_config(tmp_path)
    with open(tmp_path / "collector.log", "wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "annotrace.collector", "serve", "--config", str(config)],
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=tmp_path,
            start_new_session=True,
        )
    try:
        while not _spawned_children(process.pid):  # the moment a user would press Ctrl-C
            assert process.poll() is None, (tmp_path / "collector.log").read_text()
            time.sleep(0.01)
        os.killpg(process.pid, signal.SIGINT)
        assert process.wait(120) == 0, (tmp_path / "collector.log").read_text()
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    log_text = (tmp_path / "collector.log").read_text()
    assert "Traceback" not in log_text and "KeyboardInterrupt" not in log_text, log_text
