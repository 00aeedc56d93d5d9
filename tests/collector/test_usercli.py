"""``annotrace users`` / ``annotrace tokens`` on a stopped collector's file: users with hashed
passwords, tokens shown once and stored hashed, permissions, and an audit row for each change."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import duckdb

from annotrace.collector.auth.secrets import sha256


def annotrace(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "annotrace.collector", *args], input=stdin, capture_output=True, text=True, timeout=120
    )


def test_users_and_tokens_are_stored_hashed_and_audited(tmp_path: Path) -> None:
    db = str(tmp_path / "a.duckdb")
    added = annotrace(
        "users", "add", "alice", "--role", "admin", "--password-stdin", "--db", db, stdin="correct horse\n"
    )
    assert added.returncode == 0, added.stderr
    assert annotrace("users", "add", "bob", "--role", "viewer", "--no-password", "--db", db).returncode == 0
    created = annotrace("tokens", "create", "bob", "--description", "ci", "--db", db)
    assert created.returncode == 0, created.stderr
    token = created.stdout.strip()
    assert token.startswith("at_") and "shown once" in created.stderr
    again = annotrace("users", "add", "bob", "--role", "viewer", "--no-password", "--db", db)
    assert again.returncode == 1 and "already exists" in again.stderr
    bad_role = annotrace("users", "add", "carol", "--role", "root", "--db", db)
    assert bad_role.returncode == 2 and "invalid choice" in bad_role.stderr
    assert annotrace("users", "set-role", "bob", "editor", "--db", db).returncode == 0
    listed = annotrace("tokens", "list", "--db", db).stdout.split("\t")
    token_id = listed[0]
    assert annotrace("tokens", "revoke", token_id, "--db", db).returncode == 0

    conn = duckdb.connect(db, read_only=True)
    (password_hash,) = conn.execute("SELECT password_hash FROM users WHERE name = 'alice'").fetchone() or ()
    assert password_hash.startswith("$argon2id$") and "correct horse" not in password_hash
    stored = conn.execute("SELECT token_hash, revoke_time IS NOT NULL FROM api_tokens").fetchall()
    assert stored == [(sha256(token), True)]
    audit = conn.execute(
        "SELECT actor, action, object_type, object_id, previous->>'role', new->>'role' FROM audit_log ORDER BY audit_id"
    ).fetchall()
    assert audit == [
        ("cli", "create", "user", "alice", None, "admin"),
        ("cli", "create", "user", "bob", None, "viewer"),
        ("cli", "create", "api_token", token_id, None, None),
        ("cli", "set-role", "user", "bob", "viewer", "editor"),
        ("cli", "revoke", "api_token", token_id, None, None),
    ]
    assert all(
        "correct horse" not in str(row) and token not in str(row)
        for row in conn.execute("SELECT * FROM audit_log").fetchall()
    )
    conn.close()
