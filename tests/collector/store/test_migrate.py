"""Upgrades keep data: a store written by release 0.1.0 opens under this code, migrates by itself
and loses nothing; a migration that fails leaves the store byte for byte as it was.

The store is ``tests/fixtures/store_0_1_0`` (written by its ``generate.py`` with that release):
the DuckDB file, a spool backlog (two exports acknowledged and not yet stored, as a collector
killed with -9 leaves them), and every relation's rows as that release read them. If a later
schema file changes stored values on purpose, say here how, in ``expected_after_upgrade``.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import duckdb
import pytest

from annotrace.collector.store.migrate import schema_files
from tests.collector_process import start, write_config
from tests.fixtures.store_0_1_0.generate import SPOOLED_TRACE, dump_connection

FIXTURE = Path(__file__).resolve().parents[2] / "fixtures" / "store_0_1_0"
SPOOLED = "tr-" + SPOOLED_TRACE.hex()
RELEASE_SCHEMA = [
    "0001_core",
    "0002_genai",
    "0003_assessments",
    "0004_labeling",
    "0005_datasets",
    "0006_default_label_schema",
]
BROKEN = (
    "0039_broken",
    "CREATE TABLE upgrade_half (a INTEGER); INSERT INTO upgrade_half VALUES (1);\n"
    "ALTER TABLE spans ADD COLUMN upgrade_half INTEGER; UPDATE traces SET name = 'lost';\n"
    "DELETE FROM assessments;\nSELECT error('injected failure halfway');",
)


def expected_relations() -> dict[str, Any]:
    with gzip.open(FIXTURE / "expected.json.gz", "rt", encoding="utf-8") as text:
        relations: dict[str, Any] = json.load(text)["relations"]
    return relations


def unpack(directory: Path) -> Path:
    """The fixture where ``write_config(directory)`` looks for a store: a copy, never the original."""
    directory.mkdir(parents=True)
    db = directory / "annotrace.duckdb"
    with gzip.open(FIXTURE / "annotrace.duckdb.gz", "rb") as source, open(db, "wb") as target:
        shutil.copyfileobj(source, target)
    shutil.copytree(FIXTURE / "spool", directory / "spool")
    return db


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_the_fixture_is_a_store_of_release_0_1_0() -> None:
    relations = expected_relations()
    applied = sorted(json.loads(row)[0] for row in relations["schema_migrations"]["rows"])
    assert applied == RELEASE_SCHEMA
    counts = {name: len(body["rows"]) for name, body in relations.items()}
    for table in (
        "traces",
        "spans",
        "span_events",
        "span_links",
        "documents",
        "messages",
        "log_records",
        "assessments",
        "assessment_history",
        "label_schemas",
        "labeling_sessions",
        "labeling_items",
        "labeling_item_status",
        "datasets",
        "dataset_records",
        "genai_log_events_seen",
        "experiments",
    ):
        assert counts[table] > 0, table
    spans = relations["spans"]
    span_types = {json.loads(row)[spans["columns"].index("span_type")] for row in spans["rows"]}
    assert {"AGENT", "RETRIEVER", "TOOL", "CHAT_MODEL", "UNKNOWN"} <= span_types
    assessments = relations["assessments"]
    kinds = [json.loads(row)[assessments["columns"].index("kind")] for row in assessments["rows"]]
    assert {"feedback", "expectation"} <= set(kinds)
    assert any(json.loads(row)[assessments["columns"].index("overrides")] for row in assessments["rows"])
    assert (FIXTURE / "annotrace.duckdb.gz").stat().st_size < 2 * 1024 * 1024


def test_a_store_of_release_0_1_0_upgrades_by_itself_and_keeps_every_row(tmp_path: Path) -> None:
    directory = tmp_path / "collector"
    db = unpack(directory)
    collector = start(directory)
    try:
        spans = collector.sql("SELECT count(*) AS n FROM spans WHERE trace_id <> '" + SPOOLED + "'")
        assert spans == [{"n": len(expected_relations()["spans"]["rows"])}]
        read = subprocess.run(
            [sys.executable, "-c", SDK_READ, collector.web], capture_output=True, text=True, timeout=120
        )
        assert read.returncode == 0, read.stderr
        assert json.loads(read.stdout) == sdk_view(expected_relations())
    finally:
        assert collector.stop() == 0, collector.log  # stores the replayed backlog, checkpoints
    assert "Traceback" not in collector.log

    expected = expected_relations()
    conn = duckdb.connect(str(db), read_only=True)
    try:
        names = {name: body["columns"] for name, body in expected.items()}
        actual = dump_connection(conn, names)
        applied = [r[0] for r in conn.execute("SELECT name FROM schema_migrations ORDER BY name").fetchall()]
        backlog_logs = conn.execute(
            "SELECT record_id, body FROM log_records WHERE trace_id = ? OR body = '\"spooled log line\"' ORDER BY body",
            [SPOOLED],
        ).fetchall()
        backlog_spans = conn.execute("SELECT count(*) FROM spans WHERE trace_id = ?", [SPOOLED]).fetchall()[0][0]
    finally:
        conn.close()
    assert applied == [name for name, _ in schema_files()]
    for name, body in expected.items():
        rows = actual[name]["rows"]
        if name == "schema_migrations":
            rows = [row for row in rows if json.loads(row)[0] in RELEASE_SCHEMA]
        else:
            # rows that come from the backlog: they name its trace, or one of its log records
            marks = [SPOOLED, *(record_id for record_id, _ in backlog_logs)]
            rows = [row for row in rows if not any(mark in row for mark in marks)]
        assert rows == expected_after_upgrade(name, body)["rows"], name
    # the backlog the old release acknowledged and never stored is stored by the new one
    assert (backlog_spans, [body for _, body in backlog_logs]) == (2, ['"spooled log line"', '{"content":"hi"}'])


SDK_READ = """
import json, sys
import annotrace
from annotrace.genai.datasets import get_dataset
from annotrace.genai.labeling import get_labeling_sessions

