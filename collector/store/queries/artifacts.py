"""Artifacts uploaded through MLflow's artifact proxy: put (a writer job), get and list by directory.

A path is stored as given after ``validate`` (relative, no ``..``); a directory exists only as the
prefix of some file's path, as in an object store.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import duckdb

from annotrace.collector.errors import InvalidParameter, NotFound
from annotrace.collector.store.queries import audit

DELETE = "DELETE FROM artifacts WHERE path = ?"
INSERT = "INSERT INTO artifacts VALUES (?, ?, ?, ?)"
SIZE = "SELECT file_size FROM artifacts WHERE path = ?"
GET = "SELECT content FROM artifacts WHERE path = ?"
UNDER = "SELECT path, file_size FROM artifacts WHERE starts_with(path, ?) ORDER BY path"


@dataclass(frozen=True, slots=True)
class Entry:
    path: str
    is_dir: bool
    file_size: int | None


def validate(path: str) -> str:
    parts = path.strip("/").split("/")
    if not path.strip("/") or any(p in ("", ".", "..") for p in parts):
        raise InvalidParameter(f"Invalid artifact path: '{path}'")
    return "/".join(parts)


def put(conn: duckdb.DuckDBPyConnection, path: str, content: bytes, now: datetime) -> None:
    previous = conn.execute(SIZE, [path]).fetchall()
    conn.execute(DELETE, [path])
    conn.execute(INSERT, [path, content, len(content), now])
    audit.record(  # the size, not the content: the trail says what changed, the artifact stays in artifacts
        conn,
        action="put",
        object_type="artifact",
        object_id=path,
        previous={"path": path, "file_size": previous[0][0]} if previous else None,
        new={"path": path, "file_size": len(content)},
        time=now,
    )


def get(cursor: duckdb.DuckDBPyConnection, path: str) -> bytes:
    rows = cursor.execute(GET, [path]).fetchall()
    if not rows:
        raise NotFound(f"Artifact '{path}' not found")
    return bytes(rows[0][0])


def list_dir(cursor: duckdb.DuckDBPyConnection, directory: str) -> list[Entry]:
    """The files and directories directly under ``directory`` ("" for the root)."""
    prefix = directory.strip("/") + "/" if directory.strip("/") else ""
    out: dict[str, Entry] = {}
    for path, size in cursor.execute(UNDER, [prefix]).fetchall():
        rest = path[len(prefix) :]
        name, _, below = rest.partition("/")
        out.setdefault(name, Entry(prefix + name, bool(below), None if below else size))
    return list(out.values())
