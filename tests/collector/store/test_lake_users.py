"""Users, tokens and the audit trail on a DuckLake store shared by two collectors: a token revoked
through one collector is refused by the very next request to the other, a user added through one
(or with ``annotrace users`` while both run) works on the other at once, and every audit row has
an id although a lake has no sequences.

Like ``test_lake.py``: a PostgreSQL cluster this test starts, collectors run from ``.venv-lake``."""

from __future__ import annotations

import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.collector.auth.team import CONFIG, password
from tests.collector.store.lake_support import LAKE_PYTHON, Lake, needs_lake
from tests.collector_process import Collector, start
from tests.otlp_builders import new_span_id, new_trace_id, request, span
from tests.postgres import Cluster

pytestmark = needs_lake


def _config(directory: Path, store: Lake) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    db = directory / "annotrace.duckdb"
    text = CONFIG.format(db=db, spool=directory / "spool").replace(
        f'duckdb: {{path: "{db}"}}',
        f'duckdb: {{path: "{db}", ducklake: {{catalog: "{store[0]}", data_path: "{store[1]}"}}}}',
    )
    assert "ducklake" in text
    path = directory / "config.yaml"
    path.write_text(text)
    return path


def annotrace(config: Path, *args: str, stdin: str | None = None) -> str:
    """``annotrace users|tokens`` on the lake, as an operator runs it beside the collectors."""
    done = subprocess.run(
        [str(LAKE_PYTHON), "-m", "annotrace.collector", *args, "--config", str(config)],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.fixture
def pair(lake: Lake, tmp_path: Path) -> Iterator[tuple[Path, Collector, Collector, dict[str, str]]]:
    """Two collectors on one lake behind bearertokenauth/basicauth, an admin and an editor added
    with the CLI before they start; their tokens."""
    first, second = _config(tmp_path / "a", lake), _config(tmp_path / "b", lake)
    tokens = {}
    for user in ("admin", "editor"):
        annotrace(first, "users", "add", user, "--role", user, "--password-stdin", stdin=password(user) + "\n")
        tokens[user] = annotrace(first, "tokens", "create", user).strip()
    a = start(tmp_path / "a", config=first, python=str(LAKE_PYTHON), timeout=60)
    try:
        b = start(tmp_path / "b", config=second, python=str(LAKE_PYTHON), timeout=60)
    except BaseException:
        a.stop()
        raise
    yield first, a, b, tokens
    for running in (a, b):
        assert running.stop() in (0, -9), running.log


def _get(collector: Collector, token: str) -> int:
    response = httpx.get(
        f"{collector.web}/api/2.0/mlflow/experiments/search",
        params={"max_results": 1},
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    )
    return response.status_code


def _export(collector: Collector, token: str) -> int:
    body = request([span(new_trace_id(), new_span_id(), name="root")]).SerializeToString()
    headers = {"content-type": "application/x-protobuf", "Authorization": f"Bearer {token}"}
    return httpx.post(f"{collector.http}/v1/traces", content=body, headers=headers, timeout=30).status_code


def test_a_token_revoked_on_one_collector_is_refused_at_once_by_the_other(
    pair: tuple[Path, Collector, Collector, dict[str, str]],
) -> None:
    _, a, b, tokens = pair
    admin = {"Authorization": f"Bearer {tokens['admin']}"}
    assert _get(b, tokens["editor"]) == 200 and _export(b, tokens["editor"]) == 200
    listed = httpx.get(f"{a.web}/api/v1/tokens", params={"user": "editor"}, headers=admin, timeout=30)
    assert listed.status_code == 200, listed.text
    (token_id,) = [t["token_id"] for t in listed.json()["tokens"]]
    assert httpx.delete(f"{a.web}/api/v1/tokens/{token_id}", headers=admin, timeout=30).status_code == 200
    assert _get(b, tokens["editor"]) == 401
    assert _export(b, tokens["editor"]) == 401
    assert _get(a, tokens["editor"]) == 401


def test_users_added_on_one_collector_or_with_the_cli_work_on_the_other_and_are_audited(
    pair: tuple[Path, Collector, Collector, dict[str, str]],
) -> None:
    config, a, b, tokens = pair
    admin = {"Authorization": f"Bearer {tokens['admin']}"}
    name = f"v-{uuid.uuid4().hex[:6]}"
    added = httpx.post(f"{a.web}/api/v1/users", json={"name": name, "role": "viewer"}, headers=admin, timeout=30)
    assert added.status_code == 200, added.text
    taken = httpx.post(f"{b.web}/api/v1/users", json={"name": name, "role": "viewer"}, headers=admin, timeout=30)
    assert taken.status_code == 400, taken.text  # the name is taken on the lake, whichever collector asks
    created = httpx.post(f"{a.web}/api/v1/tokens", json={"user": name}, headers=admin, timeout=30)
    assert created.status_code == 200, created.text
    assert _get(b, created.json()["token"]) == 200
    annotrace(config, "users", "add", "cli-viewer", "--role", "viewer", "--no-password")
    assert _get(a, annotrace(config, "tokens", "create", "cli-viewer").strip()) == 200
    rows = httpx.post(
        f"{b.web}/api/v1/sql",
        json={
            "query": "SELECT count(*), count(audit_id), count(DISTINCT audit_id), "
            "list(actor ORDER BY audit_id) FILTER (WHERE object_type = 'user') FROM audit_log"
        },
        headers=admin,
        timeout=30,
    )
    assert rows.status_code == 200, rows.text
    total, with_id, distinct, actors = rows.json()["rows"][0]
    assert total == with_id == distinct and total >= 7
    assert actors == ["cli", "cli", "admin", "cli"]  # admin and editor before start, then name, then cli-viewer


def test_while_the_catalog_is_down_tokens_are_checked_against_the_users_read_before(
    cluster: Cluster,
    pair: tuple[Path, Collector, Collector, dict[str, str]],
) -> None:
    """Exports still reach the spool with a valid token, and a bad one is still refused (storing
    them once the catalog is back is ``test_lake.py``'s)."""
    _, a, _, tokens = pair
    cluster.stop_server()
    try:
        assert _export(a, tokens["editor"]) == 200
        assert _export(a, "at_not-a-token") == 401
    finally:
        cluster.start()
    assert _get(a, tokens["editor"]) == 200  # and after: the version is read again