annotrace.set_tracking_uri(sys.argv[1])
annotrace.set_experiment("upgrade-fixture")
traces = annotrace.search_traces(return_type="list")
print(json.dumps({
    "traces": sorted([t.info.trace_id, len(t.data.spans), sorted(a.name for a in t.info.assessments)] for t in traces),
    "sessions": [[s.name, s.label_schemas, s.assigned_users] for s in get_labeling_sessions()],
    "dataset_records": len(get_dataset(name="fixture-dataset").to_df()),
}))
"""
"""A user's script reading the upgraded store through the SDK: the experiment's traces with their
spans and assessments, the labeling session, the dataset."""


def sdk_view(relations: dict[str, Any]) -> dict[str, Any]:
    """What ``SDK_READ`` should print, from the rows release 0.1.0 stored."""

    def rows(name: str) -> list[dict[str, Any]]:
        columns = relations[name]["columns"]
        return [dict(zip(columns, json.loads(row))) for row in relations[name]["rows"]]

    experiment = next(e["experiment_id"] for e in rows("experiments") if e["name"] == "upgrade-fixture")
    names: dict[str, list[str]] = {}
    for assessment in rows("assessments"):
        names.setdefault(assessment["trace_id"], []).append(assessment["assessment_name"])
    traces = sorted(
        [t["trace_id"], t["span_count"], sorted(names.get(t["trace_id"], []))]
        for t in rows("traces")
        if t["experiment_id"] == experiment
    )
    return {
        "traces": traces,
        "sessions": [["fixture-round", ["quality", "answer"], ["expert@example.com"]]],
        "dataset_records": len(relations["dataset_records"]["rows"]),
    }


def expected_after_upgrade(name: str, body: dict[str, Any]) -> dict[str, Any]:
    """What relation ``name`` holds after every schema file since 0.1.0 ran: so far, what it held
    (schema_migrations: its rows then, applied_time included)."""
    return body


def test_a_failing_migration_leaves_the_store_as_it_was_and_the_collector_says_so(tmp_path: Path) -> None:
    directory = tmp_path / "collector"
    db = unpack(directory)
    before = sha256(db)
    spool_before = {p.name: sha256(p) for p in (directory / "spool").iterdir()}
    config = write_config(directory)
    # the real command, with one more schema file that fails after changing tables and rows
    inject = (
        "import sys\n"
        "from annotrace.collector.store import migrate\n"
        "shipped = migrate.schema_files\n"
        f"migrate.schema_files = lambda: [*shipped(), {BROKEN!r}]\n"
        "from annotrace.collector.cli import main\n"
        f"sys.exit(main(['serve', '--config', {str(config)!r}]))\n"
    )
    result = subprocess.run([sys.executable, "-c", inject], capture_output=True, text=True, cwd=directory, timeout=120)
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines()[-1] == (
        f"annotrace: cannot upgrade {db}: schema 0039_broken failed: Invalid Input Error: injected failure "
        "halfway. Nothing was changed (the store is still at schema 0006_default_label_schema; the release "
        "that wrote it still opens it)"
    )
    assert sha256(db) == before
    assert sorted(p.name for p in directory.iterdir() if p.name.startswith("annotrace.duckdb")) == ["annotrace.duckdb"]
    assert {p.name: sha256(p) for p in (directory / "spool").iterdir()} == spool_before
    conn = duckdb.connect(str(db), read_only=True)
    try:
        assert dump_connection(conn) == expected_relations()  # what the old release reads, all of it
    finally:
        conn.close()


@pytest.mark.parametrize("newer", ["0099_from_the_future"])
def test_a_store_from_a_newer_release_is_refused_before_anything_runs(tmp_path: Path, newer: str) -> None:
    directory = tmp_path / "collector"
    db = unpack(directory)
    conn = duckdb.connect(str(db))
    conn.execute("INSERT INTO schema_migrations VALUES (?, current_timestamp::TIMESTAMP)", [newer])
    conn.close()
    before = sha256(db)
    result = subprocess.run(
        [sys.executable, "-m", "annotrace.collector", "serve", "--config", str(write_config(directory))],
        capture_output=True,
        text=True,
        cwd=directory,
        timeout=120,
    )
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert f"{db} was written by a newer annotrace (it has schema {newer}" in result.stderr.strip().splitlines()[-1]
    assert sha256(db) == before
