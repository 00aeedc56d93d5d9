"""Users, API tokens, per-experiment permissions and Review App sign-ins: the writer jobs that
change them (each with its ``audit_log`` row) and the one read the authenticator needs
(``snapshot``).

Secrets arrive here already hashed (``auth.secrets``): the store never sees a password or token.
Names are checked here, so the CLI and the REST API refuse the same names with the same words.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import duckdb

from annotrace.collector.errors import AlreadyExists, InvalidParameter, NotFound, Unavailable
from annotrace.collector.ids import name_problem
from annotrace.collector.store import lake
from annotrace.collector.store.queries.audit import record, row_as_dict

ROLES = ("admin", "editor", "labeler", "viewer")
PERMISSIONS = ("READ", "EDIT", "MANAGE", "NO_PERMISSIONS")
MAX_NAME_CHARS = 250
_USER = "SELECT name, role, create_time, last_update_time FROM users WHERE name = ?"
_TOKEN = (
    "SELECT token_id, user_name, description, create_time, expire_time, revoke_time FROM api_tokens WHERE token_id = ?"
)
_PERMISSION = (
    "SELECT experiment_id, user_name, permission, create_time FROM experiment_permissions "
    "WHERE experiment_id = ? AND user_name = ?"
)


def check_name(name: str) -> str:
    if not isinstance(name, str) or not name.strip() or name != name.strip():
        raise InvalidParameter("user name: must be non-empty, without leading or trailing spaces")
    if len(name) > MAX_NAME_CHARS or ":" in name or name_problem(name) is not None:
        raise InvalidParameter(f"user name: at most {MAX_NAME_CHARS} characters, no ':', control characters or U+FFFD")
    return name


def check_role(role: str) -> str:
    if role not in ROLES:
        raise InvalidParameter(f"role: must be one of {', '.join(ROLES)}, got {role!r}")
    return role


def check_permission(permission: str) -> str:
    if permission not in PERMISSIONS:
        raise InvalidParameter(f"permission: must be one of {', '.join(PERMISSIONS)}, got {permission!r}")
    return permission


def _changed(conn: duckdb.DuckDBPyConnection) -> None:
    """On a lake, one more users version (``lake.BUMP_USERS``): the other collectors reload."""
    if lake.is_lake(conn):
        conn.execute(lake.BUMP_USERS)


def version(cursor: duckdb.DuckDBPyConnection) -> int:
    """The lake's users version (``lake.USERS_VERSION``)."""
    try:
        return int(cursor.execute(lake.USERS_VERSION).fetchall()[0][0])
    except duckdb.Error as exc:
        raise Unavailable(f"cannot read the users version: {str(exc).splitlines()[0]}") from None


def _user(conn: duckdb.DuckDBPyConnection, name: str) -> dict[str, Any]:
    user = row_as_dict(conn, _USER, [name])
    if user is None:
        raise NotFound(f"User '{name}' does not exist")
    return user


def add_user(
    conn: duckdb.DuckDBPyConnection,
    *,
    name: str,
    role: str,
    password_hash: str | None,
    now: datetime,
    actor: str | None,
) -> dict[str, Any]:
    check_name(name)
    check_role(role)
    if row_as_dict(conn, _USER, [name]) is not None:
        raise AlreadyExists(f"User '{name}' already exists")
    conn.execute("INSERT INTO users VALUES (?, ?, ?, ?, ?)", [name, role, password_hash, now, now])
    _changed(conn)
    user = _user(conn, name)
    record(conn, actor=actor, action="create", object_type="user", object_id=name, new=user, time=now)
    return user


def list_users(conn: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    result = conn.execute(
        "SELECT name, role, password_hash IS NOT NULL AS has_password, create_time, "
        "last_update_time FROM users ORDER BY name"
    )
    columns = [d[0] for d in result.description or []]
    return [dict(zip(columns, row, strict=True)) for row in result.fetchall()]


def set_role(
    conn: duckdb.DuckDBPyConnection, *, name: str, role: str, now: datetime, actor: str | None
) -> dict[str, Any]:
    check_role(role)
    before = _user(conn, name)
    conn.execute("UPDATE users SET role = ?, last_update_time = ? WHERE name = ?", [role, now, name])
    _changed(conn)
    after = _user(conn, name)
    record(
        conn, actor=actor, action="set-role", object_type="user", object_id=name, previous=before, new=after, time=now
    )
    return after


def set_password(
    conn: duckdb.DuckDBPyConnection, *, name: str, password_hash: str, now: datetime, actor: str | None
) -> None:
    """A new password ends every Review App sign-in of the user."""
    before = _user(conn, name)
    conn.execute("UPDATE users SET password_hash = ?, last_update_time = ? WHERE name = ?", [password_hash, now, name])
    _changed(conn)
    conn.execute("DELETE FROM web_sessions WHERE user_name = ?", [name])
    record(
        conn,
        actor=actor,
        action="set-password",
        object_type="user",
        object_id=name,
        previous=before,
        new=_user(conn, name),
        time=now,
    )


def delete_user(conn: duckdb.DuckDBPyConnection, *, name: str, now: datetime, actor: str | None) -> None:
    """Also revokes the user's tokens, ends their sign-ins and drops their permissions."""
    before = _user(conn, name)
    conn.execute("UPDATE api_tokens SET revoke_time = ? WHERE user_name = ? AND revoke_time IS NULL", [now, name])
    _changed(conn)
    conn.execute("DELETE FROM web_sessions WHERE user_name = ?", [name])
    conn.execute("DELETE FROM experiment_permissions WHERE user_name = ?", [name])
    conn.execute("DELETE FROM users WHERE name = ?", [name])
    record(conn, actor=actor, action="delete", object_type="user", object_id=name, previous=before, time=now)


def create_token(
    conn: duckdb.DuckDBPyConnection,
    *,
    token_id: str,
    user_name: str,
    token_hash: str,
    description: str | None,
    expire_time: datetime | None,
    now: datetime,
    actor: str | None,
) -> dict[str, Any]:
    _user(conn, user_name)
    conn.execute(
        "INSERT INTO api_tokens VALUES (?, ?, ?, ?, ?, ?, NULL)",
        [token_id, user_name, token_hash, description, now, expire_time],
    )
    _changed(conn)
    token = row_as_dict(conn, _TOKEN, [token_id])
    record(conn, actor=actor, action="create", object_type="api_token", object_id=token_id, new=token, time=now)
    assert token is not None
    return token


def list_tokens(conn: duckdb.DuckDBPyConnection, user_name: str | None = None) -> list[dict[str, Any]]:
    result = conn.execute(
        "SELECT token_id, user_name, description, create_time, expire_time, revoke_time "
        "FROM api_tokens WHERE ? IS NULL OR user_name = ? ORDER BY create_time, token_id",
        [user_name, user_name],
    )
    columns = [d[0] for d in result.description or []]
    return [dict(zip(columns, row, strict=True)) for row in result.fetchall()]


def revoke_token(
    conn: duckdb.DuckDBPyConnection, *, token_id: str, now: datetime, actor: str | None, owner: str | None = None
) -> dict[str, Any]:
    """``owner`` set: only that user's token may be revoked (a non-admin revoking their own)."""
    before = row_as_dict(conn, _TOKEN, [token_id])
    if before is None or (owner is not None and before["user_name"] != owner):
        raise NotFound(f"Token '{token_id}' does not exist")
    if before["revoke_time"] is None:
        conn.execute("UPDATE api_tokens SET revoke_time = ? WHERE token_id = ?", [now, token_id])
    _changed(conn)
    after = row_as_dict(conn, _TOKEN, [token_id])
    record(
        conn,
        actor=actor,
        action="revoke",
        object_type="api_token",
        object_id=token_id,
        previous=before,
        new=after,
        time=now,
    )
    assert after is not None
    return after


def set_permission(
    conn: duckdb.DuckDBPyConnection,
    *,
    experiment_id: str,
    user_name: str,
    permission: str,
    now: datetime,
    actor: str | None,
) -> dict[str, Any]:
    check_permission(permission)
    _user(conn, user_name)
    if not conn.execute("SELECT 1 FROM experiments WHERE experiment_id = ?", [experiment_id]).fetchall():
        raise NotFound(f"Experiment '{experiment_id}' does not exist")
    before = row_as_dict(conn, _PERMISSION, [experiment_id, user_name])
    # delete + insert, not ON CONFLICT: a DuckLake store has no primary keys
    conn.execute(
        "DELETE FROM experiment_permissions WHERE experiment_id = ? AND user_name = ?", [experiment_id, user_name]
    )
    conn.execute(
        "INSERT INTO experiment_permissions VALUES (?, ?, ?, ?, ?)",
        [experiment_id, user_name, permission, before["create_time"] if before else now, now],
    )
    _changed(conn)
    after = row_as_dict(conn, _PERMISSION, [experiment_id, user_name])
    record(
        conn,
        actor=actor,
        action="grant",
        object_type="experiment_permission",
        object_id=f"{experiment_id}/{user_name}",
        previous=before,
        new=after,
        time=now,
    )
    assert after is not None
    return after


def delete_permission(
    conn: duckdb.DuckDBPyConnection, *, experiment_id: str, user_name: str, now: datetime, actor: str | None
) -> None:
    before = row_as_dict(conn, _PERMISSION, [experiment_id, user_name])
    if before is None:
        raise NotFound(f"User '{user_name}' has no permission on experiment '{experiment_id}'")
    conn.execute(
        "DELETE FROM experiment_permissions WHERE experiment_id = ? AND user_name = ?", [experiment_id, user_name]
    )
    _changed(conn)
    record(
        conn,
        actor=actor,
        action="revoke",
        object_type="experiment_permission",
        object_id=f"{experiment_id}/{user_name}",
        previous=before,
        time=now,
    )


def list_permissions(conn: duckdb.DuckDBPyConnection, user_name: str | None = None) -> list[dict[str, Any]]:
    result = conn.execute(
        "SELECT experiment_id, user_name, permission FROM experiment_permissions "
        "WHERE ? IS NULL OR user_name = ? ORDER BY user_name, experiment_id",
        [user_name, user_name],
    )
    columns = [d[0] for d in result.description or []]
    return [dict(zip(columns, row, strict=True)) for row in result.fetchall()]


def start_web_session(
    conn: duckdb.DuckDBPyConnection,
    *,
    session_hash: str,
    user_name: str,
    csrf_token: str,
    now: datetime,
    expire_time: datetime,
) -> None:
    conn.execute("DELETE FROM web_sessions WHERE expire_time < ?", [now])
    conn.execute(
        "INSERT INTO web_sessions VALUES (?, ?, ?, ?, ?)", [session_hash, user_name, csrf_token, now, expire_time]
    )
    record(conn, actor=user_name, action="sign-in", object_type="user", object_id=user_name, time=now)
    _changed(conn)


def record_failed_sign_in(conn: duckdb.DuckDBPyConnection, *, user_name: str, now: datetime) -> None:
    """A wrong name or password at ``/login``: nobody is signed in, so no actor; the name tried
    (cut to 200 characters: it is the caller's text) is the object, for an admin to spot guessing."""
    record(conn, actor=None, action="sign-in-failed", object_type="user", object_id=user_name[:200], time=now)


def end_web_session(conn: duckdb.DuckDBPyConnection, *, session_hash: str) -> None:
    found = conn.execute("SELECT user_name FROM web_sessions WHERE session_hash = ?", [session_hash]).fetchall()
    conn.execute("DELETE FROM web_sessions WHERE session_hash = ?", [session_hash])
    if found:
        user = str(found[0][0])
        record(conn, actor=user, action="sign-out", object_type="user", object_id=user)
    _changed(conn)


@dataclass(slots=True)
class Snapshot:
    """Everything the authenticator looks up, read in one go after each change to it."""

    users: dict[str, tuple[str, str | None]] = field(default_factory=dict)  # name -> (role, password hash)
    tokens: dict[str, tuple[str, str, datetime | None]] = field(default_factory=dict)  # hash -> (id, user, expiry)
    permissions: dict[str, dict[str, str]] = field(default_factory=dict)  # user -> experiment -> permission
    sessions: dict[str, tuple[str, str, datetime]] = field(default_factory=dict)  # hash -> (user, csrf, expiry)


def snapshot(conn: duckdb.DuckDBPyConnection) -> Snapshot:
    snap = Snapshot()
    for name, role, password_hash in conn.execute("SELECT name, role, password_hash FROM users").fetchall():
        snap.users[name] = (role, password_hash)
    for token_id, user, token_hash, expire in conn.execute(
        "SELECT token_id, user_name, token_hash, expire_time FROM api_tokens WHERE revoke_time IS NULL"
    ).fetchall():
        snap.tokens[token_hash] = (token_id, user, expire)
    for experiment_id, user, permission in conn.execute(
        "SELECT experiment_id, user_name, permission FROM experiment_permissions"
    ).fetchall():
        snap.permissions.setdefault(user, {})[experiment_id] = permission
    for session_hash, user, csrf, expire in conn.execute(
        "SELECT session_hash, user_name, csrf_token, expire_time FROM web_sessions"
    ).fetchall():
        snap.sessions[session_hash] = (user, csrf, expire)
    return snap
